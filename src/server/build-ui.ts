/**
 * Builds the renderer when it is missing (a fresh checkout after `npm ci`), so
 * `npx unbrick serve` works without a separate build step. Uses Vite, a
 * development dependency; a packaged app ships the built renderer instead.
 */
import { fileURLToPath } from 'node:url';
import type * as Vite from 'vite';
import { ioError } from '../core/errors.ts';
import { rendererBuilt } from './static.ts';

export const RENDERER_CONFIG = fileURLToPath(new URL('../../renderer/vite.config.ts', import.meta.url));

export async function ensureRendererBuilt(dir: string, say: (line: string) => void = () => {}): Promise<void> {
  if (rendererBuilt(dir)) return;
  say('Building the UI (first run)…');
  let vite: typeof Vite;
  try {
    vite = await import('vite');
  } catch (e) {
    throw ioError('server.ui-not-built', 'The UI is not built and Vite is not installed to build it. Run `npm ci`, then `npm run build:renderer`.', undefined, e);
  }
  await vite.build({ configFile: RENDERER_CONFIG, logLevel: 'error' });
  if (!rendererBuilt(dir)) throw ioError('server.ui-not-built', `Building the UI did not produce ${dir}index.html.`);
}
