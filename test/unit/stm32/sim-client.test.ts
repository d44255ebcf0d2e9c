// Unbrick's AN3155 client against the simulator in-process (fast, unpaced):
// protection semantics, safety rules, resumable writes, fault recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStm32Simulator, inProcessTransport, type Stm32SimOptions } from '../../../src/sim/stm32/index.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import * as ops from '../../../src/stm32/operations.ts';
import { decodeOptionBytes, RDP2_CONFIRMATION } from '../../../src/stm32/option-bytes/index.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { seededRandom } from '../../../src/core/random.ts';

async function setup(opts: Stm32SimOptions) {
  const sim = createStm32Simulator({ timeScale: 0.01, ...opts });
  const link = inProcessTransport(sim);
  const s = await connectStm32(link, { replyMs: 300, writeAckMs: 500 });
  return { sim, s, link };
}

const image = (n: number, seed = 7) => {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};
const code = (c: string) => (e: unknown) => e instanceof UnbrickError && e.code === c;
const flashAt = (sim: ReturnType<typeof createStm32Simulator>, addr: number, n: number) => sim.chip.flash.data.subarray(addr - 0x08000000, addr - 0x08000000 + n);

for (const chip of ['f103', 'f405', 'l476', 'g071']) {
  for (const getChecksum of [false, true]) {
    test(`${chip}${getChecksum ? ' with Get Checksum' : ''}: write + verify, read, erase, protect, unprotect, readout protect/unprotect`, async () => {
      const { sim, s } = await setup({ chip, getChecksum });
      assert.equal(s.hasChecksum, getChecksum);
      const img = image(5000);
      const at = s.chip.flash.start + 0x400;
      const r = await ops.writeImage(s, [{ address: at, data: img }]);
      assert.equal(r.verify, getChecksum ? 'checksum' : 'read-back');
      assert.deepEqual(flashAt(sim, at, img.length), img);
      assert.deepEqual(await ops.readMemory(s, at, img.length), img);

      await ops.erasePages(s, [0]);
      const unit0 = sim.chip.flash.sectors[0]!;
      assert.ok(sim.chip.flash.isErased(unit0.offset, unit0.size));

      const ob = await ops.readOptionBytes(s);
      assert.equal(ob.rdp.level, 0);
      const per = s.chip.flash.wrpPagesPerUnit ?? 1;
      const pages = Array.from({ length: per }, (_, i) => i);
      const resets = sim.resets;
      await ops.protectPages(s, pages);
      assert.ok(sim.resets > resets, 'Write Protect resets the chip');
      assert.deepEqual([...sim.chip.wrp].sort((a, b) => a - b), pages);

      // A write into protected pages is refused up front...
      await assert.rejects(ops.writeImage(s, [{ address: s.chip.flash.start, data: img.subarray(0, 1024) }]), code('stm32.write-protected'));
      // ...and if the check is skipped, the bootloader drops the write silently and verify catches it.
      await assert.rejects(
        ops.writeImage(s, [{ address: s.chip.flash.start, data: img.subarray(0, 1024) }], { skipProtectionCheck: true }),
        (e: unknown) => code('stm32.verify-failed')(e) && /are write-protected, and the bootloader drops writes there/.test((e as Error).message),
      );

      await ops.writeUnprotect(s);
      assert.equal(sim.chip.wrp.size, 0);
      await ops.writeImage(s, [{ address: s.chip.flash.start, data: img.subarray(0, 1024) }]);
      assert.deepEqual(flashAt(sim, s.chip.flash.start, 1024), img.subarray(0, 1024));

      await ops.readoutProtect(s);
      assert.equal(sim.chip.rdpLevel, 1);
      await assert.rejects(s.client.readMemory(s.chip.flash.start, 16), code('stm32.read-refused'));
      await assert.rejects(s.client.writeMemory(s.chip.flash.start, new Uint8Array(4)), code('stm32.write-refused'));
      await assert.rejects(s.client.go(s.chip.flash.start), code('stm32.go-refused'));
      assert.equal(await ops.probeReadout(s), 1);

      await ops.readoutUnprotect(s);
      assert.equal(sim.chip.rdpLevel, 0);
      assert.ok(sim.chip.flash.isErased(0, sim.chip.flash.size), 'readout unprotect mass-erases');
      assert.equal(await ops.probeReadout(s), 0);
    });
  }
}

test('option bytes: ob set round trip through the chip (USER bit), the chip resets and loads them', async () => {
  for (const chip of ['f103', 'f405', 'l476', 'g071']) {
    const { sim, s } = await setup({ chip });
    const ob = await ops.readOptionBytes(s);
    const name = Object.keys(ob.user).find((k) => k.startsWith('nRST_STOP'))!;
    const resets = sim.resets;
    const back = await ops.writeOptionBytes(s, { ...ob, user: { ...ob.user, [name]: 0 } });
    assert.equal(back?.user[name], 0, chip);
    assert.ok(sim.resets > resets);
    assert.equal(decodeOptionBytes(sim.chip.info, sim.chip.optionImage).user[name], 0);
  }
});

test('RDP level 2: no default, no typo and no other path reaches it; with the confirmation the bootloader is gone for good', async () => {
  const { sim, s } = await setup({ chip: 'f405' });
  const ob = await ops.readOptionBytes(s);
  const l2 = { ...ob, rdp: { raw: 0xcc, level: 2 as const } };
  await assert.rejects(ops.writeOptionBytes(s, l2), code('stm32.rdp2-needs-confirmation'));
  await assert.rejects(ops.writeOptionBytes(s, l2, { confirmRdpLevel2: 'yes' as never }), code('stm32.rdp2-needs-confirmation'));
  // Raw image writes into the option area are refused: only ob set may touch it.
  const raw = new Uint8Array(16).fill(0xcc);
  await assert.rejects(ops.writeImage(s, [{ address: 0x1fffc000, data: raw }]), code('stm32.use-ob-set'));
  await assert.rejects(ops.applyPolicy(s, { wrpPages: [], rdp: 2 as never }), code('stm32.rdp2-needs-confirmation'));
  assert.notEqual(sim.chip.rdpLevel, 2);
  assert.equal(decodeOptionBytes(sim.chip.info, sim.chip.optionImage).rdp.level, 0);

  await ops.writeOptionBytes(s, l2, { confirmRdpLevel2: RDP2_CONFIRMATION }).catch(() => undefined);
  assert.equal(sim.chip.rdpLevel, 2);
  assert.equal(sim.phase, 'locked');
  s.client.markReset();
  await assert.rejects(s.client.sync(2), code('stm32.no-bootloader'));
  sim.reset();
  assert.equal(sim.phase, 'locked', 'level 2 survives resets');
});

test('a reset in the middle of a write: the client re-syncs and finishes the same run', async () => {
  const img = image(40 * 1024, 3);
  const { sim, s } = await setup({ chip: 'l476', faults: { resetAfter: 20_000 } });
  await ops.writeImage(s, [{ address: 0x08000000, data: img }]);
  assert.ok(sim.resets >= 1, 'the fault reset the chip');
  assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
});

test('an interrupted write (cancelled, or cable pulled) leaves a state that a re-run completes', async () => {
  for (const getChecksum of [false, true]) {
    const img = image(40 * 1024, 3);
    const { sim, s } = await setup({ chip: 'l476', getChecksum });
    const ac = new AbortController();
    await assert.rejects(
      ops.writeImage(s, [{ address: 0x08000000, data: img }], { signal: ac.signal, onProgress: (p) => p.phase === 'Writing' && p.done > img.length / 2 && ac.abort() }),
      code('cancelled'),
    );
    assert.notDeepEqual(flashAt(sim, 0x08000000, img.length), img);
    await s.client.resync();
    const r = await ops.writeImage(s, [{ address: 0x08000000, data: img }]);
    assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
    if (getChecksum) assert.ok(r.unchangedUnits.length > 0, 'a re-run skips the pages already done');
  }
  const img = image(24 * 1024, 4);
  const { sim, s } = await setup({ chip: 'f405', faults: { disconnectAfter: 9000 } });
  await assert.rejects(ops.writeImage(s, [{ address: 0x08000000, data: img }]));
  sim.reconnect();
  const again = await connectStm32(inProcessTransport(sim), { replyMs: 300 });
  await ops.writeImage(again, [{ address: 0x08000000, data: img }]);
  assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
});

test('line noise: corrupted and dropped bytes are recovered by resync and retry', async () => {
  const img = image(8 * 1024, 5);
  const { sim, s } = await setup({ chip: 'f103', faults: { corrupt: 0.0005, drop: 0.0005, seed: 42 } });
  await ops.writeImage(s, [{ address: 0x08000000, data: img }]);
  assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
});

test('the protocol details the hosts rely on', async () => {
  const { sim, s } = await setup({ chip: 'f103' });
  const c = s.client;
  // 0x7F after sync is NACKed (stm32flash "not closed properly" case), and sync still succeeds.
  await c.sync();
  assert.ok(c.isSynced);
  // Unknown command with a correct complement -> NACK (resync idiom).
  await c.send(Uint8Array.of(0xff, 0x00));
  assert.deepEqual(await c.read(1, 300, 'nack'), Uint8Array.of(0x1f));
  // Get lists Erase 0x43 (F1) and never both 0x43 and 0x44.
  assert.ok(s.info.commands.includes(0x43) && !s.info.commands.includes(0x44));
  assert.equal(s.info.pid, 0x410);
  // Unaligned write -> NACK on the address.
  await assert.rejects(c.writeMemory(0x08000002, new Uint8Array(4)), RangeError);
  // Bootloader RAM below freeStart is refused.
  await assert.rejects(c.readMemory(0x20000000, 4), code('stm32.bad-address'));
  const ram = await c.readMemory(0x20000200, 4);
  assert.equal(ram.length, 4);
  // L0/L1-style refusal of the global erase is honoured by massErase's fallback (F1 accepts it).
  assert.equal(await ops.massErase(s), 'global');
  assert.ok(sim.chip.flash.isErased(0, sim.chip.flash.size));
});

test('a real-length F4 mass erase (8 s, datasheet typical) does not trip the short reply timeout', async () => {
  const sim = createStm32Simulator({ chip: 'f405', timeScale: 1 });
  const s = await connectStm32(inProcessTransport(sim), { replyMs: 300 });
  sim.chip.flash.data.fill(0x00, 0, 16);
  const t0 = performance.now();
  assert.equal(await ops.massErase(s), 'global');
  assert.ok(performance.now() - t0 >= 7900, 'the simulator took the datasheet time');
  assert.ok(sim.chip.flash.isErased(0, sim.chip.flash.size));
});

test('an Intel HEX file with two separate segments is written and verified where its addresses say', async () => {
  const { writeIntelHex } = await import('../../../src/formats/ihex.ts');
  const { parseFirmware } = await import('../../../src/formats/firmware-file.ts');
  const a = image(700, 11);
  const b = image(300, 12);
  const text = writeIntelHex({ segments: [{ address: 0x08000000, data: a }, { address: 0x08004010, data: b }] });
  const fw = parseFirmware(new TextEncoder().encode(text), 'hex');
  const { sim, s } = await setup({ chip: 'g071' });
  const r = await ops.writeImage(s, fw.segments);
  assert.deepEqual(flashAt(sim, 0x08000000, a.length), a);
  assert.deepEqual(flashAt(sim, 0x08004010, b.length), b);
  assert.deepEqual(r.erasedUnits, [0, 8]); // only the two 2 KiB pages the file touches
  assert.equal(await ops.verifyImage(s, fw.segments), 'read-back');
});

test('bank erase on a dual-bank L476 erases exactly one bank; single-bank parts refuse it', async () => {
  const { sim, s } = await setup({ chip: 'l476' });
  sim.chip.flash.data.fill(0);
  await ops.eraseBank(s, 2);
  const half = sim.chip.flash.size / 2;
  assert.ok(sim.chip.flash.isErased(half, half));
  assert.equal(sim.chip.flash.data[half - 1], 0);
  const f1 = await setup({ chip: 'f103' });
  await assert.rejects(ops.eraseBank(f1.s, 1), code('stm32.no-banks'));
});

test('a line that stalls for 1.5 s in the middle of a write: timeouts, resync, and the write completes', async () => {
  const img = image(12 * 1024, 13);
  const { sim, s } = await setup({ chip: 'f405', faults: { stallAfter: 5000, stallMs: 1500 } });
  const t0 = performance.now();
  await ops.writeImage(s, [{ address: 0x08000000, data: img }]);
  assert.ok(performance.now() - t0 > 1400, 'the stall happened');
  assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
});

test('keepRest: data sharing a page with the image survives the write', async () => {
  const { sim, s } = await setup({ chip: 'f103' });
  const calib = image(64, 21);
  sim.chip.flash.program(0x3c0, calib); // e.g. calibration data at the end of page 0
  const app = image(512, 22);
  const lost = await ops.writeImage(s, [{ address: 0x08000000, data: app }]);
  assert.deepEqual(lost.partialUnits, [0]);
  assert.ok(sim.chip.flash.isErased(0x3c0, 64), 'without keepRest the rest of the page is erased');
  sim.chip.flash.program(0x3c0, calib);
  const kept = await ops.writeImage(s, [{ address: 0x08000000, data: app }], { keepRest: true });
  assert.deepEqual(kept.partialUnits, []);
  assert.deepEqual(flashAt(sim, 0x080003c0, 64), calib);
  assert.deepEqual(flashAt(sim, 0x08000000, 512), app);
});

test('an L1 (global erase refused, F_NO_ME): mass erase falls back to page-by-page Extended Erase', async () => {
  const { sim, s } = await setup({ chip: '0x416' });
  sim.chip.flash.data.fill(0);
  await assert.rejects(s.client.extendedErase({ special: 0xffff }, 1000), code('stm32.erase-failed'));
  assert.equal(await ops.massErase(s), 'page-by-page');
  assert.ok(sim.chip.flash.isErased(0, sim.chip.flash.size));
});

test('0xFF padding inside blocks costs no line time: leading/trailing erased double words are not sent', async () => {
  const { sim, s } = await setup({ chip: 'l476' });
  const img = new Uint8Array(4096).fill(0xff);
  img.set(image(100, 30), 40); // one short run of code in the middle of FF padding
  img.set(image(8, 31), 3000);
  const before = s.client.counters.sent;
  await ops.writeImage(s, [{ address: 0x08000000, data: img }], { verify: false });
  const sent = s.client.counters.sent - before;
  assert.ok(sent < 600, `sent ${sent} bytes for 108 bytes of content`);
  assert.deepEqual(flashAt(sim, 0x08000000, img.length), img);
  assert.deepEqual(ops.trimErased(0x100, Uint8Array.of(...new Array(8).fill(0xff), 1, 2, 3, 4, 5, 6, 7, 8, ...new Array(16).fill(0xff))), {
    address: 0x108,
    data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  });
});
