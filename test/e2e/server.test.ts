/**
 * Server mode's guards, over real sockets: the token on the WebSocket
 * upgrade, the Host and Origin checks, static files confined to the built UI,
 * and the contract's validation of every message on the socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AppCore } from '../../src/app/app-core.ts';
import { DemoLab } from '../../src/sim/lab/lab.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { DEFAULT_RENDERER_DIR } from '../../src/server/static.ts';

async function boot(t: { after(fn: () => unknown): void }): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-server-'));
  const core = new AppCore({ dataDir: dir, lab: new DemoLab(undefined, { baud: 0 }), autoDetect: false });
  const server = await startServer({ core, rendererDir: DEFAULT_RENDERER_DIR });
  t.after(async () => {
    await server.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

function raw(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number } | { ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

test('the WebSocket needs the token, this host and (from a browser) this origin', async (t) => {
  const s = await boot(t);
  const api = `ws://127.0.0.1:${s.port}/api`;
  assert.deepEqual(await upgrade(api), { status: 403 });
  assert.deepEqual(await upgrade(`${api}?token=wrong`), { status: 403 });
  assert.deepEqual(await upgrade(`${api}?token=${s.token}`, { Origin: 'http://evil.example' }), { status: 403 });
  assert.deepEqual(await upgrade(`${api}?token=${s.token}`, { Origin: `http://127.0.0.1:${s.port + 1}` }), { status: 403 });
  assert.deepEqual(await upgrade(`${api}?token=${s.token}`, { Host: `evil.example:${s.port}` }), { status: 421 });
  const ok = await upgrade(`${api}?token=${s.token}`, { Origin: s.origin });
  assert.ok('ws' in ok);
  ok.ws.close();
});

test('pages and files: token on the page, Host checked, nothing outside the built UI', async (t) => {
  const s = await boot(t);
  assert.equal(await raw(s.port, `/?token=${s.token}`), 200);
  assert.equal(await raw(s.port, '/'), 403);
  assert.equal(await raw(s.port, `/?token=${s.token}`, { Host: `attacker.example:${s.port}` }), 421);
  assert.equal(await raw(s.port, '/assets/..%2f..%2fpackage.json'), 404);
  assert.equal(await raw(s.port, '/assets/%2e%2e/%2e%2e/package.json'), 404);
  assert.equal(await raw(s.port, '/package.json'), 404);
});

test('every message on the socket is validated; answers are typed errors, never a crash', async (t) => {
  const s = await boot(t);
  const r = await upgrade(`ws://127.0.0.1:${s.port}/api?token=${s.token}`);
  assert.ok('ws' in r);
  const ws = r.ws;
  t.after(() => ws.close());
  const replies: Record<string, unknown>[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.type === 'response') replies.push(m);
  });
  const send = (x: unknown) => ws.send(typeof x === 'string' ? x : JSON.stringify(x));
  send('not json');
  send({ type: 'request', id: 2, method: 'process.exit', params: {} });
  send({ type: 'request', id: 3, method: 'lab.plug', params: { unitId: 'lab-rdp1', plugged: 'no' } });
  send({ type: 'request', id: 4, method: 'devices.list', params: {} });
  ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const deadline = Date.now() + 5000;
  while (replies.length < 5 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  const byId = (id: number) => replies.filter((m) => m.id === id);
  assert.equal(byId(-1).length, 2, 'garbage and binary frames answered with id -1');
  assert.equal((byId(2)[0] as { error: { code: string } }).error.code, 'api.unknown-method');
  assert.equal((byId(3)[0] as { error: { code: string } }).error.code, 'api.invalid-message');
  assert.equal((byId(4)[0] as { result: { devices: unknown[] } }).result.devices.length, 7);
  assert.equal(s.connections, 1);
});
