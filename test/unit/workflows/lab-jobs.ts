/**
 * Shared by the workflow fault tests: one demo-lab unit behind an app core,
 * and driving its jobs (confirmations allowed) through failures and resumes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import type { Job } from '../../../src/workflows/job.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';

export type LabLine = ConstructorParameters<typeof DemoLab>[1];

/** A lab with just this unit, on this line, behind an app core; the unit is detected once. */
export async function labCore(t: { after(fn: () => unknown): void }, id: string, line: LabLine = { baud: 460_800 }): Promise<{ c: AppCore; lab: DemoLab }> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-lab-jobs-'));
  const lab = new DemoLab(
    LAB_UNITS.filter((u) => u.id === id),
    line,
  );
  const c = new AppCore({ dataDir: dir, lab, operator: 't@b', autoDetect: false });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await c.job(c.startJob('detect', id, {}).id).done();
  return { c, lab };
}

/** Detects the unit until it answers as `kind` (after a power cycle MCUboot may be busy swapping, a noisy line may garble a probe). */
export async function detectAs(c: AppCore, id: string, kind: string): Promise<void> {
  for (let i = 0; i < 20 && !(c.devices.has(id) && c.devices.get(id).kind === kind); i++) {
    if (i) await new Promise((r) => setTimeout(r, 500));
    if (c.devices.has(id)) await c.job(c.startJob('detect', id, {}).id).done();
  }
  assert.equal(c.devices.get(id).kind, kind);
}

/** Runs the job, allowing its confirmations, until it ends or `until` says stop. */
export async function drive(job: Job<unknown>, until: () => boolean = () => false): Promise<void> {
  while (!job.finished && !until()) {
    const s = job.snapshot();
    if (s.confirmation) job.answer(s.confirmation.stepId, true);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** True once the job's progress in `phase` is past `fraction` of its total (a place to pull a cable). */
export const progressPast = (job: Job<unknown>, phase: string, fraction: number) => (): boolean => {
  const p = job.snapshot().progress;
  return !!p && p.phase === phase && p.done > p.total * fraction;
};

/**
 * Runs a job to its end, resuming after each failure; every failure on the
 * way must pass `checkFailure` (by default: resumable, never a dead end).
 * Returns what each run ended as ("succeeded", "failed:<code>").
 */
export async function runResuming(c: AppCore, job: Job<unknown>, o: { maxRuns?: number; checkFailure?: (s: JobSnapshot) => void } = {}): Promise<string[]> {
  const check = o.checkFailure ?? ((s: JobSnapshot) => assert.equal(s.resumable, true, `${s.error!.code}: ${s.error!.message}`));
  const outcomes: string[] = [];
  for (let run = 0; run < (o.maxRuns ?? 4); run++) {
    await drive(job);
    const s = job.snapshot();
    outcomes.push(s.state === 'failed' ? `failed:${s.error!.code}` : s.state);
    if (s.state !== 'failed') break;
    check(s);
    c.resumeJob(job.id);
  }
  return outcomes;
}
