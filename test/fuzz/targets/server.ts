/**
 * `unbrick serve`'s surface on 127.0.0.1 facing a hostile page or local
 * program: contract messages on the WebSocket (well-formed requests with wrong
 * params, unknown methods, garbage, binary frames, oversized ids), and raw
 * HTTP requests with hostile request lines and headers (wrong Host, forged
 * Origin, path traversal, missing or wrong token, bad upgrades).
 *
 * A failure here: a reply with the contract's `internal` code (a handler threw
 * something untyped), no reply to a request, a socket that stops answering,
 * a page or file served without the token or from outside the UI folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { methods } from '../../../src/api/contract.ts';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { startServer, type RunningServer } from '../../../src/server/server.ts';
import type { FuzzTarget } from '../engine.ts';
import { Tape } from '../mutate.ts';

let dir: string;
let core: AppCore;
let server: RunningServer;
const INDEX = '<!doctype html><title>fuzz</title>';
const ASSET = 'console.log("asset")';

/** Both targets share one server (they may run side by side in the npm test slice). */
let users = 0;
let started: Promise<void> | undefined;

async function setup(): Promise<void> {
  users++;
  await (started ??= start());
}

async function start(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'unbrick-fuzz-serve-'));
  const ui = join(dir, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), INDEX);
  writeFileSync(join(ui, 'assets', 'app.js'), ASSET);
  writeFileSync(join(dir, 'secret.txt'), 'SECRET-OUTSIDE-UI');
  // A lab without units: the contract runs for real, no simulated flashing eats the fuzz budget.
  core = new AppCore({ dataDir: join(dir, 'data'), lab: new DemoLab([]), operator: 'fuzz@lab', autoDetect: false });
  server = await startServer({ core, rendererDir: ui + '/' });
}

async function teardown(): Promise<void> {
  if (--users > 0) return;
  started = undefined;
  await server?.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
}

// Station demo lines start simulated units and keep running: not reachable from this fuzzer's budget (see report).
const METHODS = Object.keys(methods).filter((m) => m !== 'station.startDemo');
const PARAM_KEYS = ['deviceId', 'jobId', 'stepId', 'allow', 'workflow', 'options', 'unitId', 'format', 'limit', 'plugged', 'kind', 'bundleId', 'uploadId', 'offset', 'data', 'filename', 'size', 'bundle', 'ports', 'parallel', 'port', 'goldenId', 'confirm', '__proto__', 'constructor'];

function jsonValue(t: Tape, depth = 0): unknown {
  switch (t.int(depth > 2 ? 7 : 9)) {
    case 0:
      return t.pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, 65, 4096, 1_000_000_000_000]);
    case 1:
      return t.pick(['', 'lab-recovery-empty', 'detect', 'recover', 'unbrick', 'update', 'golden', 'json', 'html', '../../etc/passwd', '/dev/ttyUSB0', 'x'.repeat(t.int(3000)), '\u0000\uffff', 'QUJD']);
    case 2:
      return t.bool();
    case 3:
      return null;
    case 4:
      return t.int(100);
    case 5:
      return Buffer.from(t.take(t.int(20))).toString('latin1');
    case 6:
      return 'id-' + t.int(5);
    case 7:
      return Array.from({ length: t.int(4) }, () => jsonValue(t, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: t.int(5) }, () => [t.pick(PARAM_KEYS), jsonValue(t, depth + 1)]));
  }
}

function wsMessage(t: Tape, id: number): string | Buffer {
  const k = t.int(12);
  if (k === 0) return Buffer.from(t.take(t.int(64)));
  if (k === 1) return Buffer.from(t.take(t.int(64))).toString('latin1');
  if (k === 2) return JSON.stringify(jsonValue(t));
  const params = t.int(5) === 0 ? jsonValue(t) : Object.fromEntries(Array.from({ length: t.int(5) }, () => [t.pick(PARAM_KEYS), jsonValue(t)]));
  const msg: Record<string, unknown> = { type: t.int(10) === 0 ? 'event' : 'request', id: t.int(10) === 0 ? jsonValue(t) : id, method: t.int(10) === 0 ? String(jsonValue(t)) : t.pick(METHODS), params };
  if (t.int(8) === 0) delete msg[t.pick(['type', 'id', 'method', 'params'])];
  return JSON.stringify(msg);
}

const ws: FuzzTarget = {
  name: 'serve-websocket',
  weight: 2,
  concurrency: 16,
  timeoutMs: 15_000,
  setup,
  teardown,
  async run(input) {
    const t = new Tape(input);
    const sock = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`);
    const replies = new Map<number, { ok: boolean; error?: { code: string; message: string } }>();
    let waiting: (() => void) | undefined;
    sock.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as { type: string; id: number; ok: boolean; error?: { code: string; message: string } };
      if (m.type === 'response') replies.set(m.id, m);
      waiting?.();
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('open', () => resolve());
      sock.once('error', reject);
    });
    try {
      const sent: string[] = [];
      for (let i = 0, n = 1 + t.int(8); i < n; i++) {
        const m = wsMessage(t, 1000 + i);
        sent.push(typeof m === 'string' ? m.slice(0, 300) : `<binary ${m.length}>`);
        sock.send(m, { binary: typeof m !== 'string' });
      }
      // The connection still answers a good request after all that.
      sock.send(JSON.stringify({ type: 'request', id: 999_999, method: 'app.info', params: {} }));
      const deadline = Date.now() + 10_000;
      while (!replies.has(999_999) && Date.now() < deadline && sock.readyState === sock.OPEN)
        await new Promise<void>((r) => {
          waiting = r;
          setTimeout(r, 100);
        });
      if (!replies.has(999_999)) throw new Error(`the socket stopped answering after: ${sent.join(' | ')}`);
      for (const [id, r] of replies)
        if (!r.ok && r.error?.code === 'internal') throw new Error(`request ${id} ended in an untyped error: ${r.error.message}\n${sent.join('\n')}`);
    } finally {
      sock.terminate();
      // A job a request started (detect on a missing unit, ...) is left to end; the lab has no units.
    }
  },
};

const HTTP_PATHS = ['/', '/index.html', '/assets/app.js', '/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/favicon.svg', '/api', '//etc/passwd', '/assets/', '/assets/app.js%00.html', '/%zz', '*', 'http://evil.example/', '/assets/' + 'a'.repeat(5000)];

function httpRequest(t: Tape): { text: Buffer; withToken: boolean } {
  const method = t.pick(['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'G\u0000T', 'CONNECT', 'get']);
  const good = t.int(3) === 0;
  let path = t.pick(HTTP_PATHS);
  const addToken = t.bool();
  if (addToken) path += (path.includes('?') ? '&' : '?') + `token=${good ? server.token : t.pick(['', 'x', server.token.slice(1), server.token + 'A', '%00'])}`;
  const withToken = addToken && good;
  const host = t.pick([`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'evil.example', `127.0.0.1:${server.port + 1}`, '', `127.0.0.1:${server.port}, evil.example`]);
  const headers = [`Host: ${host}`];
  if (t.int(3) === 0) headers.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${t.pick(['dGhlIHNhbXBsZSBub25jZQ==', '', 'x'])}`, `Sec-WebSocket-Version: ${t.pick(['13', '8', 'x'])}`);
  if (t.int(3) === 0) headers.push(`Origin: ${t.pick(['http://evil.example', `http://127.0.0.1:${server.port}`, 'null', ''])}`);
  for (let n = t.int(4); n > 0; n--) headers.push(`${t.pick(['X-A', 'Content-Length', 'Transfer-Encoding', 'Host', 'Cookie', 'X'.repeat(t.int(9000))])}: ${t.pick(['1', '-1', 'chunked', '99999999999', 'a\u0001b', 'v'.repeat(t.int(20000))])}`);
  const line = t.int(12) === 0 ? Buffer.from(t.take(t.int(200))).toString('latin1') : `${method} ${path} ${t.pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x'])}`;
  const body = t.int(4) === 0 ? Buffer.from(t.take(t.int(100))) : Buffer.alloc(0);
  return { text: Buffer.concat([Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]), withToken };
}

const http: FuzzTarget = {
  name: 'serve-http',
  weight: 2,
  concurrency: 32,
  timeoutMs: 15_000,
  setup,
  teardown,
  async run(input) {
    const t = new Tape(input);
    const { text, withToken } = httpRequest(t);
    const reply = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(server.port, '127.0.0.1');
      const timer = setTimeout(() => {
        s.destroy();
        resolve(Buffer.concat(chunks).toString('latin1'));
      }, 3000);
      s.on('data', (d) => chunks.push(d));
      s.on('error', () => {}); // a reset connection is a fine answer to garbage
      s.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
      s.write(text, (e) => e && reject(e));
      s.end();
    });
    if (reply.includes('SECRET-OUTSIDE-UI')) throw new Error(`a file outside the UI folder was served for ${JSON.stringify(text.toString('latin1').slice(0, 300))}`);
    if (reply.startsWith('HTTP/1.1 200') && reply.includes(INDEX) && !withToken) throw new Error(`the page was served without the token for ${JSON.stringify(text.toString('latin1').slice(0, 300))}`);
    if (reply.startsWith('HTTP/1.1 101') && !withToken) throw new Error(`a WebSocket was opened without the token for ${JSON.stringify(text.toString('latin1').slice(0, 300))}`);
  },
};

export const SERVER_TARGETS: FuzzTarget[] = [ws, http];
