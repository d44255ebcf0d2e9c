/**
 * The per-unit data pool of a station running alone: the list of entries plus
 * a local journal of what happened to each (reserve, commit, release, with the
 * unit's identity). The journal is replayed at open, so after a crash every
 * entry is exactly where the last acknowledged record left it: an entry
 * reserved for a unit stays reserved for that unit, never handed to another.
 */
import { inputError, ioError } from '../core/errors.ts';
import type { DataPool, EntryState, PoolStatus, Reservation } from './data-pool.ts';
import type { PoolEntry } from './data-source.ts';
import { Journal } from './journal.ts';
import { obj, oneOf, opt, str } from '../core/schema.ts';

export interface PoolRecord {
  op: 'reserve' | 'commit' | 'release';
  entry: string;
  unit: string;
  /** Content hash of the entry when reserved: an edited list is caught at the next open. */
  hash?: string;
  station?: string;
  time: string;
}

const PoolRecordSchema = obj({
  op: oneOf(['reserve', 'commit', 'release'] as const),
  entry: str({ max: 1000 }),
  unit: str({ max: 1000 }),
  hash: opt(str({ max: 64 })),
  station: opt(str({ max: 200 })),
  time: str({ max: 40 }),
});

interface Slot {
  entry: PoolEntry;
  state: EntryState;
  unit?: string;
}

export const poolEmpty = (total: number) =>
  inputError('station.pool-empty', `The per-unit data list is used up: all ${total} entries are reserved or used. Load more entries to continue.`, { total });

export class LocalDataPool implements DataPool {
  private readonly slots: Slot[];
  private readonly byId = new Map<string, Slot>();
  private readonly byUnit = new Map<string, Slot>();
  /** Lowest index that may be free: entries are handed out in list order. */
  private cursor = 0;

  private constructor(
    private readonly journal: Journal<PoolRecord>,
    entries: PoolEntry[],
    private readonly station: string | undefined,
    private readonly now: () => Date,
  ) {
    this.slots = entries.map((entry) => ({ entry, state: 'free' }));
    for (const s of this.slots) this.byId.set(s.entry.id, s);
    journal.records.forEach((r, i) => this.replay(r, i + 1));
  }

  static open(opts: { entries: PoolEntry[]; journalPath: string; station?: string; now?: () => Date }): LocalDataPool {
    const journal = new Journal<PoolRecord>(opts.journalPath, PoolRecordSchema, 'the per-unit data journal');
    try {
      return new LocalDataPool(journal, opts.entries, opts.station, opts.now ?? (() => new Date()));
    } catch (e) {
      journal.close();
      throw e;
    }
  }

  private replay(r: PoolRecord, line: number): void {
    const slot = this.byId.get(r.entry);
    const where = `${this.journal.path} line ${line}`;
    if (!slot) throw inputError('station.pool-changed', `The journal names entry "${r.entry}" (${where}), which is no longer in the data list. Use the list the batch started with.`, { entry: r.entry });
    if (r.hash !== undefined && r.hash !== slot.entry.hash)
      throw inputError('station.pool-changed', `Entry "${r.entry}" was changed in the data list after it was handed out (${where}). Restore the original list.`, { entry: r.entry });
    this.apply(r.op, slot, r.unit);
  }

  private apply(op: PoolRecord['op'], slot: Slot, unit: string): void {
    if (op === 'reserve') {
      slot.state = 'reserved';
      slot.unit = unit;
      this.byUnit.set(unit, slot);
    } else if (op === 'commit') {
      slot.state = 'committed';
      slot.unit = unit;
      this.byUnit.set(unit, slot);
    } else {
      slot.state = 'free';
      slot.unit = undefined;
      this.byUnit.delete(unit);
      this.cursor = Math.min(this.cursor, slot.entry.index);
    }
  }

  private record(op: PoolRecord['op'], slot: Slot, unit: string): void {
    this.journal.append({ op, entry: slot.entry.id, unit, ...(op === 'reserve' ? { hash: slot.entry.hash } : {}), ...(this.station ? { station: this.station } : {}), time: this.now().toISOString() });
    this.apply(op, slot, unit);
  }

  reserveSync(unit: string): Reservation {
    if (!unit) throw inputError('station.unit-unknown', 'A unit needs an identity (chip UID or serial) before it can take per-unit data.');
    const held = this.byUnit.get(unit);
    if (held) return { entry: held.entry, unit, status: held.state === 'committed' ? 'committed' : 'resumed' };
    while (this.cursor < this.slots.length && this.slots[this.cursor]!.state !== 'free') this.cursor++;
    const slot = this.slots[this.cursor];
    if (!slot) throw poolEmpty(this.slots.length);
    this.record('reserve', slot, unit);
    return { entry: slot.entry, unit, status: 'new' };
  }

  private heldBy(unit: string, entryId: string): Slot {
    const slot = this.byId.get(entryId);
    if (!slot || slot.unit !== unit || slot.state === 'free')
      throw ioError('station.pool-not-reserved', `Entry "${entryId}" is not reserved for unit ${unit}; it cannot be committed or released by it.`, { unit, entry: entryId });
    return slot;
  }

  commitSync(unit: string, entryId: string): void {
    const slot = this.heldBy(unit, entryId);
    if (slot.state !== 'committed') this.record('commit', slot, unit);
  }

  releaseSync(unit: string, entryId: string): void {
    const slot = this.heldBy(unit, entryId);
    if (slot.state === 'committed') throw ioError('station.pool-committed', `Entry "${entryId}" was already used by unit ${unit}; a used entry is never returned.`, { unit, entry: entryId });
    this.record('release', slot, unit);
  }

  statusSync(): PoolStatus {
    const s: PoolStatus = { total: this.slots.length, free: 0, reserved: 0, committed: 0 };
    for (const slot of this.slots) s[slot.state]++;
    return s;
  }

  async reserve(unit: string): Promise<Reservation> {
    return this.reserveSync(unit);
  }
  async commit(unit: string, entryId: string): Promise<void> {
    this.commitSync(unit, entryId);
  }
  async release(unit: string, entryId: string): Promise<void> {
    this.releaseSync(unit, entryId);
  }
  async status(): Promise<PoolStatus> {
    return this.statusSync();
  }
  async assignments(): Promise<{ id: string; unit: string; state: 'reserved' | 'committed' }[]> {
    return this.slots.flatMap((s) => (s.state === 'free' ? [] : [{ id: s.entry.id, unit: s.unit!, state: s.state }]));
  }
  async close(): Promise<void> {
    this.journal.close();
  }
}
