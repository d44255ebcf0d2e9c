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
import { compareVersions, productKey, targetKey, type BundleMetadata } from '../formats/bundle/metadata.ts';
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

export function loadRollbackState(dir = dataDir()): RollbackState {
  const path = rollbackPath(dir);
  if (!existsSync(path)) return { format: 1, products: {} };
  let s: RollbackState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as RollbackState;
  } catch (e) {
    throw inputError('trust.state-corrupt', `The anti-rollback state ${path} cannot be read (${(e as Error).message}). Refusing to guess: restore it from a backup.`);
  }
  if (s?.format !== 1 || typeof s.products !== 'object' || s.products === null)
    throw inputError('trust.state-corrupt', `The anti-rollback state ${path} has an unknown layout. Refusing to guess: restore it from a backup.`);
  return s;
}

export function saveRollbackState(s: RollbackState, dir = dataDir()): void {
  writeFileAtomic(rollbackPath(dir), JSON.stringify(s, null, 2) + '\n');
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
