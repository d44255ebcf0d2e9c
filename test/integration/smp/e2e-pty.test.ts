/**
 * End to end over real ptys with serialport, at 115200 baud 8N1 (the
 * simulator paces the line): list slots, upload a 448 KiB image, see its hash
 * listed, test, reset, confirm. About a minute: the one full-size run on a
 * clean line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSerial } from '../../../src/transport/serial.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { list, setState } from '../../../src/smp/groups/image.ts';
import { echo, reset } from '../../../src/smp/groups/os.ts';
import { uploadImage } from '../../../src/smp/upload.ts';
import { createZephyrSim, hostOnPty } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import { sleep } from './replay.ts';

test('Zephyr device on a pty at 115200: list, upload 448 KiB, hash listed, test, reset, confirm', { timeout: 300_000 }, async (t) => {
  const key = generateSigningKey();
  const running = buildImage({ size: 60_000, version: '1.0.0', key });
  const update = buildImage({ size: 448 * 1024, version: '2.1.0', key });
  // Slots large enough for a 448 KiB image plus the swap overhead.
  // Fast UART: this is the pty path end to end at the seed's scale; lost lines are matrix.test.ts's subject.
  const dev = createZephyrSim({ keys: [key.publicPem], running: running.bytes, slotSize: 0x78000, rxPeriodMs: 0 });
  const pty = hostOnPty(dev, { baud: 115200 });
  const port = await openSerial({ path: pty.path, baudRate: 115200 });
  const c = new SmpClient(port, { baud: 115200 });
  try {
    const before = await list(c);
    assert.deepEqual(before.map((s) => [s.slot, s.version, s.active, s.confirmed]), [[0, '1.0.0', true, true]]);
    const r = await uploadImage(c, update.bytes);
    const hash = Buffer.from(update.hash).toString('hex');
    assert.equal(r.reportedHash, hash);
    assert.equal(r.match, true);
    const rate = r.bytes / r.seconds;
    t.diagnostic(`upload ${r.bytes} B in ${r.seconds.toFixed(1)} s = ${rate.toFixed(0)} B/s, window ${r.plan.window}, packet ${r.plan.maxPacket}`);
    assert.ok(rate > 4000 && rate < 11520, `plausible 115200-baud throughput, got ${rate.toFixed(0)} B/s`);
    const tested = await setState(c, { hash, confirm: false });
    assert.ok(tested.find((s) => s.slot === 1)?.pending);
    await reset(c);
    // 250 ms reset delay, then MCUboot swaps 118 sectors at nRF52840 flash speed (~30 s): wait for the app.
    const deadline = Date.now() + 90_000;
    for (;;) {
      await sleep(1000);
      try {
        await echo(c, 'back');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
    const after = await list(c);
    const s0 = after.find((s) => s.slot === 0)!;
    assert.equal(s0.hash, hash);
    assert.ok(s0.active && !s0.confirmed, 'the new image runs on trial');
    const confirmed = await setState(c, { confirm: true });
    assert.ok(confirmed.find((s) => s.slot === 0)!.confirmed);
  } finally {
    await c.close();
    pty.close();
  }
});
