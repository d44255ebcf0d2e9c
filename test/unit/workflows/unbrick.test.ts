/**
 * Full unbrick on the demo lab's STM32 units at the seed's scale (STM32L4,
 * 448 KiB slots, a 320 KiB application; real AN3155 client, bootloader
 * simulator): confirmations, the write checkpoint across a cancel, and the
 * unit's state afterwards read back through diagnose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import type { Job } from '../../../src/workflows/job.ts';

async function labCore(t: { after(fn: () => unknown): void }, id: string, baud = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-unbrick-'));
  const c = new AppCore({ dataDir: dir, lab: new DemoLab(LAB_UNITS.filter((u) => u.id === id), { baud }), operator: 't@b', autoDetect: false });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await c.job(c.startJob('detect', id, {}).id).done();
  return c;
}

/** Runs a job, answering confirmations with `answer(title)`; returns the titles asked. */
async function drive(job: Job<unknown>, answer: (title: string) => boolean, stopWhen?: () => boolean): Promise<string[]> {
  const asked: string[] = [];
  while (!job.finished) {
    const s = job.snapshot();
    if (s.confirmation && !asked.includes(s.confirmation.title)) {
      asked.push(s.confirmation.title);
      job.answer(s.confirmation.stepId, answer(s.confirmation.title));
    }
    if (stopWhen?.()) return asked;
    await new Promise((r) => setTimeout(r, 5));
  }
  return asked;
}

test('unbrick the erased-MCUboot unit: asks before lifting WRP and before writing, then restores WRP', { timeout: 60_000 }, async (t) => {
  const c = await labCore(t, 'lab-mcuboot-erased');
  const job = c.job(c.startJob('unbrick', 'lab-mcuboot-erased', {}).id);
  const asked = await drive(job, () => true);
  const s = job.snapshot();
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.deepEqual(asked, ['Lift write protection on pages 0-11?', 'Erase pages 0-11, 16-239 and write the golden images?']);
  assert.deepEqual(
    s.steps.map((x) => x.state),
    ['done', 'skipped', 'done', 'done', 'done', 'done', 'done', 'done'],
  );
  assert.match(s.result!.summary, /written and verified \(read-back\); pages 0-15 protected again; the unit answers: its application 1\.2\.0 runs\./);
  // After Go the board runs what was written: MCUboot starts the golden application, which Detect finds.
  await c.job(c.startJob('detect', 'lab-mcuboot-erased', {}).id).done();
  assert.equal(c.devices.get('lab-mcuboot-erased').kind, 'zephyr-smp');

  // Power-cycle with BOOT0 high and look: MCUboot is back, WRP restored, slot 0 valid.
  c.lab!.setPlugged('lab-mcuboot-erased', false);
  c.lab!.setPlugged('lab-mcuboot-erased', true);
  await c.job(c.startJob('detect', 'lab-mcuboot-erased', {}).id).done();
  const d = c.job(c.startJob('diagnose', 'lab-mcuboot-erased', {}).id);
  await d.done();
  assert.deepEqual(
    d.snapshot().result!.findings!.map((f) => f.code),
    ['stm32.rdp-0', 'mcuboot.present', 'stm32.bootloader-wrp', 'slot.valid', 'slot.empty'],
  );
  const rec = c.log.verify().entries.find((e) => e.action === 'unbrick')!;
  assert.equal(rec.outcome, 'succeeded');
  // The record names what was written: the golden bundle (its file's SHA-256) and every region's hash.
  const inputs = rec.inputs!;
  assert.match(inputs[0]!.name, /^Unbrick demo gateway 1\.2\.0 bundle/);
  assert.deepEqual(
    inputs.slice(1).map((i) => i.name),
    ['mcuboot.bin @ 0x8000000', 'app-1.2.0-slot0.bin @ 0x8008000'],
  );
  for (const i of inputs) assert.match(i.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual((rec.details as { writeProtectedAfter?: number[] }).writeProtectedAfter, Array.from({ length: 16 }, (_, i) => i));
});

test('declining the chip erase on the RDP-1 unit changes nothing', { timeout: 60_000 }, async (t) => {
  const c = await labCore(t, 'lab-rdp1');
  const job = c.job(c.startJob('unbrick', 'lab-rdp1', {}).id);
  const asked = await drive(job, () => false);
  assert.deepEqual(asked, ['Erase the whole chip to remove readout protection?']);
  assert.equal(job.snapshot().state, 'cancelled');
  const d = c.job(c.startJob('diagnose', 'lab-rdp1', {}).id);
  await d.done();
  assert.equal(d.snapshot().result!.findings![0]!.code, 'stm32.rdp-1', 'still protected');
  assert.equal(c.log.verify().entries.find((e) => e.action === 'unbrick')!.outcome, 'cancelled');
});

test('an unbrick cancelled midway through the write resumes from its checkpoint and completes', { timeout: 90_000 }, async (t) => {
  const c = await labCore(t, 'lab-rdp1');
  const job = c.job(c.startJob('unbrick', 'lab-rdp1', {}).id);
  await drive(
    job,
    () => true,
    () => {
      const p = job.snapshot().progress;
      return p?.phase === 'Writing' && p.done > p.total / 3;
    },
  );
  job.cancel();
  await job.done();
  let s = job.snapshot();
  assert.equal(s.state, 'cancelled');
  assert.equal(s.resumable, true);
  const state = job.def.state as { blocksDone: number };
  const at = state.blocksDone;
  assert.ok(at > 0, 'some blocks were written before the cancel');
  assert.equal(s.steps.find((x) => x.id === 'write')!.state, 'cancelled');

  c.resumeJob(job.id);
  await drive(job, () => true);
  s = job.snapshot();
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.ok(s.log.some((l) => l.message.includes(`Resuming the write at block ${at}`)), 'the write resumed at its checkpoint');
  assert.match(s.result!.summary, /readout protection was removed/);
});
