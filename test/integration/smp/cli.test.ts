/**
 * The CLI end to end: `unbrick sim mcuboot` prints its pty path first and
 * runs until stopped; `unbrick smp …` talks to it; `unbrick ports` lists
 * ports without crashing (this machine may have no udevadm).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { REPO, MCUBOOT_DIR } from './vectors.ts';

const run = promisify(execFile);
const BIN = join(REPO, 'bin', 'unbrick.js');

async function unbrick(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return unbrickEnv(process.env, ...args);
}

async function unbrickEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: REPO, env });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('unbrick ports lists ports as JSON, also where udevadm is missing', async () => {
  const r = await unbrick('ports', '--json');
  assert.equal(r.code, 0, r.err);
  assert.ok(Array.isArray(JSON.parse(r.out).ports));
  const bare = await unbrickEnv({ ...process.env, PATH: '/nonexistent' }, 'ports', '--json');
  assert.equal(bare.code, 0, bare.err);
  assert.ok(Array.isArray(JSON.parse(bare.out).ports));
});

test('unbrick sim mcuboot + unbrick smp slots/upload/erase over its pty', { timeout: 60_000 }, async () => {
  const sim = spawn(process.execPath, [BIN, 'sim', 'mcuboot', '--baud', '0', '--flash', 'none'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const path = await new Promise<string>((resolve, reject) => {
      let buf = '';
      sim.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      sim.on('exit', () => reject(new Error('sim exited')));
    });
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
