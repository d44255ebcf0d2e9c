/**
 * The SMP workflows (recover, offline update) under the device faults of the
 * SMP issue: a reset mid-upload, a device that stops answering for a while, a
 * cable pulled mid-upload, power lost in the middle of MCUboot's swap, and a
 * new image that does not start. Each run must end correct, or cleanly failed
 * (typed error, plain words) and resumable, and the unit must never be left
 * worse than before. The device's final state is read back over SMP (image
 * list: hashes and flags), beside the job's state and the service record.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppCore } from '../../../src/app/app-core.ts';
import type { Job } from '../../../src/workflows/job.ts';
import { labApplicationImage } from '../../../src/sim/lab/product.ts';
import { SMP_SLOT_SIZE, type SmpBoard, type SmpBoardOptions } from '../../../src/sim/lab/smp-board.ts';
import type { ZephyrDevice } from '../../../src/sim/zephyr/index.ts';
import { imageHash } from '../../../src/formats/mcuboot/index.ts';
import { list, type SlotState } from '../../../src/smp/groups/image.ts';
import { openSmp } from '../../../src/devices/smp-link.ts';
import { FrameReader } from '../../../src/smp/frame.ts';
import { decodeHeader } from '../../../src/smp/header.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';
import { detectAs, drive, labCore as sharedLabCore, progressPast, runResuming } from './lab-jobs.ts';
import type { ServiceEntry } from '../../../src/records/service-log.ts';

const RECOVERY = 'lab-recovery-empty';
const APP = 'lab-healthy-pending';
/** The image hashes (hash TLV) of the lab's releases, computed here, not taken from the workflow. */
const hashOf = (version: string, payloadBytes?: number) =>
  Buffer.from(imageHash(labApplicationImage(version, { slotSize: SMP_SLOT_SIZE, ...(payloadBytes ? { payloadBytes } : {}) }))).toString('hex');
/**
 * The noisy-cable tests use small images (named so in their titles): at ~1e-4 damaged
 * bytes per byte a 320 KiB upload loses ~90 frames, each waited out; the seed-scale
 * images run through every other test here.
 */
const SMALL_IMAGE = 40 * 1024;
const V120 = [hashOf('1.2.0'), hashOf('1.2.0', SMALL_IMAGE)];
const V130 = [hashOf('1.3.0'), hashOf('1.3.0', SMALL_IMAGE)];

/**
 * One lab unit with these device faults, its flash instant and its UART taking every line (none of
 * these tests is about flash time or the UART's receive side: the cable runs 4x faster than the
 * 115200 the host opens it at, which a UART read on a 20 ms grid would make a different link from
 * the one the upload engine times; grid-paced uploads under faults run against the real Zephyr peer
 * in real-peers-faults.test.ts); `noise` makes its cable flip and lose bytes (then unpaced, with small images).
 */
async function labCore(t: { after(fn: () => unknown): void }, id: string, board: SmpBoardOptions, baud = 460_800, noise?: { corrupt: number; drop: number; seed: number }) {
  const { c, lab } = await sharedLabCore(t, id, {
    baud: noise ? 0 : baud,
    smpBoards: { [id]: { flash: 'none', uartReadPeriodMs: 0, ...board } },
    ...(noise ? { noisyCables: { [id]: noise }, payloadBytes: SMALL_IMAGE } : {}),
  });
  return { c, lab, board: () => lab.simulator(id) as SmpBoard };
}

const uploadPast = (job: Job<unknown>, fraction: number) => progressPast(job, 'Uploading image', fraction);

/** A failure on the way: typed, in plain words, resumable. */
const clean = (s: JobSnapshot) => assertCleanFailure(s.error!, s.resumable);

function assertCleanFailure(error: { kind: string; code: string; message: string }, resumable: boolean): void {
  assert.ok(['io', 'device'].includes(error.kind), `${error.kind} ${error.code}`);
  assert.match(error.code, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  // Plain words that say what to do, not a bare error number.
  assert.ok(error.message.length > 40 && !/^error:?\s*\d+$/i.test(error.message), error.message);
  assert.equal(resumable, true, `${error.code}: ${error.message}`);
}

/** The unit's image list, read over SMP on a fresh link (the way a technician's second look would). */
async function slots(c: AppCore, id: string): Promise<SlotState[]> {
  const link = await openSmp(c.devices.get(id).handle);
  try {
    return await list(link.client);
  } finally {
    await link.close();
  }
}

/** The image list on a noisy line: a frame lost to a flipped bit is retried by the client, a whole failed read once more here. */
async function slotsRetrying(c: AppCore, id: string): Promise<SlotState[]> {
  try {
    return await slots(c, id);
  } catch {
    return slots(c, id);
  }
}

/** Slot summary: slot, hash (which release), flags that are set. */
function summary(listed: SlotState[]): string[] {
  const name = (h: string) => (V120.includes(h) ? '1.2.0' : V130.includes(h) ? '1.3.0' : `other:${h.slice(0, 8)}`);
  return listed.map((s) => `${s.slot}:${name(s.hash)}:${(['active', 'confirmed', 'pending', 'permanent'] as const).filter((f) => s[f]).join('+')}`);
}

function records(c: AppCore, action: string): ServiceEntry[] {
  const v = c.log.verify();
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  return v.entries.filter((e) => e.action === action);
}

/** What `summary` lists once the update is confirmed, and when the unit is back on 1.2.0 with 1.3.0 kept in slot 1. */
const ON_130 = ['0:1.3.0:active+confirmed', '1:1.2.0:'];
const BACK_ON_120 = ['0:1.2.0:active+confirmed', '1:1.3.0:'];

/** Runs the job to its end, which must be a clean failure (with `code` when given); its snapshot. */
async function failsCleanly(job: Job<unknown>, code?: string): Promise<JobSnapshot> {
  await drive(job);
  const failed = job.snapshot();
  assert.equal(failed.state, 'failed');
  if (code) assert.equal(failed.error!.code, code);
  assertCleanFailure(failed.error!, failed.resumable);
  return failed;
}

/** Runs the job to its end (confirmations allowed), which must be a success; its snapshot. */
async function succeeds(job: Job<unknown>): Promise<JobSnapshot> {
  await drive(job);
  const s = job.snapshot();
  assert.equal(s.state, 'succeeded', `${s.error?.code}: ${s.error?.message}`);
  return s;
}

/** Calls `fn` once, the moment the job's step `stepId` starts running (the job's own event, so it cannot be missed); returns the unsubscribe. */
function whenStepRuns(c: AppCore, job: Job<unknown>, stepId: string, fn: () => void): () => void {
  let fired = false;
  return c.on('job', (snap) => {
    if (!fired && snap.id === job.id && snap.steps.find((x) => x.id === stepId)?.state === 'running') {
      fired = true;
      fn();
    }
  });
}

/** The resumed recover upload went on from the bytes the unit held: it did not start over, and well under the image was sent again. */
function assertUploadContinued(job: Job<unknown>): void {
  const state = job.def.state as { golden: { bytes: number }; uploaded: { restarts: number; bytesSent: number } };
  assert.ok(job.snapshot().log.some((l) => /Continuing the upload from byte \d+/.test(l.message)));
  assert.equal(state.uploaded.restarts, 0);
  assert.ok(state.uploaded.bytesSent < state.golden.bytes * 0.6, `${state.uploaded.bytesSent} of ${state.golden.bytes} bytes sent again`);
}

const redetect = (c: AppCore, id: string) => c.job(c.startJob('detect', id, {}).id).done();

// The units wait on simulated flash and on timeouts, not on the CPU: run a few at once to keep the file short.
// (The two MCUboot tests that wait out several loss timeouts take 40-56 s with the others running: 90 s guards.)
describe('SMP workflows under faults', { concurrency: 4 }, () => {
  test('recover: the device resets itself mid-upload; the upload starts over by itself and the golden image ends in slot 0', { timeout: 90_000 }, async (t) => {
    const { c, board } = await labCore(t, RECOVERY, { resetAtUploadOffset: 20_000 });
    const job = c.job(c.startJob('recover', RECOVERY, {}).id);
    const outcomes = await runResuming(c, job, { checkFailure: clean });
    assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
    assert.equal(board().dev.stats.resets >= 2, true, 'the reset fault fired (plus the workflow\'s own restart)');
    const state = job.def.state as { uploaded?: { restarts: number } };
    t.diagnostic(`runs: ${outcomes.join(', ')}; upload restarts in the last run: ${state.uploaded?.restarts}`);
    // A device that lost its upload answers `off` 0: one run succeeds, or a resumed one does; either way it restarted.
    assert.ok(outcomes.length > 1 || state.uploaded!.restarts >= 1, JSON.stringify({ outcomes, state }));
    assert.deepEqual(
      job.snapshot().steps.map((s) => s.state),
      ['done', 'done', 'done', 'done', 'done'],
    );
    // MCUboot serial recovery lists the primary image as confirmed and active: the golden one, never a half image.
    assert.deepEqual(summary(await slots(c, RECOVERY)), ['0:1.2.0:active+confirmed']);
    const rec = records(c, 'recover');
    assert.deepEqual(rec.map((e) => e.outcome), outcomes.map((o) => o.split(':')[0]));
    assert.match(rec.at(-1)!.summary, /^Recovered: golden image 1\.2\.0 written/);
  });

  test('recover: the serial cable of a unit with its own power is pulled mid-upload; resume continues from the bytes the unit acknowledged', { timeout: 60_000 }, async (t) => {
    const { c, lab, board } = await labCore(t, RECOVERY, {});
    const job = c.job(c.startJob('recover', RECOVERY, {}).id);
    await drive(job, uploadPast(job, 0.5));
    const resetsBefore = board().dev.stats.resets;
    lab.setPlugged(RECOVERY, false, { ownPower: true });
    await failsCleanly(job, 'io.link-lost');
    lab.setPlugged(RECOVERY, true, { ownPower: true });
    await detectAs(c, RECOVERY, 'mcuboot-serial');
    c.resumeJob(job.id);
    await succeeds(job);
    assertUploadContinued(job);
    assert.equal(board().dev.stats.resets - resetsBefore, 1, 'only the workflow\'s own restart at the end');
    assert.deepEqual(summary(await slots(c, RECOVERY)), ['0:1.2.0:active+confirmed']);
    assert.deepEqual(records(c, 'recover').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  test('recover: the device stops answering for a few seconds mid-upload; retries carry the upload through without a restart', { timeout: 90_000 }, async (t) => {
    const { c, lab, board } = await labCore(t, RECOVERY, {});
    const job = c.job(c.startJob('recover', RECOVERY, {}).id);
    await drive(job, uploadPast(job, 0.4));
    const at = job.snapshot().progress!.done;
    lab.stall(RECOVERY, 3_000);
    const stalledAt = performance.now();
    await succeeds(job);
    assert.ok(board().stalledBytes > 0, 'the stall swallowed requests');
    assert.ok(performance.now() - stalledAt >= 3_000, 'the job waited the stall out');
    const state = job.def.state as { uploaded: { restarts: number } };
    assert.equal(state.uploaded.restarts, 0, `continued from byte ${at}, not from 0`);
    assert.deepEqual(summary(await slots(c, RECOVERY)), ['0:1.2.0:active+confirmed']);
    assert.deepEqual(records(c, 'recover').map((e) => e.outcome), ['succeeded']);
  });

  test('recover: the device stays silent past the stall limit; the job fails resumable, and resuming completes', { timeout: 120_000 }, async (t) => {
    const { c, lab } = await labCore(t, RECOVERY, {});
    const job = c.job(c.startJob('recover', RECOVERY, {}).id);
    await drive(job, uploadPast(job, 0.5));
    lab.stall(RECOVERY, 120_000); // longer than the upload's 30 s stall limit; ended below
    const failed = await failsCleanly(job, 'smp.upload-stalled');
    assert.deepEqual(
      failed.steps.map((x) => `${x.id}:${x.state}`),
      ['golden:done', 'upload:failed', 'check:pending', 'reset:pending', 'back:pending'],
    );
    const first = records(c, 'recover');
    assert.deepEqual(first.map((e) => [e.outcome, e.details?.error]), [['failed', { code: 'smp.upload-stalled', kind: 'device' }]]);
    // The device answers again (power-cycled by hand, or it came back by itself); resume.
    lab.stall(RECOVERY, 0);
    c.resumeJob(job.id);
    await succeeds(job);
    // The unit kept its upload state through the silence: the resumed upload continued where the unit was, it did not start over.
    assertUploadContinued(job);
    assert.deepEqual(summary(await slots(c, RECOVERY)), ['0:1.2.0:active+confirmed']);
    assert.deepEqual(records(c, 'recover').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  // Two seed-scale uploads (the replug restarts Zephyr's upload from 0) through the lab's 2-line-buffer UART model: ~90 s alone.
  test('update: cable pulled mid-upload; the unit keeps running 1.2.0 with nothing pending; resume uploads, tests, confirms 1.3.0', { timeout: 180_000 }, async (t) => {
    const { c, lab } = await labCore(t, APP, { emptySecondary: true });
    assert.deepEqual(summary(await slots(c, APP)), ['0:1.2.0:active+confirmed']);
    const job = c.job(c.startJob('update', APP, {}).id);
    await drive(job, uploadPast(job, 0.5));
    lab.setPlugged(APP, false);
    await failsCleanly(job, 'io.link-lost');
    assert.deepEqual(records(c, 'update').map((e) => [e.outcome, (e.details?.error as { code: string }).code]), [['failed', 'io.link-lost']]);

    // Plugged back (the unit power-cycles): it still runs 1.2.0, confirmed; the half image in slot 1 is neither listed valid nor pending.
    lab.setPlugged(APP, true);
    await redetect(c, APP);
    const between = await slots(c, APP);
    assert.deepEqual(summary(between.filter((s) => s.slot === 0)), ['0:1.2.0:active+confirmed']);
    assert.ok(between.every((s) => !s.pending && !s.permanent && (s.slot === 0 || !V130.includes(s.hash))), JSON.stringify(between));

    c.resumeJob(job.id);
    let asked = false;
    while (!job.finished) {
      if (job.snapshot().confirmation) {
        asked = true;
        job.answer(job.snapshot().confirmation!.stepId, true);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const s = job.snapshot();
    assert.equal(s.state, 'succeeded', s.error?.message);
    assert.equal(asked, false, 'a resumed update does not ask again');
    assert.deepEqual(
      s.steps.map((x) => `${x.id}:${x.state}`),
      ['image:done', 'checks:done', 'upload:done', 'test:done', 'wait:done', 'confirm:done'],
    );
    assert.equal(s.result!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['failed', 'succeeded']);
    assert.equal(records(c, 'update').at(-1)!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
  });

  test('update: the unit stays silent past the stall limit mid-upload; the job fails resumable; resume continues from where the unit is, not from 0, and confirms 1.3.0', { timeout: 120_000 }, async (t) => {
    const { c, lab } = await labCore(t, APP, { emptySecondary: true });
    const job = c.job(c.startJob('update', APP, {}).id);
    await drive(job, uploadPast(job, 0.5));
    lab.stall(APP, 120_000); // longer than the upload's 30 s stall limit; ended below
    await failsCleanly(job, 'smp.upload-stalled');
    // Nothing changed on the unit meanwhile: it runs 1.2.0, nothing pending.
    lab.stall(APP, 0);
    assert.deepEqual(summary(await slots(c, APP)), ['0:1.2.0:active+confirmed']);
    c.resumeJob(job.id);
    await succeeds(job);
    const state = job.def.state as { target: { bytes: number }; transfer: { bytesSent: number; restarts: number } };
    assert.ok(state.transfer.bytesSent < state.target.bytes * 0.6, `${state.transfer.bytesSent} of ${state.target.bytes} bytes sent again`);
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  test('update: the device resets itself mid-upload; the update still ends confirmed on 1.3.0', { timeout: 90_000 }, async (t) => {
    const { c, board } = await labCore(t, APP, { emptySecondary: true, resetAtUploadOffset: 24_000 });
    const job = c.job(c.startJob('update', APP, {}).id);
    const outcomes = await runResuming(c, job, { checkFailure: clean });
    t.diagnostic(`runs: ${outcomes.join(', ')}`);
    assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
    assert.ok(board().dev.stats.resets >= 2, 'the reset fault fired (plus the test boot)');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), outcomes.map((o) => o.split(':')[0]));
  });

  // The swap moves 222 sectors (a 448 KiB slot of 2 KiB pages, less swap-move's two): lose power before the first, midway, before the last.
  for (const sectors of [0, 111, 221]) {
    test(`update: power lost after ${sectors} of 222 swapped sectors; MCUboot resumes the swap, the unit boots 1.3.0 and the update confirms it`, { timeout: 90_000 }, async (t) => {
      const { c, board } = await labCore(t, APP, { emptySecondary: true, powerLossAfterSectors: sectors });
      const job = c.job(c.startJob('update', APP, {}).id);
      const outcomes = await runResuming(c, job, { checkFailure: clean });
      t.diagnostic(`runs: ${outcomes.join(', ')}`);
      assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
      const dev = board().dev as ZephyrDevice;
      assert.equal(dev.opts.powerLossAfterSectors, undefined, 'the power loss fired');
      assert.equal(dev.lastBoot?.swapped, 'test');
      assert.equal(dev.lastBoot?.bootable, true);
      assert.deepEqual(summary(await slots(c, APP)), ON_130);
      const rec = records(c, 'update');
      assert.deepEqual(rec.map((e) => e.outcome), outcomes.map((o) => o.split(':')[0]));
      assert.equal(rec.at(-1)!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
    });
  }

  test('recover over a lossy cable (lost bytes and bit flips) while the device also resets mid-upload, small image: ends with the golden image in slot 0, resuming where needed', { timeout: 120_000 }, async (t) => {
    const { c, lab } = await labCore(t, RECOVERY, { resetAtUploadOffset: 30_000 }, 0, { corrupt: 1e-4, drop: 1e-4, seed: 3 });
    await detectAs(c, RECOVERY, 'mcuboot-serial');
    const job = c.job(c.startJob('recover', RECOVERY, {}).id);
    const outcomes = await runResuming(c, job, { maxRuns: 5, checkFailure: clean });
    t.diagnostic(`runs: ${outcomes.join(', ')}; bytes damaged or lost on the cable: ${lab.damagedBytes(RECOVERY)}`);
    assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
    assert.ok(lab.damagedBytes(RECOVERY) >= 3, 'the noise really bit');
    assert.ok((lab.simulator(RECOVERY) as SmpBoard).dev.stats.resets >= 2, 'the reset fault fired');
    assert.deepEqual(summary(await slotsRetrying(c, RECOVERY)), ['0:1.2.0:active+confirmed']);
    assert.deepEqual(records(c, 'recover').map((e) => e.outcome), outcomes.map((o) => o.split(':')[0]));
  });

  test('update: the new image does not start; MCUboot rolls back, the job and the service record say so and name 1.2.0', { timeout: 60_000 }, async (t) => {
    const { c, board } = await labCore(t, APP, { testImageFails: true });
    const job = c.job(c.startJob('update', APP, {}).id);
    await drive(job);
    const s = job.snapshot();
    assert.equal(s.state, 'failed');
    assert.equal(s.error!.code, 'update.reverted');
    assert.equal(s.error!.kind, 'check');
    assert.match(s.error!.message, /rolled back: it runs 1\.2\.0 instead of 1\.3\.0/);
    assert.equal(s.resumable, false, 'nothing to resume: running the same image again would fail again');
    assert.equal(s.result!.summary, 'Rolled back: the unit runs 1.2.0, not 1.3.0.');
    assert.deepEqual((job.def.state as { reverted?: boolean; running?: string }).reverted, true);
    assert.deepEqual(
      s.steps.map((x) => `${x.id}:${x.state}`),
      ['image:done', 'checks:done', 'upload:skipped', 'test:done', 'wait:done', 'confirm:failed'],
    );
    const dev = board().dev as ZephyrDevice;
    assert.equal(dev.lastBoot?.swapped, 'revert');
    // The unit is where it was before, on its confirmed 1.2.0; 1.3.0 sits in slot 1, no longer pending.
    assert.deepEqual(summary(await slots(c, APP)), BACK_ON_120);
    const rec = records(c, 'update');
    assert.equal(rec.length, 1);
    assert.equal(rec[0]!.outcome, 'failed');
    assert.match(rec[0]!.summary, /rolled back: it runs 1\.2\.0 instead of 1\.3\.0/);
    assert.deepEqual(rec[0]!.details?.error, { code: 'update.reverted', kind: 'check' });
    const d = rec[0]!.details!;
    assert.deepEqual([d.version, d.imageHash, d.runningBefore, d.runningAfter, d.reverted, d.confirmed], ['1.3.0', V130[0], '1.2.0', '1.2.0', true, undefined]);
    assert.equal(rec[0]!.unit.id, 'UB-LAB-0005');
  });

  test('update: cable pulled as the new image is about to be confirmed; the replug restarts the unit (MCUboot goes back to 1.2.0); resume tests 1.3.0 again and confirms it', { timeout: 90_000 }, async (t) => {
    const { c, lab } = await labCore(t, APP, {});
    const job = c.job(c.startJob('update', APP, {}).id);
    // Pull the cable the moment the confirm step starts.
    const off = whenStepRuns(c, job, 'confirm', () => lab.setPlugged(APP, false));
    const failed = await failsCleanly(job);
    off();
    assert.equal(failed.steps.find((s) => s.id === 'confirm')!.state, 'failed');

    lab.setPlugged(APP, true);
    await redetect(c, APP);
    // The unconfirmed test image was reverted at the power cycle: the unit is back where it started, 1.3.0 still in slot 1.
    assert.deepEqual(summary(await slots(c, APP)), BACK_ON_120);

    c.resumeJob(job.id);
    const s = await succeeds(job);
    assert.equal(s.result!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  test('update: a unit that keeps answering for a while after it accepted the reset is not mistaken for a rollback', { timeout: 90_000 }, async (t) => {
    const { c } = await labCore(t, APP, { resetDelayMs: 1_500 });
    const job = c.job(c.startJob('update', APP, {}).id);
    const s = await succeeds(job);
    assert.equal(s.result!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => [e.outcome, e.summary]), [['succeeded', 'Updated to 1.3.0: it booted and is confirmed.']]);
  });

  test('update: the answer to the restart request is lost; the restart is not sent twice, and the update still ends confirmed', { timeout: 90_000 }, async (t) => {
    const { c, board } = await labCore(t, APP, {});
    const dev = board().dev as ZephyrDevice;
    // Swallow the unit's answer to its reset request (it resets all the same), as a glitch on the line would.
    let swallowed = 0;
    const reader = new FrameReader((e) => {
      if (e.kind !== 'packet') return;
      const h = decodeHeader(e.packet);
      if (h.group === 0 && h.id === 5 && h.op === 3) {
        swallowed++;
        board().stall(300);
      }
    });
    // Registered before the job's link attaches, so it sees each answer before the cable carries it.
    const off = dev.onOutput((b) => reader.push(b));
    t.after(off);
    const resetsBefore = dev.stats.resets;
    const job = c.job(c.startJob('update', APP, {}).id);
    const s = await succeeds(job);
    assert.equal(swallowed, 1);
    assert.equal(dev.stats.resets - resetsBefore, 1, 'one restart only: a second one would have undone the test boot');
    assert.ok(s.log.some((l) => l.level === 'warn' && /did not acknowledge the restart/.test(l.message)));
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['succeeded']);
  });

  test('update over a noisy cable (bit flips and lost bytes, both ways), small image: every run ends succeeded or resumable, and the unit ends confirmed on 1.3.0', { timeout: 120_000 }, async (t) => {
    const { c, lab } = await labCore(t, APP, { emptySecondary: true }, 0, { corrupt: 1e-4, drop: 1e-4, seed: 5 });
    await detectAs(c, APP, 'zephyr-smp');
    const job = c.job(c.startJob('update', APP, {}).id);
    const outcomes = await runResuming(c, job, { maxRuns: 5, checkFailure: clean });
    t.diagnostic(`runs: ${outcomes.join(', ')}; bytes damaged on the cable: ${lab.damagedBytes(APP)}`);
    assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
    assert.ok(lab.damagedBytes(APP) >= 3, 'the noise really bit');
    assert.deepEqual(summary(await slotsRetrying(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), outcomes.map((o) => o.split(':')[0]));
  });

  test('update: cable pulled just after 1.3.0 is marked for its test boot; the replug power-cycles the unit into it; resume neither marks nor restarts it again, and confirms it', { timeout: 90_000 }, async (t) => {
    const { c, lab, board } = await labCore(t, APP, { emptySecondary: true });
    const dev = board().dev as ZephyrDevice;
    const job = c.job(c.startJob('update', APP, {}).id);
    // Pull the cable as the unit answers "marked for a test boot" (image state write), before the restart is asked for.
    let pulled = false;
    const reader = new FrameReader((e) => {
      if (e.kind !== 'packet' || pulled) return;
      const h = decodeHeader(e.packet);
      if (h.group === 1 && h.id === 0 && h.op === 3) {
        pulled = true;
        lab.setPlugged(APP, false);
      }
    });
    const off = dev.onOutput((b) => reader.push(b));
    t.after(off);
    const failed = await failsCleanly(job);
    assert.equal(pulled, true);
    assert.equal(failed.steps.find((s) => s.id === 'test')!.state, 'failed');

    const resetsBefore = dev.stats.resets;
    lab.setPlugged(APP, true); // power-on: MCUboot runs the pending test swap
    await redetect(c, APP);
    assert.deepEqual(summary(await slots(c, APP)), ['0:1.3.0:active', '1:1.2.0:confirmed']);
    c.resumeJob(job.id);
    const s = await succeeds(job);
    assert.equal(dev.stats.resets - resetsBefore, 1, 'only the power-on: no second restart, which would have reverted it');
    assert.ok(s.log.some((l) => /already runs 1\.3\.0 as a test boot/.test(l.message)));
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  test('update: cable pulled while the unit boots its test image; the replug power-cycles it back to 1.2.0; the job says it rolled back and what to do, and running the update again (no upload) ends confirmed', { timeout: 120_000 }, async (t) => {
    const { c, lab } = await labCore(t, APP, {});
    const job = c.job(c.startJob('update', APP, {}).id);
    const off = whenStepRuns(c, job, 'wait', () => {
      lab.setPlugged(APP, false);
      setTimeout(() => lab.setPlugged(APP, true), 1_000);
    });
    await drive(job);
    off();
    const s = job.snapshot();
    assert.equal(s.state, 'failed');
    assert.equal(s.error!.code, 'update.reverted');
    assert.match(s.error!.message, /lost power before it could be confirmed/);
    assert.match(s.error!.message, /Run the update again/);
    // Never worse: back on the confirmed 1.2.0, with 1.3.0 kept in slot 1.
    assert.deepEqual(summary(await slots(c, APP)), BACK_ON_120);

    await redetect(c, APP);
    const a = await succeeds(c.job(c.startJob('update', APP, {}).id));
    assert.equal(a.steps.find((x) => x.id === 'upload')!.state, 'skipped');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => e.outcome), ['failed', 'succeeded']);
  });

  test('update started again (not resumed) on a unit that already test-boots 1.3.0 after an interrupted update: confirms it, with no upload and no restart', { timeout: 60_000 }, async (t) => {
    const { c, lab, board } = await labCore(t, APP, {});
    // The lab unit has 1.3.0 pending; a power cycle (as after a pulled cable) makes MCUboot test-boot it.
    lab.setPlugged(APP, false);
    lab.setPlugged(APP, true);
    await detectAs(c, APP, 'zephyr-smp');
    assert.deepEqual(summary(await slots(c, APP)), ['0:1.3.0:active', '1:1.2.0:confirmed']);
    const dev = board().dev as ZephyrDevice;
    const resetsBefore = dev.stats.resets;
    const job = c.job(c.startJob('update', APP, {}).id);
    let message = '';
    while (!job.finished) {
      const snap = job.snapshot();
      if (snap.confirmation) {
        message = snap.confirmation.message;
        job.answer(snap.confirmation.stepId, true);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const s = job.snapshot();
    assert.equal(s.state, 'succeeded', `${s.error?.code}: ${s.error?.message}`);
    assert.match(message, /runs .* as a test boot that was never confirmed/);
    assert.deepEqual(
      s.steps.map((x) => `${x.id}:${x.state}`),
      ['image:done', 'checks:done', 'upload:skipped', 'test:done', 'wait:done', 'confirm:done'],
    );
    assert.equal(dev.stats.resets, resetsBefore, 'no restart: it would have made MCUboot revert the test boot');
    assert.deepEqual(summary(await slots(c, APP)), ON_130);
    assert.deepEqual(records(c, 'update').map((e) => [e.outcome, e.summary]), [['succeeded', 'Updated to 1.3.0: it booted and is confirmed.']]);
  });
});
