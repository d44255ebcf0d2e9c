/**
 * Keeps the line database's copy of this station's unit records up to date.
 *
 * The local service log is the source of truth: appends never wait on the
 * network. Sync runs after each append and on a timer; when the database is
 * unreachable it reports `offline` and tries again later, resuming from the
 * database's cursor, so nothing is sent twice and nothing is skipped.
 */
import { asUnbrickError } from '../core/errors.ts';
import type { ServiceLog } from '../records/service-log.ts';
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

  private async once(): Promise<void> {
    const entries = this.log.verify().entries;
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
