// Unbrick's client and CLI against the simulator on a real pty through
// serialport, paced at 115200 baud with 8E1 frame timing: every modelled chip,
// with the simulator's state checked after each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStm32PtySim, MODELLED_CHIPS } from '../../../src/sim/stm32/index.ts';
import { seededRandom } from '../../../src/core/random.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import * as ops from '../../../src/stm32/operations.ts';
import { openSerial } from '../../../src/transport/serial.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { decodeOptionBytes } from '../../../src/stm32/option-bytes/index.ts';

const random = (n: number, seed: number) => {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};
const code = (c: string) => (e: unknown) => e instanceof UnbrickError && e.code === c;

for (const chip of MODELLED_CHIPS) {
  test(`unbrick over a pty: ${chip} probe, write+verify, read, erase, protect/unprotect, readout protect/unprotect, option bytes`, async () => {
    const sim = startStm32PtySim({ chip, baud: 115200, timeScale: chip === 'f405' ? 0.1 : 1, getChecksum: chip === 'l476' });
    const port = await openSerial({ path: sim.path, baudRate: 115200, parity: 'none' });
    try {
      const c = sim.sim.chip;
      const s = await connectStm32(port);
      assert.equal(s.chip.pid, c.info.pid);
      const img = random(3000, 9);
      const at = s.chip.flash.start + 0x100;
      await ops.writeImage(s, [{ address: at, data: img }]);
      assert.deepEqual(c.flash.data.subarray(0x100, 0x100 + img.length), img);
      assert.deepEqual(await ops.readMemory(s, at, img.length), img);
      await ops.erasePages(s, [0]);
      assert.ok(c.flash.isErased(0, c.flash.sectors[0]!.size));

      const pages = Array.from({ length: s.chip.flash.wrpPagesPerUnit ?? 1 }, (_, i) => i);
      await ops.protectPages(s, pages);
      assert.deepEqual([...c.wrp].sort((a, b) => a - b), pages);
      await ops.writeUnprotect(s);
      assert.equal(c.wrp.size, 0);

      await ops.readoutProtect(s);
      assert.equal(c.rdpLevel, 1);
      await assert.rejects(s.client.readMemory(s.chip.flash.start, 4), code('stm32.read-refused'));
      await ops.readoutUnprotect(s);
      assert.equal(c.rdpLevel, 0);
      assert.ok(c.flash.isErased(0, c.flash.size));

      const ob = await ops.readOptionBytes(s);
      const field = Object.keys(ob.user).find((k) => k.startsWith('nRST_STDBY'))!;
      await ops.writeOptionBytes(s, { ...ob, user: { ...ob.user, [field]: 0 } });
      assert.equal(decodeOptionBytes(c.info, c.optionImage).user[field], 0);
    } finally {
      await port.close();
      sim.close();
    }
  });
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = new URL('../../../bin/unbrick.js', import.meta.url).pathname;
  return new Promise((resolve) =>
    execFile(process.execPath, [bin, ...args], { timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

test('CLI: stm32 info/write/verify/ob --json against the simulator; destructive steps need their confirmation', async () => {
  const sim = startStm32PtySim({ chip: 'g071', baud: 115200 });
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-stm32-cli-'));
  try {
    const info = await cli('stm32', 'info', '--port', sim.path, '--json');
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).chip.pid, '0x460');

    const img = random(5000, 4);
    writeFileSync(join(dir, 'fw.bin'), img);
    const w = await cli('stm32', 'write', join(dir, 'fw.bin'), '--port', sim.path, '--json');
    assert.equal(w.code, 0, w.stderr);
    assert.equal(JSON.parse(w.stdout).verify, 'read-back');
    assert.deepEqual(sim.sim.chip.flash.data.subarray(0, img.length), img);
    assert.equal((await cli('stm32', 'verify', join(dir, 'fw.bin'), '--port', sim.path)).code, 0);
    img[10] = img[10]! ^ 0xff;
    writeFileSync(join(dir, 'other.bin'), img);
    const bad = await cli('stm32', 'verify', join(dir, 'other.bin'), '--port', sim.path, '--json');
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.stdout).error, 'stm32.verify-failed');
    // Not a protection problem: the message says the flash did not take the data, not "unprotect".
    assert.match(JSON.parse(bad.stdout).message, /They are not write-protected/);

    const r = await cli('stm32', 'read', join(dir, 'back.bin'), '--port', sim.path, '--length', '5000');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'back.bin'))).subarray(0, 10), sim.sim.chip.flash.data.subarray(0, 10));

    // Without a terminal and without the flag, nothing destructive happens.
    const mass = await cli('stm32', 'unprotect', '--readout', '--port', sim.path);
    assert.equal(mass.code, 2);
    assert.ok(!sim.sim.chip.flash.isErased(0, 5000));
    const rdp2 = await cli('stm32', 'ob', 'set', '--rdp', '2', '--port', sim.path, '--json');
    assert.equal(rdp2.code, 2);
    assert.equal(JSON.parse(rdp2.stdout).error, 'stm32.rdp2-needs-confirmation');
    const typo = await cli('stm32', 'ob', 'set', '--rdp', '0xCC', '--port', sim.path);
    assert.equal(typo.code, 2);
    assert.equal(sim.sim.chip.rdpLevel, 0);

    const set = await cli('stm32', 'ob', 'set', '--wrp', '0-3', '--user', 'nRST_STOP=0', '--port', sim.path, '--json');
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual([...sim.sim.chip.wrp].sort((a, b) => a - b), [0, 1, 2, 3]);
    const show = await cli('stm32', 'ob', 'show', '--port', sim.path);
    assert.match(show.stdout, /Write-protected pages: 0-3/);
    assert.match(show.stdout, /nRST_STOP = 0/);

    const un = await cli('stm32', 'unprotect', '--readout', '--yes-i-understand-mass-erase', '--port', sim.path);
    assert.equal(un.code, 0, un.stderr);
    assert.ok(sim.sim.chip.flash.isErased(0, sim.sim.chip.flash.size));
  } finally {
    sim.close();
  }
});

test('1200 baud (the slowest rate the bootloader takes): waits cover the wire time, no false timeouts', async () => {
  const sim = startStm32PtySim({ chip: 'f103', baud: 1200 });
  const port = await openSerial({ path: sim.path, baudRate: 1200, parity: 'none' });
  try {
    const s = await connectStm32(port, { baud: 1200 });
    const img = random(256, 5);
    const t0 = performance.now();
    await s.client.writeMemory(0x08000000, img);
    assert.deepEqual(await s.client.readMemory(0x08000000, 256), img);
    // 2 x ~270 bytes at 11 bits / 1200 baud: about 5 s on the wire.
    assert.ok(performance.now() - t0 > 4500);
  } finally {
    await port.close();
    sim.close();
  }
});
