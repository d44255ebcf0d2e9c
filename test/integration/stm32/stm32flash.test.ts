// Debian's stm32flash (an independent AN3155 host) drives the simulator over a
// real pty; after each step the simulator's state is checked. A pty carries no
// parity, so stm32flash runs with -m 8n1; the simulator paces the line as 8E1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStm32PtySim, type Stm32PtySim } from '../../../src/sim/stm32/index.ts';
import { seededRandom } from '../../../src/core/random.ts';

const dir = mkdtempSync(join(tmpdir(), 'unbrick-stm32flash-'));

function stm32flash(sim: Stm32PtySim, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('stm32flash', ['-m', '8n1', '-b', '115200', ...args, sim.path], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

/** stm32flash exits on the final ACK; the chip's reset (which loads the option bytes) follows a moment later. */
async function settled(cond: () => boolean, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > 3000) assert.fail(`simulator state not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const random = (n: number, seed: number) => {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

test('stm32flash: probe, write+verify, read, erase, -j, -k, -u against a simulated F103 (medium density)', async () => {
  const sim = startStm32PtySim({ chip: 'f103', baud: 115200 });
  try {
    const chip = sim.sim.chip;
    const probe = await stm32flash(sim);
    assert.equal(probe.code, 0, probe.out);
    assert.match(probe.out, /Device ID\s*: 0x0410/);
    assert.match(probe.out, /Version\s*: 0x22/);

    const img = random(6000, 1);
    writeFileSync(join(dir, 'img.bin'), img);
    const w = await stm32flash(sim, '-w', join(dir, 'img.bin'), '-v');
    assert.equal(w.code, 0, w.out);
    assert.deepEqual(chip.flash.data.subarray(0, img.length), img);
    assert.ok(chip.flash.isErased(8192, chip.flash.size - 8192), 'stm32flash erased only what it wrote');

    const r = await stm32flash(sim, '-r', join(dir, 'back.bin'), '-S', `0x08000000:${img.length}`);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'back.bin'))), img);

    const e = await stm32flash(sim, '-o');
    assert.equal(e.code, 0, e.out);
    assert.ok(chip.flash.isErased(0, chip.flash.size), 'mass erase');

    // Readout protect: RDP level 1 after the reset, reads NACKed.
    await stm32flash(sim, '-w', join(dir, 'img.bin'));
    const j = await stm32flash(sim, '-j');
    assert.equal(j.code, 0, j.out);
    await settled(() => chip.rdpLevel === 1, 'RDP level 1');
    const denied = await stm32flash(sim, '-r', join(dir, 'denied.bin'), '-S', '0x08000000:256');
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, /NACK/);

    // Readout unprotect: mass erase, RDP level 0.
    const k = await stm32flash(sim, '-k');
    assert.equal(k.code, 0, k.out);
    await settled(() => chip.rdpLevel === 0, 'RDP level 0');
    assert.ok(chip.flash.isErased(0, chip.flash.size), 'readout unprotect mass-erases');

    // Write unprotect clears WRP (set here through the chip's own Write Protect path).
    chip.setWriteProtect([0, 1]);
    sim.sim.reset();
    assert.deepEqual([...chip.wrp].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
    const u = await stm32flash(sim, '-u');
    assert.equal(u.code, 0, u.out);
    await settled(() => chip.wrp.size === 0, 'no write protection');
  } finally {
    sim.close();
  }
});

for (const [name, pid] of [
  ['f405', /0x0413/],
  ['l476', /0x0415/],
  ['g071', /0x0460/],
] as const) {
  test(`stm32flash: probe and write+verify a simulated ${name}`, async () => {
    const sim = startStm32PtySim({ chip: name, baud: 115200, timeScale: 0.2 });
    try {
      const probe = await stm32flash(sim);
      assert.equal(probe.code, 0, probe.out);
      assert.match(probe.out, pid);
      const img = random(3000, 2);
      writeFileSync(join(dir, `${name}.bin`), img);
      const w = await stm32flash(sim, '-w', join(dir, `${name}.bin`), '-v');
      assert.equal(w.code, 0, w.out);
      assert.deepEqual(sim.sim.chip.flash.data.subarray(0, img.length), img);
      const j = await stm32flash(sim, '-j');
      assert.equal(j.code, 0, j.out);
      await settled(() => sim.sim.chip.rdpLevel === 1, 'RDP level 1');
      const k = await stm32flash(sim, '-k');
      assert.equal(k.code, 0, k.out);
      await settled(() => sim.sim.chip.rdpLevel === 0, 'RDP level 0');
      assert.ok(sim.sim.chip.flash.isErased(0, sim.sim.chip.flash.size));
    } finally {
      sim.close();
    }
  });
}
