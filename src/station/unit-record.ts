/**
 * One provisioned unit as the station records it in the service log
 * (action `station.provision`, one entry per attempt), and the way back from
 * log entries to typed rows for batch reports and the line database.
 */
import type { Json } from '../core/schema.ts';
import type { EntryInput, ServiceEntry } from '../records/service-log.ts';
import { unitFacts } from '../records/unit-identity.ts';

export const PROVISION_ACTION = 'station.provision';

export interface StepTiming {
  name: string;
  ok: boolean;
  ms: number;
}

/** What a recipe learns about a unit on the way (Station.identify / note), kept in its record. */
export interface UnitFacts {
  chipUid?: string;
  serial?: string;
  /** What the unit is: `stm32`, `mcuboot`, … and the chip name when known. */
  target?: string;
  chip?: string;
  /** Versions found or written: bootloader, application, … */
  versions?: Record<string, string>;
  /** SHA-256 of every image written or verified, by name. */
  hashes?: Record<string, string>;
  /** Option bytes as read after the policy was applied (and before, when known). */
  optionBytes?: Record<string, string>;
}

export interface UnitOutcome extends UnitFacts {
  batch: string;
  station: string;
  operator: string;
  port: string;
  ok: boolean;
  /** Error code when failed (e.g. `stm32.verify-failed`, `station.unplugged`). */
  code?: string;
  /** Plain-words result or failure reason. */
  reason: string;
  /** Id of the per-unit data entry used. */
  dataEntry?: string;
  steps?: StepTiming[];
  totalMs: number;
  /** When the attempt started (ISO 8601). */
  startedAt?: string;
  /** Bundle and other input files. */
  inputs?: { name: string; sha256: string; size?: number }[];
}

/**
 * The unit's key in the log: chip UID, else serial. A unit that never said who it is gets its port
 * and the attempt's start time, so two unknown units on one port are not counted as one.
 */
export function unitKey(o: Pick<UnitOutcome, 'chipUid' | 'serial' | 'port' | 'startedAt'>): string {
  return o.chipUid ?? o.serial ?? `port:${o.port}${o.startedAt ? `@${o.startedAt}` : ''}`;
}

export function unitRecordEntry(o: UnitOutcome): EntryInput {
  const unit: EntryInput['unit'] = { id: unitKey(o), port: o.port };
  if (o.chipUid) unit.chipUid = o.chipUid;
  if (o.serial) unit.serial = o.serial;
  if (o.chip) unit.device = o.chip;
  const details: { [k: string]: Json } = {
    batch: o.batch,
    station: o.station,
    port: o.port,
    totalMs: Math.round(o.totalMs),
  };
  if (o.code) details.code = o.code;
  if (o.target) details.target = o.target;
  if (o.chip) details.chip = o.chip;
  if (o.versions) details.versions = o.versions;
  if (o.hashes) details.hashes = o.hashes;
  if (o.optionBytes) details.optionBytes = o.optionBytes;
  if (o.dataEntry) details.dataEntry = o.dataEntry;
  if (o.startedAt) details.startedAt = o.startedAt;
  if (o.steps) details.steps = o.steps.map((s) => ({ name: s.name, ok: s.ok, ms: Math.round(s.ms) }));
  return {
    unit,
    action: PROVISION_ACTION,
    operator: o.operator,
    outcome: o.ok ? 'succeeded' : 'failed',
    summary: o.reason,
    ...(o.inputs?.length ? { inputs: o.inputs } : {}),
    details,
  };
}

/** A recorded attempt, read back from the log. */
export interface UnitRow extends Omit<UnitOutcome, 'inputs'> {
  unit: string;
  time: string;
  seq: number;
  hash: string;
  /** 1 for the unit's first attempt in this set of rows, then 2, … */
  attempt: number;
  /** This is the unit's last attempt: its result is the unit's result. */
  final: boolean;
}

const strMap = (v: unknown): Record<string, string> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)])) : undefined;

/** The station's unit records among log entries, optionally for one batch, with attempt numbers. */
export function unitRows(entries: readonly ServiceEntry[], batch?: string): UnitRow[] {
  const rows: UnitRow[] = [];
  for (const e of entries) {
    if (e.action !== PROVISION_ACTION) continue;
    const d = (e.details ?? {}) as Record<string, unknown>;
    if (batch !== undefined && d.batch !== batch) continue;
    const ids = unitFacts(e.unit);
    const steps = Array.isArray(d.steps) ? (d.steps as StepTiming[]).filter((s) => s && typeof s.name === 'string') : undefined;
    rows.push({
      unit: e.unit.id,
      time: e.time,
      seq: e.seq,
      hash: e.hash,
      attempt: 0,
      final: false,
      batch: String(d.batch ?? ''),
      station: String(d.station ?? ''),
      operator: e.operator,
      port: String(d.port ?? (typeof e.unit.port === 'string' ? e.unit.port : '')),
      ok: e.outcome === 'succeeded',
      ...(typeof d.code === 'string' ? { code: d.code } : {}),
      reason: e.summary,
      ...(ids.chipUid ? { chipUid: ids.chipUid } : {}),
      ...(ids.serial ? { serial: ids.serial } : {}),
      ...(typeof d.target === 'string' ? { target: d.target } : {}),
      ...(typeof d.chip === 'string' ? { chip: d.chip } : {}),
      ...(strMap(d.versions) ? { versions: strMap(d.versions) } : {}),
      ...(strMap(d.hashes) ? { hashes: strMap(d.hashes) } : {}),
      ...(strMap(d.optionBytes) ? { optionBytes: strMap(d.optionBytes) } : {}),
      ...(typeof d.dataEntry === 'string' ? { dataEntry: d.dataEntry } : {}),
      ...(steps ? { steps } : {}),
      totalMs: Number(d.totalMs ?? 0),
      ...(typeof d.startedAt === 'string' ? { startedAt: d.startedAt } : {}),
    });
  }
  const attempts = new Map<string, number>();
  for (const r of rows) {
    const n = (attempts.get(r.unit) ?? 0) + 1;
    attempts.set(r.unit, n);
    r.attempt = n;
  }
  for (const r of rows) r.final = r.attempt === attempts.get(r.unit);
  return rows;
}
