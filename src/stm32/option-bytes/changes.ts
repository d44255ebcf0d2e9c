/**
 * Applies a technician's option-byte changes (as typed on a command line or
 * picked in the UI) to decoded option bytes: "--rdp 1", "--wrp 0-3,8",
 * "--user nRST_STOP=0". Pure; encode() still validates the result and guards
 * RDP level 2 with its own confirmation.
 */
import { usageError } from '../../core/errors.ts';
import type { ChipInfo } from '../chips/index.ts';
import { codecFor } from './index.ts';
import type { OptionBytes, RdpLevel } from './types.ts';

export interface OptionChanges {
  rdp?: string;
  wrp?: string;
  user?: string[];
}

/** "0-3,8" -> [0,1,2,3,8]; "none" -> []. */
export function parsePageList(text: string): number[] {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === '') return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw usageError('stm32.bad-page-list', `"${text}" is not a page list (use e.g. 0-3,8 or none).`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 100_000) throw usageError('stm32.bad-page-list', `"${part}" is not a valid range.`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

export function applyOptionChanges(chip: ChipInfo, ob: OptionBytes, changes: OptionChanges): OptionBytes {
  const codec = codecFor(chip);
  const next: OptionBytes = { ...ob, user: { ...ob.user }, words: { ...ob.words }, wrpPages: [...ob.wrpPages] };
  if (changes.rdp !== undefined) {
    // Only the plain level numbers are accepted: no raw byte values, so no typo can land on 0xCC.
    const levels: Record<string, RdpLevel> = { '0': 0, '1': 1, '2': 2, '0.5': 0.5 };
    const level = levels[changes.rdp.trim()];
    if (level === undefined) throw usageError('stm32.bad-rdp', `--rdp takes 0, 1 or 2 (got "${changes.rdp}").`);
    let raw: number;
    try {
      raw = codec.rdpRaw(level);
    } catch {
      throw usageError('stm32.bad-rdp', `${chip.family} has no readout protection level ${level}.`);
    }
    next.rdp = { raw, level };
  }
  if (changes.wrp !== undefined) next.wrpPages = parsePageList(changes.wrp);
  for (const kv of changes.user ?? []) {
    const m = /^([A-Za-z0-9_]+)=(0x[0-9a-f]+|\d+)$/i.exec(kv.trim());
    if (!m) throw usageError('stm32.bad-user-option', `"${kv}" is not NAME=VALUE.`);
    const field = codec.userFields(chip).find((f) => f.name.toLowerCase() === m[1]!.toLowerCase());
    if (!field) throw usageError('stm32.unknown-user-option', `${chip.family} has no option "${m[1]}". Known: ${codec.userFields(chip).map((f) => f.name).join(', ')}.`);
    next.user[field.name] = Number(m[2]);
  }
  return next;
}
