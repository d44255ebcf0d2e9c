/**
 * `unbrick serve`: the same UI and the same contract as the desktop app, for
 * stations without a desktop and for testing. Listens on 127.0.0.1 only. A
 * random per-launch token must be on the page URL and on the WebSocket
 * upgrade; the Host header must name this server (defeats DNS rebinding) and a
 * browser's Origin must be this server (defeats cross-site pages).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, type ServerMessage } from '../api/contract.ts';
import { connectFrontEnd } from '../app/handlers.ts';
import { eventMessage } from '../api/protocol.ts';
import { ioError } from '../core/errors.ts';
import type { AppCore } from '../app/app-core.ts';
import { contentSecurityPolicy, readStatic, rendererBuilt, resolveStatic } from './static.ts';

export interface ServeOptions {
  core: AppCore;
  rendererDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Fixed token (tests); a fresh random one otherwise. */
  token?: string;
}

export interface RunningServer {
  url: string;
  origin: string;
  port: number;
  token: string;
  /** Open WebSocket connections (for tests and diagnostics). */
  readonly connections: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

function tokenMatches(expected: string, given: string | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (!rendererBuilt(opts.rendererDir))
    throw ioError('server.ui-not-built', `The UI is not built (no ${opts.rendererDir}index.html). Run \`npm run build:renderer\` first.`);
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let origin = '';
  let allowedHosts = new Set<string>();

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const http = createServer((req, res) => handleHttp(req, res));

  function hostOk(req: IncomingMessage): boolean {
    return allowedHosts.has(req.headers.host ?? '');
  }

  function plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(text + '\n');
  }

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    if (!hostOk(req)) return plain(res, 421, 'Wrong host. Open the URL printed by `unbrick serve`.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Only GET is served here.');
    const url = new URL(req.url ?? '/', origin);
    const common = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    };
    if (url.pathname === '/' || url.pathname === '/index.html') {
      if (!tokenMatches(token, url.searchParams.get('token')))
        return plain(res, 403, 'This page needs the token from the URL that `unbrick serve` printed. Open that exact URL.');
      const file = resolveStatic(opts.rendererDir, '/index.html')!;
      res.writeHead(200, { ...common, 'content-type': file.type, 'cache-control': 'no-store', 'content-security-policy': contentSecurityPolicy(origin) });
      return void res.end(req.method === 'HEAD' ? undefined : readStatic(file.path));
    }
    // Built assets (hashed JS/CSS) hold no secrets; the contract behind the socket does, and it needs the token.
    if (url.pathname.startsWith('/assets/') || url.pathname === '/favicon.svg') {
      const file = resolveStatic(opts.rendererDir, url.pathname);
      if (!file) return plain(res, 404, 'Not found.');
      res.writeHead(200, { ...common, 'content-type': file.type, 'cache-control': 'no-cache' });
      return void res.end(req.method === 'HEAD' ? undefined : readStatic(file.path));
    }
    return plain(res, 404, 'Not found.');
  }

  function refuseUpgrade(socket: Duplex, status: string): void {
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    if (!hostOk(req)) return refuseUpgrade(socket, '421 Misdirected Request');
    if (url.pathname !== '/api') return refuseUpgrade(socket, '404 Not Found');
    if (!tokenMatches(token, url.searchParams.get('token'))) return refuseUpgrade(socket, '403 Forbidden');
    const reqOrigin = req.headers.origin;
    // Browsers always send Origin; a page from another site must not reach the contract.
    if (reqOrigin !== undefined && !allowedHosts.has(reqOrigin.replace(/^http:\/\//, ''))) return refuseUpgrade(socket, '403 Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  function serveSocket(ws: WebSocket): void {
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const fe = connectFrontEnd(opts.core, 'server', (event, data) => send(eventMessage(event, data)));
    ws.on('message', (raw, isBinary) => {
      let msg: unknown;
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(raw.toString());
      } catch {
        msg = undefined;
      }
      void fe.dispatch(msg).then(send);
    });
    ws.on('close', () => fe.close());
    ws.on('error', () => fe.close());
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', (e) => reject(ioError('server.listen-failed', `Cannot listen on ${HOST}:${opts.port ?? 0}: ${e.message}`, undefined, e)));
    http.listen(opts.port ?? 0, HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  origin = `http://${HOST}:${port}`;
  allowedHosts = new Set([`${HOST}:${port}`, `localhost:${port}`]);
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    get connections() {
      return wss.clients.size;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
