import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { refusal } from '../../helpers/errors.ts';

const CHILD = join(import.meta.dirname, 'pool-child.ts');

function setup(t: { after(fn: () => void): void }, n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-pool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'serials.csv');
  writeFileSync(csv, 'serial,key\n' + Array.from({ length: n }, (_, i) => `SN-${String(i).padStart(5, '0')},${(i * 7919).toString(16)}\n`).join(''));
  const journalPath = join(dir, 'pool.journal');
  const open = () => LocalDataPool.open({ entries: parseCsvEntries(readFileSync(csv, 'utf8')), journalPath, station: 'st1' });
  return { dir, csv, journalPath, open };
}

const errCode = (fn: () => unknown) => refusal(fn).code;

test('entries go out in list order, once each; the same unit gets its own entry back', async (t) => {
  const { open } = setup(t, 3);
  const pool = open();
  const a = pool.reserveSync('UID-A');
  const b = pool.reserveSync('UID-B');
  assert.deepEqual([a.entry.id, a.status, b.entry.id, b.status], ['SN-00000', 'new', 'SN-00001', 'new']);
  assert.equal(pool.reserveSync('UID-A').status, 'resumed');
  assert.equal(pool.reserveSync('UID-A').entry.id, 'SN-00000');
  pool.commitSync('UID-A', 'SN-00000');
  pool.commitSync('UID-A', 'SN-00000'); // idempotent
  assert.equal(pool.reserveSync('UID-A').status, 'committed');
  // Release only for the holder, never after commit.
  assert.equal(
    errCode(() => pool.releaseSync('UID-A', 'SN-00001')),
    'station.pool-not-reserved',
  );
  assert.equal(
    errCode(() => pool.releaseSync('UID-A', 'SN-00000')),
    'station.pool-committed',
  );
  assert.equal(
    errCode(() => pool.commitSync('UID-C', 'SN-00001')),
    'station.pool-not-reserved',
  );
  pool.releaseSync('UID-B', 'SN-00001');
  // A released entry is the next one out (list order), to the next unit.
  assert.equal(pool.reserveSync('UID-C').entry.id, 'SN-00001');
  assert.equal(pool.reserveSync('UID-D').entry.id, 'SN-00002');
  assert.equal(
    errCode(() => pool.reserveSync('UID-E')),
    'station.pool-empty',
  );
  assert.deepEqual(pool.statusSync(), { total: 3, free: 0, reserved: 2, committed: 1 });
  await pool.close();
});

test('state survives reopening: the journal is replayed', async (t) => {
  const { open } = setup(t, 4);
  const p1 = open();
  p1.reserveSync('A');
  p1.commitSync('A', 'SN-00000');
  p1.reserveSync('B');
  p1.reserveSync('C');
  p1.releaseSync('C', 'SN-00002');
  await p1.close();
  const p2 = open();
  assert.deepEqual(p2.statusSync(), { total: 4, free: 2, reserved: 1, committed: 1 });
  assert.deepEqual(await p2.assignments(), [
    { id: 'SN-00000', unit: 'A', state: 'committed' },
    { id: 'SN-00001', unit: 'B', state: 'reserved' },
  ]);
  assert.equal(p2.reserveSync('B').status, 'resumed');
  assert.equal(p2.reserveSync('D').entry.id, 'SN-00002');
  await p2.close();
});

test('a second process cannot open the same journal while the first runs; a dead owner does not block', async (t) => {
  const { open, journalPath } = setup(t, 2);
  const p = open();
  writeFileSync(`${journalPath}.lock`, String(process.ppid)); // a live process that is not us
  assert.equal(
    errCode(() => open()),
    'station.locked',
  );
  await p.close();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(`${journalPath}.lock`, dead.stdout);
  const p2 = open();
  await p2.close();
});

test('a torn last record is dropped (never acknowledged); a damaged whole line refuses to open', async (t) => {
  const { open, journalPath } = setup(t, 3);
  const p = open();
  p.reserveSync('A');
  await p.close();
  appendFileSync(journalPath, '{"op":"reserve","entry":"SN-0000');
  const p2 = open();
  assert.deepEqual(p2.statusSync(), { total: 3, free: 2, reserved: 1, committed: 0 });
  assert.equal(p2.reserveSync('B').entry.id, 'SN-00001');
  await p2.close();
  assert.ok(readFileSync(journalPath, 'utf8').endsWith('\n'));
  appendFileSync(journalPath, 'garbage\n');
  assert.equal(
    errCode(() => open()),
    'station.journal-damaged',
  );
});

test('an entry edited in the list after it was handed out is caught at open', async (t) => {
  const { open, csv } = setup(t, 2);
  const p = open();
  p.reserveSync('A');
  await p.close();
  writeFileSync(csv, readFileSync(csv, 'utf8').replace('SN-00000,0', 'SN-00000,ff'));
  assert.equal(
    errCode(() => open()),
    'station.pool-changed',
  );
  writeFileSync(csv, 'serial,key\nOTHER,1\n');
  assert.equal(
    errCode(() => open()),
    'station.pool-changed',
  );
});

test('SIGKILL between reserve and commit: the entry stays with that unit, the next unit gets another', async (t) => {
  const { open, journalPath, csv } = setup(t, 5);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hold', journalPath, csv, 'UID-KILLED'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', () => reject(new Error('child exited early')));
  });
  const held = JSON.parse(line) as { entry: string; status: string };
  assert.deepEqual(held, { unit: 'UID-KILLED', entry: 'SN-00000', status: 'new' });
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  const p = open(); // takes over the dead child's lock
  assert.equal(p.reserveSync('UID-OTHER').entry.id, 'SN-00001');
  const again = p.reserveSync('UID-KILLED');
  assert.deepEqual([again.entry.id, again.status], ['SN-00000', 'resumed']);
  await p.close();
});

test('SIGKILL at random moments over many units: no entry twice, none lost, re-runs get their own entry', { timeout: 120_000 }, async (t) => {
  const total = 400;
  const { open, journalPath, csv } = setup(t, total);
  const seen = new Map<string, string>(); // unit -> entry, from every child's output
  let next = 0;
  let kills = 0;
  for (let round = 0; round < 6 && next < total - 60; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'loop', journalPath, csv, String(next), '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let started = false;
    const firstLine = new Promise<void>((r) =>
      child.stdout.on('data', (d) => {
        out += String(d);
        if (!started) {
          started = true;
          r();
        }
      }),
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    await Promise.race([firstLine, exited]);
    await new Promise((r) => setTimeout(r, Math.random() * 60));
    kills += child.kill('SIGKILL') ? 1 : 0;
    await exited;
    let lastCommitted = next - 1;
    for (const l of out.split('\n')) {
      const [op, unit, entry] = l.split(' ');
      if (!op || !unit || !entry) continue;
      const before = seen.get(unit);
      assert.ok(before === undefined || before === entry, `${unit} got ${entry} after ${before}`);
      seen.set(unit, entry);
      if (op === 'C') lastCommitted = Number(unit.slice(1));
    }
    // Re-run from the first unit not known to be committed (it may have been reserved silently).
    next = lastCommitted + 1;
  }
  assert.ok(kills >= 3, `only ${kills} children were killed`);
  const p = open();
  const assigned = await p.assignments();
  const entries = assigned.map((a) => a.id);
  assert.equal(new Set(entries).size, entries.length, 'an entry was given to two units');
  assert.equal(new Set(assigned.map((a) => a.unit)).size, assigned.length, 'a unit holds two entries');
  // No loss: the entries out are exactly the first ones of the list, with no gap.
  assert.deepEqual(
    entries,
    Array.from({ length: entries.length }, (_, i) => `SN-${String(i).padStart(5, '0')}`),
  );
  for (const a of assigned) if (seen.has(a.unit)) assert.equal(seen.get(a.unit), a.id);
  // Units U0000..U(next-1) are committed. Beyond them only the unit the last child was killed on may
  // hold an entry (reserved, or committed if the kill came after its commit but before its "C" line reached us).
  const unit = (i: number) => `U${String(i).padStart(4, '0')}`;
  for (let i = 0; i < next; i++) assert.equal(assigned.find((a) => a.unit === unit(i))?.state, 'committed', unit(i));
  assert.deepEqual(
    assigned.filter((a) => Number(a.unit.slice(1)) >= next).map((a) => a.unit),
    assigned.length > next ? [unit(next)] : [],
  );
  await p.close();
});
