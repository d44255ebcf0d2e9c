/**
 * Persisted anti-rollback state: per product, the highest bundle sequence
 * accepted and, per target (SMP image or STM32 address), the highest version
 * and MCUboot security counter accepted; plus the latest trustworthy time seen,
 * which keeps expiry honest when the laptop clock is set back.
 *
 * Written with writeFileAtomic (temp file, fsync, rename, fsync dir): a crash
 * leaves the old state or the new, never a torn file; stray temp files from a
 * crash are ignored. A state file that cannot be read is refused, never
 * silently reset, because an empty state would re-admit every old release.
 *
 * File: <dataDir>/trust/rollback.json
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputError } from '../core/errors.ts';
import { dataDir } from '../core/paths.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { compareVersions, productKey, targetKey, VERSION, type BundleMetadata } from '../formats/bundle/metadata.ts';
import { literal, num, obj, opt, parseJsonAs, record, str, utcTime } from '../core/schema.ts';
import { isoSeconds } from '../formats/bundle/schema.ts';
import type { RollbackFloor } from '../formats/bundle/verify.ts';

export interface ProductState {
  name: string;
  highestSequence: number;
  targets: Record<string, { version?: string; securityCounter?: number }>;
  acceptedAt: string;
}

export interface RollbackState {
  format: 1;
  /** Latest time known to have passed (ISO); the clock decision uses it. */
  lastSeenTime?: string;
  products: Record<string, ProductState>;
}

export const rollbackPath = (dir = dataDir()): string => join(dir, 'trust', 'rollback.json');

/** The state before the last write: what a damaged or missing state can be restored from (the floor never drops below it). */
export const rollbackBackupPath = (dir = dataDir()): string => `${rollbackPath(dir)}.prev`;

const count = num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER });
const StateSchema = obj({
  format: literal(1),
  lastSeenTime: opt(utcTime()),
  products: record(
    obj({
      name: str({ max: 100 }),
      highestSequence: count,
      targets: record(obj({ version: opt(str({ max: 32, pattern: VERSION })), securityCounter: opt(count) }), { max: 64 }),
      acceptedAt: utcTime(),
    }),
    { max: 100_000 },
  ),
});

const recovery = (dir: string) =>
  existsSync(rollbackBackupPath(dir))
    ? `Refusing to guess (an empty state would re-admit every old release). Restore it: copy ${rollbackBackupPath(dir)} (the state before the last accepted bundle) to ${rollbackPath(dir)}, or restore it from a backup.`
    : 'Refusing to guess (an empty state would re-admit every old release). Restore it from a backup of the data directory.';

export function loadRollbackState(dir = dataDir()): RollbackState {
  const path = rollbackPath(dir);
  if (!existsSync(path)) {
    // Once a floor was recorded, its file going away is damage, not a fresh laptop.
    if (existsSync(rollbackBackupPath(dir)))
      throw inputError('trust.state-missing', `The anti-rollback state ${path} is missing, but ${rollbackBackupPath(dir)} shows one was recorded. ${recovery(dir)}`, { path });
    return { format: 1, products: {} };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw inputError('trust.state-corrupt', `The anti-rollback state ${path} cannot be read (${(e as Error).message}). ${recovery(dir)}`, { path });
  }
  return parseJsonAs(StateSchema, text, { what: `The anti-rollback state ${path} is damaged (${recovery(dir)})`, code: 'trust.state-corrupt', maxChars: 64 << 20 });
}

/** Where `next` would be lower than `prev` (a product or target forgotten, a sequence, version or counter lowered). */
export function floorDrops(prev: RollbackState, next: RollbackState): string[] {
  const drops: string[] = [];
  for (const [key, p] of Object.entries(prev.products)) {
    const n = next.products[key];
    if (!n) {
      drops.push(`${key} forgotten`);
      continue;
    }
    if (n.highestSequence < p.highestSequence) drops.push(`${key} sequence ${p.highestSequence} -> ${n.highestSequence}`);
    for (const [t, v] of Object.entries(p.targets)) {
      const w = n.targets[t];
      if (v.version && (!w?.version || compareVersions(w.version, v.version) < 0)) drops.push(`${key} ${t} version ${v.version} -> ${w?.version ?? 'none'}`);
      if (v.securityCounter !== undefined && (w?.securityCounter === undefined || w.securityCounter < v.securityCounter))
        drops.push(`${key} ${t} security counter ${v.securityCounter} -> ${w?.securityCounter ?? 'none'}`);
    }
  }
  return drops;
}

/**
 * Writes the state; the floor only ever rises. The state it replaces is kept
 * as rollback.json.prev, so damage to the file can be recovered from without
 * re-admitting anything accepted before the last write.
 */
export function saveRollbackState(s: RollbackState, dir = dataDir()): void {
  const path = rollbackPath(dir);
  if (existsSync(path)) {
    const prev = loadRollbackState(dir);
    const drops = floorDrops(prev, s);
    if (drops.length) throw inputError('trust.floor-would-drop', `Refusing to lower the anti-rollback floor (${drops.join('; ')}).`, { drops });
    writeFileAtomic(rollbackBackupPath(dir), readFileSync(path));
  }
  writeFileAtomic(path, JSON.stringify(s, null, 2) + '\n');
}

export function floorFor(s: RollbackState, md: Pick<BundleMetadata, 'product'>): RollbackFloor | undefined {
  const p = s.products[productKey(md.product)];
  return p ? { highestSequence: p.highestSequence, targets: p.targets } : undefined;
}

/** Returns the state raised by an accepted bundle (golden bundles do not move the floor). */
export function raiseFloor(s: RollbackState, md: BundleMetadata, now: number): RollbackState {
  const next: RollbackState = structuredClone(s);
  const seen = Math.max(now, Date.parse(md.created), next.lastSeenTime ? Date.parse(next.lastSeenTime) : 0);
  next.lastSeenTime = isoSeconds(seen);
  if (md.kind === 'golden') return next;
  const key = productKey(md.product);
  const p = (next.products[key] ??= { name: md.product.name, highestSequence: md.sequence, targets: {}, acceptedAt: isoSeconds(now) });
  p.highestSequence = Math.max(p.highestSequence, md.sequence);
  p.acceptedAt = isoSeconds(now);
  for (const pl of md.payloads) {
    const t = (p.targets[targetKey(pl.target)] ??= {});
    if (pl.version && (!t.version || compareVersions(pl.version, t.version) > 0)) t.version = pl.version;
    if (pl.securityCounter !== undefined && (t.securityCounter === undefined || pl.securityCounter > t.securityCounter)) t.securityCounter = pl.securityCounter;
  }
  return next;
}
