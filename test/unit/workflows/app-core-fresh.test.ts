/**
 * The app core keeps what the UI shows current (issue 16): after a job that
 * wrote, identity and diagnosis are read again by automatic jobs (marked as
 * such); steps allowed in the plan confirmed at start are not asked again;
 * a job whose cable was pulled is still filed under the unit's serial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';

function core(t: { after(fn: () => unknown): void }, id: string, autoDetect = true) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-fresh-'));
  const lab = new DemoLab(
    LAB_UNITS.filter((u) => u.id === id),
    { baud: 460_800 },
  );
  const c = new AppCore({ dataDir: dir, lab, operator: 't@b', autoDetect });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { c, lab };
}

const until = async (cond: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('after Recover, identity and diagnosis are read again by automatic jobs; the plan step is not asked twice', { timeout: 120_000 }, async (t) => {
  const { c } = core(t, 'lab-recovery-empty');
  const jobs = new Map<string, JobSnapshot>();
  c.on('job', (j) => jobs.set(j.id, j));
  await until(() => c.devices.get('lab-recovery-empty').kind === 'mcuboot-serial');
  assert.ok(c.freshness('lab-recovery-empty').identityAt, 'the plug-in detect stamps the identity time');
  assert.ok([...jobs.values()].every((j) => j.automatic), 'the plug-in detect is automatic');
  await c.job(c.startJob('diagnose', 'lab-recovery-empty', {}).id).done();
  const before = c.devices.get('lab-recovery-empty').diagnosis!;
  assert.ok(before.findings.some((f) => f.severity === 'critical'));

  const rec = c.startJob('recover', 'lab-recovery-empty', {}, { approved: ['upload'] });
  assert.equal(rec.automatic, undefined);
  await c.job(rec.id).done();
  const done = c.job(rec.id).snapshot();
  assert.equal(done.state, 'succeeded', done.error?.message);
  assert.ok(![...jobs.values()].some((j) => j.id === rec.id && j.state === 'waiting'), 'the UI never saw a confirmation for the approved step');
  assert.match(done.log.map((l) => l.message).join('\n'), /Allowed in the plan confirmed before starting/);

  // The refresh: detect, then diagnose, both automatic; the old critical finding is gone.
  await until(() => !c.freshness('lab-recovery-empty').refreshing && [...jobs.values()].some((j) => j.workflow === 'diagnose' && j.automatic && j.endedAt));
  const after = c.devices.get('lab-recovery-empty').diagnosis!;
  assert.ok(after.at > before.at);
  assert.ok(!after.findings.some((f) => f.severity === 'critical'), JSON.stringify(after.findings));
  assert.ok(c.freshness('lab-recovery-empty').identityAt! >= done.endedAt!);
  // The diagnose record carries the flash map, for the per-unit report.
  const diagEntry = c.log.verify().entries.find((e) => e.action === 'diagnose')!;
  const fm = (diagEntry.details as { flashMap?: { regions: { name: string; holds: string }[] } }).flashMap!;
  assert.deepEqual(
    fm.regions.map((r) => [r.name, r.holds]),
    [
      ['bootloader (MCUboot)', 'valid'],
      ['slot 0', 'none'],
      ['slot 1', 'none'],
    ],
  );
  // The refresh is not filed as the user's work.
  assert.deepEqual(
    c.log.verify().entries.map((e) => e.action),
    ['diagnose', 'recover'],
  );
});

test('a confirmation outside the approved steps is still asked', { timeout: 60_000 }, async (t) => {
  const { c } = core(t, 'lab-recovery-empty', false);
  await c.job(c.startJob('detect', 'lab-recovery-empty', {}).id).done();
  const rec = c.startJob('recover', 'lab-recovery-empty', {}, { approved: ['something-else'] });
  await until(() => c.job(rec.id).snapshot().state === 'waiting');
  assert.equal(c.job(rec.id).snapshot().confirmation!.stepId, 'upload');
  c.job(rec.id).cancel();
  await c.job(rec.id).done();
});

test('a job whose cable is pulled is filed under the unit serial, not the lab id', { timeout: 60_000 }, async (t) => {
  const { c, lab } = core(t, 'lab-recovery-empty', false);
  await c.job(c.startJob('detect', 'lab-recovery-empty', {}).id).done();
  const rec = c.startJob('recover', 'lab-recovery-empty', {}, { approved: ['upload'] });
  await until(() => (c.job(rec.id).snapshot().progress?.done ?? 0) > 4096);
  lab.setPlugged('lab-recovery-empty', false);
  await c.job(rec.id).done();
  const s = c.job(rec.id).snapshot();
  assert.equal(s.state, 'failed');
  assert.equal(s.resumable, true);
  const entry = c.log.verify().entries.find((e) => e.action === 'recover')!;
  assert.match(String(entry.unit.id), /^UB-LAB-/);
});
