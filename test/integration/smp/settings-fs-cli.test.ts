/**
 * `unbrick smp settings|file` against `unbrick sim zephyr --settings-roots app --fs /lfs1`
 * (two processes, the simulator on a pty): values and files go in, come back,
 * survive a reset when saved, and errors exit 3 with their code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startSim, unbrick } from './cli-process.ts';

/** `unbrick ARGS --json`: exit code, the parsed JSON and stderr. */
async function unbrickJson(...args: string[]): Promise<{ code: number; json: Record<string, unknown>; err: string }> {
  const r = await unbrick(...args, '--json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    json = { unparsed: r.out };
  }
  return { code: r.code, json, err: r.err };
}

test('unbrick smp settings and file commands against the Zephyr simulator', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-smpcli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { proc: sim, path } = await startSim('zephyr', '--settings-roots', 'app', '--fs', '/lfs1', '--flash', 'none');
  t.after(() => void sim.kill('SIGINT'));
  const smp = (...args: string[]) => unbrickJson('smp', ...args, '--port', path);

  const info = await smp('info');
  assert.deepEqual([info.json.settingsGroup, info.json.fileGroup], [true, true]);

  const w = await smp('settings', 'write', 'app/serial', 'SN-42', '--save');
  assert.equal(w.code, 0, w.err);
  assert.deepEqual(w.json, { name: 'app/serial', written: 5, saved: true });
  assert.equal((await smp('settings', 'write', 'app/key', '00ff10', '--hex')).code, 0);
  assert.equal((await smp('reset')).code, 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await smp('settings', 'read', 'app/serial')).json, { name: 'app/serial', hex: Buffer.from('SN-42').toString('hex'), text: 'SN-42' });
  const gone = await smp('settings', 'read', 'app/key');
  assert.deepEqual([gone.code, gone.json.error], [3, 'smp.setting-not-found'], 'not saved: lost at the reset');
  const bad = await smp('settings', 'frobnicate');
  assert.deepEqual([bad.code, bad.json.error], [2, 'usage.bad-action']);

  const local = join(dir, 'unit.json');
  const body = JSON.stringify({ serial: 'SN-42', mac: '02:00:00:00:00:2a', note: 'x'.repeat(700) });
  writeFileSync(local, body);
  const put = await smp('file', 'put', local, '/lfs1/unit.json');
  assert.equal(put.code, 0, put.err);
  assert.equal(put.json.bytes, body.length);
  assert.ok((put.json.chunks as number) >= 2);
  assert.deepEqual((await smp('file', 'stat', '/lfs1/unit.json')).json, { path: '/lfs1/unit.json', len: body.length });
  const back = join(dir, 'back.json');
  assert.equal((await smp('file', 'get', '/lfs1/unit.json', '--out', back)).code, 0);
  assert.equal(readFileSync(back, 'utf8'), body);
  const h = await smp('file', 'hash', '/lfs1/unit.json', '--type', 'sha256');
  assert.equal(h.json.output, createHash('sha256').update(body).digest('hex'));
  const missing = await smp('file', 'stat', '/lfs1/none');
  assert.deepEqual([missing.code, missing.json.error], [3, 'smp.file-not-found']);
});
