/**
 * Settings management group (3): read, write, delete, commit, load, save.
 *
 * Zephyr's settings_mgmt (subsys/mgmt/mcumgr/grp/settings_mgmt, docs
 * smp_group_3): read `{name, max_size?}` -> `{val: bstr, max_size?}` where
 * `max_size` comes back only when the device clamped the asked size to its
 * CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN; write `{name, val}` -> `{}`; delete
 * `{name}` -> `{}`; commit = write id 2; load = read id 3; save = write id 3.
 *
 * A write only reaches the firmware's handler in RAM: it survives a reset
 * only after `save` (settings_save() exports every handler to storage).
 *
 * Errors: v2 devices answer `{err: {group: 3, rc}}`; v1 devices translate
 * KEY_NOT_FOUND and READ_NOT_SUPPORTED to ENOENT (5), KEY_TOO_LONG to EINVAL
 * (3), the rest to EUNKNOWN (1) (settings_mgmt_translate_error_code;
 * ../shared/vectors/smp-zephyr case 16). A firmware without the group answers
 * ENOTSUP (8): reported as `smp.unsupported`.
 */
import { inputError, UnbrickError } from '../../core/errors.ts';
import type { SmpClient } from '../client.ts';
import type { CborValue } from '../cbor.ts';
import { answerError } from '../errors.ts';
import { GROUP, SMP_COMMANDS, smpRequest, type SmpCommandName } from '../messages.ts';

export const SETTINGS_GROUP = GROUP.settings;
/** CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN default: names must be shorter (the C buffer holds the NUL). */
export const DEFAULT_NAME_LEN = 32;

export interface SettingValue {
  value: Uint8Array;
  /** Set when the device clamped the read to its own limit (CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN). */
  deviceMaxSize?: number;
}

function checkName(name: string): string {
  if (!name || /[\0=]/.test(name)) throw inputError('smp.bad-setting-name', `"${name}" is not a setting name: use a non-empty path such as "app/serial" (no "=" or NUL).`);
  return name;
}

// ---- pure codec ----------------------------------------------------------------

export function readRequest(name: string, maxSize?: number): CborValue {
  return { name: checkName(name), ...(maxSize !== undefined ? { max_size: maxSize } : {}) };
}

export function writeRequest(name: string, value: Uint8Array): CborValue {
  return { name: checkName(name), val: value };
}

export function nameRequest(name: string): CborValue {
  return { name: checkName(name) };
}

/** Decodes a successful read answer; undefined when the shape is wrong. */
export function parseRead(body: Record<string, unknown>): SettingValue | undefined {
  if (!(body.val instanceof Uint8Array)) return undefined;
  return { value: body.val, ...(typeof body.max_size === 'number' ? { deviceMaxSize: body.max_size } : {}) };
}

/**
 * The error in a settings answer, with the v1 translations read back in
 * settings terms (a v1 ENOENT from this group means "no such setting").
 */
export function settingsError(body: Record<string, unknown>, what: string, name?: string): UnbrickError | undefined {
  const err = answerError(body, what);
  if (!err) return undefined;
  const v1 = typeof body.rc === 'number' ? body.rc : undefined;
  if (v1 === 5 || err.code === 'smp.setting-not-found')
    return new UnbrickError('device', 'smp.setting-not-found', `${what} failed: the device has no setting${name ? ` "${name}"` : ''} (its firmware registers no handler for that name).`, { rc: body.rc ?? err.details?.rc, group: SETTINGS_GROUP });
  if (err.code === 'smp.unsupported')
    return new UnbrickError('device', 'smp.unsupported', `This device does not support ${what}: its firmware has no settings management group.`, { rc: 8, group: SETTINGS_GROUP });
  return err;
}

// ---- client calls ---------------------------------------------------------------

async function settingsCall(c: SmpClient, command: SmpCommandName, body: CborValue, name?: string): Promise<Record<string, unknown>> {
  const what = SMP_COMMANDS[command].what;
  const a = await c.call({ ...smpRequest(command), body, timeoutMs: 3000 });
  const err = settingsError(a.body, what, name);
  if (err) throw err;
  return a.body;
}

export async function readSetting(c: SmpClient, name: string, maxSize?: number): Promise<SettingValue> {
  const b = await settingsCall(c, 'settingRead', readRequest(name, maxSize), name);
  const v = parseRead(b);
  if (!v) throw new UnbrickError('device', 'smp.bad-answer', `The device answered the setting read of "${name}" without a value.`, { body: Object.keys(b) });
  return v;
}

/** Sets the value in the firmware's handler (RAM). Call `saveSettings` to make it survive a reset. */
export async function writeSetting(c: SmpClient, name: string, value: Uint8Array): Promise<void> {
  await settingsCall(c, 'settingWrite', writeRequest(name, value), name);
}

export async function deleteSetting(c: SmpClient, name: string): Promise<void> {
  await settingsCall(c, 'settingDelete', nameRequest(name), name);
}

/** settings_commit(): handlers apply the values they were given. */
export async function commitSettings(c: SmpClient): Promise<void> {
  await settingsCall(c, 'settingsCommit', {});
}

/** settings_load(): handlers get the stored values again (unsaved writes are lost). */
export async function loadSettings(c: SmpClient): Promise<void> {
  await settingsCall(c, 'settingsLoad', {});
}

/** settings_save(): every handler's values go to persistent storage. */
export async function saveSettings(c: SmpClient): Promise<void> {
  await settingsCall(c, 'settingsSave', {});
}

/**
 * Whether the firmware offers the settings group: a read of `name` answers
 * "no such setting" or a value when it does, ENOTSUP when it does not.
 */
export async function hasSettings(c: SmpClient, name: string): Promise<boolean> {
  try {
    await readSetting(c, name, 1);
    return true;
  } catch (e) {
    if (e instanceof UnbrickError && e.code === 'smp.unsupported') return false;
    if (e instanceof UnbrickError && e.kind === 'device' && e.code !== 'smp.timeout') return true;
    throw e;
  }
}
