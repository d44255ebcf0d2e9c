/**
 * What a unit must show before an update or provisioning bundle is written to
 * it (metadata field `preconditions`, see docs/bundle-format.md), read over
 * SMP before the first byte is sent: statistics-group values in range (a
 * battery's millivolts), settings values (equal to, or in range), and room
 * in the slot for the image. `restarts` names the counter the firmware keeps
 * of its own restarts, read before and after the test boot so a unit that
 * restarted again and again is reported as boot-looping.
 *
 * Signed with the rest of the metadata: an Unbrick that does not know the
 * field refuses the bundle (unknown fields are critical), so no older version
 * installs it while skipping the checks.
 */
import { arr, literal, num, obj, oneOf, opt, refine, str, type Infer } from '../../core/schema.ts';

const name = (max: number) => str({ min: 1, max, pattern: /^[^\0]+$/ });
// Signed metadata holds integers only (canonical-json.ts): give millivolts, not volts.
const bound = () => opt(num({ int: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
const label = () => opt(str({ min: 1, max: 40 }));

const inRange = <T extends { min?: number | undefined; max?: number | undefined }>(v: T) =>
  v.min !== undefined && v.max !== undefined && v.min > v.max ? 'a range with min <= max' : undefined;

/** A statistics-group counter (group 2, stat show) that must lie within [min, max]. */
export const StatPreconditionSchema = refine(
  obj({
    group: name(31), // CONFIG_STAT_MGMT_MAX_NAME_LEN - 1
    stat: name(64),
    min: bound(),
    max: bound(),
    /** How people call it ("battery"), and its unit ("mV"), for the refusal message. */
    label: label(),
    unit: opt(str({ min: 1, max: 12 })),
  }),
  (v) => (v.min === undefined && v.max === undefined ? 'a statistic with "min", "max" or both' : inRange(v)),
);

/**
 * A setting (group 3, read) that must equal a text, or lie in a range. The
 * value is read as UTF-8 text (a trailing NUL dropped) unless `as` says it is
 * a little-endian integer of the value's own length (1, 2, 4 or 8 bytes).
 */
export const SettingPreconditionSchema = refine(
  obj({
    name: name(31), // CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN - 1
    as: opt(oneOf(['text', 'uint-le', 'int-le'] as const)),
    equals: opt(str({ max: 256 })),
    min: bound(),
    max: bound(),
    label: label(),
    unit: opt(str({ min: 1, max: 12 })),
  }),
  (v) => {
    const range = v.min !== undefined || v.max !== undefined;
    if (v.equals === undefined && !range) return 'a setting with "equals", or "min"/"max"';
    if (v.equals !== undefined && range) return 'a setting with either "equals" or a range, not both';
    if (v.equals !== undefined && v.as && v.as !== 'text') return 'a setting compared with "equals" as text';
    return inRange(v);
  },
);

export const PreconditionsSchema = refine(
  obj({
    stats: opt(arr(StatPreconditionSchema, { max: 16 })),
    settings: opt(arr(SettingPreconditionSchema, { max: 16 })),
    /** The image must fit the slot it goes to (slot info, 1/6: the largest image MCUboot can swap in). */
    slotFits: opt(literal(true)),
    /** Where the firmware counts its restarts (a statistics group and counter). */
    restarts: opt(obj({ group: name(31), stat: name(64) })),
  }),
  (v) => (!v.stats?.length && !v.settings?.length && !v.slotFits && !v.restarts ? 'preconditions naming at least one check' : undefined),
);

export type StatPrecondition = Infer<typeof StatPreconditionSchema>;
export type SettingPrecondition = Infer<typeof SettingPreconditionSchema>;
export type Preconditions = Infer<typeof PreconditionsSchema>;

const range = (p: { min?: number | undefined; max?: number | undefined; unit?: string | undefined }) => {
  const u = p.unit ? ` ${p.unit}` : '';
  if (p.min !== undefined && p.max !== undefined) return `between ${p.min} and ${p.max}${u}`;
  return p.min !== undefined ? `at least ${p.min}${u}` : `at most ${p.max}${u}`;
};
const named = (label: string | undefined, what: string) => (label ? `${label} (${what})` : what);

/** The preconditions in short words, one per check ("battery (power/battery_mv) at least 3500 mV"). */
export function describePreconditions(p: Preconditions): string[] {
  return [
    ...(p.stats ?? []).map((s) => `${named(s.label, `${s.group}/${s.stat}`)} ${range(s)}`),
    ...(p.settings ?? []).map((s) => `${named(s.label, `setting ${s.name}`)} ${s.equals !== undefined ? `= "${s.equals}"` : range(s)}`),
    ...(p.slotFits ? ['the image fits its slot'] : []),
    ...(p.restarts ? [`restarts counted in ${p.restarts.group}/${p.restarts.stat} (boot-loop check)`] : []),
  ];
}
