/** Serving the built renderer: content types, safe path resolution, security headers. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../dist/renderer/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export function rendererBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

/** Resolves a URL path inside `root`; undefined for anything outside it or missing. */
export function resolveStatic(root: string, urlPath: string): { path: string; type: string } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = resolve(root);
  const full = resolve(base, '.' + decoded);
  if (full !== base && !full.startsWith(base + sep)) return undefined;
  try {
    if (!statSync(full).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return { path: full, type: TYPES[extname(full)] ?? 'application/octet-stream' };
}

export function readStatic(path: string): Buffer {
  return readFileSync(path);
}

/** The page's Content-Security-Policy: only our own scripts, and the API socket on this origin. */
export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
