/**
 * The settings subsystem of the simulated Zephyr application and its SMP
 * group (3), after subsys/mgmt/mcumgr/grp/settings_mgmt/src/settings_mgmt.c
 * and subsys/settings:
 *
 * - The firmware registers handlers for some roots ("app" handles "app/…").
 *   A write goes to the handler's RAM value (settings_runtime_set); a read
 *   asks the handler (settings_runtime_get), at most `max_size` bytes,
 *   clamped to CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN (32), and the answer then
 *   carries that `max_size`.
 * - save (settings_save) exports the handlers' values to storage (NVS in the
 *   `storage` partition); load and every boot (settings_load) give the stored
 *   values back to the handlers: what was written but not saved is lost at a
 *   reset. delete (settings_delete) removes the stored value.
 * - Names of CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN (32) bytes or more: KEY_TOO_LONG.
 * - A name under no registered root: KEY_NOT_FOUND. That is what Zephyr 3.4
 *   answered in ../shared/vectors/smp-zephyr case 16 (the sample registers no
 *   handler); newer trees say ROOT_KEY_NOT_FOUND. The vector wins.
 * - Group errors in v1: KEY_TOO_LONG -> EINVAL, KEY_NOT_FOUND and
 *   READ_NOT_SUPPORTED -> ENOENT, the rest EUNKNOWN (settings_mgmt_translate_error_code).
 */
import type { NorFlash } from '../flash.ts';
import { eraseRange, type SlotArea } from '../smp/boot.ts';
import { bulk, zmap } from '../smp/request.ts';
import type { CborItem } from '../../smp/cbor.ts';
import { requestFields, type SmpCommandName } from '../../smp/messages.ts';

/** The settings commands (group 3) of src/smp/messages.ts. */
export type SettingsCommand = Extract<SmpCommandName, `setting${string}`>;
import { MGMT, type GroupAnswer } from './group-answer.ts';
import { readStoredMap, storedMapRecord } from './stored-map.ts';

export interface SettingsOptions {
  /** Roots the application registers a handler for (e.g. ["app"]). None: every name is unknown, as in the recorded sample. */
  roots?: string[];
  /** CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN. */
  nameLen?: number;
  /** CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN: the most a read returns. */
  valueLen?: number;
  /** A name under no registered root: KEY_NOT_FOUND as Zephyr 3.4 answered (default), or ROOT_KEY_NOT_FOUND as newer trees do. */
  unknownRoot?: 'key-not-found' | 'root-key-not-found';
}

export const SETTINGS_ERR = { UNKNOWN: 1, KEY_TOO_LONG: 2, KEY_NOT_FOUND: 3, READ_NOT_SUPPORTED: 4, ROOT_KEY_NOT_FOUND: 5, WRITE_NOT_SUPPORTED: 6, DELETE_NOT_SUPPORTED: 7 } as const;

export function settingsToV1(code: number): number {
  if (code === SETTINGS_ERR.KEY_TOO_LONG) return MGMT.EINVAL;
  if (code === SETTINGS_ERR.KEY_NOT_FOUND || code === SETTINGS_ERR.READ_NOT_SUPPORTED) return MGMT.ENOENT;
  return MGMT.EUNKNOWN;
}

const MAGIC = 0x54455355; // "USET": our own record format inside the storage partition

export class SimSettings {
  /** The handlers' values in RAM. */
  readonly runtime = new Map<string, Uint8Array>();
  readonly roots: string[];
  readonly nameLen: number;
  readonly valueLen: number;
  private readonly unknownRoot: number;

  constructor(
    private readonly flash: NorFlash,
    private readonly area: SlotArea,
    o: SettingsOptions = {},
  ) {
    this.roots = o.roots ?? [];
    this.nameLen = o.nameLen ?? 32;
    this.valueLen = o.valueLen ?? 32;
    this.unknownRoot = o.unknownRoot === 'root-key-not-found' ? SETTINGS_ERR.ROOT_KEY_NOT_FOUND : SETTINGS_ERR.KEY_NOT_FOUND;
  }

  private handled(name: string): boolean {
    return this.roots.some((r) => name === r || name.startsWith(`${r}/`));
  }

  /** What storage holds (an erased or foreign partition holds nothing). */
  stored(): Map<string, Uint8Array> {
    return readStoredMap(this.flash, this.area, MAGIC);
  }

  private store(values: Map<string, Uint8Array>): number {
    const rec = storedMapRecord(values, MAGIC);
    // Storage full: settings_save() fails, and settings_mgmt ignores its result (answers {} all the same).
    if (rec.length > this.area.size) return 0;
    return eraseRange(this.flash, this.area.offset, rec.length) + this.flash.program(this.area.offset, rec);
  }

  /** settings_load(): the handlers get the stored values of their roots. */
  load(): void {
    this.runtime.clear();
    for (const [k, v] of this.stored()) if (this.handled(k)) this.runtime.set(k, v);
  }

  /** settings_save(): exports what changed; returns the flash time. */
  save(): number {
    const stored = this.stored();
    let changed = false;
    for (const [k, v] of this.runtime) {
      if (stored.has(k) && Buffer.compare(Buffer.from(stored.get(k)!), Buffer.from(v)) === 0) continue;
      stored.set(k, v);
      changed = true;
    }
    return changed ? this.store(stored) : 0;
  }

  handle(command: SettingsCommand, body: CborItem | undefined): GroupAnswer {
    switch (command) {
      case 'settingRead':
        return this.read(body);
      case 'settingWrite':
        return this.write(body);
      case 'settingDelete':
        return this.remove(body);
      case 'settingsCommit':
        return { body: zmap([]) };
      case 'settingsLoad':
        this.load();
        return { body: zmap([]) };
      case 'settingsSave':
        return { body: zmap([]), delayMs: this.save() };
    }
  }

  private checkName(name: string | undefined): GroupAnswer | string {
    if (!name) return { rc: MGMT.EINVAL };
    if (Buffer.byteLength(name) >= this.nameLen) return { err: SETTINGS_ERR.KEY_TOO_LONG };
    if (!this.handled(name)) return { err: this.unknownRoot };
    return name;
  }

  private read(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('settingRead'));
    if (!f) return { rc: MGMT.EINVAL };
    const name = this.checkName(f.name);
    if (typeof name !== 'string') return name;
    let max = f.max_size ?? this.valueLen;
    const limited = max > this.valueLen;
    if (limited) max = this.valueLen;
    const v = this.runtime.get(name);
    if (!v) return { err: SETTINGS_ERR.KEY_NOT_FOUND };
    return { body: zmap([['val', v.subarray(0, Math.min(v.length, max))], ...(limited ? [['max_size', this.valueLen] as [string, number]] : [])]) };
  }

  private write(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('settingWrite'));
    if (!f) return { rc: MGMT.EINVAL };
    const name = this.checkName(f.name);
    if (typeof name !== 'string') return name;
    this.runtime.set(name, Uint8Array.from(f.val ?? new Uint8Array(0)));
    return { body: zmap([]) };
  }

  private remove(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('settingDelete'));
    if (!f) return { rc: MGMT.EINVAL };
    const name = this.checkName(f.name);
    if (typeof name !== 'string') return name;
    const stored = this.stored();
    if (!stored.delete(name)) return { body: zmap([]) };
    return { body: zmap([]), delayMs: this.store(stored) };
  }
}
