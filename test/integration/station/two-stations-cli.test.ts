// Two `unbrick station run` processes on one line share a PostgreSQL database (Debian's postgresql,
// started for this test). Each provisions its own simulated STM32 units (paced ptys at 115200 baud);
// station A is SIGKILLed mid-unit, after its unit took a data entry, and restarted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, postgresAvailable, type PgServer } from './pg-server.ts';
import { provisioningLab } from './provisioning-bundle.ts';
import { DATA_OFFSET, ptyUnit, readDataBlock } from './stm32-units.ts';
import { StationDb } from '../../../src/station/shared-db.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';

const skip = postgresAvailable() ? false : 'PostgreSQL is not installed (apt-get install postgresql)';
let server: PgServer;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

interface Run {
  child: ChildProcess;
  done: Promise<{ status: number | null; signal: string | null; json: Record<string, unknown>; stderr: string }>;
}

function station(dataDir: string, args: string[]): Run {
  const child = spawn(process.execPath, ['bin/unbrick.js', 'station', 'run', ...args, '--json'], { env: { ...process.env, UNBRICK_DATA_DIR: dataDir } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const done = new Promise<{ status: number | null; signal: string | null; json: Record<string, unknown>; stderr: string }>((resolve) =>
    child.on('exit', (status, signal) => {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(out) as Record<string, unknown>;
      } catch {
        json = { unparsed: out };
      }
      resolve({ status, signal, json, stderr: err });
    }),
  );
  return { child, done };
}

test('two station processes, one PostgreSQL: no entry twice, none lost, one station killed mid-unit and restarted', { skip, timeout: 180_000 }, async (t) => {
  const { lab, trustIn, chip, bundle } = await provisioningLab();
  t.after(() => lab.cleanup());
  const dirA = join(lab.dir, 'station-a');
  const dirB = join(lab.dir, 'station-b');
  trustIn(dirA);
  trustIn(dirB);
  const total = 30;
  // A 1.5 KB field makes the per-unit data write last ~0.3 s at 115200 baud: time to kill A inside it.
  const blob = 'c'.repeat(1500);
  const csv = lab.file('serials.csv', 'serial,mac,cert\n' + Array.from({ length: total }, (_, i) => `AS-${String(i).padStart(4, '0')},02:00:00:00:01:${i.toString(16).padStart(2, '0')},${blob}\n`).join(''));
  const unitsA = [0, 1, 2, 3].map((i) => ptyUnit('f103', 700 + i, 115200, 0.2));
  const unitsB = [0, 1, 2, 3].map((i) => ptyUnit('f103', 800 + i, 115200, 0.2));
  t.after(() => [...unitsA, ...unitsB].forEach((u) => u.close()));
  const common = ['--bundle', bundle, '--data', csv, '--data-address', String(chip.flash.start + DATA_OFFSET), '--db', server.url, '--batch', 'LINE-1'];
  const args = (name: string, units: { path: string }[], parallel: number, max: number) => [
    ...common,
    '--station',
    name,
    '--ports',
    units.map((u) => u.path).join(','),
    '--parallel',
    String(parallel),
    '--max-units',
    String(max),
  ];

  const b = station(dirB, args('st-B', unitsB, 2, 4));
  const a = station(dirA, args('st-A', unitsA, 1, 4));
  // Kill A once a unit of its has taken its data entry and is still being provisioned.
  const batchFile = join(dirA, 'station', 'batches', 'LINE-1', 'batch.json');
  let held: { port: string; unit: string; dataEntry: string } | undefined;
  const deadline = Date.now() + 60_000;
  while (!held) {
    assert.ok(Date.now() < deadline, 'station A never reached a unit with its data entry');
    await new Promise((r) => setTimeout(r, 5));
    if (!existsSync(batchFile)) continue;
    try {
      const saved = JSON.parse(readFileSync(batchFile, 'utf8')) as { running: Record<string, { unit?: string; dataEntry?: string }>; line: { passed: number } };
      const [port, r] = Object.entries(saved.running).find(([, x]) => x.dataEntry) ?? [];
      if (port && r?.unit && r.dataEntry && saved.line.passed >= 1) held = { port, unit: r.unit, dataEntry: r.dataEntry };
    } catch {
      /* being replaced */
    }
  }
  a.child.kill('SIGKILL');
  assert.equal((await a.done).signal, 'SIGKILL');

  // A restarts: the interrupted unit is recorded, runs again, and gets its own entry back.
  const a2 = station(dirA, args('st-A', unitsA, 1, 5));
  const [ra, rb] = await Promise.all([a2.done, b.done]);
  assert.equal(rb.status, 0, `${JSON.stringify(rb.json)}\n${rb.stderr}`);
  assert.equal(ra.status, 1, 'the interrupted attempt counts as a failed attempt of this batch');
  assert.deepEqual([ra.json.passed, ra.json.failed], [4, 1], JSON.stringify(ra.json));
  assert.deepEqual([rb.json.passed, rb.json.failed], [4, 0]);

  const logA = ServiceLog.inDir(dirA).verify();
  const rowsA = unitRows(logA.entries, 'LINE-1').filter((r) => r.unit === held!.unit);
  assert.deepEqual(
    rowsA.map((r) => [r.ok, r.code ?? '', r.dataEntry]),
    [
      [false, 'station.interrupted', held.dataEntry],
      [true, '', held.dataEntry],
    ],
  );

  const db = await StationDb.connect(server.url, { station: 'checker' });
  t.after(() => db.close());
  const pool = await db.dataPool('serials.csv', parseCsvEntries(readFileSync(csv, 'utf8')));
  const assigned = await pool.assignments();
  const uids = [...unitsA, ...unitsB].map((u) => u.uid).sort();
  const dump = () =>
    JSON.stringify({ assigned, held, rows: [dirA, dirB].map((d) => unitRows(ServiceLog.inDir(d).verify().entries).map((r) => [r.unit, r.ok, r.code, r.dataEntry, r.station])) });
  assert.deepEqual(assigned.map((x) => x.unit).sort(), uids, dump());
  assert.ok(assigned.every((x) => x.state === 'committed'));
  assert.equal(new Set(assigned.map((x) => x.id)).size, 8, 'no entry twice');
  assert.deepEqual(
    assigned.map((x) => x.id),
    Array.from({ length: 8 }, (_, i) => `AS-${String(i).padStart(4, '0')}`),
    'no entry lost: the first 8 of the list, no gaps',
  );
  // The audit trail: each entry reserved once and committed once (the re-run resumed, it did not reserve again).
  const events = await db.query<{ entry: string; op: string; n: string }>(`SELECT entry, op, count(*) AS n FROM station_pool_events WHERE pool = 'serials.csv' GROUP BY entry, op ORDER BY entry, op`);
  assert.deepEqual(
    events.map((e) => [e.entry, e.op, Number(e.n)]),
    assigned.flatMap((x) => [
      [x.id, 'commit', 1],
      [x.id, 'reserve', 1],
    ]),
  );
  // What each unit holds in flash is the entry the database assigned to it.
  const byUnit = new Map(assigned.map((x) => [x.unit, x.id]));
  for (const u of [...unitsA, ...unitsB]) assert.equal(readDataBlock(u.sim)?.serial, byUnit.get(u.uid));
  // Both stations' records reached the line database and match their local logs.
  for (const [name, dir] of [
    ['st-A', dirA],
    ['st-B', dirB],
  ] as const)
    assert.deepEqual(await db.records(name), ServiceLog.inDir(dir).verify().entries);
});
