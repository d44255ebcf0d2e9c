/**
 * Line policy: when the station may start the next unit, and when it must
 * stop itself. Pure: a state, an event, a new state; no clocks, no I/O, so
 * every rule is tested on its own and a restarted station resumes by loading
 * the last state.
 *
 * - Pilot lot: the first N units run, then the line pauses until someone
 *   reviews them and approves.
 * - Failure-rate stop: over the last `window` finished units, more than
 *   `threshold` failed -> the line stops, saying how many, which reasons, and
 *   what to check. Units already running finish.
 * - Ports: each port shows idle / running / pass / fail. A port that fails
 *   `portFaultLimit` times in a row for reasons of its own (it cannot be
 *   opened, no unit answers) is disabled; the other ports keep working, and
 *   its faults do not count against the line's failure rate.
 */

export interface PolicyConfig {
  /** Pause for review after this many units have started (0: no pilot lot). */
  pilot: number;
  /** How many of the most recent finished units the failure rate looks at. */
  window: number;
  /** Stop when failed/judged exceeds this fraction (0..1). */
  threshold: number;
  /** Judge only once this many units are in the window (default: the whole window). */
  minUnits?: number;
  /** Consecutive port faults that disable a port. */
  portFaultLimit: number;
}

export const DEFAULT_POLICY: PolicyConfig = { pilot: 0, window: 20, threshold: 0.2, portFaultLimit: 3 };

export type PortState = 'idle' | 'running' | 'pass' | 'fail' | 'disabled';

export interface PortStatus {
  state: PortState;
  /** The port currently shows a device (a unit is plugged in). */
  present: boolean;
  /** The unit running or last finished on this port. */
  unit?: string;
  /** Why the last unit failed, or why the port is disabled. */
  reason?: string;
  code?: string;
  faultsInARow: number;
}

export type LineMode = 'running' | 'pilot-review' | 'stopped';

export interface LineState {
  mode: LineMode;
  /** Plain words: why the line is paused or stopped. */
  reason?: string;
  started: number;
  passed: number;
  failed: number;
  pilotApproved: boolean;
  /** Most recent finished units (oldest first), at most `window` long. */
  recent: { ok: boolean; code?: string }[];
  ports: Record<string, PortStatus>;
}

export type LineEvent =
  | { type: 'port-present'; port: string }
  | { type: 'port-gone'; port: string }
  | { type: 'unit-started'; port: string; unit?: string }
  | { type: 'unit-identified'; port: string; unit: string }
  | {
      type: 'unit-finished';
      port: string;
      ok: boolean;
      unit?: string;
      code?: string;
      reason?: string;
      /** The port itself failed (cannot open, nothing answers): counts toward disabling the port, not against the line. */
      portFault?: boolean;
      /** Not the unit's or the line's doing (pulled mid-run, station restarted): the port shows fail, the failure rate ignores it. */
      notCounted?: boolean;
    }
  | { type: 'approve-pilot' }
  | { type: 'resume' }
  | { type: 'enable-port'; port: string };

export function initialLineState(): LineState {
  return { mode: 'running', started: 0, passed: 0, failed: 0, pilotApproved: false, recent: [], ports: {} };
}

const port = (s: LineState, name: string): PortStatus => s.ports[name] ?? { state: 'idle', present: false, faultsInARow: 0 };

function withPort(s: LineState, name: string, p: PortStatus): LineState {
  // No undefined members: the state round-trips through JSON unchanged (it is persisted).
  const clean = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as PortStatus;
  return { ...s, ports: { ...s.ports, [name]: clean } };
}

const pilotReason = (cfg: PolicyConfig) => `Pilot lot: the first ${cfg.pilot} units are under way. Review them, then approve to continue the batch.`;

function withoutReason(s: LineState): LineState {
  const { reason: _drop, ...rest } = s;
  return rest;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The failure-rate verdict over the recent window, or undefined when the line may go on. */
export function failureStop(recent: LineState['recent'], cfg: PolicyConfig): string | undefined {
  const min = Math.max(1, cfg.minUnits ?? cfg.window);
  if (recent.length < min) return undefined;
  const failed = recent.filter((r) => !r.ok);
  const rate = failed.length / recent.length;
  if (rate <= cfg.threshold) return undefined;
  const counts = new Map<string, number>();
  for (const f of failed) counts.set(f.code ?? 'unknown', (counts.get(f.code ?? 'unknown') ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
  return (
    `Line stopped: ${failed.length} of the last ${recent.length} units failed (${pct(rate)}, limit ${pct(cfg.threshold)}). ` +
    `Most frequent: ${top.map(([c, n]) => `${c} (${n})`).join(', ')}. Check the fixture, the cables and the bundle, then resume.`
  );
}

export function reduceLine(s: LineState, e: LineEvent, cfg: PolicyConfig): LineState {
  switch (e.type) {
    case 'port-present': {
      const p = port(s, e.port);
      // Seen again without having gone (a station restart re-lists its ports): the same unit, nothing new.
      if (p.present) return s;
      // A new unit on a port that showed a result: back to idle, ready to run.
      const state = p.state === 'pass' || p.state === 'fail' ? 'idle' : p.state;
      return withPort(s, e.port, { ...p, present: true, state, ...(state === 'idle' && p.state !== 'idle' ? { unit: undefined, reason: undefined, code: undefined } : {}) });
    }
    case 'port-gone': {
      const p = port(s, e.port);
      // The result stays on show until the next unit; a running unit is finished by its own event.
      return withPort(s, e.port, { ...p, present: false });
    }
    case 'unit-started': {
      const p = port(s, e.port);
      let next: LineState = withPort({ ...s, started: s.started + 1 }, e.port, { ...p, state: 'running', unit: e.unit, reason: undefined, code: undefined });
      if (cfg.pilot > 0 && !s.pilotApproved && next.started >= cfg.pilot && next.mode === 'running')
        next = { ...next, mode: 'pilot-review', reason: pilotReason(cfg) };
      return next;
    }
    case 'unit-identified':
      return withPort(s, e.port, { ...port(s, e.port), unit: e.unit });
    case 'unit-finished': {
      const p = port(s, e.port);
      const unit = e.unit ?? p.unit;
      if (e.ok) {
        const recent = [...s.recent, { ok: true }].slice(-cfg.window);
        return withPort({ ...s, passed: s.passed + 1, recent }, e.port, { ...p, state: 'pass', unit, reason: undefined, code: undefined, faultsInARow: 0 });
      }
      if (e.portFault) {
        const faults = p.faultsInARow + 1;
        const disabled = faults >= cfg.portFaultLimit;
        return withPort({ ...s, failed: s.failed + 1 }, e.port, {
          ...p,
          unit,
          state: disabled ? 'disabled' : 'fail',
          code: e.code,
          faultsInARow: faults,
          reason: disabled ? `Port disabled after ${faults} faults in a row (last: ${e.reason ?? e.code ?? 'unknown'}). Check its cable and hub, then enable it.` : e.reason,
        });
      }
      if (e.notCounted) return withPort({ ...s, failed: s.failed + 1 }, e.port, { ...p, state: 'fail', unit, reason: e.reason, code: e.code });
      const recent = [...s.recent, { ok: false, ...(e.code ? { code: e.code } : {}) }].slice(-cfg.window);
      let next: LineState = withPort({ ...s, failed: s.failed + 1, recent }, e.port, { ...p, state: 'fail', unit, reason: e.reason, code: e.code, faultsInARow: 0 });
      const stop = next.mode === 'stopped' ? undefined : failureStop(recent, cfg);
      if (stop) next = { ...next, mode: 'stopped', reason: stop };
      return next;
    }
    case 'approve-pilot':
      if (s.mode !== 'pilot-review') return { ...s, pilotApproved: true };
      return { ...withoutReason(s), pilotApproved: true, mode: 'running' };
    case 'resume':
      // A fresh window: the old failures were looked at, and counting them again would stop the line at once.
      if (s.mode !== 'stopped') return s;
      if (cfg.pilot > 0 && !s.pilotApproved && s.started >= cfg.pilot) return { ...s, mode: 'pilot-review', reason: pilotReason(cfg), recent: [] };
      return { ...withoutReason(s), mode: 'running', recent: [] };
    case 'enable-port': {
      const p = port(s, e.port);
      return p.state === 'disabled' ? withPort(s, e.port, { ...p, state: 'idle', faultsInARow: 0, reason: undefined, code: undefined }) : s;
    }
  }
}

/** Whether a new unit may start on `portName` now, and if not, why (plain words). */
export function mayStart(s: LineState, portName: string): { ok: true } | { ok: false; reason: string } {
  const p = port(s, portName);
  if (s.mode !== 'running') return { ok: false, reason: s.reason ?? `The line is ${s.mode}.` };
  if (p.state === 'disabled') return { ok: false, reason: p.reason ?? 'The port is disabled.' };
  if (p.state === 'running') return { ok: false, reason: 'A unit is already running on this port.' };
  if (!p.present) return { ok: false, reason: 'No unit on this port.' };
  if (p.state !== 'idle') return { ok: false, reason: 'Pull the finished unit and plug in the next one.' };
  return { ok: true };
}

/** How many units are running now. */
export function runningCount(s: LineState): number {
  return Object.values(s.ports).filter((p) => p.state === 'running').length;
}
