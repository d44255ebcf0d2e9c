/**
 * Through ../shared/tools/linesim at 115200 8N1 with field faults: bit flips
 * and dropped bytes (1e-4 per byte each way) on a 448 KiB upload to the
 * MCUboot simulator, and a cable cut at a random point (then a replug) on
 * smaller uploads to both simulators. The upload completes or resumes, and
 * no damaged image is ever listed as valid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSerial } from '../../../src/transport/serial.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { list } from '../../../src/smp/groups/image.ts';
import { uploadImage } from '../../../src/smp/upload.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { createMcubootSim, hostOnPty } from '../../../src/sim/mcuboot-serial/index.ts';
import { createZephyrSim } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { SmpDevice } from '../../../src/sim/smp/device.ts';
import { startLinesim } from './linesim.ts';

const key = generateSigningKey();

async function connect(path: string): Promise<SmpClient> {
  // A short base timeout: at 1e-4 faults per byte about one 1400-byte frame in four is hit, and each costs a timeout.
  return new SmpClient(await openSerial({ path, baudRate: 115200 }), { baud: 115200, timeoutMs: 300 });
}

test('MCUboot behind linesim with bit flips and drops: 448 KiB upload completes, exactly that image listed', { timeout: 600_000 }, async (t) => {
  const dev = createMcubootSim({ keys: [key.publicPem] });
  const img = buildImage({ size: 448 * 1024, version: '3.0.0', key });
  // A 448 KiB image fills the 448 KiB slot, which MCUboot serial recovery accepts (len == slot size).
  const pty = hostOnPty(dev, { baud: 0 });
  const line = await startLinesim(pty.path, ['--flip', '1e-4', '--drop', '1e-4', '--seed', String(Date.now() % 100000)]);
  const c = await connect(line.host);
  try {
    const r = await uploadImage(c, img.bytes);
    const hash = Buffer.from(img.hash).toString('hex');
    t.diagnostic(`${r.bytes} B in ${r.seconds.toFixed(1)} s, ${r.bytesSent} B sent, client retries ${c.stats.retries}, bad frames ${c.stats.badFrames}`);
    assert.equal(r.reportedHash, hash);
    const slots = await list(c);
    assert.deepEqual(slots.map((s) => s.hash), [hash]);
    const area = (dev as { slots: Array<{ primary: { offset: number } }> }).slots[0]!.primary;
    assert.ok(Buffer.from(dev.flash.read(area.offset, img.bytes.length)).equals(Buffer.from(img.bytes)), 'flash holds exactly the image');
  } finally {
    await c.close();
    t.diagnostic(`linesim: ${JSON.stringify(await line.stop())}`);
    pty.close();
  }
});

async function cutThenReplug(t: { diagnostic(s: string): void }, dev: SmpDevice, imgBytes: Uint8Array, hash: string): Promise<{ bytesSent: number; restarts: number; resumedAt: number | undefined }> {
  const pty = hostOnPty(dev, { baud: 0 });
  const cutAt = 8000 + Math.floor(Math.random() * 40000);
  t.diagnostic(`cable cut after ${cutAt} bytes`);
  try {
    const first = await startLinesim(pty.path, ['--cut-after', String(cutAt), '--flip', '1e-4']);
    const c1 = await connect(first.host);
    await assert.rejects(uploadImage(c1, imgBytes, { stallTimeoutMs: 3000 }), (e: unknown) => e instanceof UnbrickError && (e.code === 'smp.upload-stalled' || e.code.startsWith('io.')));
    await c1.close().catch(() => {});
    t.diagnostic(`first line: ${JSON.stringify(await first.stop())}; client retries ${c1.stats.retries}, bad frames ${c1.stats.badFrames}`);
    // Replugged: a fresh line and client.
    const second = await startLinesim(pty.path, ['--flip', '1e-4']);
    const c2 = await connect(second.host);
    try {
      const before = await list(c2);
      assert.ok(!before.some((s) => s.hash === hash), 'the half-written image is not listed as valid');
      const r = await uploadImage(c2, imgBytes);
      assert.equal(r.reportedHash, hash);
      return { bytesSent: r.bytesSent, restarts: r.restarts, resumedAt: r.resumedAt };
    } finally {
      await c2.close();
      await second.stop();
    }
  } finally {
    pty.close();
  }
}

test('cable cut at a random point, then replug: Zephyr resumes, MCUboot starts over; both complete', { timeout: 300_000 }, async (t) => {
  const z = buildImage({ size: 48 * 1024, version: '1.1.0', key });
  const zdev = createZephyrSim({ keys: [key.publicPem], running: buildImage({ size: 20000, key }).bytes });
  const zr = await cutThenReplug(t, zdev, z.bytes, Buffer.from(z.hash).toString('hex'));
  t.diagnostic(`zephyr: resumed at ${zr.resumedAt}, ${zr.bytesSent} of ${z.bytes.length} bytes sent after the replug (resends included)`);
  // bytesSent counts resends, which a noisy line at the grid's pace can make many: where it resumed is the fact.
  assert.ok(zr.resumedAt !== undefined && zr.resumedAt > 0, 'Zephyr resumed from the offset it had (same length and sha)');
  const m = buildImage({ size: 48 * 1024, version: '1.1.0', key });
  const mr = await cutThenReplug(t, createMcubootSim({ keys: [key.publicPem] }), m.bytes, Buffer.from(m.hash).toString('hex'));
  assert.ok(mr.resumedAt === undefined && mr.bytesSent >= m.bytes.length, 'MCUboot cannot prove it is the same upload, so it starts over');
});
