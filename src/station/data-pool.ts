/**
 * The per-unit data pool contract shared by the local (journal) pool and the
 * shared PostgreSQL pool.
 *
 * Life of an entry: free -> reserved (for one unit) -> committed, or back to
 * free by `release`. A reservation is keyed by the unit's identity (chip UID):
 * asking again for the same unit returns the same entry, so a unit re-run after
 * a crash or an unplug gets its own entry back, and no other unit ever does.
 * Release only when the entry never reached the unit (nothing was written);
 * once written, leave it reserved (a failed unit keeps its entry for its re-run).
 */

import type { PoolEntry } from './data-source.ts';

export type EntryState = 'free' | 'reserved' | 'committed';

export interface Reservation {
  entry: PoolEntry;
  unit: string;
  /** `new`: just taken from the free list; `resumed`: this unit already held it (earlier run or crash); `committed`: this unit already used it. */
  status: 'new' | 'resumed' | 'committed';
}

export interface PoolStatus {
  total: number;
  free: number;
  reserved: number;
  committed: number;
}

export interface DataPool {
  /** Reserves the next free entry for `unit`, or returns the one it already holds. Throws `station.pool-empty` when none is left. */
  reserve(unit: string): Promise<Reservation>;
  /** Marks the unit's entry used for good. Idempotent. */
  commit(unit: string, entryId: string): Promise<void>;
  /** Returns a reserved (never committed) entry to the free list. */
  release(unit: string, entryId: string): Promise<void>;
  status(): Promise<PoolStatus>;
  /** Every entry that is not free, with its unit: for reports and audits. */
  assignments(): Promise<{ id: string; unit: string; state: Exclude<EntryState, 'free'> }[]>;
  close(): Promise<void>;
}
