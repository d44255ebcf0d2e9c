/**
 * The application core behind every front end (Electron, server mode): the
 * device registry fed by the demo lab (and real ports), the jobs running
 * workflows on those devices, and the service log every job ends in.
 * Front ends reach it only through the contract (src/app/handlers.ts).
 */
import { hostname, userInfo } from 'node:os';
import type { JobSnapshot, WorkflowName, WorkflowOptions, DeviceSummary } from '../api/contract.ts';
import { deviceError, UnbrickError } from '../core/errors.ts';
import type { DemoLab } from '../sim/lab/lab.ts';
import { LAB_BUNDLE_PRODUCT } from '../sim/lab/vendor.ts';
import { ServiceLog, type ServiceEntry } from '../records/service-log.ts';
import type { UnitIdentity } from '../records/unit-identity.ts';
import { IDENTITY, unitIdentity } from '../devices/identity.ts';
import { DeviceRegistry, type DeviceHandle } from '../devices/registry.ts';
import { Job } from '../workflows/job.ts';
import { BundleUploads } from './bundle-uploads.ts';
import { WORKFLOW_BUILDERS } from '../workflows/registry.ts';
import { PortWatcher } from '../devices/ports.ts';
import { StationService } from './station-service.ts';

export interface AppCoreOptions {
  dataDir: string;
  /** The demo lab; when absent no simulated units are listed. */
  lab?: DemoLab;
  operator?: string;
  /** Identify each device as it appears, and read it again after a job wrote to it (on by default). */
  autoDetect?: boolean;
  /** Watch real serial ports (off by default; the front ends turn it on). */
  ports?: PortWatcherOptions;
}

export type PortWatcherOptions = ConstructorParameters<typeof PortWatcher>[1] & {};

export interface AppCoreEvents {
  devices(list: DeviceSummary[]): void;
  job(snapshot: JobSnapshot): void;
  record(entry: ServiceEntry): void;
}

/** Workflows that write to the unit: after one, identity and diagnosis are read again. */
const WRITES: ReadonlySet<WorkflowName> = new Set(['recover', 'unbrick', 'update']);

export function defaultOperator(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

export class AppCore {
  readonly devices = new DeviceRegistry();
  readonly log: ServiceLog;
  readonly lab: DemoLab | undefined;
  readonly operator: string;
  /** Bundle files arriving from the UI, on their way into a library. */
  readonly uploads: BundleUploads;
  /** The factory station screen's station (none running until started). */
  readonly station: StationService;
  private readonly jobs = new Map<string, Job<unknown>>();
  /** Jobs the app started by itself (detect on plug-in, re-reading after a write): the UI keeps the user's job in view. */
  private readonly automatic = new Set<string>();
  /** When each unit's identity was last read (a detect ended), and the units being read again after a write. */
  private readonly identityAt = new Map<string, string>();
  private readonly refreshing = new Set<string>();
  /** Units whose interrupted job waits to resume: no automatic job starts on them meanwhile. */
  private readonly resuming = new Set<string>();
  /** The last identity facts seen for each unit: a job that ends after its cable was pulled is still filed under the unit's serial. */
  private readonly lastIdentity = new Map<string, { facts: { name: string; value: string }[]; port: string }>();
  private readonly listeners: Partial<{ [K in keyof AppCoreEvents]: Set<AppCoreEvents[K]> }> = {};
  private readonly disposers: (() => void)[] = [];

  constructor(readonly opts: AppCoreOptions) {
    this.log = ServiceLog.inDir(opts.dataDir);
    this.uploads = new BundleUploads(opts.dataDir);
    this.disposers.push(() => this.uploads.close());
    this.lab = opts.lab;
    this.operator = opts.operator ?? defaultOperator();
    this.station = new StationService({ dataDir: opts.dataDir, operator: this.operator, demoAllowed: opts.lab !== undefined, log: this.log });
    this.disposers.push(
      this.devices.onChange((list) => {
        for (const d of list) {
          const e = this.devices.get(d.id);
          this.lastIdentity.set(d.id, { facts: [...e.handle.identity, ...e.learned], port: e.handle.port });
        }
        this.fire('devices', list);
      }),
    );
    this.disposers.push(this.log.onAppend((e) => this.fire('record', e)));
    if (opts.autoDetect !== false) this.disposers.push(this.devices.onAdded((id) => void this.autoDetect(id)));
    // One device list from every source: the demo lab and real serial ports.
    let labHandles: DeviceHandle[] = [];
    let portHandles: DeviceHandle[] = [];
    // Ports the factory station provisions on are its own: no device entry, no auto-detect opening them.
    const sync = () => this.devices.sync([...portHandles.filter((h) => !this.station.owns(h.port)), ...labHandles]);
    this.disposers.push(this.station.onOwnershipChange(sync));
    if (this.lab) {
      const lab = this.lab;
      this.disposers.push(
        lab.onChange(() => {
          labHandles = this.labHandles(lab);
          sync();
        }),
      );
      labHandles = this.labHandles(lab);
      sync();
    }
    if (opts.ports) {
      const watcher = new PortWatcher((handles) => {
        portHandles = handles;
        sync();
      }, opts.ports);
      watcher.start();
      this.disposers.push(() => watcher.stop());
    }
  }

  on<K extends keyof AppCoreEvents>(event: K, listener: AppCoreEvents[K]): () => void {
    const set = (this.listeners[event] ??= new Set() as never) as Set<AppCoreEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  private fire<K extends keyof AppCoreEvents>(event: K, ...args: Parameters<AppCoreEvents[K]>): void {
    for (const l of (this.listeners[event] ?? []) as Set<(...a: unknown[]) => void>) l(...args);
  }

  private labHandles(lab: DemoLab): DeviceHandle[] {
    return lab
      .list()
      .filter((u) => u.plugged)
      .map((u) => ({
        id: u.spec.id,
        port: `lab:${u.spec.id}`,
        label: u.spec.label,
        simulated: true,
        identity: [
          { name: IDENTITY.serial, value: u.spec.serial },
          { name: 'lab scenario', value: u.spec.scenario },
        ],
        open: (framing) => lab.open(u.spec.id, framing),
        libraryDir: () => lab.libraryDir(),
        product: LAB_BUNDLE_PRODUCT,
      }));
  }

  private async autoDetect(deviceId: string): Promise<void> {
    try {
      const job = this.startJob('detect', deviceId, {}, { record: false, automatic: true });
      await this.jobs.get(job.id)?.done();
    } catch {
      /* the device went away or is busy; the list shows what is known */
    }
  }

  /**
   * After a job that wrote to the unit, what the page shows of it is history:
   * read identity (detect) and diagnosis again, so no finding from before the
   * write stays on screen as if it were current.
   */
  private async refreshAfterWrite(deviceId: string): Promise<void> {
    if (!this.devices.has(deviceId)) return;
    this.refreshing.add(deviceId);
    this.devices.update(deviceId, {}); // tells the UI the detail is being read again
    try {
      for (const w of ['detect', 'diagnose'] as const) {
        if (!this.devices.has(deviceId) || this.resuming.has(deviceId)) return;
        const job = this.startJob(w, deviceId, {}, { record: false, automatic: true });
        await this.jobs.get(job.id)?.done();
      }
    } catch {
      /* unplugged or busy meanwhile: the page keeps the older findings greyed, with their time */
    } finally {
      this.refreshing.delete(deviceId);
      this.devices.update(deviceId, {});
    }
  }

  /** A job's snapshot as the UI sees it (marked when the app started it by itself). */
  snapshotOf(job: Job<unknown>): JobSnapshot {
    const s = job.snapshot();
    return this.automatic.has(job.id) ? { ...s, automatic: true } : s;
  }

  /** When the unit's identity was last read, and whether it is being read again after a write (for devices.get). */
  freshness(deviceId: string): { identityAt?: string; refreshing?: boolean } {
    const at = this.identityAt.get(deviceId);
    return { ...(at ? { identityAt: at } : {}), ...(this.refreshing.has(deviceId) ? { refreshing: true } : {}) };
  }

  listJobs(): JobSnapshot[] {
    return [...this.jobs.values()].map((j) => this.snapshotOf(j));
  }

  job(jobId: string): Job<unknown> {
    const j = this.jobs.get(jobId);
    if (!j) throw new UnbrickError('usage', 'job.not-found', `No job "${jobId}". It may belong to an earlier session.`);
    return j;
  }

  startJob<W extends WorkflowName>(
    workflow: W,
    deviceId: string,
    options: WorkflowOptions[W],
    flags: { record?: boolean; automatic?: boolean; approved?: readonly string[] } = {},
  ): JobSnapshot {
    const device = this.devices.get(deviceId);
    if (device.busyJobId) {
      const busy = this.jobs.get(device.busyJobId);
      if (busy && !busy.finished)
        throw deviceError('device.busy', `${device.handle.label} is busy with ${busy.workflow}. Wait for it to finish or cancel it first.`, { jobId: busy.id });
    }
    const def = WORKFLOW_BUILDERS[workflow]({ devices: this.devices, dataDir: this.opts.dataDir }, deviceId, options);
    const approved = new Set(flags.approved ?? []);
    const job: Job<unknown> = new Job(
      def,
      (j) => {
        const s = this.snapshotOf(j);
        // A step the user allowed in the plan confirmed at start is not asked again (one plan, confirmed once).
        if (s.state === 'waiting' && s.confirmation && approved.has(s.confirmation.stepId)) {
          const stepId = s.confirmation.stepId;
          queueMicrotask(() => {
            try {
              j.log(`Allowed in the plan confirmed before starting: ${s.confirmation!.title}`);
              j.answer(stepId, true);
            } catch {
              /* cancelled meanwhile */
            }
          });
          return;
        }
        this.fire('job', s);
      },
      (j) => this.jobEnded(j, flags.record !== false),
    );
    if (flags.automatic) this.automatic.add(job.id);
    this.jobs.set(job.id, job);
    this.devices.update(deviceId, { busyJobId: job.id });
    void job.start();
    return this.snapshotOf(job);
  }

  resumeJob(jobId: string): JobSnapshot {
    const job = this.job(jobId);
    if (!this.devices.has(job.deviceId)) throw deviceError('device.not-found', 'The device of this job is not attached. Reconnect it, then resume.');
    if (!job.resumable) void job.resume(); // throws the plain-words reason
    // A replugged unit is identified first (automatic detect): the resume waits for it instead of sharing the line.
    const autoBusy = () => {
      const busy = this.devices.has(job.deviceId) ? this.devices.get(job.deviceId).busyJobId : undefined;
      const auto = busy && this.automatic.has(busy) ? this.jobs.get(busy) : undefined;
      return auto && !auto.finished ? auto : undefined;
    };
    // The refresh after a write stops here: the user's job comes first.
    this.resuming.add(job.deviceId);
    const go = () => {
      const auto = autoBusy();
      if (auto) return void auto.done().then(() => setTimeout(go, 0));
      this.resuming.delete(job.deviceId);
      if (!this.devices.has(job.deviceId) || !job.resumable) return;
      this.devices.update(job.deviceId, { busyJobId: job.id });
      void job.resume();
    };
    if (autoBusy()) job.log('Resumes as soon as the unit has been read again.');
    go();
    return this.snapshotOf(job);
  }

  private jobEnded(job: Job<unknown>, record: boolean): void {
    // What the run learned about the unit goes to the device list here, not from inside the workflow.
    this.devices.update(job.deviceId, { busyJobId: undefined, ...job.deviceLearned() });
    if (job.workflow === 'detect' && job.state === 'succeeded') this.identityAt.set(job.deviceId, new Date().toISOString());
    if (this.opts.autoDetect !== false && WRITES.has(job.workflow) && job.state !== 'refused') void this.refreshAfterWrite(job.deviceId);
    if (!record) return;
    const snap = job.snapshot();
    const rec = job.recordDetails();
    try {
      this.log.append({
        unit: this.unitIdentity(job.deviceId),
        action: job.workflow,
        operator: this.operator,
        outcome: snap.state === 'running' || snap.state === 'waiting' ? 'info' : snap.state,
        summary: snap.error?.message ?? snap.result?.summary ?? snap.state,
        ...(rec.inputs?.length ? { inputs: rec.inputs } : {}),
        details: {
          jobId: snap.id,
          steps: snap.steps.map((s) => ({ id: s.id, state: s.state })),
          ...(snap.error ? { error: { code: snap.error.code, kind: snap.error.kind } } : {}),
          ...(snap.result?.findings ? { findings: snap.result.findings.map((f) => ({ severity: f.severity, code: f.code, text: f.text })) } : {}),
          ...rec.facts,
        },
      });
    } catch (err) {
      // Never lose the fact silently: the job log says the record could not be written.
      job.log(`Could not write the service record: ${(err as Error).message}`, 'error');
      this.fire('job', this.snapshotOf(job));
    }
  }

  /** The identity a service record is filed under (devices/identity.ts): chip UID, else serial, else USB serial, else the device id. */
  unitIdentity(deviceId: string): UnitIdentity {
    if (!this.devices.has(deviceId)) {
      const last = this.lastIdentity.get(deviceId);
      return last ? unitIdentity(deviceId, last.facts, last.port) : unitIdentity(deviceId, []);
    }
    const e = this.devices.get(deviceId);
    return unitIdentity(deviceId, [...e.handle.identity, ...e.learned], e.handle.port);
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) j.cancel();
    await this.station.close();
    for (const d of this.disposers.splice(0)) d();
    await this.lab?.close();
  }
}
