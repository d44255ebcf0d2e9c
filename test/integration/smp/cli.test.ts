/**
 * The CLI end to end: `unbrick sim mcuboot` prints its pty path first and
 * runs until stopped; `unbrick smp …` talks to it; `unbrick ports` lists
 * ports without crashing (this machine may have no udevadm).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MCUBOOT_DIR } from './vectors.ts';
import { startSim, unbrick, unbrickEnv } from './cli-process.ts';

test('unbrick ports lists ports as JSON, also where udevadm is missing', async () => {
  const r = await unbrick('ports', '--json');
  assert.equal(r.code, 0, r.err);
  assert.ok(Array.isArray(JSON.parse(r.out).ports));
  const bare = await unbrickEnv({ ...process.env, PATH: '/nonexistent' }, 'ports', '--json');
  assert.equal(bare.code, 0, bare.err);
  assert.ok(Array.isArray(JSON.parse(bare.out).ports));
});

test('unbrick sim mcuboot + unbrick smp slots/upload/erase over its pty', { timeout: 60_000 }, async () => {
  const { proc: sim, path } = await startSim('mcuboot', '--baud', '0', '--flash', 'none');
  try {
    assert.match(path, /^\/dev\//);
    const empty = await unbrick('smp', 'slots', '--port', path, '--json');
    assert.deepEqual(JSON.parse(empty.out), { slots: [] });
    const up = await unbrick('smp', 'upload', join(MCUBOOT_DIR, 'images', 'app-signed.bin'), '--port', path, '--json');
    assert.equal(up.code, 0, up.err);
    const r = JSON.parse(up.out);
    assert.equal(r.hash, 'c7786c26af308fe8d4fb82e0f7dc0b4625ccffdfa6f3b7bf8b531aaad6f7e718');
    assert.equal(r.bytesSent, 25338);
    assert.equal(typeof r.seconds, 'number');
    assert.match(up.err, /Uploading image: 100%/, 'plain progress lines when not on a terminal');
    const slots = JSON.parse((await unbrick('smp', 'slots', '--port', path, '--json')).out).slots;
    assert.deepEqual(slots, [{ image: 0, slot: 0, version: '1.2.3.4', hash: r.hash, bootable: true, pending: false, confirmed: true, active: true, permanent: false }]);
    const erase = await unbrick('smp', 'erase', '--port', path);
    assert.equal(erase.code, 2, 'erase needs --yes');
    const unsupported = await unbrick('smp', 'erase', '--slot', '1', '--yes', '--port', path);
    assert.equal(unsupported.code, 3);
    assert.match(unsupported.err, /does not support image erase/);
  } finally {
    sim.kill('SIGINT');
  }
});
