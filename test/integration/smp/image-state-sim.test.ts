/**
 * Image state (test, confirm) against both simulators, in-process, with the
 * cases and answers of the real firmware peers in real-peers.test.ts: the
 * flags each answered list shows, the refusals (rc, v2 group code, and the
 * reason the client reads from the list), and what the client warns about
 * when the device accepts a request that does not take effect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmpClient } from '../../../src/smp/client.ts';
import { reset } from '../../../src/smp/groups/os.ts';
import { list, setState, stateNote, type SlotState, type StateRequest } from '../../../src/smp/groups/image.ts';
import { uploadImage } from '../../../src/smp/upload.ts';
import { createMcubootSim, connectInProcess } from '../../../src/sim/mcuboot-serial/index.ts';
import { createZephyrSim } from '../../../src/sim/zephyr/index.ts';
import type { SmpDevice } from '../../../src/sim/smp/device.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { sleep } from './replay.ts';
import { MCUBOOT_DIR } from './vectors.ts';
import { PEERS } from './peers.ts';

const APP = new Uint8Array(readFileSync(join(MCUBOOT_DIR, 'images', 'app-signed.bin')));
const APP2 = new Uint8Array(readFileSync(join(MCUBOOT_DIR, 'images', 'app2-signed.bin')));
const RUNNING = new Uint8Array(readFileSync(join(PEERS, 'zephyr-running-1.0.0.bin')));
const APP_HASH = 'c7786c26af308fe8d4fb82e0f7dc0b4625ccffdfa6f3b7bf8b531aaad6f7e718';
const APP2_HASH = '1f359edd88b60ef2e412376a8f3eb6026419aee3cf20a0a11eae305ebde27ad2';
const RUNNING_HASH = 'ec7eced0d369f56fc4635f3ab19eb6df400e7f8afbdaec72a72154f4b60ce018';
const NO_SUCH_HASH = '00'.repeat(32);

function client(dev: SmpDevice, version: 0 | 1 = 0): SmpClient {
  // Zephyr has two line buffers: unpaced frames go line by line with a gap.
  return new SmpClient(connectInProcess(dev, { baud: 0 }), { timeoutMs: 300, retries: 1, lineGapMs: 1, version });
}

const flags = (slots: SlotState[]) =>
  slots.map((s) => `${s.slot}:${s.hash.slice(0, 8)}:${(['pending', 'confirmed', 'active', 'permanent'] as const).filter((k) => s[k]).join('+')}`);

/** A test or confirm: the answered list, and the CLI's warning if any (with `applied: false` when the CLI exits 1). */
async function state(c: SmpClient, req: StateRequest): Promise<{ slots: string[]; warning?: string; applied?: false }> {
  const slots = await setState(c, req);
  const note = stateNote(slots, req);
  return { slots: flags(slots), ...(note ? { warning: note.text } : {}), ...(note?.applied === false ? { applied: false as const } : {}) };
}

async function refused(c: SmpClient, req: StateRequest): Promise<UnbrickError> {
  try {
    await setState(c, req);
  } catch (e) {
    if (e instanceof UnbrickError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(req)} was not refused`);
}

test('MCUboot serial recovery sim: test and confirm by hash and without, refusals, across a reset (as the real peer)', async () => {
  const dev = createMcubootSim({ flash: 'none' });
  const c = client(dev);
  try {
    const none = await refused(c, { hash: APP_HASH, confirm: false });
    assert.deepEqual([none.code, none.details?.rc], ['smp.image-not-found', 5]);
    assert.match(none.message, /lists no image/);
    await uploadImage(c, APP);
    assert.deepEqual(flags(await list(c)), ['0:c7786c26:confirmed+active']);
    const tested = await state(c, { hash: APP_HASH, confirm: false });
    assert.deepEqual(tested.slots, ['0:c7786c26:confirmed']);
    assert.match(tested.warning ?? '', /Nothing is marked for a test boot.*primary slot/);
    assert.equal(tested.applied, undefined, 'the image boots as it is: only a note');
    const unknown = await refused(c, { hash: NO_SUCH_HASH, confirm: true });
    assert.deepEqual([unknown.code, unknown.details?.rc], ['smp.image-not-found', 5]);
    await reset(c);
    await sleep(400);
    assert.deepEqual(flags(await list(c)), ['0:c7786c26:confirmed']);
    assert.deepEqual(await state(c, { hash: APP_HASH, confirm: true }), { slots: ['0:c7786c26:confirmed'] });
    assert.deepEqual(await state(c, { confirm: true }), { slots: ['0:c7786c26:confirmed'] });
  } finally {
    await c.close();
    dev.dispose();
  }
});

test('MCUboot serial recovery sim with an image in slot 1: a test marks slot 1 whatever the hash; confirm keeps it a test', async () => {
  const dev = createMcubootSim({ flash: 'none' });
  dev.program(0, 1, APP2);
  const c = client(dev);
  try {
    await uploadImage(c, APP);
    assert.deepEqual(flags(await list(c)), ['0:c7786c26:confirmed+active', '1:1f359edd:']);
    const t0 = await state(c, { hash: APP_HASH, confirm: false });
    assert.deepEqual(t0.slots, ['0:c7786c26:confirmed', '1:1f359edd:pending']);
    assert.match(t0.warning ?? '', /marked 2\.0\.0 \(slot 1.*for a test boot, not 1\.2\.3\.4/);
    assert.equal(t0.applied, false);
    assert.deepEqual(await state(c, { hash: APP2_HASH, confirm: false }), { slots: ['0:c7786c26:confirmed', '1:1f359edd:pending'] });
    const c1 = await state(c, { hash: APP2_HASH, confirm: true });
    assert.deepEqual(c1.slots, ['0:c7786c26:confirmed', '1:1f359edd:pending']);
    assert.match(c1.warning ?? '', /test boot only \(pending, not permanent\)/);
    assert.equal(c1.applied, false);
    await reset(c);
    await sleep(400);
    assert.deepEqual(flags(await list(c)), ['0:c7786c26:confirmed', '1:1f359edd:pending']);
  } finally {
    await c.close();
    dev.dispose();
  }
});

test('Zephyr sim without a bootloader: the real smp_svr\'s answers to test and confirm, v1 and v2', async () => {
  const dev = createZephyrSim({ flash: 'none', bootloader: 'none', running: RUNNING });
  const c = client(dev);
  const v2 = client(dev, 1);
  try {
    const running = ['0:ec7eced0:confirmed+active'];
    assert.deepEqual(await state(c, { confirm: true }), { slots: running });
    assert.deepEqual(await state(c, { hash: RUNNING_HASH, confirm: true }), { slots: running });
    const self = await refused(c, { hash: RUNNING_HASH, confirm: false });
    assert.deepEqual([self.code, self.details?.rc], ['smp.image-running', 1]);
    const selfV2 = await refused(v2, { hash: RUNNING_HASH, confirm: false });
    assert.deepEqual([selfV2.code, selfV2.details?.group, selfV2.details?.rc], ['smp.image-running', 1, 33]);
    const unknown = await refused(c, { hash: NO_SUCH_HASH, confirm: false });
    assert.deepEqual([unknown.code, unknown.details?.rc], ['smp.image-not-found', 1]);
    assert.match(unknown.message, /it holds 1\.0\.0 \(slot 0/);

    await uploadImage(c, APP);
    // Test, then confirm of slot 1 while it is pending for the test: refused (vector 14); test again: the list.
    const pendingTest = ['0:ec7eced0:confirmed+active', '1:c7786c26:pending'];
    assert.deepEqual(await state(c, { hash: APP_HASH, confirm: false }), { slots: pendingTest });
    assert.deepEqual(await state(c, { hash: APP_HASH, confirm: false }), { slots: pendingTest });
    const no = await refused(c, { hash: APP_HASH, confirm: true });
    assert.deepEqual([no.code, no.details?.rc], ['smp.image-pending', 6]);
    assert.match(no.message, /1\.2\.3\.4 \(slot 1.*test boot/);
    const noV2 = await refused(v2, { confirm: true });
    assert.deepEqual([noV2.code, noV2.details?.group, noV2.details?.rc], ['smp.image-pending', 1, 28]);
    await reset(c);
    await sleep(600);
    assert.deepEqual(flags(await list(c)), pendingTest, 'no bootloader: pending survives the reset');
  } finally {
    await c.close();
    await v2.close();
    dev.dispose();
  }
});

test('Zephyr sim without a bootloader: confirm slot 1 for good; asked again, the same; test and confirm of slot 0 refused', async () => {
  const dev = createZephyrSim({ flash: 'none', bootloader: 'none', running: RUNNING });
  dev.program(1, APP);
  const c = client(dev);
  try {
    const perm = ['0:ec7eced0:confirmed+active', '1:c7786c26:pending+permanent'];
    assert.deepEqual(await state(c, { hash: APP_HASH, confirm: true }), { slots: perm });
    assert.deepEqual(await state(c, { hash: APP_HASH, confirm: true }), { slots: perm });
    const test1 = await refused(c, { hash: APP_HASH, confirm: false });
    assert.deepEqual([test1.code, test1.details?.rc], ['smp.image-pending', 6]);
    assert.match(test1.message, /permanent swap/);
    const conf0 = await refused(c, { confirm: true });
    assert.deepEqual([conf0.code, conf0.details?.rc], ['smp.image-pending', 6]);
    await reset(c);
    await sleep(600);
    assert.deepEqual(flags(await list(c)), perm);
  } finally {
    await c.close();
    dev.dispose();
  }
});
