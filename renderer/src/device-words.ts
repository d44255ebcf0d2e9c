/**
 * What the device page says about a unit and its jobs, as pure functions:
 * health as a word and an icon, which actions apply to this kind of unit (and
 * why not), the one recommended next step, a job's progress across all its
 * phases, and the unit's real condition when a job stopped part-way.
 */
import type { DeviceKind, Diagnosis, JobSnapshot, Severity, WorkflowName } from '../../src/api/contract.ts';
import { formatBytes } from './format.ts';

export const HEALTH: Record<Severity | 'none', { icon: string; word: string }> = {
  ok: { icon: '✔', word: 'Healthy' },
  info: { icon: 'ℹ', word: 'Healthy (notes)' },
  warning: { icon: '⚠', word: 'Needs attention' },
  critical: { icon: '✖', word: 'Critical' },
  none: { icon: '○', word: 'Not diagnosed' },
};

export const SEVERITY_WORDS: Record<Severity, { icon: string; word: string }> = {
  ok: { icon: '✔', word: 'OK' },
  info: { icon: 'ℹ', word: 'Note' },
  warning: { icon: '⚠', word: 'Warning' },
  critical: { icon: '✖', word: 'Critical' },
};

export const WRITES: readonly WorkflowName[] = ['recover', 'unbrick', 'update'];
export const writes = (w: WorkflowName) => WRITES.includes(w);

/** Why this action does not apply to this kind of unit (undefined: it does). */
export function notApplicable(w: WorkflowName, kind: DeviceKind): string | undefined {
  if (w === 'detect') return undefined;
  if (kind === 'identifying') return 'Still identifying the unit.';
  if (kind === 'unknown') return 'Unit not identified: run Detect (check cable and power).';
  if (w === 'diagnose') return undefined;
  if (w === 'recover' && kind !== 'mcuboot-serial')
    return kind === 'stm32-rom' ? 'Needs MCUboot running; this unit is in the STM32 ROM bootloader: use Full unbrick.' : 'The unit runs its application: use Offline update.';
  if (w === 'unbrick' && kind !== 'stm32-rom') return 'Needs the STM32 ROM bootloader (BOOT0 high); this unit answers over SMP.';
  if (w === 'update' && kind !== 'zephyr-smp') return kind === 'mcuboot-serial' ? 'The unit is in serial recovery: use Recover.' : 'Needs the unit running its application (SMP).';
  return undefined;
}

const severityRank = (s: Severity) => ['ok', 'info', 'warning', 'critical'].indexOf(s);

/**
 * The one next step: the worst finding's action, as the workflow that does it
 * on this kind of unit; with no diagnosis, Diagnose (Detect for an unknown unit).
 */
export function recommended(kind: DeviceKind, d: Diagnosis | undefined, stale: boolean): { workflow: WorkflowName; why: string } | undefined {
  if (kind === 'identifying') return undefined;
  if (kind === 'unknown') return { workflow: 'detect', why: 'Unbrick does not know this unit yet.' };
  if (!d || stale) return { workflow: 'diagnose', why: d ? 'The findings are older than the last write.' : 'Read what is wrong before changing anything.' };
  const acting = [...d.findings].filter((f) => f.action && f.severity !== 'ok').sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of acting) {
    const a = f.action!;
    const wanted: WorkflowName | undefined = /Full unbrick/i.test(a)
      ? 'unbrick'
      : /Recover/.test(a)
        ? 'recover'
        : /Offline update/i.test(a)
          ? 'update'
          : /Rewrite/i.test(a)
            ? kind === 'stm32-rom'
              ? 'unbrick'
              : 'recover'
            : /diagnose again/i.test(a)
              ? 'diagnose'
              : undefined;
    // "Recover once MCUboot runs" on an STM32 unit: the applicable workflow is Full unbrick.
    const w = wanted && notApplicable(wanted, kind) && kind === 'stm32-rom' && wanted === 'recover' ? 'unbrick' : wanted;
    if (w && !notApplicable(w, kind)) return { workflow: w, why: a };
  }
  return undefined;
}

/** Relative length of each step, for one progress bar across a job's phases (the byte-moving steps dominate). */
const STEP_WEIGHTS: Partial<Record<WorkflowName, Record<string, number>>> = {
  unbrick: { connect: 2, 'readout-unprotect': 3, 'lift-wrp': 1, write: 60, verify: 25, protect: 2, reset: 2, answers: 5 },
  recover: { golden: 1, upload: 85, check: 2, reset: 4, back: 8 },
  update: { image: 1, upload: 75, test: 4, wait: 15, confirm: 5 },
};

/** 0..1 across all the job's steps: finished steps count whole, the running one by its progress. */
export function overallFraction(job: JobSnapshot): number {
  const weights = STEP_WEIGHTS[job.workflow] ?? {};
  const w = (id: string) => weights[id] ?? 1;
  const total = job.steps.reduce((n, s) => n + w(s.id), 0);
  let done = 0;
  for (const s of job.steps) {
    if (s.state === 'done' || s.state === 'skipped') done += w(s.id);
    else if (s.state === 'running' && job.progress && job.progress.total > 0) done += w(s.id) * Math.min(1, job.progress.done / job.progress.total);
  }
  return total ? done / total : 0;
}

/** Where the job stopped, in words, and what that leaves on the unit (for a cancelled or failed job). */
export function conditionAfterStop(job: JobSnapshot): { stoppedIn?: string; condition: string[] } {
  const stopped = job.steps.find((s) => s.state === 'cancelled' || s.state === 'failed');
  const done = new Set(job.steps.filter((s) => s.state === 'done').map((s) => s.id));
  const at = job.progress && job.progress.total > 1 && stopped ? ` (at ${formatBytes(job.progress.done)} of ${formatBytes(job.progress.total)})` : '';
  const stoppedIn = stopped ? `${stopped.title}${at}` : undefined;
  const c: string[] = [];
  const id = stopped?.id;
  if (job.workflow === 'unbrick') {
    if (done.has('readout-unprotect')) c.push('Readout protection was removed: the whole chip was erased.');
    if (done.has('lift-wrp') && !done.has('protect')) c.push('Write protection is OFF on the chip until the job finishes (Resume restores it).');
    if (id === 'write') c.push('MCUboot and the application are half-written: the unit cannot start until the write finishes.');
    else if (id === 'verify') c.push('Everything was written but not verified yet.');
    else if (id === 'protect') c.push('Written and verified; the protection policy is not restored yet.');
    else if (id === 'connect' || id === 'readout-unprotect' || id === 'lift-wrp') c.push(done.has('readout-unprotect') ? 'Nothing was written yet.' : 'Nothing on the unit was changed yet.');
  } else if (job.workflow === 'recover') {
    if (id === 'upload') c.push('Slot 0 is half-written: the unit stays in MCUboot serial recovery until Recover finishes.');
    else if (id === 'golden') c.push('Nothing on the unit was changed.');
    else if (id) c.push('The golden image was written to slot 0; the unit was not yet seen starting it.');
  } else if (job.workflow === 'update') {
    if (id === 'upload') c.push('Slot 1 is half-written; the unit still runs its current image (slot 0 is untouched).');
    else if (id === 'image') c.push('Nothing on the unit was changed.');
    else if (id === 'test' || id === 'wait') c.push('The new image is in slot 1; the unit may be test-booting it and goes back to the current image unless it is confirmed.');
    else if (id === 'confirm') c.push('The unit runs the new image as a test boot, not confirmed: the next restart goes back to the previous image.');
  } else c.push('Nothing on the unit was changed (this job only reads).');
  return { ...(stoppedIn ? { stoppedIn } : {}), condition: c };
}

export const timeOf = (iso: string | undefined) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '—');
