import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station, BATCH_FILE, type Recipe, type StationOptions, type StationPort } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { deviceError, ioError, UnbrickError } from '../../../src/core/errors.ts';

const CHILD = join(import.meta.dirname, 'station-child.ts');

/** A simulated unit: its UID, and how it behaves when provisioned. */
interface SimUnit {
  uid: string;
  /** Fails with this error code during "write". */
  failWith?: string;
  /** Never finishes on its own (waits for an abort). */
  hang?: boolean;
  /** The port itself is broken: fails before the unit answers. */
  portBroken?: boolean;
  /** The unit answers its bootloader, then is refused before its UID is read (e.g. readout-protected). */
  refusedWith?: string;
  /** Ignores the abort signal for this long after it fires. */
  slowToLetGo?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(t: { after(fn: () => void): void }, opts: Partial<StationOptions> & { entries?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-st-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = 'serial,key\n' + Array.from({ length: opts.entries ?? 50 }, (_, i) => `SN-${String(i).padStart(4, '0')},k${i}\n`).join('');
  const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal'), station: 'st1' });
  t.after(() => void pool.close());
  const log = ServiceLog.inDir(dir);
  let concurrent = 0;
  let maxConcurrent = 0;
  const written = new Map<string, string>(); // uid -> serial written to it
  const recipe: Recipe = async (ctx) => {
    const unit = ctx.port.handle as SimUnit;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    try {
      await ctx.step('identify', async () => {
        await sleep(5);
        if (unit.portBroken) throw ioError('io.eio', 'The port cannot be opened.');
        ctx.note({ target: 'sim' });
        if (unit.refusedWith) throw deviceError(unit.refusedWith, `Simulated refusal ${unit.refusedWith}.`);
      });
      ctx.identify({ chipUid: unit.uid, chip: 'SIM', target: 'sim' });
      await ctx.step('write', async () => {
        if (unit.hang) {
          await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => setTimeout(() => reject(ctx.signal.reason), unit.slowToLetGo ?? 0)));
        }
        await sleep(10 + Math.random() * 10);
        if (unit.failWith) throw deviceError(unit.failWith, `Simulated failure ${unit.failWith}.`);
      });
      const data = await ctx.takeData();
      await ctx.step('per-unit data', async () => {
        const before = written.get(unit.uid);
        assert.ok(before === undefined || before === data.entry.id, `unit ${unit.uid} got ${data.entry.id} after ${before}`);
        written.set(unit.uid, data.entry.id);
      });
      ctx.note({ serial: data.entry.fields.serial, versions: { application: '1.2.3' } });
      return `Provisioned as ${data.entry.fields.serial}.`;
    } finally {
      concurrent--;
    }
  };
  const options: StationOptions = { dir, log, recipe, batch: 'B1', station: 'st1', operator: 'op@line', parallel: 2, pool, ...opts };
  return { dir, log, pool, options, written, max: () => maxConcurrent };
}

const port = (id: string, unit: SimUnit): StationPort => ({ id, handle: unit });
const rows = (log: ServiceLog) => unitRows(log.verify().entries, 'B1');

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(5);
  }
}

test('runs at most N units at once; every unit is recorded with its own data entry', async (t) => {
  const s = setup(t);
  const st = Station.open({ ...s.options, parallel: 3 });
  st.updatePorts(Array.from({ length: 8 }, (_, i) => port(`p${i}`, { uid: `UID-${i}` })));
  await st.idle();
  assert.equal(s.max(), 3);
  const r = rows(s.log);
  assert.equal(r.length, 8);
  assert.ok(r.every((x) => x.ok));
  assert.equal(new Set(r.map((x) => x.dataEntry)).size, 8);
  assert.deepEqual(
    r.map((x) => x.steps?.map((y) => y.name)),
    r.map(() => ['identify', 'write', 'per-unit data']),
  );
  assert.ok(r.every((x) => x.serial === x.dataEntry && x.versions?.application === '1.2.3' && x.station === 'st1' && x.operator === 'op@line'));
  assert.deepEqual(await s.pool.status(), { total: 50, free: 42, reserved: 0, committed: 8 });
  const snap = st.snapshot();
  assert.deepEqual([snap.passed, snap.failed, snap.running], [8, 0, 0]);
  assert.ok(snap.ports.every((p) => p.state === 'pass'));
  // The same units stay plugged in: nothing runs twice.
  st.updatePorts(Array.from({ length: 8 }, (_, i) => port(`p${i}`, { uid: `UID-${i}` })));
  await st.idle();
  assert.equal(rows(s.log).length, 8);
});

test('a unit unplugged mid-run is recorded failed, not counted against the line, and re-runs when plugged in again', async (t) => {
  const s = setup(t);
  const st = Station.open(s.options);
  const unit: SimUnit = { uid: 'UID-PULLED', hang: true, slowToLetGo: 150 };
  st.updatePorts([port('p0', unit), port('p1', { uid: 'UID-OK' })]);
  await until(() => st.snapshot().ports.find((p) => p.id === 'p0')?.step === 'write');
  st.updatePorts([port('p1', { uid: 'UID-OK' })]);
  await until(() => st.snapshot().ports.find((p) => p.id === 'p0')?.state === 'fail');
  const failed = rows(s.log).find((x) => x.unit === 'UID-PULLED')!;
  assert.equal(failed.code, 'station.unplugged');
  assert.match(failed.reason, /unplugged during "write"\. Plug it in again/);
  // Replugged while the old recipe still holds the port: it waits for it to let go.
  unit.hang = false;
  st.updatePorts([port('p0', unit), port('p1', { uid: 'UID-OK' })]);
  await st.idle();
  const all = rows(s.log).filter((x) => x.unit === 'UID-PULLED');
  assert.deepEqual(
    all.map((x) => [x.ok, x.attempt, x.final]),
    [
      [false, 1, false],
      [true, 2, true],
    ],
  );
  assert.equal(st.snapshot().ports.find((p) => p.id === 'p0')!.state, 'pass');
  // The unplug was not the line's fault.
  assert.deepEqual(st.lineState.recent.map((x) => x.ok), [true, true]);
});

test('an unplugged unit that had taken its data keeps it for its re-run', async (t) => {
  const s = setup(t);
  let gate: (() => void) | undefined;
  const recipe: Recipe = async (ctx) => {
    const unit = ctx.port.handle as SimUnit;
    ctx.identify({ chipUid: unit.uid });
    const d = await ctx.takeData();
    if (unit.hang) await ctx.step('per-unit data', () => new Promise<void>((r) => (gate = r)));
    return d.entry.id;
  };
  const st = Station.open({ ...s.options, recipe });
  const u: SimUnit = { uid: 'UID-X', hang: true };
  st.updatePorts([port('a', u)]);
  await until(() => gate !== undefined);
  st.updatePorts([]);
  gate!();
  await st.idle();
  st.updatePorts([port('b', { uid: 'UID-Y' })]);
  await st.idle();
  u.hang = false;
  st.updatePorts([port('b', { uid: 'UID-Y' }), port('a', u)]);
  await st.idle();
  const r = rows(s.log);
  assert.deepEqual(
    r.map((x) => [x.unit, x.ok, x.dataEntry]),
    [
      ['UID-X', false, 'SN-0000'],
      ['UID-Y', true, 'SN-0001'],
      ['UID-X', true, 'SN-0000'],
    ],
  );
});

test('pilot lot: only the first N units start, the rest wait for approval', async (t) => {
  const s = setup(t);
  const st = Station.open({ ...s.options, parallel: 5, policy: { pilot: 2 } });
  st.updatePorts(Array.from({ length: 5 }, (_, i) => port(`p${i}`, { uid: `U${i}` })));
  await st.idle();
  assert.equal(rows(s.log).length, 2);
  const snap = st.snapshot();
  assert.equal(snap.mode, 'pilot-review');
  assert.match(snap.reason!, /first 2 units/);
  assert.deepEqual(
    snap.ports.map((p) => p.state),
    ['pass', 'pass', 'idle', 'idle', 'idle'],
  );
  st.approvePilot();
  await st.idle();
  assert.equal(rows(s.log).length, 5);
  assert.equal(st.snapshot().mode, 'running');
});

test('failure-rate stop: the line stops itself with the reason; a misbehaving port is disabled without stopping it', async (t) => {
  const s = setup(t);
  const st = Station.open({ ...s.options, parallel: 1, policy: { window: 4, threshold: 0.5, portFaultLimit: 2 } });
  // A broken port fails twice before any unit answers: disabled; the line runs on.
  st.updatePorts([port('bad', { uid: 'never', portBroken: true })]);
  await st.idle();
  st.updatePorts([]);
  st.updatePorts([port('bad', { uid: 'never', portBroken: true })]);
  await st.idle();
  assert.equal(st.snapshot().ports[0]!.state, 'disabled');
  assert.equal(st.snapshot().mode, 'running');
  // Units failing the same way: 3 of 4 fail -> stop.
  const plan: SimUnit[] = [
    { uid: 'A', failWith: 'stm32.verify-failed' },
    { uid: 'B' },
    { uid: 'C', failWith: 'stm32.verify-failed' },
    { uid: 'D', failWith: 'stm32.verify-failed' },
    { uid: 'E' },
  ];
  for (const u of plan) {
    st.updatePorts([port('good', u)]);
    await st.idle();
    st.updatePorts([]);
  }
  const snap = st.snapshot();
  assert.equal(snap.mode, 'stopped');
  assert.match(snap.reason!, /^Line stopped: 3 of the last 4 units failed \(75%, limit 50%\)\. Most frequent: stm32\.verify-failed \(3\)/);
  assert.deepEqual(
    rows(s.log).map((x) => x.unit.replace(/@.*/, '')),
    ['port:bad', 'port:bad', 'A', 'B', 'C', 'D'],
  );
  // Two unknown units on one port are two units, not two attempts of one.
  assert.notEqual(rows(s.log)[0]!.unit, rows(s.log)[1]!.unit);
  assert.equal(rows(s.log)[0]!.reason, 'The port cannot be opened.');
  st.resume();
  st.updatePorts([port('good', { uid: 'E' })]);
  await st.idle();
  assert.equal(rows(s.log).at(-1)!.unit, 'E');
});

test('a unit record that cannot be written stops the line', async (t) => {
  const s = setup(t);
  const log = new ServiceLog(s.log.path, 100);
  const st = Station.open({ ...s.options, log });
  st.updatePorts([port('p0', { uid: 'U0' })]);
  await st.idle();
  // Another process holds the log for good (here: a directory where the lock file goes).
  mkdirSync(`${log.path}.lock`);
  t.after(() => rmSync(`${log.path}.lock`, { recursive: true, force: true }));
  st.updatePorts([port('p0', { uid: 'U0' }), port('p1', { uid: 'U1' })]);
  await st.idle();
  assert.equal(st.healthy, false);
  assert.equal(st.snapshot().mode, 'stopped');
  assert.match(st.snapshot().reason!, /a unit record could not be written/);
  st.updatePorts([port('p1', { uid: 'U1' }), port('p2', { uid: 'U2' })]);
  await st.idle();
  assert.equal(st.snapshot().ports.find((p) => p.id === 'p2')!.state, 'idle');
});

test('station restart: the batch resumes, the unit running at the crash is recorded interrupted and re-runs with its entry', { timeout: 60_000 }, async (t) => {
  const s = setup(t);
  await s.pool.close();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, s.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += String(d);
      if (/HOLDING \S+\n/.test(out)) resolve();
    });
    child.on('exit', () => reject(new Error(`child exited: ${out}`)));
  });
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  const saved = JSON.parse(readFileSync(join(s.dir, BATCH_FILE), 'utf8'));
  assert.deepEqual(Object.keys(saved.running), ['p1']);
  assert.equal(saved.line.started, 3);

  const pool = LocalDataPool.open({ entries: parseCsvEntries('serial,key\n' + Array.from({ length: 50 }, (_, i) => `SN-${String(i).padStart(4, '0')},k${i}\n`).join('')), journalPath: join(s.dir, 'pool.journal') });
  t.after(() => void pool.close());
  const st = Station.open({ ...s.options, pool });
  const r1 = rows(s.log);
  const interrupted = r1.find((x) => x.code === 'station.interrupted')!;
  assert.equal(interrupted.unit, 'UID-HELD');
  const heldEntry = /HOLDING (\S+)/.exec(out)![1]!;
  assert.equal(interrupted.dataEntry, heldEntry);
  assert.match(interrupted.reason, /stopped during "program serial" while this unit ran .* keeps its per-unit data entry/);
  assert.equal(st.snapshot().started, 3);
  assert.deepEqual(
    st.snapshot().ports.map((p) => [p.id, p.state]),
    [
      ['p0', 'pass'],
      ['p1', 'idle'], // recorded as interrupted; runs again as soon as the port is seen
      ['p2', 'pass'],
    ],
  );
  // All three units are still plugged in: only the interrupted one runs again.
  const before = rows(s.log).length;
  st.updatePorts([port('p0', { uid: 'UID-A' }), port('p1', { uid: 'UID-HELD' }), port('p2', { uid: 'UID-C' })]);
  await st.idle();
  assert.equal(rows(s.log).length, before + 1);
  const last = rows(s.log).at(-1)!;
  assert.deepEqual([last.unit, last.ok, last.dataEntry, last.attempt], ['UID-HELD', true, heldEntry, 2]);
  assert.equal(st.snapshot().started, 4);
});

test('a batch directory holding another batch is refused; an unreadable one too; a batch runs in one process only', async (t) => {
  const s = setup(t);
  const first = Station.open(s.options);
  await first.stop(); // releases the batch lock
  writeFileSync(join(s.dir, 'batch.lock'), String(process.ppid)); // another live process holds it
  assert.throws(
    () => Station.open(s.options),
    (e: unknown) => e instanceof UnbrickError && e.code === 'station.locked',
  );
  rmSync(join(s.dir, 'batch.lock'));
  assert.throws(
    () => Station.open({ ...s.options, batch: 'B2' }),
    (e: unknown) => e instanceof UnbrickError && e.code === 'station.batch-mismatch',
  );
  writeFileSync(join(s.dir, BATCH_FILE), '{');
  assert.throws(
    () => Station.open(s.options),
    (e: unknown) => e instanceof UnbrickError && e.code === 'station.batch-unreadable',
  );
});

test('a recipe that ignores the unplug cannot take data for the unit afterwards', async (t) => {
  const s = setup(t);
  let gate: (() => void) | undefined;
  let late: unknown;
  const recipe: Recipe = async (ctx) => {
    ctx.identify({ chipUid: 'UID-STUBBORN' });
    await new Promise<void>((r) => (gate = r)); // does not watch ctx.signal
    try {
      await ctx.takeData();
    } catch (e) {
      late = e;
      throw e;
    }
  };
  const st = Station.open({ ...s.options, recipe });
  st.updatePorts([port('p0', { uid: 'UID-STUBBORN' })]);
  await until(() => gate !== undefined);
  st.updatePorts([]);
  await until(() => st.snapshot().ports[0]!.state === 'fail');
  gate!();
  await st.idle();
  assert.ok(late instanceof UnbrickError && late.code === 'station.unplugged');
  assert.deepEqual(await s.pool.status(), { total: 50, free: 50, reserved: 0, committed: 0 });
  assert.equal(rows(s.log).length, 1);
});

test('a unit that answers and is refused counts toward the line, not against its port', async (t) => {
  const s = setup(t);
  const st = Station.open({ ...s.options, parallel: 1, policy: { window: 2, threshold: 0.5, portFaultLimit: 2 } });
  for (const uid of ['P1', 'P2']) {
    st.updatePorts([port('p', { uid, refusedWith: 'station.unit-protected' })]);
    await st.idle();
    assert.equal(st.snapshot().ports[0]!.state, 'fail', 'the port is fine (not disabled): it is the units');
    st.updatePorts([]);
  }
  const snap = st.snapshot();
  assert.equal(snap.mode, 'stopped');
  assert.match(snap.reason!, /Most frequent: station\.unit-protected \(2\)/);
});
