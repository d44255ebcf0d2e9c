/**
 * The factory station inside the app (Electron or `unbrick serve`): at most
 * one running station, its operator controls, and the view the station screen
 * shows. The station itself is src/station (the same one `unbrick station run`
 * runs); this adds what a screen needs:
 *
 * - Coalescing: the station reports every step of every unit; the screen gets
 *   at most one view per COALESCE_MS, and one every TICK_MS while units run
 *   (elapsed time and progress move on), so 16 ports cost a few small messages
 *   a second, whatever the recipes do.
 * - Progress: the station only knows steps. The step timings of the last unit
 *   that passed on this station give each running unit an estimate (units of
 *   one batch run the same recipe on the same kind of chip); none until then.
 */
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { defined } from '../core/defined.ts';
import type { ErrorInfo, StationPort, StationRunView, StationStart, StationStatus } from '../api/contract.ts';
import { asUnbrickError, usageError } from '../core/errors.ts';
import { startDemoLine, type DemoLine } from '../sim/factory/demo-line.ts';
import type { ServiceLog } from '../records/service-log.ts';
import type { PoolStatus } from '../station/data-pool.ts';
import { openStationRun, type StationConfig, type StationRun } from '../station/setup.ts';
import type { PortView, StationSnapshot } from '../station/station.ts';

export const COALESCE_MS = 100;
export const TICK_MS = 500;

export interface StationServiceOptions {
  /** Data directory of a real station (trust store, service log, batches). */
  dataDir: string;
  operator: string;
  /** Whether the demo line may be started (the demo lab is on). */
  demoAllowed: boolean;
  station?: string;
  /** The app's service log: a station on the app's data directory records there (not for the demo line). */
  log?: ServiceLog;
}

/** Step timings of one unit, as watched: [step, ms][] in order. */
type Profile = [string, number][];

interface Watch {
  /** Steps of the unit running on the port, with the time each began (ms, performance.now). */
  steps: { name: string; at: number }[];
  startedAt: number;
}

export class StationService {
  private run: StationRun | undefined;
  private demo: DemoLine | undefined;
  private starting = false;
  private error: ErrorInfo | undefined;
  private revision = 0;
  private last: StationSnapshot | undefined;
  private pool: PoolStatus | undefined;
  private finished = -1;
  private readonly watches = new Map<string, Watch>();
  private profile: Profile | undefined;
  private readonly listeners = new Set<(s: StationStatus) => void>();
  private emitTimer: NodeJS.Timeout | undefined;
  private tick: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private bundleName = '';
  /** When the running station started (performance.now()): the screen's units per hour. */
  private runStartedAt = 0;
  /** Units that ended in a fault of the fixture (no unit answered), since the station started: the yield leaves them out. */
  private fixtureFaults = 0;
  private readonly portFaults = new Map<string, number>();
  /** Serial ports the running station provisions on ('all': every USB adapter). */
  private owned: 'all' | Set<string> = new Set();
  private readonly ownershipListeners = new Set<() => void>();

  constructor(private readonly o: StationServiceOptions) {}

  onChange(listener: (s: StationStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the running station provisions on this serial port (the app then leaves it alone). */
  owns(path: string): boolean {
    return this.owned === 'all' ? true : this.owned.has(path);
  }

  onOwnershipChange(listener: () => void): () => void {
    this.ownershipListeners.add(listener);
    return () => this.ownershipListeners.delete(listener);
  }

  private setOwned(owned: 'all' | Set<string>): void {
    this.owned = owned;
    for (const l of this.ownershipListeners) l();
  }

  status(): StationStatus {
    const run = this.run && this.last ? this.view(this.run, this.last) : undefined;
    return {
      revision: this.revision,
      ...(run ? { run } : {}),
      ...(this.error ? { error: this.error } : {}),
      demoAvailable: this.o.demoAllowed && !this.run && !this.starting,
    };
  }

  async start(p: StationStart): Promise<StationStatus> {
    return this.open({
      bundle: p.bundle,
      dataDir: this.o.dataDir,
      ...(this.o.log ? { log: this.o.log } : {}),
      station: this.o.station ?? hostname(),
      operator: this.o.operator,
      ports: p.ports?.length ? p.ports : 'auto',
      parallel: p.parallel ?? 1,
      ...defined({ pilot: p.pilot, window: p.window, threshold: p.threshold, data: p.data, dataAddress: p.dataAddress, uidAddress: p.uidAddress, batch: p.batch }),
      ...(p.allowUnprotect ? { allowUnprotect: true } : {}),
    });
  }

  /** The demo line: simulated blank units, a lab-signed bundle, everything in a temporary folder. */
  async startDemo(p: { units?: number; pilot?: number; window?: number; threshold?: number; deadSocket?: boolean; baud?: number }): Promise<StationStatus> {
    if (!this.o.demoAllowed) throw usageError('station.demo-off', 'The demo factory line is only available with the demo lab (unbrick serve --lab).');
    this.refuseIfRunning();
    this.starting = true;
    let demo: DemoLine;
    try {
      demo = await startDemoLine({ units: p.units ?? 6, ...(p.deadSocket ? { deadSocket: true } : {}), ...defined({ baud: p.baud }) });
    } finally {
      this.starting = false;
    }
    const units = demo.ports.length;
    this.demo = demo;
    try {
      const s = await this.open({
        bundle: demo.bundle,
        dataDir: demo.dataDir,
        station: 'demo-line',
        operator: this.o.operator,
        ports: 'auto',
        list: demo.list,
        pollMs: 300,
        parallel: units,
        pilot: p.pilot ?? Math.min(2, units),
        ...defined({ window: p.window, threshold: p.threshold }),
        data: demo.data,
        dataAddress: demo.dataAddress,
        uidAddress: demo.uidAddress,
        batch: 'demo',
      });
      return s;
    } catch (e) {
      this.demo = undefined;
      demo.close();
      throw e;
    }
  }

  private refuseIfRunning(): void {
    if (this.run || this.starting) throw usageError('station.running', 'A station is already running here. Stop it first.');
  }

  private async open(cfg: StationConfig): Promise<StationStatus> {
    this.refuseIfRunning();
    this.starting = true;
    this.error = undefined;
    try {
      // Before the station's watcher starts: the app stops offering these ports to technicians' jobs.
      // A station with its own port lister (the demo line) uses no real port.
      if (!cfg.list) this.setOwned(cfg.ports === 'auto' ? 'all' : new Set(cfg.ports));
      const run = await openStationRun(cfg);
      this.run = run;
      this.runStartedAt = performance.now();
      this.fixtureFaults = 0;
      this.portFaults.clear();
      this.bundleName = basename(cfg.bundle).slice(0, 300);
      this.last = run.station.snapshot();
      this.finished = -1;
      this.pool = undefined;
      this.profile = undefined;
      this.watches.clear();
      this.unsubscribe = run.station.onChange((s) => this.observe(s));
      this.observe(this.last);
    } catch (e) {
      this.setOwned(new Set());
      const err = asUnbrickError(e);
      this.error = { code: err.code.slice(0, 200), kind: err.kind, message: err.message.slice(0, 4000) };
      this.emitSoon(0);
      throw err;
    } finally {
      this.starting = false;
    }
    return this.status();
  }

  async stop(): Promise<StationStatus> {
    const run = this.run;
    if (!run) return this.status();
    this.unsubscribe?.();
    await run.stop();
    this.run = undefined;
    this.setOwned(new Set());
    this.last = undefined;
    this.demo?.close();
    this.demo = undefined;
    this.clearTimers();
    this.revision++;
    this.emit();
    return this.status();
  }

  approvePilot(): StationStatus {
    this.need().station.approvePilot();
    return this.status();
  }

  resume(): StationStatus {
    this.need().station.resume();
    return this.status();
  }

  enablePort(port: string): StationStatus {
    const run = this.need();
    if (!run.station.snapshot().ports.some((p) => p.id === port)) throw usageError('station.unknown-port', `The station has no port "${port}".`);
    run.station.enablePort(port);
    return this.status();
  }

  /** Demo line: the operator pulls every finished unit (and the one in a disabled socket) and plugs in a fresh blank one. */
  demoNextUnits(): StationStatus {
    const run = this.need();
    if (!this.demo) throw usageError('station.demo-off', 'Only the demo line has simulated units to swap; on a real line, pull the unit and plug in the next one.');
    this.demo.nextUnits(run.station.snapshot().ports.filter((p) => p.state === 'pass' || p.state === 'fail' || p.state === 'disabled').map((p) => p.id));
    return this.status();
  }

  async close(): Promise<void> {
    await this.stop();
    this.clearTimers();
    this.listeners.clear();
    this.ownershipListeners.clear();
  }

  private need(): StationRun {
    if (!this.run) throw usageError('station.not-running', 'No station is running. Start one with a provisioning bundle first.');
    return this.run;
  }

  // ---- watching the station ------------------------------------------------------------

  private observe(s: StationSnapshot): void {
    const now = performance.now();
    for (const p of s.ports) {
      // A port's faults in a row only grow by fixture faults (a pass or a unit's own failure resets them): count each once.
      const before = this.portFaults.get(p.id) ?? 0;
      if (p.faultsInARow > before) this.fixtureFaults += p.faultsInARow - before;
      this.portFaults.set(p.id, p.faultsInARow);
      const w = this.watches.get(p.id);
      if (p.state === 'running') {
        if (!w) this.watches.set(p.id, { steps: p.step ? [{ name: p.step, at: now }] : [], startedAt: now - (p.elapsedMs ?? 0) });
        else if (p.step && w.steps[w.steps.length - 1]?.name !== p.step) w.steps.push({ name: p.step, at: now });
      } else if (w) {
        if (p.state === 'pass' && w.steps.length) this.profile = w.steps.map((st, i) => [st.name, (w.steps[i + 1]?.at ?? now) - st.at]);
        this.watches.delete(p.id);
      }
    }
    this.last = s;
    const done = s.passed + s.failed;
    if (done !== this.finished && this.run?.pool) {
      this.finished = done;
      const pool = this.run.pool;
      void pool.status().then(
        (st) => {
          this.pool = st;
          this.emitSoon();
        },
        () => {},
      );
    }
    this.emitSoon();
  }

  /** Estimated share done for a unit running on `port`, from the last passed unit's step timings. */
  private progress(port: string): number | undefined {
    const w = this.watches.get(port);
    const ref = this.profile;
    if (!w || !ref) return undefined;
    const total = ref.reduce((a, [, ms]) => a + ms, 0);
    if (total <= 0) return undefined;
    const now = performance.now();
    const cur = w.steps[w.steps.length - 1];
    // Steps a unit may skip (lift protection) or repeat are fine: the position in the reference is by name.
    const at = cur ? ref.findIndex(([name]) => name === cur.name) : -1;
    if (!cur || at < 0) return Math.min(0.95, (now - w.startedAt) / total);
    const before = ref.slice(0, at).reduce((a, [, ms]) => a + ms, 0);
    const inStep = Math.min(now - cur.at, ref[at]![1] * 0.95);
    return Math.max(0, Math.min(0.99, (before + inStep) / total));
  }

  private view(run: StationRun, s: StationSnapshot): StationRunView {
    const now = performance.now();
    const port = (p: PortView): StationPort => {
      const w = this.watches.get(p.id);
      const progress = p.state === 'running' ? this.progress(p.id) : p.state === 'pass' ? 1 : undefined;
      return {
        id: p.id,
        ...(p.label ? { label: p.label.slice(0, 200) } : {}),
        state: p.state,
        present: p.present,
        ...(p.unit ? { unit: p.unit.slice(0, 200) } : {}),
        ...(p.serial ? { serial: p.serial.slice(0, 200) } : {}),
        ...(p.chip ? { chip: p.chip.slice(0, 100) } : {}),
        ...(p.step ? { step: p.step.slice(0, 100) } : {}),
        ...(p.state === 'running' && w ? { elapsedMs: Math.max(0, Math.round(now - w.startedAt)) } : {}),
        ...(progress !== undefined ? { progress } : {}),
        ...(p.reason ? { reason: p.reason.slice(0, 4000) } : {}),
        ...(p.code ? { code: p.code.slice(0, 200) } : {}),
        // The last unit failed for the port's sake (no unit answered: adapter, cable, socket), not its own.
        ...((p.state === 'fail' || p.state === 'disabled') && p.faultsInARow > 0 ? { fixtureFault: true } : {}),
      };
    };
    return {
      batch: s.batch,
      station: s.station,
      product: run.metadata.product.name,
      version: run.metadata.version,
      bundle: this.bundleName,
      demo: !!this.demo,
      dataDir: this.demo?.dataDir ?? this.o.dataDir,
      mode: s.mode,
      ...(s.reason ? { reason: s.reason } : {}),
      parallel: s.parallel,
      started: s.started,
      passed: s.passed,
      failed: s.failed,
      running: s.running,
      elapsedMs: Math.max(0, Math.round(now - this.runStartedAt)),
      fixtureFaults: this.fixtureFaults,
      ...(this.pool ? { pool: this.pool } : {}),
      // Natural order (/dev/ttyUSB2 before /dev/ttyUSB10): the tiles sit like the fixture's sockets.
      ports: s.ports.map(port).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true })),
    };
  }

  // ---- sending ------------------------------------------------------------------------------

  private emitSoon(delay = COALESCE_MS): void {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = undefined;
      this.revision++;
      this.emit();
    }, delay);
    this.emitTimer.unref?.();
  }

  private emit(): void {
    // While units run, elapsed time and progress move on even when nothing else changes.
    const running = (this.last?.running ?? 0) > 0;
    if (running && !this.tick) {
      this.tick = setInterval(() => this.emitSoon(0), TICK_MS);
      this.tick.unref?.();
    } else if (!running && this.tick) {
      clearInterval(this.tick);
      this.tick = undefined;
    }
    if (!this.listeners.size) return;
    const status = this.status();
    for (const l of this.listeners) l(status);
  }

  private clearTimers(): void {
    if (this.emitTimer) clearTimeout(this.emitTimer);
    if (this.tick) clearInterval(this.tick);
    this.emitTimer = undefined;
    this.tick = undefined;
  }
}
