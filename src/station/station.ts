/**
 * The station orchestrator: watches ports, runs the provisioning recipe on
 * each unit that appears (up to N at once), records every attempt in the
 * service log, and applies the line policy (pilot lot, failure-rate stop,
 * faulty ports). The recipe is injected: the station knows nothing about
 * STM32 or MCUboot, only about units, ports, per-unit data and results.
 *
 * Crash safety: the batch state (line policy state and the units running) is
 * rewritten atomically after every change. A station restarted after a crash
 * or power cut resumes the batch, records each unit that was running as
 * failed (`station.interrupted`) and runs it again when its port is seen
 * (it is most likely still plugged in); its per-unit data entry stays
 * reserved for it, so the re-run gets the same entry.
 *
 * Unplugging a unit mid-run aborts its recipe (through its AbortSignal),
 * records it as failed (`station.unplugged`) and frees the port for the
 * next unit once the recipe has let go of it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { takePidLock } from './journal.ts';
import { asUnbrickError, inputError, UnbrickError } from '../core/errors.ts';
import { arr, bool, literal, num, obj, oneOf, opt, parseJsonAs, record, str } from '../core/schema.ts';
import type { EntryInput, ServiceLog } from '../records/service-log.ts';
import type { DataPool, Reservation } from './data-pool.ts';
import { DEFAULT_POLICY, initialLineState, mayStart, reduceLine, runningCount, type LineEvent, type LineState, type PolicyConfig, type PortStatus } from './policy.ts';
import { unitKey, unitRecordEntry, unitRows, type StepTiming, type UnitFacts, type UnitOutcome } from './unit-record.ts';

/** A port the station may run a unit on (a USB serial adapter, a simulated link, …). */
export interface StationPort {
  /** Stable key, normally the OS path. */
  id: string;
  label?: string;
  /** Whatever the recipe needs to reach the unit (a DeviceHandle, a simulator). */
  handle?: unknown;
}

export type { UnitFacts };

/** What a recipe gets for one unit. */
export interface UnitContext {
  readonly port: StationPort;
  /** Aborted when the unit is unplugged or the station stops: stop talking to the unit. */
  readonly signal: AbortSignal;
  readonly batch: string;
  readonly station: string;
  readonly operator: string;
  /** Whether this batch hands out per-unit data. */
  readonly hasData: boolean;
  /** Names the unit (chip UID, else serial) as soon as it is known; needed before `takeData`. */
  identify(facts: UnitFacts & ({ chipUid: string } | { serial: string })): void;
  /** Records versions, hashes, option bytes … as they become known. */
  note(facts: UnitFacts): void;
  /** Reserves this unit's per-unit data entry (the same one on a re-run). */
  takeData(): Promise<Reservation>;
  /**
   * Gives a just-reserved entry back when none of it reached the unit (the
   * unit refused the very first write). Does nothing for an entry the unit
   * already held from an earlier run: that one may have been written.
   */
  releaseData(): Promise<void>;
  /** Runs and times one step; its name appears in the unit's record and on the screen. */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Provisions one unit. Resolves with a short summary when the unit passed; throws (an UnbrickError) when it failed. */
export type Recipe = (ctx: UnitContext) => Promise<string | void>;

export interface StationOptions {
  /** Holds batch.json (the resumable batch state). */
  dir: string;
  log: ServiceLog;
  recipe: Recipe;
  batch: string;
  station: string;
  operator: string;
  parallel?: number;
  policy?: Partial<PolicyConfig>;
  pool?: DataPool;
  /** Bundle and other input files, quoted in every unit record. */
  inputs?: { name: string; sha256: string; size?: number }[];
  now?: () => number;
}

export interface PortView extends PortStatus {
  id: string;
  label?: string;
  step?: string;
  elapsedMs?: number;
  /** The unit's serial (from its per-unit data) and chip, running or last finished: for the screen. */
  serial?: string;
  chip?: string;
}

export interface StationSnapshot {
  batch: string;
  station: string;
  mode: LineState['mode'];
  reason?: string;
  parallel: number;
  started: number;
  passed: number;
  failed: number;
  running: number;
  ports: PortView[];
}

const text = (max = 2000) => str({ max });
const count = num({ int: true, min: 0 });
const strMap = record(text(), { max: 256 });
const FactsSchema = obj({ chipUid: opt(text(64)), serial: opt(text(200)), target: opt(text()), chip: opt(text(200)), versions: opt(strMap), hashes: opt(strMap), optionBytes: opt(strMap) });
const LineStateSchema = obj({
  mode: oneOf(['running', 'pilot-review', 'stopped'] as const),
  reason: opt(text()),
  started: count,
  passed: count,
  failed: count,
  pilotApproved: bool(),
  recent: arr(obj({ ok: bool(), code: opt(text(200)) }), { max: 100_000 }),
  ports: record(
    obj({ state: oneOf(['idle', 'running', 'pass', 'fail', 'disabled'] as const), present: bool(), unit: opt(text(200)), reason: opt(text()), code: opt(text(200)), faultsInARow: count }),
    { max: 1024 },
  ),
});
/** batch.json: the line's state, persisted after every change. */
const BatchSchema = obj({
  format: literal('unbrick-station-batch'),
  version: literal(1),
  batch: text(200),
  station: text(200),
  createdAt: text(40),
  line: LineStateSchema,
  /** Units running when this was written: recorded as interrupted after a crash. */
  running: record(obj({ unit: opt(text(200)), facts: FactsSchema, startedAt: text(40), step: opt(text(200)), dataEntry: opt(text(200)) }), { max: 1024 }),
});
type PersistedBatch = { format: 'unbrick-station-batch'; version: 1; batch: string; station: string; createdAt: string; line: LineState; running: Record<string, { unit?: string; facts: UnitFacts; startedAt: string; step?: string; dataEntry?: string }> };

interface Running {
  abort: AbortController;
  startedAt: number;
  unit?: string;
  facts: UnitFacts;
  step?: string;
  dataEntry?: string;
  /** Why the station gave up on it before the recipe finished (unplugged, stopped). */
  abandoned?: UnbrickError;
}

export const BATCH_FILE = 'batch.json';
/** At most this long between a change of the batch state and its being on disk. */
export const SAVE_MS = 250;

export class Station {
  private line: LineState;
  private readonly cfg: PolicyConfig;
  private readonly parallel: number;
  private readonly ports = new Map<string, StationPort>();
  private readonly running = new Map<string, Running>();
  /** Ports whose abandoned recipe has not returned yet: no new unit there until it has. */
  private readonly settling = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly listeners = new Set<(s: StationSnapshot) => void>();
  /** Facts of the last unit finished on each port, until the next one starts there (for the screen). */
  private readonly lastFacts = new Map<string, UnitFacts>();
  private readonly now: () => number;
  private readonly createdAt: string;
  private stopped = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private unlock: () => void = () => {};
  /** Set when a record could not be written: the line must not go on unrecorded. */
  private fatal: UnbrickError | undefined;

  private constructor(
    private readonly o: StationOptions,
    saved: PersistedBatch | undefined,
  ) {
    this.cfg = { ...DEFAULT_POLICY, ...o.policy };
    this.parallel = Math.max(1, o.parallel ?? 1);
    this.now = o.now ?? (() => Date.now());
    this.line = saved?.line ?? initialLineState();
    this.createdAt = saved?.createdAt ?? new Date(this.now()).toISOString();
    // Ports keep their saved presence: a unit still plugged in after a restart is not a new unit.
    // The first port list tells which ones went away meanwhile (see updatePorts).
    for (const [port, r] of Object.entries(saved?.running ?? {})) this.recordInterrupted(port, r);
    this.persist();
  }

  /** Opens the batch in `dir`: resumes it when batch.json is there, starts it otherwise. */
  static open(o: StationOptions): Station {
    const path = join(o.dir, BATCH_FILE);
    mkdirSync(o.dir, { recursive: true });
    let saved: PersistedBatch | undefined;
    if (existsSync(path)) {
      // A damaged batch.json is never reset: the line's counts and the units interrupted in it are the record.
      saved = parseJsonAs(BatchSchema, readFileSync(path, 'utf8'), {
        what: `The batch state ${path} (keep it for support; to go on, start a new batch directory)`,
        code: 'station.batch-unreadable',
      });
      if (saved.batch !== o.batch)
        throw inputError('station.batch-mismatch', `${o.dir} holds batch "${saved.batch}", not "${o.batch}". Use its name to resume it, or another directory for a new batch.`, {
          saved: saved.batch,
        });
    }
    // One process per batch: two stations writing one batch.json would undo each other's state.
    const unlock = takePidLock(join(o.dir, 'batch.lock'), `batch "${o.batch}"`);
    try {
      const st = new Station(o, saved);
      st.unlock = unlock;
      return st;
    } catch (e) {
      unlock();
      throw e;
    }
  }

  // ---- inputs: ports and operator decisions ---------------------------------

  /** The full list of ports that show a unit now. Ports that vanished while running a unit abort it. */
  updatePorts(ports: StationPort[]): void {
    const now = new Set(ports.map((p) => p.id));
    // Ports the saved state shows as holding a unit that are not there now: gone while the station was down.
    for (const [id, p] of Object.entries(this.line.ports)) if (p.present && !now.has(id) && !this.ports.has(id)) this.dispatch({ type: 'port-gone', port: id });
    for (const id of [...this.ports.keys()]) {
      if (now.has(id)) continue;
      this.ports.delete(id);
      const r = this.running.get(id);
      if (r && !r.abandoned) {
        r.abandoned = new UnbrickError(
          'cancelled',
          'station.unplugged',
          `The unit was unplugged${r.step ? ` during "${r.step}"` : ''}. Plug it in again to re-run it.`,
        );
        r.abort.abort(r.abandoned);
      }
      this.dispatch({ type: 'port-gone', port: id });
    }
    for (const p of ports) {
      if (this.ports.has(p.id)) continue;
      this.ports.set(p.id, p);
      this.lastFacts.delete(p.id);
      this.dispatch({ type: 'port-present', port: p.id });
    }
    this.schedule();
  }

  approvePilot(): void {
    this.dispatch({ type: 'approve-pilot' });
    this.schedule();
  }

  /** Restarts a line that stopped itself (after someone looked at why). */
  resume(): void {
    this.dispatch({ type: 'resume' });
    this.schedule();
  }

  enablePort(id: string): void {
    this.dispatch({ type: 'enable-port', port: id });
    this.schedule();
  }

  // ---- outputs ---------------------------------------------------------------

  onChange(listener: (s: StationSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): StationSnapshot {
    const t = this.now();
    const ids = new Set([...Object.keys(this.line.ports), ...this.ports.keys()]);
    const ports = [...ids].sort().map((id) => {
      const r = this.running.get(id);
      const label = this.ports.get(id)?.label;
      const facts = r?.facts ?? this.lastFacts.get(id);
      return {
        id,
        ...(this.line.ports[id] ?? { state: 'idle' as const, present: this.ports.has(id), faultsInARow: 0 }),
        ...(label ? { label } : {}),
        ...(r?.step ? { step: r.step } : {}),
        ...(r ? { elapsedMs: t - r.startedAt } : {}),
        ...(facts?.serial ? { serial: facts.serial } : {}),
        ...(facts?.chip ? { chip: facts.chip } : {}),
      };
    });
    return {
      batch: this.o.batch,
      station: this.o.station,
      mode: this.line.mode,
      ...(this.line.reason ? { reason: this.line.reason } : {}),
      parallel: this.parallel,
      started: this.line.started,
      passed: this.line.passed,
      failed: this.line.failed,
      running: this.running.size,
      ports,
    };
  }

  get lineState(): LineState {
    return this.line;
  }

  /** Resolves once no unit is running (or settling). */
  async idle(): Promise<void> {
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
  }

  /** Stops starting units, aborts the running ones (recorded as cancelled), waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.running.values()) {
      if (r.abandoned) continue;
      r.abandoned = new UnbrickError('cancelled', 'station.stopped', 'The station was stopped while this unit ran. Re-run it.');
      r.abort.abort(r.abandoned);
    }
    await this.idle();
    this.persist();
    this.unlock();
  }

  // ---- internals ---------------------------------------------------------------

  private dispatch(e: LineEvent): void {
    this.line = reduceLine(this.line, e, this.cfg);
    this.persistSoon();
    this.notify();
  }

  private notify(): void {
    if (!this.listeners.size) return;
    const snap = this.snapshot();
    for (const l of this.listeners) l(snap);
  }

  /**
   * Batch state changes are saved within SAVE_MS, coalesced: an fsync'd write per event blocks the
   * event loop, and with many units at once that stalls every serial line. What must be durable at
   * once already is by the time the state changes: the data reservation (journal or database) and
   * the unit record (service log). A crash inside the window costs at most the newest counters; a
   * unit whose record exists is recognised on restart (recordInterrupted), and a unit whose start
   * was not saved yet simply runs again.
   */
  private persistSoon(): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.persist();
    }, SAVE_MS);
  }

  private persist(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const running: PersistedBatch['running'] = {};
    for (const [port, r] of this.running)
      running[port] = {
        ...(r.unit ? { unit: r.unit } : {}),
        facts: r.facts,
        startedAt: new Date(r.startedAt).toISOString(),
        ...(r.step ? { step: r.step } : {}),
        ...(r.dataEntry ? { dataEntry: r.dataEntry } : {}),
      };
    const doc: PersistedBatch = { format: 'unbrick-station-batch', version: 1, batch: this.o.batch, station: this.o.station, createdAt: this.createdAt, line: this.line, running };
    writeFileAtomic(join(this.o.dir, BATCH_FILE), JSON.stringify(doc, null, 1) + '\n');
  }

  private schedule(): void {
    if (this.stopped || this.fatal) return;
    for (const [id, port] of this.ports) {
      if (this.running.size >= this.parallel) break;
      if (this.running.has(id) || this.settling.has(id)) continue;
      if (!mayStart(this.line, id).ok) continue;
      this.start(port);
    }
  }

  private start(port: StationPort): void {
    const r: Running = { abort: new AbortController(), startedAt: this.now(), facts: {} };
    this.running.set(port.id, r);
    this.dispatch({ type: 'unit-started', port: port.id });
    const task = this.runUnit(port, r).finally(() => {
      this.tasks.delete(task);
      this.schedule();
    });
    this.tasks.add(task);
  }

  private async runUnit(port: StationPort, r: Running): Promise<void> {
    const steps: StepTiming[] = [];
    let reservation: Reservation | undefined;
    const ctx: UnitContext = {
      port,
      signal: r.abort.signal,
      batch: this.o.batch,
      station: this.o.station,
      operator: this.o.operator,
      hasData: !!this.o.pool,
      identify: (facts) => {
        if (r.abandoned) return; // already recorded: a recipe slow to notice the abort changes nothing now
        Object.assign(r.facts, facts);
        r.unit = unitKey({ ...r.facts, port: port.id });
        this.dispatch({ type: 'unit-identified', port: port.id, unit: r.unit });
      },
      note: (facts) => {
        for (const [k, v] of Object.entries(facts)) {
          const key = k as keyof UnitFacts;
          const cur = r.facts[key];
          (r.facts as Record<string, unknown>)[key] = typeof v === 'object' && typeof cur === 'object' ? { ...cur, ...v } : v;
        }
      },
      takeData: async () => {
        if (r.abandoned) throw r.abandoned;
        if (!this.o.pool) throw inputError('station.no-data', 'This batch has no per-unit data list (--data).');
        if (!r.unit || (!r.facts.chipUid && !r.facts.serial))
          throw inputError('station.unit-unknown', 'The recipe asked for per-unit data before naming the unit; identify it first (chip UID or serial).');
        if (reservation) return reservation;
        reservation = await this.o.pool.reserve(r.unit);
        r.dataEntry = reservation.entry.id;
        this.persist(); // at once (one write per unit): a crash record then names the entry the unit holds
        return reservation;
      },
      releaseData: async () => {
        if (!reservation || reservation.status !== 'new' || r.abandoned) return;
        await this.o.pool!.release(reservation.unit, reservation.entry.id);
        reservation = undefined;
        r.dataEntry = undefined;
        this.persist();
      },
      step: async (name, fn) => {
        r.step = name;
        this.persistSoon();
        this.notify();
        const t0 = performance.now();
        try {
          const out = await fn();
          steps.push({ name, ok: true, ms: performance.now() - t0 });
          return out;
        } catch (e) {
          steps.push({ name, ok: false, ms: performance.now() - t0 });
          throw e;
        }
      },
    };

    let summary: string | void = undefined;
    let error: UnbrickError | undefined;
    const recipe = (async () => this.o.recipe(ctx))();
    try {
      // An unplug settles the unit at once, even if the recipe is slow to notice.
      summary = await Promise.race([
        recipe,
        new Promise<never>((_, reject) => {
          if (r.abort.signal.aborted) reject(r.abort.signal.reason);
          r.abort.signal.addEventListener('abort', () => reject(r.abort.signal.reason), { once: true });
        }),
      ]);
      if (reservation && !r.abandoned) await this.o.pool!.commit(reservation.unit, reservation.entry.id);
    } catch (e) {
      error = r.abandoned ?? asUnbrickError(e);
    }
    if (r.abandoned && !error) error = r.abandoned;
    const settled = recipe.then(
      () => {},
      () => {},
    );

    const ok = !error;
    const outcome: UnitOutcome = {
      batch: this.o.batch,
      station: this.o.station,
      operator: this.o.operator,
      port: port.id,
      ok,
      reason: error ? error.message : summary || 'Provisioned.',
      ...(error ? { code: error.code } : {}),
      ...r.facts,
      ...(reservation ? { dataEntry: reservation.entry.id } : {}),
      steps,
      totalMs: this.now() - r.startedAt,
      startedAt: new Date(r.startedAt).toISOString(),
      ...(this.o.inputs ? { inputs: this.o.inputs } : {}),
    };
    // A unit that answered (its protocol is known) failed by itself; silence or a dead adapter is the port's.
    const identified = !!(r.facts.chipUid || r.facts.serial || r.facts.target);
    const notCounted = error?.code === 'station.unplugged' || error?.code === 'station.stopped';
    const portFault = !ok && !notCounted && !identified && (error!.kind === 'io' || error!.kind === 'device');
    this.record(unitRecordEntry(outcome));
    this.lastFacts.set(port.id, r.facts);
    this.running.delete(port.id);
    this.settling.add(port.id);
    this.dispatch({
      type: 'unit-finished',
      port: port.id,
      ok,
      ...(r.unit ? { unit: r.unit } : {}),
      ...(error ? { code: error.code, reason: error.message } : {}),
      ...(portFault ? { portFault } : {}),
      ...(notCounted ? { notCounted } : {}),
    });
    await settled;
    this.settling.delete(port.id);
  }

  private record(entry: EntryInput): void {
    try {
      this.o.log.append(entry);
    } catch (e) {
      // Provisioning without a record is not allowed: stop the line and say why.
      this.fatal = asUnbrickError(e);
      this.line = { ...this.line, mode: 'stopped', reason: `Line stopped: a unit record could not be written (${this.fatal.message}). Fix the disk, then restart the station.` };
    }
  }

  private recordInterrupted(port: string, r: PersistedBatch['running'][string]): void {
    // A crash between appending the unit's record and saving the batch state: the record is there, use it.
    const recorded = unitRows(this.o.log.verify().entries, this.o.batch)
      .reverse()
      .find((row) => row.port === port && row.time >= r.startedAt);
    if (recorded) {
      const e: LineEvent = { type: 'unit-finished', port, ok: recorded.ok, unit: recorded.unit, ...(recorded.code ? { code: recorded.code } : {}), ...(recorded.ok ? {} : { reason: recorded.reason }) };
      this.line = reduceLine(this.line, e, this.cfg);
      return;
    }
    const message = `The station stopped${r.step ? ` during "${r.step}"` : ''} while this unit ran (crash or power loss). Re-run it${r.dataEntry ? '; it keeps its per-unit data entry' : ''}.`;
    this.record(
      unitRecordEntry({
        batch: this.o.batch,
        station: this.o.station,
        operator: this.o.operator,
        port,
        ok: false,
        code: 'station.interrupted',
        reason: message,
        ...r.facts,
        ...(r.dataEntry ? { dataEntry: r.dataEntry } : {}),
        totalMs: Math.max(0, this.now() - Date.parse(r.startedAt)),
        startedAt: r.startedAt,
        ...(this.o.inputs ? { inputs: this.o.inputs } : {}),
      }),
    );
    this.line = reduceLine(this.line, { type: 'unit-finished', port, ok: false, code: 'station.interrupted', reason: message, notCounted: true, ...(r.unit ? { unit: r.unit } : {}) }, this.cfg);
    // Nobody pulled the unit: it is most likely still on its port, so it runs again as soon as the port is seen.
    const p = this.line.ports[port];
    if (p) this.line = { ...this.line, ports: { ...this.line.ports, [port]: { ...p, state: 'idle' } } };
  }

  /** Whether the line can go on (false after a record could not be written). */
  get healthy(): boolean {
    return !this.fatal;
  }

  /** Units running now (for tests and the screen). */
  get runningUnits(): number {
    return runningCount(this.line);
  }
}
