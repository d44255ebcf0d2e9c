/**
 * Detect, diagnose and recover on the demo lab's SMP units (real SMP client
 * and upload engine, MCUboot serial-recovery and Zephyr simulators).
 */
import { test } from 'node:test';
import { loadRollbackState } from '../../../src/trust/rollback-state.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import type { Job } from '../../../src/workflows/job.ts';

const SMP_UNITS = ['lab-recovery-empty', 'lab-corrupt-image', 'lab-healthy-pending'];

async function labCore(t: { after(fn: () => unknown): void }, baud = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-smp-'));
  const c = new AppCore({ dataDir: dir, lab: new DemoLab(LAB_UNITS.filter((u) => SMP_UNITS.includes(u.id)), { baud }), operator: 't@b', autoDetect: false });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const id of SMP_UNITS) await c.job(c.startJob('detect', id, {}).id).done();
  return c;
}

async function finish(job: Job<unknown>, allow = true, midway?: () => boolean) {
  while (!job.finished) {
    const s = job.snapshot();
    if (s.confirmation) job.answer(s.confirmation.stepId, allow);
    if (midway?.()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts `workflow` on the unit and runs it to its end, answering its questions with `allow`; the job. */
async function run(c: AppCore, workflow: Parameters<AppCore['startJob']>[0], id: string, allow = true) {
  const job = c.job(c.startJob(workflow, id, {}).id);
  await finish(job, allow);
  return job;
}

test('detect tells MCUboot serial recovery from a Zephyr application', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t);
  const kinds = Object.fromEntries(c.devices.list().map((d) => [d.id, d.kind]));
  assert.deepEqual(kinds, { 'lab-recovery-empty': 'mcuboot-serial', 'lab-corrupt-image': 'mcuboot-serial', 'lab-healthy-pending': 'zephyr-smp' });
  assert.match(c.devices.list().find((d) => d.id === 'lab-healthy-pending')!.summary, /Zephyr application 1\.2\.0/);
});

test('diagnose: no valid image in slot 0 for the recovery units; a pending test image 1.3.0 on the healthy one', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t);
  const codes: Record<string, string[]> = {};
  for (const id of SMP_UNITS) {
    const j = await run(c, 'diagnose', id);
    assert.equal(j.snapshot().state, 'succeeded', j.snapshot().error?.message);
    codes[id] = j.snapshot().result!.findings!.map((f) => `${f.severity}:${f.code}`);
  }
  assert.deepEqual(codes['lab-recovery-empty'], ['warning:mcuboot.in-recovery', 'critical:slot.no-valid-image']);
  assert.deepEqual(codes['lab-corrupt-image'], ['warning:mcuboot.in-recovery', 'critical:slot.no-valid-image']);
  assert.deepEqual(codes['lab-healthy-pending'], ['ok:slot.valid', 'info:slot.pending-test']);
  const d = c.devices.get('lab-healthy-pending').diagnosis!;
  assert.deepEqual(d.slots!.map((s) => [s.slot, s.version, s.flags.join('+'), s.golden ?? '-']), [
    [0, '1.2.0', 'active+confirmed+bootable', 'Unbrick demo gateway 1.2.0 (golden)'],
    [1, '1.3.0', 'pending+bootable', 'Unbrick demo gateway 1.3.0 (update)'],
  ]);
  const pending = c.job(c.listJobs().at(-1)!.id).snapshot().result!.findings![1]!;
  assert.match(pending.text, /Slot 1 holds a pending test image 1\.3\.0/);
});

test('recover the corrupt unit: asks first, uploads, checks the listed hash, restarts, answers again', { timeout: 60_000 }, async (t) => {
  const c = await labCore(t);
  const j = await run(c, 'recover', 'lab-corrupt-image');
  const s = j.snapshot();
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.deepEqual(
    s.steps.map((x) => x.state),
    ['done', 'done', 'done', 'done', 'done'],
  );
  // A valid image in slot 0: after its restart MCUboot boots it, and the application answers.
  assert.match(s.result!.summary, /: its application runs\.$/);
  assert.equal(c.devices.get('lab-corrupt-image').kind, 'zephyr-smp');
  const d = await run(c, 'diagnose', 'lab-corrupt-image');
  assert.ok(d.snapshot().result!.findings!.some((f) => f.code === 'slot.valid' && /golden/.test(f.text)));
  const rec = c.log.verify().entries.find((e) => e.action === 'recover')!;
  assert.equal(rec.outcome, 'succeeded');
  assert.equal(rec.unit.id, 'UB-LAB-0002');
  // What was written, by hash: the golden bundle file and the image payload taken from it.
  assert.deepEqual(
    rec.inputs!.map((i) => i.name),
    ['Unbrick demo gateway 1.2.0 bundle (sequence 1)', 'app-1.2.0.bin'],
  );
  for (const i of rec.inputs!) assert.match(i.sha256, /^[0-9a-f]{64}$/);
  assert.equal((rec.details as { listedHash?: string }).listedHash, (rec.details as { imageHash?: string }).imageHash);
  assert.equal((rec.details as { runsApplication?: boolean }).runsApplication, true);
});

test('recover refuses a unit that runs its application, and declining the write leaves the unit as it was', { timeout: 60_000 }, async (t) => {
  const c = await labCore(t);
  const refused = await run(c, 'recover', 'lab-healthy-pending');
  assert.equal(refused.snapshot().state, 'refused');
  assert.match(refused.snapshot().error!.message, /Offline update/);

  const declined = await run(c, 'recover', 'lab-recovery-empty', false);
  assert.equal(declined.snapshot().state, 'cancelled');
  const d = await run(c, 'diagnose', 'lab-recovery-empty');
  assert.ok(d.snapshot().result!.findings!.some((f) => f.code === 'slot.no-valid-image'));
});

test('a recovery upload cancelled midway resumes without asking again and completes', { timeout: 60_000 }, async (t) => {
  const c = await labCore(t, 230_400);
  const j = c.job(c.startJob('recover', 'lab-recovery-empty', {}).id);
  await finish(j, true, () => {
    const p = j.snapshot().progress;
    return !!p && p.phase === 'Uploading image' && p.done > p.total / 3;
  });
  j.cancel();
  await j.done();
  assert.equal(j.snapshot().state, 'cancelled');
  assert.equal(j.snapshot().resumable, true);
  c.resumeJob(j.id);
  let asked = false;
  while (!j.finished) {
    if (j.snapshot().confirmation) asked = true;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(asked, false);
  assert.equal(j.snapshot().state, 'succeeded', j.snapshot().error?.message);
});

test('offline update of the healthy unit: test boot of 1.3.0, wait, confirm; a second run changes nothing', { timeout: 90_000 }, async (t) => {
  const c = await labCore(t);
  const j = await run(c, 'update', 'lab-healthy-pending');
  const s = j.snapshot();
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.equal(s.result!.summary, 'Updated to 1.3.0: it booted and is confirmed.');
  assert.deepEqual(
    s.steps.map((x) => `${x.id}:${x.state}`),
    ['image:done', 'checks:done', 'upload:skipped', 'test:done', 'wait:done', 'confirm:done'],
  );
  await run(c, 'diagnose', 'lab-healthy-pending');
  const slots = c.devices.get('lab-healthy-pending').diagnosis!.slots!;
  assert.deepEqual(slots.map((x) => [x.slot, x.version, x.flags.includes('confirmed')]), [
    [0, '1.3.0', true],
    [1, '1.2.0', false],
  ]);
  // The unit runs the update confirmed: this laptop's anti-rollback floor is now that bundle's sequence.
  const floor = Object.values(loadRollbackState(await c.lab!.libraryDir()).products);
  assert.deepEqual(
    floor.map((p) => [p.name, p.highestSequence]),
    [['Unbrick demo gateway', 2]],
  );
  const again = await run(c, 'update', 'lab-healthy-pending');
  assert.equal(again.snapshot().result!.summary, 'The unit already runs this image; nothing was changed.');
  assert.deepEqual(
    c.log
      .verify()
      .entries.filter((e) => e.action === 'update')
      .map((e) => e.outcome),
    ['succeeded', 'succeeded'],
  );
});
