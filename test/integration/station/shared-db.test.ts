// The line database on a real PostgreSQL server (Debian's postgresql, started per test file).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, postgresAvailable, type PgServer } from './pg-server.ts';
import { startProxy } from './tcp-proxy.ts';
import { StationDb, SCHEMA_VERSION } from '../../../src/station/shared-db.ts';
import { RecordSync } from '../../../src/station/record-sync.ts';
import { parseCsvEntries, type PoolEntry } from '../../../src/station/data-source.ts';
import { ServiceLog, type EntryInput } from '../../../src/records/service-log.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const skip = postgresAvailable() ? false : 'PostgreSQL is not installed (apt-get install postgresql)';
let server: PgServer;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

const CHILD = join(import.meta.dirname, 'station-child.ts');
const serials = (n: number) => 'serial,key\n' + Array.from({ length: n }, (_, i) => `SN-${String(i).padStart(5, '0')},${(i * 7919).toString(16)}\n`).join('');
const entries = (n: number): PoolEntry[] => parseCsvEntries(serials(n));

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-station-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UnbrickError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('schema is created on connect, once, even when stations connect at the same time', { skip }, async () => {
  const dbs = await Promise.all([1, 2, 3].map((i) => StationDb.connect(server.url, { station: `mig-${i}` })));
  for (const db of dbs) assert.equal(await db.schemaVersion(), SCHEMA_VERSION);
  const again = await StationDb.connect(server.url, { station: 'mig-4' });
  assert.equal(await again.schemaVersion(), SCHEMA_VERSION);
  for (const db of [...dbs, again]) await db.close();
  await rejectsWith(StationDb.connect(`postgres://unbrick@127.0.0.1:1/postgres`, { station: 'x', connectTimeoutMs: 1000 }), 'station.db-unreachable');
});

test('shared pool: list order, one entry per unit, resume, commit, release, empty, edited list refused', { skip }, async () => {
  const db = await StationDb.connect(server.url, { station: 'sp-1' });
  const pool = await db.dataPool('basic', entries(3));
  await db.dataPool('basic', entries(3)); // loading again is a no-op
  const a = await pool.reserve('UID-A');
  assert.deepEqual([a.entry.id, a.status, a.entry.fields.key], ['SN-00000', 'new', '0']);
  assert.equal((await pool.reserve('UID-A')).status, 'resumed');
  assert.equal((await pool.reserve('UID-B')).entry.id, 'SN-00001');
  await pool.commit('UID-A', 'SN-00000');
  await pool.commit('UID-A', 'SN-00000');
  assert.equal((await pool.reserve('UID-A')).status, 'committed');
  await rejectsWith(pool.release('UID-A', 'SN-00000'), 'station.pool-committed');
  await rejectsWith(pool.commit('UID-X', 'SN-00001'), 'station.pool-not-reserved');
  await pool.release('UID-B', 'SN-00001');
  assert.equal((await pool.reserve('UID-C')).entry.id, 'SN-00001');
  assert.equal((await pool.reserve('UID-D')).entry.id, 'SN-00002');
  await rejectsWith(pool.reserve('UID-E'), 'station.pool-empty');
  assert.deepEqual(await pool.status(), { total: 3, free: 0, reserved: 2, committed: 1 });
  const edited = entries(3);
  edited[1] = { ...edited[1]!, hash: 'ff'.repeat(32) };
  await rejectsWith(db.dataPool('basic', edited), 'station.pool-changed');
  const events = await db.query<{ op: string; n: string }>(`SELECT op, count(*) AS n FROM station_pool_events WHERE pool = 'basic' GROUP BY op ORDER BY op`);
  assert.deepEqual(
    events.map((e) => [e.op, Number(e.n)]),
    [
      ['commit', 1],
      ['release', 1],
      ['reserve', 4],
    ],
  );
  await db.close();
});

test('many concurrent reservations from two stations never share an entry', { skip, timeout: 60_000 }, async () => {
  // Hundreds of requests queue for a few connections: allow for a loaded CI machine (the queue wait counts as connecting).
  const slow = { connectTimeoutMs: 60_000, queryTimeoutMs: 60_000 };
  const [d1, d2] = await Promise.all([StationDb.connect(server.url, { station: 'cc-1', ...slow }), StationDb.connect(server.url, { station: 'cc-2', ...slow })]);
  const [p1, p2] = [await d1!.dataPool('concurrent', entries(300)), await d2!.dataPool('concurrent', entries(300))];
  const units = Array.from({ length: 160 }, (_, i) => `U${i}`);
  // Every unit asked twice, from both stations at once: it must still hold exactly one entry.
  const got = await Promise.all(units.flatMap((u, i) => [(i % 2 ? p1 : p2).reserve(u), (i % 2 ? p2 : p1).reserve(u)]));
  for (let i = 0; i < units.length; i++) assert.equal(got[2 * i]!.entry.id, got[2 * i + 1]!.entry.id, `unit ${units[i]} got two entries`);
  const ids = new Set(got.map((r) => r.entry.id));
  assert.equal(ids.size, units.length);
  assert.deepEqual(await p1.status(), { total: 300, free: 140, reserved: 160, committed: 0 });
  await d1!.close();
  await d2!.close();
});

test('record sync: idempotent, resumes from its cursor, survives a network outage, catches a diverged log', { skip, timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const db = await StationDb.connect(`postgres://unbrick@127.0.0.1:${proxy.port}/postgres`, { station: 'sync-1', connectTimeoutMs: 1500, queryTimeoutMs: 3000 });
  const log = ServiceLog.inDir(dir);
  const rec = (i: number): EntryInput => ({ unit: { id: `UID-${i}` }, action: 'station.provision', operator: 'op', outcome: i % 3 ? 'succeeded' : 'failed', summary: `unit ${i}` });
  for (let i = 0; i < 5; i++) log.append(rec(i));
  const sync = new RecordSync(db, log);
  assert.deepEqual([(await sync.syncNow()).cursor, sync.status.pending, sync.status.online], [4, 0, true]);
  // Replays are no-ops, whether through the cursor or by sending everything again.
  assert.equal((await db.syncRecords(log.verify().entries)).sent, 0);
  await db.tx('replay', async (c) => {
    const r = await c.query(
      `INSERT INTO station_unit_records (station, seq, hash, prev, time, unit_id, action, outcome, entry)
       VALUES ('sync-1', 2, 'x', 'y', now(), 'z', 'a', 'b', '{}') ON CONFLICT (station, seq) DO NOTHING`,
    );
    assert.equal(r.rowCount, 0);
  });

  // Network down: the station keeps recording locally; sync reports offline.
  proxy.cut();
  for (let i = 5; i < 9; i++) log.append(rec(i));
  const off = await sync.syncNow();
  assert.equal(off.online, false);
  assert.equal(off.lastError?.code, 'station.db-unreachable');
  assert.equal(off.pending, 4);
  assert.equal(log.verify().entries.length, 9);
  proxy.restore();
  const on = await sync.syncNow();
  assert.deepEqual([on.online, on.cursor, on.pending], [true, 8, 0]);
  const rows = await db.query<{ seq: string; unit_id: string; hash: string }>(`SELECT seq, unit_id, hash FROM station_unit_records WHERE station = 'sync-1' ORDER BY seq`);
  const local = log.verify().entries;
  assert.deepEqual(
    rows.map((r) => [Number(r.seq), r.unit_id, r.hash]),
    local.map((e) => [e.seq, e.unit.id, e.hash]),
  );
  assert.deepEqual(await db.records('sync-1'), local);

  // A station that starts while the network is down records locally and catches up later.
  proxy.cut();
  const late = StationDb.lazy(`postgres://unbrick@127.0.0.1:${proxy.port}/postgres`, { station: 'sync-late', connectTimeoutMs: 1000, queryTimeoutMs: 2000 });
  const lateLog = ServiceLog.inDir(tempDir(t));
  const lateSync = new RecordSync(late, lateLog);
  lateLog.append(rec(50));
  assert.equal((await lateSync.syncNow()).online, false);
  proxy.restore();
  assert.deepEqual([(await lateSync.syncNow()).online, lateSync.status.cursor], [true, 0]);
  assert.equal((await late.records('sync-late')).length, 1);
  await late.close();

  // Another log under the same station name is refused, not merged.
  const other = ServiceLog.inDir(tempDir(t));
  for (let i = 0; i < 9; i++) other.append(rec(100 + i));
  await rejectsWith(db.syncRecords(other.verify().entries), 'station.sync-diverged');
  await db.close();
});

test('two station processes share one data pool: no duplicate, no loss, one station killed mid-unit', { skip, timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const csv = join(dir, 'serials.csv');
  const total = 200;
  writeFileSync(csv, serials(total));
  const perStation = 40;
  const holdAt = 15;
  const outputs: Record<string, string[]> = { A: [], B: [] };

  const runChild = (name: 'A' | 'B', first: number, count: number, hold?: number) => {
    const args = ['--import', 'tsx', CHILD, server.url, join(dir, `station-${name}`), csv, `station-${name}`, name, String(first), String(count)];
    if (hold !== undefined) args.push(String(hold));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    let buf = '';
    const lineWaiters: { match: string; resolve: () => void }[] = [];
    child.stdout.on('data', (d) => {
      buf += String(d);
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        outputs[name]!.push(l);
        for (const w of lineWaiters) if (l.startsWith(w.match)) w.resolve();
      }
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    return { child, exited, err: () => err, waitFor: (match: string) => new Promise<void>((resolve) => lineWaiters.push({ match, resolve })) };
  };

  const a = runChild('A', 0, perStation, holdAt);
  const b = runChild('B', 0, perStation);
  const heldUnit = `A${String(holdAt).padStart(4, '0')}`;
  await Promise.race([a.waitFor(`R ${heldUnit}`), a.exited]);
  const heldLine = outputs.A!.find((l) => l.startsWith(`R ${heldUnit}`));
  assert.ok(heldLine, `station A never reached ${heldUnit}: ${a.err()}`);
  a.child.kill('SIGKILL');
  assert.equal((await a.exited).signal, 'SIGKILL');
  const heldEntry = heldLine.split(' ')[2]!;

  // Station A restarts and re-runs the unit it was killed on, then carries on; B never stopped.
  const a2 = runChild('A', holdAt, perStation - holdAt);
  const [ra, rb] = await Promise.all([a2.exited, b.exited]);
  assert.equal(ra.code, 0, a2.err());
  assert.equal(rb.code, 0, b.err());

  const resumed = outputs.A!.find((l) => l.startsWith(`R ${heldUnit}`) && l !== heldLine);
  assert.equal(resumed, `R ${heldUnit} ${heldEntry} resumed`, 'the re-run unit got its own entry back');

  const db = await StationDb.connect(server.url, { station: 'checker' });
  const pool = await db.dataPool('line-1', entries(total));
  const assigned = await pool.assignments();
  const units = [...Array.from({ length: perStation }, (_, i) => `A${String(i).padStart(4, '0')}`), ...Array.from({ length: perStation }, (_, i) => `B${String(i).padStart(4, '0')}`)];
  assert.deepEqual(assigned.map((x) => x.unit).sort(), units.sort(), 'every unit holds an entry, each once');
  assert.ok(
    assigned.every((x) => x.state === 'committed'),
    'every unit committed',
  );
  assert.equal(new Set(assigned.map((x) => x.id)).size, assigned.length, 'no entry twice');
  // No loss: the entries handed out are exactly the first ones of the list.
  assert.deepEqual(
    assigned.map((x) => x.id),
    entries(assigned.length).map((e) => e.id),
  );
  assert.deepEqual(await pool.status(), { total, free: total - 2 * perStation, reserved: 0, committed: 2 * perStation });
  // What each station printed agrees with the database.
  const byUnit = new Map(assigned.map((x) => [x.unit, x.id]));
  for (const l of [...outputs.A!, ...outputs.B!]) {
    const [op, unit, entry] = l.split(' ');
    if (op === 'R' || op === 'C') assert.equal(entry, byUnit.get(unit!), l);
  }
  // Both stations' records reached the database, one per unit, matching their local logs.
  for (const name of ['A', 'B']) {
    const local = ServiceLog.inDir(join(dir, `station-${name}`)).verify();
    assert.equal(local.ok, true);
    assert.deepEqual(await db.records(`station-${name}`), local.entries);
    const provisioned = local.entries.filter((e) => e.action === 'station.provision');
    assert.equal(new Set(provisioned.map((e) => e.unit.id)).size, perStation);
    for (const e of provisioned) assert.equal(e.details?.entry, byUnit.get(e.unit.id));
  }
  await db.close();

  // The line's records, from every station, through the CLI: each station's chain checks out.
  const rep = spawnSync(process.execPath, ['bin/unbrick.js', 'station', 'report', '--db', server.url, '--format', 'json', '--json'], { encoding: 'utf8' });
  assert.equal(rep.status, 0, rep.stdout + rep.stderr);
  const out = JSON.parse(rep.stdout) as { intact: boolean; report: { log: { path: string }; rows: unknown[] } };
  assert.equal(out.intact, true);
  assert.match(out.report.log.path, /line database \(\d+ stations\)/);
  // Edit one synced record in the database: the report says so.
  const edit = await StationDb.connect(server.url, { station: 'editor' });
  await edit.query(`UPDATE station_unit_records SET entry = jsonb_set(entry, '{summary}', '"edited"') WHERE station = 'station-B' AND seq = 3`);
  await edit.close();
  const tampered = spawnSync(process.execPath, ['bin/unbrick.js', 'station', 'report', '--db', server.url, '--format', 'json', '--json'], { encoding: 'utf8' });
  assert.equal(tampered.status, 1);
  assert.equal((JSON.parse(tampered.stdout) as { intact: boolean }).intact, false);
});
