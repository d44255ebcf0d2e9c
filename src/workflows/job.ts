/**
 * The job framework every workflow runs on. A job is a list of typed steps run
 * in order against one device, with:
 * - pre-checks that refuse to start, with the reason in plain words;
 * - progress (bytes, rate, ETA through core/progress.ts) and a log;
 * - cancellation (AbortSignal) at any point;
 * - confirmation requests before destructive steps (the job waits for the user);
 * - resume: a failed or cancelled job continues from the step that stopped,
 *   with whatever checkpoint that step kept in the job's state (e.g. how many
 *   bytes of an upload the device already acknowledged).
 */
import type { Json } from '../core/schema.ts';
import type { EntryInput } from '../records/service-log.ts';
import type { ErrorInfo, Finding, JobSnapshot, JobState, LogLine, ProgressInfo, WorkflowName } from '../api/contract.ts';
import { cancelledError, UnbrickError, asUnbrickError } from '../core/errors.ts';
import { ProgressMeter } from '../core/progress.ts';
import { defined } from '../core/defined.ts';
import { toErrorInfo } from '../api/protocol.ts';
import type { DeviceEntry, DeviceRegistry } from '../devices/registry.ts';

export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
}

export interface StepContext<S> {
  /** The workflow's state: steps read inputs and leave checkpoints here. */
  state: S;
  signal: AbortSignal;
  log(message: string, level?: LogLine['level']): void;
  /** Starts a progress phase of `total` units (bytes); call `update(done)` as it moves. */
  progress(phase: string, total: number): { update(done: number): void };
  /** Waits for the user to allow a destructive step; throws `cancelled` when declined. */
  confirm(req: ConfirmRequest): Promise<void>;
}

export interface Step<S> {
  id: string;
  title: string;
  /** Returns a reason to mark the step skipped instead of done. */
  run(ctx: StepContext<S>): Promise<void | { skipped: string }>;
}

/**
 * Wraps steps so that a failure, or a cancel, first runs `release`: the
 * device link the failure may have broken is dropped, and a resume opens a
 * fresh one instead of talking into a dead port.
 */
export function releasingOnFailure<S>(steps: Step<S>[], release: () => Promise<void>): Step<S>[] {
  return steps.map((st) => ({
    ...st,
    async run(ctx: StepContext<S>) {
      try {
        return await st.run(ctx);
      } catch (err) {
        await release();
        throw err;
      } finally {
        if (ctx.signal.aborted) await release();
      }
    },
  }));
}

/** What every step of one workflow job works with: the unit, the data directory, and the run's link. */
export interface WorkflowRun<L> {
  registry: DeviceRegistry;
  deviceId: string;
  dataDir: string;
  link: RunLink<L>;
}

/** The unit's handle as the device list has it now (a replugged unit gets a new one). */
export const unitHandle = (run: WorkflowRun<unknown>) => run.registry.get(run.deviceId).handle;

/** A named step of a workflow: a function of the run's context (link, device, options) and the step context. */
export type StepFn<R, S> = (run: R, ctx: StepContext<S>) => Promise<void | { skipped: string }>;

/** Binds a workflow's named steps, `[id, title, fn]` in order, to one job's run context. */
export function namedSteps<R, S>(run: R, rows: [id: string, title: string, fn: StepFn<R, S>][]): Step<S>[] {
  return rows.map(([id, title, fn]) => ({ id, title, run: (ctx) => fn(run, ctx) }));
}

/**
 * One link per run, shared by the workflows: the link to the unit opens on
 * first use and serves every step of the run; a failure or a cancel drops it
 * (it may be broken), and a resumed run (a new signal) opens a fresh one.
 */
export interface RunLink<L> {
  /** This run's link, opened on first use. */
  get(signal: AbortSignal): Promise<L>;
  /** Closes the link (the unit restarts, or it broke): the next `get` opens a new one. */
  drop(): Promise<void>;
  /** The workflow's steps, each dropping the link when it fails or is cancelled. */
  wrap<S>(steps: Step<S>[]): Step<S>[];
}

export function linkPerRun<L extends { close(): Promise<void> }>(open: (signal: AbortSignal) => Promise<L>): RunLink<L> {
  let link: L | undefined;
  let boundTo: AbortSignal | undefined;
  const drop = async () => {
    const l = link;
    link = boundTo = undefined;
    await l?.close().catch(() => {});
  };
  return {
    async get(signal) {
      if (link && boundTo !== signal) await drop();
      if (!link) {
        link = await open(signal);
        boundTo = signal;
      }
      return link;
    },
    drop,
    wrap: (steps) => releasingOnFailure(steps, drop),
  };
}

export interface JobResult {
  summary: string;
  findings?: Finding[];
}

export interface JobDefinition<S> {
  workflow: WorkflowName;
  deviceId: string;
  state: S;
  steps: Step<S>[];
  /** Runs before anything touches the device; a returned string refuses the job with that reason. */
  precheck?(): Promise<string | undefined> | string | undefined;
  /** What the run ended with, in words (pure: it runs after a failure too). */
  result(state: S): JobResult;
  /**
   * What the run learned about the unit, for the device list (pure); the app
   * applies it when the job ends, whatever the outcome.
   */
  learned?(state: S): DeviceLearned | undefined;
  /** What the service record keeps beyond the outcome: see JobRecord. */
  record?(state: S): JobRecord;
}

/** A change to the unit's entry in the device list. */
export type DeviceLearned = Partial<Pick<DeviceEntry, 'kind' | 'summary' | 'learned' | 'diagnosis'>>;

/** For the service record: the inputs written (bundle and payload hashes) and what the unit reported (plain JSON). */
export interface JobRecord {
  inputs?: EntryInput['inputs'];
  facts?: { [key: string]: Json };
}

type StepState = JobSnapshot['steps'][number]['state'];
const LOG_LIMIT = 500;
const PROGRESS_INTERVAL_MS = 100;

let counter = 0;
const newJobId = () => `job-${Date.now().toString(36)}-${(++counter).toString(36)}`;

export class Job<S = unknown> {
  readonly id = newJobId();
  state: JobState = 'running';
  private readonly stepStates: { state: StepState; detail?: string }[];
  private progressInfo: ProgressInfo | undefined;
  private confirmation: (JobSnapshot['confirmation'] & object) | undefined;
  private pendingConfirm: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private error: ErrorInfo | undefined;
  private result: JobResult | undefined;
  private readonly logLines: LogLine[] = [];
  private readonly startedAt = new Date().toISOString();
  private endedAt: string | undefined;
  private abort = new AbortController();
  private lastProgressEmit = 0;
  private revision = 0;
  private running: Promise<void> | undefined;
  /** Index of the first step not yet done (where a resume starts). */
  private next = 0;

  private readonly emit: (job: Job<S>) => void;

  constructor(
    readonly def: JobDefinition<S>,
    emit: (job: Job<S>) => void,
    private readonly onEnd?: (job: Job<S>) => void,
  ) {
    this.stepStates = def.steps.map(() => ({ state: 'pending' }));
    this.emit = (job) => {
      this.revision++;
      emit(job);
    };
  }

  get workflow(): WorkflowName {
    return this.def.workflow;
  }

  get deviceId(): string {
    return this.def.deviceId;
  }

  get finished(): boolean {
    return this.state !== 'running' && this.state !== 'waiting';
  }

  get resumable(): boolean {
    return (this.state === 'failed' || this.state === 'cancelled') && this.next < this.def.steps.length && this.error?.kind !== 'check';
  }

  get errorInfo(): ErrorInfo | undefined {
    return this.error;
  }

  /** Starts (or resumes) the job; resolves when it stops for any reason. */
  start(): Promise<void> {
    if (this.running && !this.finished) return this.running;
    this.running = this.run();
    return this.running;
  }

  /** Resolves when the current run ends. */
  done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  resume(): Promise<void> {
    if (!this.resumable)
      throw new UnbrickError('usage', 'job.not-resumable', this.finished ? 'This job cannot continue: start it again instead.' : 'This job is still running.');
    this.abort = new AbortController();
    this.error = undefined;
    this.endedAt = undefined;
    this.state = 'running';
    this.log('Resuming from where it stopped.');
    this.running = this.run();
    return this.running;
  }

  cancel(): void {
    if (this.finished) return;
    this.log('Cancel requested.', 'warn');
    this.abort.abort();
    this.pendingConfirm?.reject(cancelledError('Cancelled while waiting for confirmation.'));
  }

  answer(stepId: string, allow: boolean): void {
    if (!this.confirmation || !this.pendingConfirm || this.confirmation.stepId !== stepId)
      throw new UnbrickError('usage', 'job.no-confirmation', 'This job is not waiting for that confirmation (it may have moved on or been cancelled).');
    const p = this.pendingConfirm;
    this.pendingConfirm = undefined;
    this.confirmation = undefined;
    this.state = 'running';
    if (allow) {
      this.log(`Confirmed: ${stepId}.`);
      p.resolve();
    } else {
      this.log(`Declined: ${stepId}. Nothing was changed by this step.`, 'warn');
      p.reject(cancelledError('You declined the step; nothing was changed by it.'));
    }
    this.emit(this);
  }

  log(message: string, level: LogLine['level'] = 'info'): void {
    this.logLines.push({ time: new Date().toISOString(), level, message });
    if (this.logLines.length > LOG_LIMIT) this.logLines.splice(0, this.logLines.length - LOG_LIMIT);
  }

  /** What the run learned about the unit, for the device list (see JobDefinition.learned). */
  deviceLearned(): DeviceLearned | undefined {
    return this.def.learned?.(this.def.state);
  }

  /** The workflow's inputs and facts for the service record. */
  recordDetails(): JobRecord {
    return this.def.record?.(this.def.state) ?? {};
  }

  snapshot(): JobSnapshot {
    const s: JobSnapshot = {
      id: this.id,
      revision: this.revision,
      workflow: this.def.workflow,
      deviceId: this.def.deviceId,
      state: this.state,
      steps: this.def.steps.map((st, i) => {
        const ss = this.stepStates[i]!;
        return { id: st.id, title: st.title, state: ss.state, ...(ss.detail ? { detail: ss.detail } : {}) };
      }),
      resumable: this.resumable,
      startedAt: this.startedAt,
      log: this.logLines.slice(-100),
    };
    if (this.progressInfo) s.progress = this.progressInfo;
    if (this.confirmation) s.confirmation = this.confirmation;
    if (this.error) s.error = this.error;
    if (this.result) s.result = this.result;
    if (this.endedAt) s.endedAt = this.endedAt;
    return s;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    try {
      if (this.next === 0 && this.def.precheck) {
        const reason = await this.def.precheck();
        if (reason) {
          this.state = 'refused';
          this.error = { code: 'job.precheck-failed', kind: 'check', message: reason };
          this.log(`Refused: ${reason}`, 'error');
          this.end();
          return;
        }
      }
      this.emit(this);
      for (; this.next < this.def.steps.length; this.next++) {
        const i = this.next;
        const step = this.def.steps[i]!;
        if (signal.aborted) throw cancelledError();
        this.stepStates[i] = { state: 'running' };
        this.progressInfo = undefined;
        this.log(`${step.title}…`);
        this.emit(this);
        const outcome = await step.run(this.context(step.id, signal));
        if (signal.aborted) throw cancelledError();
        this.stepStates[i] = outcome && 'skipped' in outcome ? { state: 'skipped', detail: outcome.skipped } : { state: 'done' };
        this.emit(this);
      }
      this.result = this.def.result(this.def.state);
      this.state = 'succeeded';
      this.log(this.result.summary);
    } catch (err) {
      // Once cancel was asked, whatever the step threw on the way out (a closed link) is the cancel.
      const e = signal.aborted ? cancelledError() : asUnbrickError(err);
      const ss = this.stepStates[this.next];
      if (ss) ss.state = e.kind === 'cancelled' ? 'cancelled' : 'failed';
      if (ss) ss.detail = e.message;
      this.state = e.kind === 'cancelled' ? 'cancelled' : 'failed';
      this.error = toErrorInfo(e);
      this.confirmation = undefined;
      this.pendingConfirm = undefined;
      this.log(e.message, e.kind === 'cancelled' ? 'warn' : 'error');
      // A partial result still says what was learned (e.g. diagnose found some things before failing).
      try {
        this.result = this.def.result(this.def.state);
      } catch {
        this.result = undefined;
      }
    }
    this.end();
  }

  private end(): void {
    this.endedAt = new Date().toISOString();
    this.emit(this);
    this.onEnd?.(this);
  }

  private context(stepId: string, signal: AbortSignal): StepContext<S> {
    return {
      state: this.def.state,
      signal,
      log: (m, level) => {
        this.log(m, level);
        this.emit(this);
      },
      progress: (phase, total) => {
        const meter = new ProgressMeter(phase, total, (p) => {
          this.progressInfo = { phase: p.phase, done: p.done, total: p.total, ...defined({ rate: p.rate, eta: p.eta }) };
          const now = performance.now();
          if (now - this.lastProgressEmit >= PROGRESS_INTERVAL_MS || p.done >= p.total) {
            this.lastProgressEmit = now;
            this.emit(this);
          }
        });
        return { update: (done: number) => void meter.update(done) };
      },
      confirm: (req) => {
        if (signal.aborted) return Promise.reject(cancelledError());
        return new Promise<void>((resolve, reject) => {
          this.confirmation = { stepId, ...req };
          this.pendingConfirm = { resolve, reject };
          this.state = 'waiting';
          this.log(`Waiting for confirmation: ${req.title}`);
          this.emit(this);
        });
      },
    };
  }
}
