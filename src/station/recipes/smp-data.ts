/**
 * Per-unit data written through a running application's SMP groups: the
 * settings group (3: one key for the whole entry, or one key per field) or
 * the file group (8: one file holding the entry). Each write is read back
 * and compared, then made persistent (settings save, file close); a separate
 * check reads it again after a restart.
 *
 * Values: a whole entry is its JSON text, or, with a raw field, that field's
 * hex decoded to bytes; a field mapped to its own key is its text (UTF-8).
 */
import { checkError, deviceError, usageError, UnbrickError } from '../../core/errors.ts';
import type { SmpClient } from '../../smp/client.ts';
import * as fsGroup from '../../smp/groups/fs.ts';
import * as settingsGroup from '../../smp/groups/settings.ts';

export interface SettingTarget {
  key: string;
  /** The entry field stored under this key; none: the whole entry. */
  field?: string;
}

export interface SmpDataTarget {
  /** Settings keys, tried first when the firmware offers the settings group. */
  settings?: SettingTarget[];
  /** A file path (e.g. /lfs1/unit.json), used when settings are not configured or not offered. */
  file?: string;
  /** Whole-entry values: this field's hex as raw bytes instead of the entry's JSON. */
  rawField?: string;
}

export type DataChannel = 'settings' | 'file';

/** `KEY` (the whole entry) or `FIELD=KEY[,FIELD=KEY…]`. */
export function parseSettingTargets(spec: string): SettingTarget[] {
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) throw usageError('usage.bad-data-setting', '--data-setting needs a settings key (app/unit) or FIELD=KEY pairs (serial=app/serial,mac=app/mac).');
  const out = parts.map((p): SettingTarget => {
    const eq = p.indexOf('=');
    const t = eq < 0 ? { key: p } : { field: p.slice(0, eq).trim(), key: p.slice(eq + 1).trim() };
    if (!t.key || /[\s=]/.test(t.key) || ('field' in t && !t.field))
      throw usageError('usage.bad-data-setting', `"${p}" is not a settings target: write KEY, or FIELD=KEY (no spaces in keys).`);
    if (Buffer.byteLength(t.key) >= settingsGroup.DEFAULT_NAME_LEN)
      throw usageError('usage.bad-data-setting', `The settings key "${t.key}" is ${Buffer.byteLength(t.key)} bytes; Zephyr's default limit is ${settingsGroup.DEFAULT_NAME_LEN - 1}.`);
    return t;
  });
  if (out.some((t) => !t.field) && out.length > 1) throw usageError('usage.bad-data-setting', 'A whole-entry key cannot be combined with FIELD=KEY pairs.');
  return out;
}

/** The fields every entry must have for these targets. */
export function requiredFields(t: SmpDataTarget): string[] {
  return [...new Set([...(t.settings ?? []).flatMap((s) => (s.field ? [s.field] : [])), ...(t.rawField ? [t.rawField] : [])])];
}

/** The entry as one value: its JSON text, or the raw field's bytes. */
export function entryValue(fields: Record<string, string>, rawField?: string): Uint8Array {
  if (rawField === undefined) return new TextEncoder().encode(JSON.stringify(fields));
  const hex = fields[rawField];
  if (hex === undefined || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw usageError('station.data-field', `The per-unit data field "${rawField}" must hold hex bytes.`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function settingValues(fields: Record<string, string>, targets: SettingTarget[], rawField?: string): { key: string; value: Uint8Array }[] {
  return targets.map((t) => {
    if (!t.field) return { key: t.key, value: entryValue(fields, rawField) };
    const v = fields[t.field];
    if (v === undefined) throw usageError('station.data-field', `The per-unit data entry has no field "${t.field}" for settings key "${t.key}".`);
    return { key: t.key, value: new TextEncoder().encode(v) };
  });
}

/** The configured channels whose group this unit's firmware offers, settings first. */
export async function findDataChannels(c: SmpClient, t: SmpDataTarget): Promise<DataChannel[]> {
  const out: DataChannel[] = [];
  if (t.settings?.length && (await settingsGroup.hasSettings(c, t.settings[0]!.key))) out.push('settings');
  if (t.file && (await fsGroup.hasFileSystem(c, t.file))) out.push('file');
  return out;
}

/** Raised when every offered channel refused the first write: nothing of the entry reached the unit. */
export const NOTHING_WRITTEN = 'station.no-data-channel';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

async function readBack(c: SmpClient, channel: DataChannel, t: SmpDataTarget, fields: Record<string, string>, when: 'written' | 'restart'): Promise<void> {
  const mismatch = (what: string, detail: string) =>
    when === 'written'
      ? checkError('station.data-mismatch', `${what} reads back differently from what was written (${detail}). Check the unit's firmware, then re-run it.`)
      : checkError('station.data-not-persisted', `${what} did not survive a restart of the unit (${detail}). Its firmware may not store it; check it, then re-run the unit.`);
  if (channel === 'settings') {
    for (const { key, value } of settingValues(fields, t.settings!, t.rawField)) {
      let got: settingsGroup.SettingValue;
      try {
        got = await settingsGroup.readSetting(c, key, value.length);
      } catch (e) {
        if (e instanceof UnbrickError && e.code === 'smp.setting-not-found') throw mismatch(`Setting "${key}"`, 'the unit no longer has it');
        throw e;
      }
      if (got.deviceMaxSize !== undefined && got.deviceMaxSize < value.length)
        throw deviceError('station.data-too-long', `Setting "${key}" holds ${value.length} bytes but this unit reads back at most ${got.deviceMaxSize} (CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN), so it cannot be verified. Map shorter fields to their own keys, or use --data-file.`);
      if (!same(got.value, value)) throw mismatch(`Setting "${key}"`, `${got.value.length} bytes, expected ${value.length}`);
    }
    return;
  }
  const want = entryValue(fields, t.rawField);
  let got: Uint8Array;
  try {
    got = await fsGroup.downloadFile(c, t.file!, { maxBytes: want.length + 4096 });
  } catch (e) {
    if (e instanceof UnbrickError && e.code === 'smp.file-not-found') throw mismatch(`File ${t.file}`, 'the unit no longer has it');
    throw e;
  }
  if (!same(got, want)) throw mismatch(`File ${t.file}`, `${got.length} bytes, expected ${want.length}`);
}

/**
 * Writes the entry through the first channel that takes it, reads it back, and
 * makes it persistent (settings save and commit; the file closed). The
 * settings group may be there without a handler for the key (Zephyr answers
 * "no such setting" for both, so only a write tells): then the next channel
 * is tried. When every channel refuses the first write, nothing reached the
 * unit: `station.no-data-channel`.
 */
export async function writeUnitData(c: SmpClient, channels: DataChannel[], t: SmpDataTarget, fields: Record<string, string>, signal?: AbortSignal): Promise<DataChannel> {
  const refused: string[] = [];
  for (const channel of channels) {
    if (channel === 'settings') {
      const values = settingValues(fields, t.settings!, t.rawField);
      try {
        await settingsGroup.writeSetting(c, values[0]!.key, values[0]!.value);
      } catch (e) {
        // The device answered, refusing it (no handler: KEY_NOT_FOUND in Zephyr 3.4, ROOT_KEY_NOT_FOUND,
        // which v1 reads as EUNKNOWN, in newer trees). Silence or a broken link is not a refusal.
        if (!(e instanceof UnbrickError && e.kind === 'device' && e.code.startsWith('smp.') && e.code !== 'smp.timeout')) throw e;
        refused.push(e.code === 'smp.setting-not-found' ? `the settings group has no handler that takes "${values[0]!.key}"` : `the settings group refused "${values[0]!.key}": ${e.message}`);
        continue;
      }
      for (const { key, value } of values.slice(1)) await settingsGroup.writeSetting(c, key, value);
      await readBack(c, channel, t, fields, 'written');
      await settingsGroup.saveSettings(c);
      await settingsGroup.commitSettings(c);
      return channel;
    }
    await fsGroup.uploadFile(c, t.file!, entryValue(fields, t.rawField), signal ? { signal } : {});
    await fsGroup.closeFile(c);
    await readBack(c, channel, t, fields, 'written');
    return channel;
  }
  throw deviceError(NOTHING_WRITTEN, `This unit's application took none of its per-unit data (${refused.join('; ') || 'no channel offered'}). Use firmware with a settings handler for the key or a file system.`, { nothingWritten: true });
}

/** Reads the entry back after a restart: it must still be there. */
export function checkUnitData(c: SmpClient, channel: DataChannel, t: SmpDataTarget, fields: Record<string, string>): Promise<void> {
  return readBack(c, channel, t, fields, 'restart');
}
