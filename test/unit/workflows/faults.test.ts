/**
 * A cable pulled in the middle of a write: the job fails cleanly (typed error,
 * resumable), and after the cable is plugged back (the unit power-cycles),
 * resume completes it; the unit ends correct, never worse than before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppCore } from '../../../src/app/app-core.ts';
import type { Job } from '../../../src/workflows/job.ts';
import { detectAs, drive, labCore, progressPast, runResuming } from './lab-jobs.ts';

/** Starts `workflow` on the unit and pulls its cable once the job is past half of `phase`: the job and its failed snapshot. */
async function pulledMidway(c: AppCore, id: string, workflow: 'unbrick' | 'recover', phase: string) {
  const job = c.job(c.startJob(workflow, id, {}).id);
  await drive(job, progressPast(job, phase, 0.5));
  c.lab!.setPlugged(id, false);
  await job.done();
  const failed = job.snapshot();
  assert.equal(failed.state, 'failed');
  return { job, failed };
}

/** Plugs the cable back and resumes the job, which must end succeeded. */
async function replugAndResume(c: AppCore, id: string, job: Job<unknown>): Promise<void> {
  c.lab!.setPlugged(id, true);
  c.resumeJob(job.id);
  await drive(job);
  assert.equal(job.snapshot().state, 'succeeded', job.snapshot().error?.message);
}

/** Detects the unit again (a replug re-lists it) and diagnoses it: the diagnosis's snapshot. */
async function diagnosis(c: AppCore, id: string) {
  await c.job(c.startJob('detect', id, {}).id).done();
  const d = c.job(c.startJob('diagnose', id, {}).id);
  await d.done();
  return d.snapshot();
}

test('unbrick: cable pulled mid-write, replugged, resumed: the unit ends fully restored', { timeout: 90_000 }, async (t) => {
  const id = 'lab-mcuboot-erased';
  const { c } = await labCore(t, id, { baud: 0 });
  const { job, failed } = await pulledMidway(c, id, 'unbrick', 'Writing');
  assert.ok(['io', 'device'].includes(failed.error!.kind), failed.error!.code);
  assert.equal(failed.resumable, true);
  assert.equal(c.log.verify().entries.at(-1)!.outcome, 'failed');

  await replugAndResume(c, id, job);

  c.lab!.setPlugged(id, false);
  c.lab!.setPlugged(id, true);
  assert.deepEqual(
    (await diagnosis(c, id)).result!.findings!.map((f) => f.code),
    ['stm32.rdp-0', 'mcuboot.present', 'stm32.bootloader-wrp', 'slot.valid', 'slot.empty'],
  );
});

test('recover: cable pulled mid-upload, replugged, resumed: the golden image ends in slot 0', { timeout: 90_000 }, async (t) => {
  const id = 'lab-recovery-empty';
  const { c } = await labCore(t, id);
  const { job, failed } = await pulledMidway(c, id, 'recover', 'Uploading image');
  assert.equal(failed.error!.code, 'io.link-lost');
  assert.equal(failed.resumable, true, failed.error?.code);

  await replugAndResume(c, id, job);
  const d = await diagnosis(c, id);
  assert.equal(d.state, 'succeeded', JSON.stringify(d.error));
  assert.ok(d.result!.findings!.some((f) => f.code === 'slot.valid'));
});

test('unbrick over a noisy line (bit flips and drops) and a chip reset mid-write: ends correct, resuming where needed', { timeout: 150_000 }, async (t) => {
  const id = 'lab-mcuboot-erased';
  const { c } = await labCore(t, id, { baud: 0, faults: { [id]: { corrupt: 2e-5, drop: 2e-5, resetAfter: 40_000, seed: 7 } } });
  const job = c.job(c.startJob('unbrick', id, {}).id);
  // Any failure must be typed and leave the job resumable: never a dead end.
  const outcomes = await runResuming(c, job, { maxRuns: 5 });
  assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
  // Power-cycle into the ROM bootloader and read the unit back (the line keeps its noise; the client retries).
  c.lab!.setPlugged(id, false);
  c.lab!.setPlugged(id, true);
  const d = await diagnosis(c, id);
  const codes = d.result?.findings?.map((f) => f.code) ?? [d.error?.code];
  assert.deepEqual(codes, ['stm32.rdp-0', 'mcuboot.present', 'stm32.bootloader-wrp', 'slot.valid', 'slot.empty'], outcomes.join(', '));
});

test('recover over a noisy cable (bit flips both ways): frames are checked and resent; the golden image ends in slot 0', { timeout: 150_000 }, async (t) => {
  const id = 'lab-corrupt-image';
  const { c } = await labCore(t, id, { baud: 0, noisyCables: { [id]: { corrupt: 5e-5, seed: 11 } } });
  await detectAs(c, id, 'mcuboot-serial');
  const job = c.job(c.startJob('recover', id, {}).id);
  const outcomes = await runResuming(c, job, { maxRuns: 5 });
  assert.equal(outcomes.at(-1), 'succeeded', outcomes.join(', '));
  // Recover itself checked the hash the device lists and that it answers after the restart.
  assert.ok(job.snapshot().steps.every((s) => s.state === 'done'));
});
