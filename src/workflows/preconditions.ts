/**
 * Checks a bundle's preconditions (formats/bundle/preconditions.ts) on a unit
 * over SMP, before the first byte of an image is sent: the Offline update
 * workflow and the station's SMP recipe call the same check and refuse with
 * the same errors. A value the unit cannot give (no statistics or settings
 * group, no such group or counter, no slot info) is a failure, not a pass: a
 * check that was not made must not read as one that held.
 *
 * Errors: `update.precondition-failed` (a reading outside its limit; every
 * failing one is named), `update.precondition-unreadable` (the unit cannot
 * give a value). Both are checks (not resumable): charge or fix the unit and
 * run again. A transport failure (timeout) stays what it is.
 */
import { checkError, UnbrickError } from '../core/errors.ts';
import type { Preconditions, SettingPrecondition, StatPrecondition } from '../formats/bundle/preconditions.ts';
import type { SmpClient } from '../smp/client.ts';
import * as imageGroup from '../smp/groups/image.ts';
import * as settingsGroup from '../smp/groups/settings.ts';
import * as statsGroup from '../smp/groups/stats.ts';

/** One check as read on the unit, in words. */
export interface PreconditionReading {
  check: string;
  reading: string;
  limit: string;
  ok: boolean;
}

export interface PreconditionReport {
  readings: PreconditionReading[];
  /** The restart counter's value, when the bundle names one (the baseline for the boot-loop check). */
  restarts?: number;
}

/** Device answers that mean "this unit cannot give that value" (anything else, such as a timeout, is thrown as it is). */
const UNREADABLE = new Set(['smp.unsupported', 'smp.stat-group-not-found', 'smp.setting-not-found', 'smp.setting-not-readable', 'smp.bad-answer', 'smp.group-error']);

function unreadable(check: string, why: string, cause?: UnbrickError): UnbrickError {
  return checkError(
    'update.precondition-unreadable',
    `Cannot check ${check} on this unit: ${why} The release requires it, and a check that cannot be made is not passed; nothing was sent to the unit. Use the release meant for this unit's firmware, or update its firmware another way.`,
    { check, ...(cause ? { cause: cause.code } : {}) },
  );
}

const fmt = (v: number, unit?: string) => `${v}${unit ? ` ${unit}` : ''}`;

function limitText(p: { min?: number | undefined; max?: number | undefined; unit?: string | undefined }): string {
  if (p.min !== undefined && p.max !== undefined) return `between ${fmt(p.min, p.unit)} and ${fmt(p.max, p.unit)}`;
  if (p.min !== undefined) return `at least ${fmt(p.min, p.unit)}`;
  return `at most ${fmt(p.max!, p.unit)}`;
}

const within = (v: number, p: { min?: number | undefined; max?: number | undefined }) => (p.min === undefined || v >= p.min) && (p.max === undefined || v <= p.max);

/** A setting value as the precondition reads it (text, or a little-endian integer of its own length). */
export function settingValue(bytes: Uint8Array, as: SettingPrecondition['as']): string | number | undefined {
  if (as === 'uint-le' || as === 'int-le') {
    if (![1, 2, 4, 8].includes(bytes.length)) return undefined;
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    if (as === 'int-le' && bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
    return Number(v);
  }
  const text = Buffer.from(bytes).toString('utf8').replace(/\0+$/, '');
  return text;
}

/** What one check run has read of the statistics group: the group list, and each group's counters. */
interface StatCache {
  groups?: string[];
  fields: Map<string, Record<string, number>>;
}
const statCache = (): StatCache => ({ fields: new Map() });

async function readStat(c: SmpClient, cache: StatCache, group: string, stat: string, check: string): Promise<number> {
  let fields = cache.fields.get(group);
  if (!fields) {
    try {
      // The list first: Zephyr 3.4 answers a show of an unknown group over SMP v1 with the previous
      // answer's header and no payload (../shared/vectors/smp-zephyr case 06), which reads as silence.
      cache.groups ??= await statsGroup.listGroups(c);
      if (!cache.groups.includes(group)) throw unreadable(check, `its firmware has no statistics group "${group}" (it lists ${cache.groups.join(', ') || 'none'}).`);
      fields = await statsGroup.showGroup(c, group);
    } catch (e) {
      if (e instanceof UnbrickError && UNREADABLE.has(e.code)) throw unreadable(check, `${e.message}`, e);
      throw e;
    }
    cache.fields.set(group, fields);
  }
  const v = fields[stat];
  if (v === undefined) throw unreadable(check, `its statistics group "${group}" has no counter "${stat}" (it has ${Object.keys(fields).join(', ') || 'none'}).`);
  return v;
}

async function checkStat(c: SmpClient, cache: StatCache, p: StatPrecondition): Promise<PreconditionReading> {
  const check = p.label ? `${p.label} (${p.group}/${p.stat})` : `${p.group}/${p.stat}`;
  const v = await readStat(c, cache, p.group, p.stat, check);
  return { check, reading: fmt(v, p.unit), limit: limitText(p), ok: within(v, p) };
}

async function checkSetting(c: SmpClient, p: SettingPrecondition): Promise<PreconditionReading> {
  const check = p.label ? `${p.label} (setting ${p.name})` : `setting ${p.name}`;
  let raw: Uint8Array;
  try {
    raw = (await settingsGroup.readSetting(c, p.name)).value;
  } catch (e) {
    if (e instanceof UnbrickError && UNREADABLE.has(e.code)) throw unreadable(check, e.message, e);
    throw e;
  }
  const v = settingValue(raw, p.as);
  if (v === undefined) throw unreadable(check, `its value is ${raw.length} bytes, not a 1, 2, 4 or 8-byte integer.`);
  if (p.equals !== undefined) return { check, reading: `"${String(v)}"`, limit: `"${p.equals}"`, ok: v === p.equals };
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
  if (n === undefined) throw unreadable(check, `its value "${String(v).slice(0, 40)}" is not a number.`);
  return { check, reading: fmt(n, p.unit), limit: limitText(p), ok: within(n, p) };
}

async function checkSlot(c: SmpClient, o: { image: number; slot: number; imageBytes: number }): Promise<PreconditionReading> {
  const check = o.image ? `room in image ${o.image} slot ${o.slot}` : `room in slot ${o.slot}`;
  let info: imageGroup.SlotInfo[];
  try {
    info = await imageGroup.slotInfo(c);
  } catch (e) {
    if (e instanceof UnbrickError && UNREADABLE.has(e.code)) throw unreadable(check, `it does not report its slot sizes (slot info, CONFIG_MCUMGR_GRP_IMG_SLOT_INFO: ${e.message.replace(/\.$/, '')}).`, e);
    throw e;
  }
  const img = info.find((i) => i.image === o.image);
  const slot = img?.slots.find((s) => s.slot === o.slot);
  if (!img || !slot) throw unreadable(check, `its slot info lists no slot ${o.slot} for image ${o.image}.`);
  const room = Math.min(slot.size, img.maxImageSize ?? slot.size);
  return { check, reading: `${o.imageBytes} bytes to write`, limit: `at most ${room} bytes`, ok: o.imageBytes <= room };
}

/**
 * A unit that restarted this often between one restart asked of it and its
 * answer is boot-looping: one restart is the one asked for, one more is a
 * crash MCUboot answers by going back to the previous image (reported as a
 * rollback); more than that is a loop.
 */
export const BOOT_LOOP_RESTARTS = 3;

/** Reads the firmware's restart counter named by the bundle (before and after a test boot). */
export async function readRestarts(c: SmpClient, r: NonNullable<Preconditions['restarts']>): Promise<number> {
  try {
    return await readStat(c, statCache(), r.group, r.stat, `the restart counter (${r.group}/${r.stat})`);
  } catch (e) {
    // Checked readable before anything was sent; losing it later (a different image runs now) is said as such.
    if (!(e instanceof UnbrickError && e.code === 'update.precondition-unreadable')) throw e;
    throw checkError('update.precondition-unreadable', `The unit no longer reports its restart counter (${r.group}/${r.stat}), so Unbrick cannot tell whether it restarted again and again; the image it runs now may not offer it. Diagnose the unit before trusting it.`, { ...e.details });
  }
}

/**
 * Reads every precondition and refuses when one does not hold (all failing
 * ones named, each with its reading and limit). Returns the readings.
 */
export async function checkPreconditions(
  c: SmpClient,
  p: Preconditions,
  o: { targets: { image: number; slot: number; imageBytes: number }[]; release: string },
): Promise<PreconditionReport> {
  const cache = statCache();
  const readings: PreconditionReading[] = [];
  for (const s of p.stats ?? []) readings.push(await checkStat(c, cache, s));
  for (const s of p.settings ?? []) readings.push(await checkSetting(c, s));
  if (p.slotFits) for (const t of o.targets) readings.push(await checkSlot(c, t));
  const restarts = p.restarts ? await readStat(c, cache, p.restarts.group, p.restarts.stat, `the restart counter (${p.restarts.group}/${p.restarts.stat})`) : undefined;
  const failed = readings.filter((r) => !r.ok);
  if (failed.length)
    throw checkError(
      'update.precondition-failed',
      `This unit does not meet what ${o.release} requires, so nothing was sent to it: ${failed.map((f) => `${f.check} reads ${f.reading}; it must be ${f.limit}`).join('; ')}. Fix that first (charge the battery, for example), then run it again.`,
      { failed: failed.map((f) => ({ ...f })), readings: readings.map((r) => ({ ...r })) },
    );
  return { readings, ...(restarts !== undefined ? { restarts } : {}) };
}
