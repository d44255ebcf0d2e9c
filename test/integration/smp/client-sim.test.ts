/**
 * Client against both simulators in-process (unpaced, instant flash): the
 * commands, the upload engine's offset handling, and MCUboot across resets
 * (test -> reset -> swap -> confirm; revert when not confirmed; power loss
 * during a swap; reset in the middle of an upload).
 */
import { test } from 'node:test';
import { getEventListeners } from 'node:events';
import assert from 'node:assert/strict';
import { SmpClient } from '../../../src/smp/client.ts';
import { echo, params, reset } from '../../../src/smp/groups/os.ts';
import { list, setState, slotInfo, erase } from '../../../src/smp/groups/image.ts';
import { eraseStorage } from '../../../src/smp/groups/storage.ts';
import { uploadImage } from '../../../src/smp/upload.ts';
import { createMcubootSim, connectInProcess } from '../../../src/sim/mcuboot-serial/index.ts';
import { createZephyrSim } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { SmpDevice } from '../../../src/sim/smp/device.ts';
import { setPending } from '../../../src/sim/smp/boot.ts';
import { sleep } from './replay.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const key = generateSigningKey();
const other = generateSigningKey();

/** Unpaced in-process line: Zephyr has two line buffers, so frames go line by line with a gap. */
function client(dev: SmpDevice, lineGapMs = 0): SmpClient {
  return new SmpClient(connectInProcess(dev, { baud: 0 }), { timeoutMs: 300, retries: 1, lineGapMs });
}

/** Runs `fn` with a client on the device (see `client`); the client is closed and the device disposed after. */
async function onClient(dev: SmpDevice, lineGapMs: number, fn: (c: SmpClient) => Promise<void>): Promise<void> {
  const c = client(dev, lineGapMs);
  try {
    await fn(c);
  } finally {
    await c.close();
    dev.dispose();
  }
}

async function afterReset(c: SmpClient): Promise<void> {
  await sleep(400);
  await echo(c, 'up');
}

test('MCUboot recovery: params, upload, list, unsupported commands, wrong key', async () => {
  const dev = createMcubootSim({ keys: [key.publicPem], flash: 'none' });
  await onClient(dev, 0, async (c) => {
    assert.deepEqual(await params(c), { bufSize: 1024, bufCount: 1 });
    assert.deepEqual(await list(c), []);
    assert.equal((await slotInfo(c))[0]!.maxImageSize, 450560);
    const img = buildImage({ size: 30000, version: '1.2.3+4', key });
    const r = await uploadImage(c, img.bytes);
    assert.equal(r.reportedHash, Buffer.from(img.hash).toString('hex'));
    assert.equal(r.plan.maxPacket, 1020);
    const slots = await list(c);
    assert.equal(slots.length, 1);
    assert.equal(slots[0]!.version, '1.2.3.4');
    assert.ok(slots[0]!.confirmed && slots[0]!.active);
    await eraseStorage(c);
    await assert.rejects(erase(c, 1), (e: Error & { code?: string }) => e.code === 'smp.unsupported' && /does not support image erase/.test(e.message));
    const bad = buildImage({ size: 8000, key: other });
    await assert.rejects(uploadImage(c, bad.bytes), (e: Error & { code?: string }) => e.code === 'smp.image-not-listed');
    assert.deepEqual(await list(c), []);
  });
});

test('MCUboot recovery: a reset in the middle of an upload restarts it from 0 and it completes', async () => {
  const dev = createMcubootSim({ keys: [key.publicPem], flash: 'none', resetAtUploadOffset: 20000 });
  await onClient(dev, 0, async (c) => {
    const img = buildImage({ size: 40000, key });
    const r = await uploadImage(c, img.bytes, { stallTimeoutMs: 5000 });
    assert.ok(r.restarts >= 1, 'the upload restarted');
    assert.equal(r.reportedHash, Buffer.from(img.hash).toString('hex'));
  });
});

test('MCUboot boot path: test -> reset -> swap; not confirmed -> revert; power loss mid-swap resumes', async () => {
  const v1 = buildImage({ size: 20000, version: '1.0.0', key });
  const v2 = buildImage({ size: 24000, version: '2.0.0', key });
  const dev = createMcubootSim({ keys: [key.publicPem], flash: 'none', recovery: 'no-valid-app', powerLossAfterSectors: 3 });
  dev.program(0, 0, v1.bytes);
  dev.program(0, 1, v2.bytes);
  await onClient(dev, 0, async (c) => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    // Recovery mode lists both; mark the secondary for a test boot and reset.
    await setState(c, { hash: hex(v2.hash), confirm: false });
    await reset(c);
    await sleep(400);
    assert.equal(dev.state, 'app');
    assert.equal(dev.lastBoot?.swapped, 'test');
    const slot0 = dev.flash.read(dev.slots[0]!.primary.offset, v2.bytes.length);
    assert.ok(Buffer.from(slot0).equals(Buffer.from(v2.bytes)), 'the swap finished after the power loss');
    // Not confirmed: the next boot reverts.
    dev.reset();
    assert.equal(dev.lastBoot?.swapped, 'revert');
    assert.ok(Buffer.from(dev.flash.read(dev.slots[0]!.primary.offset, v1.bytes.length)).equals(Buffer.from(v1.bytes)));
  });
});

test('Zephyr app: windowed upload, test, reset (swap), confirm; revert when not confirmed', async () => {
  const v1 = buildImage({ size: 20000, version: '1.0.0', key });
  const v2 = buildImage({ size: 50000, version: '2.0.0', key });
  const dev = createZephyrSim({ keys: [key.publicPem], flash: 'none', running: v1.bytes });
  await onClient(dev, 1, async (c) => {
    const r = await uploadImage(c, v2.bytes);
    assert.equal(r.plan.window, 3);
    assert.equal(r.match, true);
    const h2 = Buffer.from(v2.hash).toString('hex');
    let slots = await setState(c, { hash: h2, confirm: false });
    assert.ok(slots.find((s) => s.slot === 1)!.pending);
    await reset(c);
    await afterReset(c);
    slots = await list(c);
    const s0 = slots.find((s) => s.slot === 0)!;
    assert.equal(s0.hash, h2);
    assert.ok(s0.active && !s0.confirmed, 'running the test image, not yet confirmed');
    await setState(c, { confirm: true });
    await reset(c);
    await afterReset(c);
    slots = await list(c);
    assert.equal(slots.find((s) => s.slot === 0)!.hash, h2);
    assert.ok(slots.find((s) => s.slot === 0)!.confirmed);
    // A further test image that is never confirmed is reverted.
    const v3 = buildImage({ size: 30000, version: '3.0.0', key });
    await uploadImage(c, v3.bytes);
    await setState(c, { hash: Buffer.from(v3.hash).toString('hex'), confirm: false });
    await reset(c);
    await afterReset(c);
    assert.equal((await list(c)).find((s) => s.slot === 0)!.version, '3.0.0');
    await reset(c);
    await afterReset(c);
    assert.equal((await list(c)).find((s) => s.slot === 0)!.hash, h2, 'reverted to the confirmed image');
  });
});

test('MCUboot: a cable pulled for 1.5 s mid-upload and a stalling device; the upload carries on from the device offset', async () => {
  const dev = createMcubootSim({ keys: [key.publicPem], flash: 'none' });
  const port = connectInProcess(dev, { baud: 0, faults: { cutAfterBytes: 15000, cutMs: 1500, stallMs: 400, stallEveryMs: 1000 } });
  const c = new SmpClient(port, { timeoutMs: 300, retries: 1 });
  try {
    const img = buildImage({ size: 40000, key });
    const r = await uploadImage(c, img.bytes, { stallTimeoutMs: 10000 });
    assert.equal(port.link.counters.cut, 1);
    assert.equal(r.restarts, 0, 'the device kept its offset, so nothing was resent from 0');
    assert.ok(c.stats.timeouts > 0, 'the cut was felt');
    assert.equal(r.reportedHash, Buffer.from(img.hash).toString('hex'));
  } finally {
    await c.close();
    dev.dispose();
  }
});

test('a port that goes away: the upload reports where it stopped, and a new connection continues from there', async () => {
  const dev = createMcubootSim({ keys: [key.publicPem], flash: 'none' });
  const img = buildImage({ size: 40000, key });
  const first = connectInProcess(dev, { baud: 0 });
  const c1 = new SmpClient(first, { timeoutMs: 300, retries: 1 });
  let stoppedAt = 0;
  const pulled = uploadImage(c1, img.bytes, {
    onProgress: (p) => {
      if (p.done > 15000 && !stoppedAt) {
        stoppedAt = p.done;
        void first.close(); // the adapter is unplugged
      }
    },
  });
  await assert.rejects(pulled, (e: unknown) => e instanceof UnbrickError && e.code === 'smp.upload-stalled' && Number(e.details?.offset) >= 15000);
  const c2 = new SmpClient(connectInProcess(dev, { baud: 0 }), { timeoutMs: 300, retries: 1 });
  try {
    const r = await uploadImage(c2, img.bytes, { resumeFrom: stoppedAt });
    assert.equal(r.restarts, 0);
    assert.ok(r.bytesSent <= img.bytes.length - stoppedAt + 1000, `continued, sent ${r.bytesSent}`);
    assert.equal(r.reportedHash, Buffer.from(img.hash).toString('hex'));
  } finally {
    await c2.close();
    dev.dispose();
  }
});

test('a silent device: every try times out, and no abort listener is left on the caller signal', async () => {
  // A transport that swallows everything: no answer ever comes.
  const silent = { description: 'silent', write: async () => {}, onData: () => {}, onClose: () => {}, close: async () => {} };
  const c = new SmpClient(silent, { timeoutMs: 5, retries: 15 });
  const ac = new AbortController();
  await assert.rejects(c.call({ op: 'write', group: 0, id: 0, body: { d: 'x' }, what: 'echo', signal: ac.signal }), (e: unknown) => e instanceof UnbrickError && e.code === 'smp.timeout');
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('a power loss mid-swap costs the unit the flash time it had already spent: it comes back no sooner than an uncut swap', () => {
  const v1 = buildImage({ size: 20000, version: '1.0.0', key });
  const v2 = buildImage({ size: 24000, version: '2.0.0', key });
  const bootMs = (powerLossAfterSectors?: number) => {
    const dev = createZephyrSim({ keys: [key.publicPem], flash: 'nrf52840', running: v1.bytes, ...(powerLossAfterSectors !== undefined ? { powerLossAfterSectors } : {}) });
    try {
      dev.program(1, v2.bytes);
      setPending(dev.flash, dev.slots, false);
      const ms = (dev as unknown as { boot(): number }).boot();
      assert.equal(dev.lastBoot?.swapped, 'test');
      return ms;
    } finally {
      dev.dispose();
    }
  };
  const whole = bootMs();
  const cut = bootMs(50); // of about 100 sectors
  assert.ok(whole > 100, `a swap with nRF52840 flash timing takes a while (${whole} ms)`);
  assert.ok(cut >= whole * 0.98 && cut <= whole * 1.1, `cut ${cut.toFixed(0)} ms vs whole ${whole.toFixed(0)} ms`);
});
