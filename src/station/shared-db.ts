/**
 * The line's shared PostgreSQL database: several stations consume one
 * per-unit data pool and copy their unit records into one place.
 *
 * - Schema: created or upgraded on connect, under an advisory lock, so the
 *   first station to start migrates and the others wait.
 * - Data pool: one row per entry. Reserving takes the lowest free row with
 *   `FOR UPDATE SKIP LOCKED` inside a transaction, so stations never wait on
 *   each other and never get the same row; a unique index on (pool, unit) for
 *   non-free rows keeps one entry per unit. A station killed before COMMIT
 *   leaves the row free; one killed after COMMIT leaves it reserved for that
 *   unit, which gets it back when re-run on any station.
 * - Records: each station's local service log stays the source of truth.
 *   Sync copies entries after the station's cursor (its highest synced seq),
 *   with `ON CONFLICT DO NOTHING`, so replays are no-ops. Because the log is a
 *   hash chain, checking the hash at the cursor proves every earlier entry
 *   matches too; a mismatch means two logs claim one station name.
 */
import pg from 'pg';
import { asUnbrickError, inputError, ioError, UnbrickError } from '../core/errors.ts';
import type { ServiceEntry } from '../records/service-log.ts';
import type { DataPool, PoolStatus, Reservation } from './data-pool.ts';
import type { PoolEntry } from './data-source.ts';
import { poolEmpty } from './local-pool.ts';

/** Thrown inside a reserve transaction when every free row was locked by another station: try again. */
class RetryReserve extends Error {}
/** Arbitrary constant naming the migration lock (pg_advisory_xact_lock takes a bigint). */
const MIGRATION_LOCK = 0x756e6272_69636b01n;

const MIGRATIONS: string[] = [
  // 1: data pool, its audit trail, unit records
  `CREATE TABLE station_pool_entries (
     pool text NOT NULL,
     id text NOT NULL,
     idx integer NOT NULL,
     fields jsonb NOT NULL,
     hash text NOT NULL,
     state text NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'reserved', 'committed')),
     unit text,
     station text,
     reserved_at timestamptz,
     committed_at timestamptz,
     PRIMARY KEY (pool, id),
     CHECK ((state = 'free') = (unit IS NULL))
   );
   CREATE UNIQUE INDEX station_pool_one_per_unit ON station_pool_entries (pool, unit) WHERE state <> 'free';
   CREATE INDEX station_pool_free ON station_pool_entries (pool, idx) WHERE state = 'free';
   CREATE TABLE station_pool_events (
     n bigserial PRIMARY KEY,
     pool text NOT NULL,
     entry text NOT NULL,
     unit text NOT NULL,
     station text NOT NULL,
     op text NOT NULL,
     at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE station_unit_records (
     station text NOT NULL,
     seq bigint NOT NULL,
     hash text NOT NULL,
     prev text NOT NULL,
     time timestamptz NOT NULL,
     unit_id text NOT NULL,
     action text NOT NULL,
     outcome text NOT NULL,
     entry jsonb NOT NULL,
     synced_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (station, seq)
   );
   CREATE INDEX station_unit_records_unit ON station_unit_records (unit_id);`,
];

/** The station schema version this code migrates to. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Turns driver and network failures into typed errors a technician can act on. */
function dbError(e: unknown, what: string): UnbrickError {
  if (e instanceof UnbrickError) return e;
  const err = e as Error & { code?: string };
  const network = !err.code || /^(ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|57P|08)/.test(err.code) || /terminat|timeout|Connection/i.test(err.message);
  if (network)
    return ioError('station.db-unreachable', `The line database cannot be reached (${what}): ${err.message}. Check the network; units keep being recorded locally.`, { cause: err.code }, e);
  return asUnbrickError(e);
}

export interface StationDbOptions {
  /** This station's name: unique on the line (records are keyed by it). */
  station: string;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
}

export class StationDb {
  private migrated = false;

  private constructor(
    private readonly pool: pg.Pool,
    readonly station: string,
  ) {}

  /** Connects and migrates now; throws when the database cannot be reached. */
  static async connect(url: string, opts: StationDbOptions): Promise<StationDb> {
    const db = StationDb.lazy(url, opts);
    try {
      await db.ensureSchema();
    } catch (e) {
      await db.close();
      throw e;
    }
    return db;
  }

  /**
   * A handle that connects (and migrates) on first use: a station whose records
   * only need syncing can start while the network is down and catch up later.
   */
  static lazy(url: string, opts: StationDbOptions): StationDb {
    if (!opts.station) throw inputError('station.name-missing', 'A station sharing a database needs a name (--station).');
    const pool = new pg.Pool({
      connectionString: url,
      max: 8,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      query_timeout: opts.queryTimeoutMs ?? 15000,
      idleTimeoutMillis: 10_000,
    });
    // An idle connection dropped by the server or the network must not crash the station.
    pool.on('error', () => {});
    return new StationDb(pool, opts.station);
  }

  async ensureSchema(): Promise<void> {
    if (this.migrated) return;
    try {
      await this.migrate();
    } catch (e) {
      throw dbError(e, 'migrating the schema');
    }
    this.migrated = true;
  }

  /** Runs `fn` in one transaction; rolls back on any error. */
  async tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw dbError(e, what);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if (e instanceof RetryReserve) throw e;
      throw dbError(e, what);
    } finally {
      client.release(broken);
    }
  }

  private async migrate(): Promise<void> {
    await this.tx('migrating the schema', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await c.query('CREATE TABLE IF NOT EXISTS unbrick_schema (component text PRIMARY KEY, version integer NOT NULL)');
      const r = await c.query<{ version: number }>("SELECT version FROM unbrick_schema WHERE component = 'station'");
      const have = r.rows[0]?.version ?? 0;
      if (have > MIGRATIONS.length)
        throw inputError('station.db-too-new', `The line database has station schema ${have}; this Unbrick knows up to ${MIGRATIONS.length}. Update Unbrick on this station.`, { have });
      for (let v = have; v < MIGRATIONS.length; v++) await c.query(MIGRATIONS[v]!);
      await c.query("INSERT INTO unbrick_schema VALUES ('station', $1) ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version", [MIGRATIONS.length]);
    });
  }

  async schemaVersion(): Promise<number> {
    const r = await this.pool.query<{ version: number }>("SELECT version FROM unbrick_schema WHERE component = 'station'");
    return r.rows[0]?.version ?? 0;
  }

  /**
   * Loads a data list into the shared pool `name` (entries already there are
   * kept as they are) and returns the pool. Every station may load the same list;
   * an entry whose content differs from the database's copy is refused.
   */
  async dataPool(name: string, entries: PoolEntry[]): Promise<SharedDataPool> {
    await this.ensureSchema();
    const chunk = 5000;
    for (let i = 0; i < entries.length; i += chunk) {
      const part = entries.slice(i, i + chunk);
      const bad = await this.tx('loading the data list', async (c) => {
        await c.query(
          `INSERT INTO station_pool_entries (pool, id, idx, fields, hash)
           SELECT $1, * FROM unnest($2::text[], $3::int[], $4::jsonb[], $5::text[])
           ON CONFLICT (pool, id) DO NOTHING`,
          [name, part.map((e) => e.id), part.map((e) => e.index), part.map((e) => JSON.stringify(e.fields)), part.map((e) => e.hash)],
        );
        const r = await c.query<{ id: string }>(
          `SELECT p.id FROM station_pool_entries p JOIN unnest($2::text[], $3::text[]) AS l(id, hash) ON p.id = l.id
           WHERE p.pool = $1 AND p.hash <> l.hash LIMIT 5`,
          [name, part.map((e) => e.id), part.map((e) => e.hash)],
        );
        return r.rows.map((x) => x.id);
      });
      if (bad.length)
        throw inputError('station.pool-changed', `The data list differs from the one the line database holds for pool "${name}" (entries ${bad.join(', ')}). Use the same list on every station.`, {
          pool: name,
          entries: bad,
        });
    }
    return new SharedDataPool(this, name);
  }

  /** Highest seq of this station's records in the database, and its hash. */
  async syncCursor(): Promise<{ seq: number; hash: string } | undefined> {
    await this.ensureSchema();
    let r;
    try {
      r = await this.pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM station_unit_records WHERE station = $1 ORDER BY seq DESC LIMIT 1', [this.station]);
    } catch (e) {
      throw dbError(e, 'reading the sync cursor');
    }
    const row = r.rows[0];
    return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
  }

  /**
   * Copies the local log's entries after the cursor into the database, in
   * batches. Returns how many rows were new. Safe to run again at any time.
   */
  async syncRecords(entries: readonly ServiceEntry[], batch = 500): Promise<{ sent: number; cursor: number }> {
    const cursor = await this.syncCursor();
    if (cursor) {
      const local = entries.find((e) => e.seq === cursor.seq);
      if (!local || local.hash !== cursor.hash)
        throw inputError(
          'station.sync-diverged',
          `The line database holds record ${cursor.seq} for station "${this.station}" with another content than this station's log. Two stations may share one name, or the local log was replaced; give each station its own name.`,
          { station: this.station, seq: cursor.seq },
        );
    }
    const pending = entries.filter((e) => e.seq > (cursor?.seq ?? -1));
    let sent = 0;
    for (let i = 0; i < pending.length; i += batch) {
      const part = pending.slice(i, i + batch);
      sent += await this.tx('syncing unit records', async (c) => {
        const r = await c.query(
          `INSERT INTO station_unit_records (station, seq, hash, prev, time, unit_id, action, outcome, entry)
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::jsonb[])
           ON CONFLICT (station, seq) DO NOTHING`,
          [
            this.station,
            part.map((e) => e.seq),
            part.map((e) => e.hash),
            part.map((e) => e.prev),
            part.map((e) => e.time),
            part.map((e) => e.unit.id),
            part.map((e) => e.action),
            part.map((e) => e.outcome),
            part.map((e) => JSON.stringify(e)),
          ],
        );
        return r.rowCount ?? 0;
      });
    }
    return { sent, cursor: pending.at(-1)?.seq ?? cursor?.seq ?? -1 };
  }

  /** Every synced record (all stations, or one), oldest first per station. */
  async records(station?: string): Promise<ServiceEntry[]> {
    const r = await this.pool.query<{ entry: ServiceEntry }>(
      `SELECT entry FROM station_unit_records ${station ? 'WHERE station = $1' : ''} ORDER BY station, seq`,
      station ? [station] : [],
    );
    return r.rows.map((x) => x.entry);
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw dbError(e, 'querying');
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

interface EntryRow {
  id: string;
  idx: number;
  fields: Record<string, string>;
  hash: string;
  state: 'free' | 'reserved' | 'committed';
}

const toEntry = (r: EntryRow): PoolEntry => ({ id: r.id, index: r.idx, fields: r.fields, hash: r.hash });

export class SharedDataPool implements DataPool {
  constructor(
    private readonly db: StationDb,
    readonly name: string,
  ) {}

  async reserve(unit: string): Promise<Reservation> {
    if (!unit) throw inputError('station.unit-unknown', 'A unit needs an identity (chip UID or serial) before it can take per-unit data.');
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.tx('reserving per-unit data', async (c) => {
          const held = await c.query<EntryRow>(`SELECT id, idx, fields, hash, state FROM station_pool_entries WHERE pool = $1 AND unit = $2 AND state <> 'free'`, [this.name, unit]);
          const h = held.rows[0];
          if (h) return { entry: toEntry(h), unit, status: h.state === 'committed' ? 'committed' : 'resumed' } as Reservation;
          const r = await c.query<EntryRow>(
            `UPDATE station_pool_entries SET state = 'reserved', unit = $2, station = $3, reserved_at = now()
             WHERE (pool, id) = (SELECT pool, id FROM station_pool_entries WHERE pool = $1 AND state = 'free' ORDER BY idx LIMIT 1 FOR UPDATE SKIP LOCKED)
               AND state = 'free'
             RETURNING id, idx, fields, hash, state`,
            [this.name, unit, this.db.station],
          );
          const row = r.rows[0];
          if (!row) {
            const total = await c.query<{ n: string }>('SELECT count(*) AS n FROM station_pool_entries WHERE pool = $1', [this.name]);
            const free = await c.query<{ n: string }>(`SELECT count(*) AS n FROM station_pool_entries WHERE pool = $1 AND state = 'free'`, [this.name]);
            // Free rows all locked by other stations' open transactions: worth another try.
            if (Number(free.rows[0]?.n ?? 0) > 0) throw new RetryReserve();
            throw poolEmpty(Number(total.rows[0]?.n ?? 0));
          }
          await this.event(c, row.id, unit, 'reserve');
          return { entry: toEntry(row), unit, status: 'new' } as Reservation;
        });
      } catch (e) {
        const cause = (e as UnbrickError).cause as { code?: string } | undefined;
        // 23505: the same unit reserved concurrently on another connection; re-read what it holds.
        const retry = e instanceof RetryReserve || cause?.code === '23505';
        if (!retry || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
  }

  private async event(c: pg.PoolClient, entry: string, unit: string, op: string): Promise<void> {
    await c.query('INSERT INTO station_pool_events (pool, entry, unit, station, op) VALUES ($1, $2, $3, $4, $5)', [this.name, entry, unit, this.db.station, op]);
  }

  async commit(unit: string, entryId: string): Promise<void> {
    await this.db.tx('committing per-unit data', async (c) => {
      const cur = await c.query<{ state: string; unit: string | null }>('SELECT state, unit FROM station_pool_entries WHERE pool = $1 AND id = $2 FOR UPDATE', [this.name, entryId]);
      const row = cur.rows[0];
      if (!row || row.unit !== unit) throw notReserved(unit, entryId);
      if (row.state === 'committed') return;
      await c.query(`UPDATE station_pool_entries SET state = 'committed', committed_at = now() WHERE pool = $1 AND id = $2`, [this.name, entryId]);
      await this.event(c, entryId, unit, 'commit');
    });
  }

  async release(unit: string, entryId: string): Promise<void> {
    await this.db.tx('releasing per-unit data', async (c) => {
      const cur = await c.query<{ state: string; unit: string | null }>('SELECT state, unit FROM station_pool_entries WHERE pool = $1 AND id = $2 FOR UPDATE', [this.name, entryId]);
      const row = cur.rows[0];
      if (!row || row.unit !== unit) throw notReserved(unit, entryId);
      if (row.state === 'committed') throw ioError('station.pool-committed', `Entry "${entryId}" was already used by unit ${unit}; a used entry is never returned.`, { unit, entry: entryId });
      await c.query(`UPDATE station_pool_entries SET state = 'free', unit = NULL, station = NULL, reserved_at = NULL WHERE pool = $1 AND id = $2`, [this.name, entryId]);
      await this.event(c, entryId, unit, 'release');
    });
  }

  async status(): Promise<PoolStatus> {
    const rows = await this.db.query<{ state: 'free' | 'reserved' | 'committed'; n: string }>('SELECT state, count(*) AS n FROM station_pool_entries WHERE pool = $1 GROUP BY state', [this.name]);
    const s: PoolStatus = { total: 0, free: 0, reserved: 0, committed: 0 };
    for (const r of rows) {
      s[r.state] = Number(r.n);
      s.total += Number(r.n);
    }
    return s;
  }

  async assignments(): Promise<{ id: string; unit: string; state: 'reserved' | 'committed' }[]> {
    return this.db.query(`SELECT id, unit, state FROM station_pool_entries WHERE pool = $1 AND state <> 'free' ORDER BY idx`, [this.name]);
  }

  /** The database connection belongs to the StationDb; closing the pool view does nothing. */
  async close(): Promise<void> {}
}

const notReserved = (unit: string, entryId: string) =>
  ioError('station.pool-not-reserved', `Entry "${entryId}" is not reserved for unit ${unit}; it cannot be committed or released by it.`, { unit, entry: entryId });
