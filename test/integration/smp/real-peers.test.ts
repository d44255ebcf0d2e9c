/**
 * The real firmware peers from ../shared/peers, driven by the CLI with its
 * defaults through linesim at 115200 8N1: upload app-signed.bin, list, test,
 * reset, confirm (MCUboot serial recovery and the stock Zephyr smp_svr, which
 * exits on an SMP reset and is started again on the same flash file, like a
 * power cycle), with the flags and refusals the firmware itself answers.
 * Faults: real-peers-faults.test.ts; the seed's 448 KiB image:
 * real-peers-large.test.ts. The simulators answer the same cases in
 * image-state-sim.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { unbrick } from './cli-process.ts';
import type { Linesim } from './linesim.ts';
import { startMcubootPeer, startZephyrPeer, withPeerLine } from './peers.ts';
import { MCUBOOT_DIR } from './vectors.ts';
import type { LinkReport } from '../../../src/smp/link-learner.ts';

const APP = join(MCUBOOT_DIR, 'images', 'app-signed.bin');
const APP_HASH = 'c7786c26af308fe8d4fb82e0f7dc0b4625ccffdfa6f3b7bf8b531aaad6f7e718';

const APP2 = join(MCUBOOT_DIR, 'images', 'app2-signed.bin');
const APP2_HASH = '1f359edd88b60ef2e412376a8f3eb6026419aee3cf20a0a11eae305ebde27ad2';
/** zephyr-running-1.0.0.bin's image hash (../shared/peers README). */
const RUNNING_HASH = 'ec7eced0d369f56fc4635f3ab19eb6df400e7f8afbdaec72a72154f4b60ce018';
const NO_SUCH_HASH = '00'.repeat(32);

interface Slot {
  slot: number;
  hash: string;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

async function cli(line: Linesim, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await unbrick('smp', ...args, '--port', line.host, '--json');
  assert.equal(r.code, 0, `smp ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as Record<string, unknown>;
}

/**
 * `smp test|confirm|slots`: the answered list as `slot:flag+flag`, the warning if any, and
 * `applied: false` when the device did not show the asked state (the CLI then exits 1, else 0).
 */
async function state(line: Linesim, ...args: string[]): Promise<{ slots: string[]; warning?: string; applied?: false }> {
  const out = await unbrick('smp', ...args, '--port', line.host, '--json');
  const r = JSON.parse(out.out || '{}') as { slots: Slot[]; warning?: string; applied?: boolean };
  assert.equal(out.code, r.applied === false ? 1 : 0, `smp ${args.join(' ')}: ${out.out}${out.err}`);
  const flags = (s: Slot) => (['pending', 'confirmed', 'active', 'permanent'] as const).filter((k) => s[k]).join('+');
  return { slots: r.slots.map((s) => `${s.slot}:${s.hash.slice(0, 8)}:${flags(s)}`), ...(r.warning ? { warning: r.warning } : {}), ...(r.applied === false ? { applied: false as const } : {}) };
}

/** A command the device refuses: exit 3 and the error's code and details. */
async function refused(line: Linesim, ...args: string[]): Promise<{ error: string; details: Record<string, unknown>; message: string }> {
  const r = await unbrick('smp', ...args, '--port', line.host, '--json');
  assert.equal(r.code, 3, `smp ${args.join(' ')} should be refused: ${r.out}${r.err}`);
  return JSON.parse(r.out) as { error: string; details: Record<string, unknown>; message: string };
}

test('real MCUboot serial recovery: upload with defaults, list, reset, list again', { timeout: 90_000 }, () =>
  withPeerLine(() => startMcubootPeer(), async ({ line }) => {
    const up = await cli(line, 'upload', APP);
    assert.equal(up.hash, APP_HASH);
    // MCUboot takes its largest frames back to back: the engine stays on them (a frame lost to host load may move it).
    const link = up.link as LinkReport;
    assert.ok(link.framesLost > 0 || (link.frameSize === (up.chunk as { maxPacket: number }).maxPacket && link.gridMs === undefined), `link ${JSON.stringify(link)}`);
    const slots = (await cli(line, 'slots')).slots as Array<{ hash: string; slot: number }>;
    assert.deepEqual(slots.map((s) => [s.slot, s.hash]), [[0, APP_HASH]]);
    await cli(line, 'reset');
    await new Promise((r) => setTimeout(r, 600)); // it restarts on the same pty after about 250 ms
    const after = (await cli(line, 'slots')).slots as Array<{ hash: string }>;
    assert.deepEqual(after.map((s) => s.hash), [APP_HASH], 'flash kept across the reset');
  }),
);

test('real Zephyr smp_svr: upload with defaults, test, reset (the process exits; restarted on its flash), confirm refused while pending', { timeout: 90_000 }, () =>
  withPeerLine(() => startZephyrPeer(), async (p) => {
    let line = p.line;
    const up = await cli(line, 'upload', APP);
    assert.equal(up.hash, APP_HASH);
    assert.equal(up.match, true);
    const slot1 = ((await cli(line, 'slots')).slots as Array<{ slot: number; hash: string; pending: boolean }>).find((s) => s.slot === 1);
    assert.equal(slot1?.hash, APP_HASH);
    const tested = (await cli(line, 'test', APP_HASH)).slots as Array<{ slot: number; pending: boolean }>;
    assert.equal(tested.find((s) => s.slot === 1)?.pending, true);
    await cli(line, 'reset');
    line = await p.restartAfterExit();
    const after = (await cli(line, 'slots')).slots as Array<{ slot: number; hash: string; pending: boolean }>;
    assert.equal(after.find((s) => s.slot === 1)?.pending, true, 'pending survives the reset (no bootloader runs)');
    // Zephyr 3.4 refuses to confirm while a test is pending (smp-zephyr vectors, 14-image-confirm: rc 6):
    // the CLI says which image is pending, and nothing changes.
    const no = await refused(line, 'confirm', APP_HASH);
    assert.deepEqual([no.error, no.details.rc], ['smp.image-pending', 6]);
    assert.match(no.message, /1\.2\.3\.4 \(slot 1.*test boot/);
    assert.deepEqual((await state(line, 'slots')).slots, ['0:ec7eced0:confirmed+active', '1:c7786c26:pending']);
    // A test asked again is answered with the list (the scheduled swap is left as it is).
    assert.deepEqual(await state(line, 'test', APP_HASH), { slots: ['0:ec7eced0:confirmed+active', '1:c7786c26:pending'] });
  }),
);

test('real MCUboot serial recovery: image state (test, confirm) by hash and without, refusals, across a reset', { timeout: 90_000 }, () =>
  withPeerLine(() => startMcubootPeer(), async ({ line }) => {
    // Empty device: a hash it does not hold is refused with rc 5 (ENOENT, vector A10).
    const none = await refused(line, 'test', APP_HASH);
    assert.deepEqual([none.error, none.details.rc], ['smp.image-not-found', 5]);
    assert.match(none.message, /lists no image/);
    await cli(line, 'upload', APP);
    assert.deepEqual((await state(line, 'slots')).slots, ['0:c7786c26:confirmed+active']);
    // Serial recovery writes to the primary slot; a test marks the secondary (empty) slot's trailer,
    // so nothing is pending, and slot 0 is no longer listed active (vector A10): the CLI warns.
    const tested = await state(line, 'test', APP_HASH);
    assert.deepEqual(tested.slots, ['0:c7786c26:confirmed']);
    assert.match(tested.warning ?? '', /Nothing is marked for a test boot.*primary slot/);
    assert.equal(tested.applied, undefined, 'the image boots as it is: only a note, exit 0');
    const unknown = await refused(line, 'confirm', NO_SUCH_HASH);
    assert.deepEqual([unknown.error, unknown.details.rc], ['smp.image-not-found', 5]);
    await cli(line, 'reset');
    await new Promise((r) => setTimeout(r, 600)); // it restarts on the same pty after about 250 ms
    assert.deepEqual((await state(line, 'slots')).slots, ['0:c7786c26:confirmed'], 'the trailer survives the reset');
    assert.deepEqual(await state(line, 'confirm', APP_HASH), { slots: ['0:c7786c26:confirmed'] });
    assert.deepEqual(await state(line, 'confirm'), { slots: ['0:c7786c26:confirmed'] });
  }),
);

test('real MCUboot serial recovery with an image in slot 1: a test marks slot 1 whatever the hash; confirm keeps it a test', { timeout: 90_000 }, () =>
  withPeerLine(() => startMcubootPeer(['--slot1', APP2]), async ({ line }) => {
    await cli(line, 'upload', APP);
    assert.deepEqual((await state(line, 'slots')).slots, ['0:c7786c26:confirmed+active', '1:1f359edd:']);
    // boot_set_pending_multi marks the secondary slot for any listed hash: the slot-0 hash sets slot 1 pending.
    const t0 = await state(line, 'test', APP_HASH);
    assert.deepEqual(t0.slots, ['0:c7786c26:confirmed', '1:1f359edd:pending']);
    assert.match(t0.warning ?? '', /marked 2\.0\.0 \(slot 1.*for a test boot, not 1\.2\.3\.4/);
    assert.equal(t0.applied, false, 'another image was marked: exit 1');
    assert.deepEqual(await state(line, 'test', APP2_HASH), { slots: ['0:c7786c26:confirmed', '1:1f359edd:pending'] });
    // A swap already scheduled is left as it is: the confirm is answered, but slot 1 stays a test.
    const c1 = await state(line, 'confirm', APP2_HASH);
    assert.deepEqual(c1.slots, ['0:c7786c26:confirmed', '1:1f359edd:pending']);
    assert.match(c1.warning ?? '', /test boot only \(pending, not permanent\)/);
    assert.equal(c1.applied, false, 'the confirm did not take: exit 1');
    await cli(line, 'reset');
    await new Promise((r) => setTimeout(r, 600));
    // The peer always re-enters serial recovery: no swap ran, slot 1 is still pending.
    assert.deepEqual((await state(line, 'slots')).slots, ['0:c7786c26:confirmed', '1:1f359edd:pending']);
  }),
);

test('real Zephyr smp_svr: confirm the running image, refusals, confirm slot 1 for good, reset (restarted on its flash): it stays so', { timeout: 90_000 }, () =>
  withPeerLine(() => startZephyrPeer(), async (p) => {
    let line = p.line;
    const running = ['0:ec7eced0:confirmed+active'];
    assert.deepEqual(await state(line, 'confirm'), { slots: running });
    assert.deepEqual(await state(line, 'confirm', RUNNING_HASH), { slots: running });
    // SMP v1 answers both with rc 1 (v2: image errors 33 and 8); the CLI reads the list to say why.
    const self = await refused(line, 'test', RUNNING_HASH);
    assert.deepEqual([self.error, self.details.rc], ['smp.image-running', 1]);
    const selfV2 = await refused(line, 'test', RUNNING_HASH, '--smp-v2');
    assert.deepEqual([selfV2.error, selfV2.details.group, selfV2.details.rc], ['smp.image-running', 1, 33]);
    const unknown = await refused(line, 'test', NO_SUCH_HASH);
    assert.deepEqual([unknown.error, unknown.details.rc], ['smp.image-not-found', 1]);
    assert.match(unknown.message, /it holds 1\.0\.0 \(slot 0/);

    await cli(line, 'upload', APP);
    const perm = ['0:ec7eced0:confirmed+active', '1:c7786c26:pending+permanent'];
    assert.deepEqual(await state(line, 'confirm', APP_HASH), { slots: perm });
    assert.deepEqual(await state(line, 'confirm', APP_HASH), { slots: perm }, 'asked again: the same answer');
    const test1 = await refused(line, 'test', APP_HASH);
    assert.deepEqual([test1.error, test1.details.rc], ['smp.image-pending', 6]);
    assert.match(test1.message, /permanent swap/);
    const conf0 = await refused(line, 'confirm');
    assert.deepEqual([conf0.error, conf0.details.rc], ['smp.image-pending', 6]);

    await cli(line, 'reset');
    line = await p.restartAfterExit();
    // No bootloader runs on native_sim: the slot-1 trailer stays as written.
    assert.deepEqual((await state(line, 'slots')).slots, perm);
  }),
);
