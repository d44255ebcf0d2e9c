/**
 * Keeps the line database's copy of this station's unit records up to date.
 *
 * The local service log is the source of truth: appends never wait on the
 * network. Sync runs after each append and on a timer; when the database is
 * unreachable it reports `offline` and tries again later, resuming from the
 * database's cursor, so nothing is sent twice and nothing is skipped.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { asUnbrickError, inputError } from '../core/errors.ts';
import { parseLogEntry, type ServiceEntry, type ServiceLog } from '../records/service-log.ts';
import type { StationDb } from './shared-db.ts';

export interface SyncStatus {
  online: boolean;
  /** Highest local seq known to be in the database (-1: none). */
  cursor: number;
  /** Local entries not yet in the database. */
  pending: number;
  lastError?: { code: string; message: string };
  lastSyncAt?: string;
}

export class RecordSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SyncStatus> | undefined;
  private again = false;
  private unsubscribe: (() => void) | undefined;
  status: SyncStatus = { online: false, cursor: -1, pending: 0 };
  /** Entries read so far and where reading stopped (a line end): each sync reads only what was appended. */
  private entries: ServiceEntry[] = [];
  private offset = 0;

  constructor(
    private readonly db: StationDb,
    private readonly log: ServiceLog,
  ) {}

  /** Syncs once; concurrent calls share one run (and queue one more if entries arrived meanwhile). */
  syncNow(): Promise<SyncStatus> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.once();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
      return this.status;
    })();
    return this.running;
  }

  /** Reads the whole lines appended since the last read (the log is append-only; a torn tail is left for later). */
  private readNew(): ServiceEntry[] {
    let fd: number;
    try {
      fd = openSync(this.log.path, 'r');
    } catch {
      return this.entries; // no log yet
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // Shorter than what was read: not the same log any more. Start over (the database's chain check decides).
        this.entries = [];
        this.offset = 0;
      }
      if (size === this.offset) return this.entries;
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      const end = buf.lastIndexOf(0x0a) + 1;
      for (const line of buf.subarray(0, end).toString('utf8').split('\n').slice(0, -1)) {
        try {
          this.entries.push(parseLogEntry(line, 'a service-log line'));
        } catch (e) {
          throw inputError('station.log-unreadable', `${(e as Error).message} Run \`unbrick records verify\`.`);
        }
      }
      this.offset += end;
      return this.entries;
    } finally {
      closeSync(fd);
    }
  }

  private async once(): Promise<void> {
    let entries: ServiceEntry[];
    try {
      entries = this.readNew();
    } catch (e) {
      const err = asUnbrickError(e);
      this.status = { ...this.status, online: false, lastError: { code: err.code, message: err.message } };
      return;
    }
    try {
      const r = await this.db.syncRecords(entries);
      this.status = { online: true, cursor: r.cursor, pending: entries.filter((e) => e.seq > r.cursor).length, lastSyncAt: new Date().toISOString() };
    } catch (e) {
      const err = asUnbrickError(e);
      this.status = { ...this.status, online: false, pending: entries.filter((x) => x.seq > this.status.cursor).length, lastError: { code: err.code, message: err.message } };
    }
  }

  /** Syncs after every append and every `intervalMs` (retries while offline). */
  start(intervalMs = 5000): void {
    this.unsubscribe ??= this.log.onAppend(() => void this.syncNow());
    this.timer ??= setInterval(() => void this.syncNow(), intervalMs);
    this.timer.unref();
    void this.syncNow();
  }

  async stop(): Promise<SyncStatus> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    return this.running ?? this.status;
  }
}
