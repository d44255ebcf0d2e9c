import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog, entryHash, verifyLogText, GENESIS, type EntryInput } from '../../../src/records/service-log.ts';
import { canonicalJson } from '../../../src/core/canonical-json.ts';

const CHILD = join(import.meta.dirname, 'append-child.ts');

function tempLog(t: { after(fn: () => void): void }): ServiceLog {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return ServiceLog.inDir(dir);
}

const input = (i: number, unit = 'U1'): EntryInput => ({
  unit: { id: unit, serial: `SN-${unit}` },
  action: 'recover',
  operator: 'tech@bench',
  outcome: 'succeeded',
  summary: `action ${i}`,
  inputs: [{ name: 'app.signed.bin', sha256: 'ab'.repeat(32), size: 1234 }],
});

function fill(log: ServiceLog, n: number) {
  for (let i = 0; i < n; i++) log.append(input(i, i % 2 ? 'U2' : 'U1'));
}

const lines = (log: ServiceLog) => readFileSync(log.path, 'utf8').split('\n').slice(0, -1);
const writeLines = (log: ServiceLog, ls: string[]) => writeFileSync(log.path, ls.map((l) => l + '\n').join(''));
const codes = (log: ServiceLog) => log.verify().problems.map((p) => p.code);

test('appends chain each entry to the previous one and verify passes', (t) => {
  const log = tempLog(t);
  fill(log, 5);
  const v = log.verify();
  assert.equal(v.ok, true);
  assert.deepEqual(v.problems, []);
  assert.equal(v.entries.length, 5);
  assert.equal(v.entries[0]!.prev, GENESIS);
  for (let i = 1; i < 5; i++) assert.equal(v.entries[i]!.prev, v.entries[i - 1]!.hash);
  for (const e of v.entries) assert.equal(entryHash(e), e.hash);
  assert.deepEqual(
    v.entries.map((e) => e.seq),
    [0, 1, 2, 3, 4],
  );
  // Each line is canonical JSON, so the file is reproducible from its entries.
  assert.deepEqual(lines(log), v.entries.map((e) => canonicalJson(e)));
});

test('an edited entry is detected (and so is one re-hashed to hide the edit)', (t) => {
  const log = tempLog(t);
  fill(log, 5);
  const ls = lines(log);
  const e = JSON.parse(ls[2]!);
  e.outcome = 'failed';
  writeLines(log, ls.map((l, i) => (i === 2 ? JSON.stringify(e) : l)));
  assert.equal(log.verify().ok, false);
  assert.deepEqual(codes(log), ['log.entry-edited']);

  e.hash = entryHash(e);
  writeLines(log, ls.map((l, i) => (i === 2 ? JSON.stringify(e) : l)));
  assert.deepEqual(codes(log), ['log.chain-broken']);
  assert.equal(log.verify().problems[0]!.line, 4);
});

test('a removed entry is detected, in the middle and at the end', (t) => {
  const log = tempLog(t);
  fill(log, 5);
  const ls = lines(log);
  writeLines(log, [...ls.slice(0, 2), ...ls.slice(3)]);
  assert.equal(log.verify().ok, false);
  assert.deepEqual(codes(log), ['log.entry-missing', 'log.chain-broken']);

  writeLines(log, ls.slice(0, 4));
  assert.deepEqual(codes(log), ['log.entries-removed-at-end']);

  // Without the head record, removal from the end cannot be ruled out: said so.
  unlinkSync(`${log.path}.head`);
  assert.deepEqual(codes(log), ['log.head-missing']);
});

test('reordered and duplicated entries are detected', (t) => {
  const log = tempLog(t);
  fill(log, 5);
  const ls = lines(log);
  writeLines(log, [ls[0]!, ls[2]!, ls[1]!, ls[3]!, ls[4]!]);
  const c = codes(log);
  assert.equal(log.verify().ok, false);
  assert.ok(c.includes('log.entry-reordered') && c.includes('log.chain-broken'), c.join());

  writeLines(log, [...ls, ls[4]!]);
  assert.ok(codes(log).includes('log.entry-reordered'));
});

test('a torn last line is reported, then set aside by the next append without losing entries', (t) => {
  const log = tempLog(t);
  fill(log, 3);
  appendFileSync(log.path, '{"action":"upd');
  const before = log.verify();
  assert.equal(before.ok, true, 'a torn tail is an interrupted append, not tampering');
  assert.deepEqual(before.problems.map((p) => p.code), ['log.torn-tail']);

  const e = log.append(input(99));
  const v = log.verify();
  assert.equal(v.ok, true);
  assert.deepEqual(v.problems, []);
  assert.deepEqual(
    v.entries.map((x) => x.action),
    ['recover', 'recover', 'recover', 'log.recovered', 'recover'],
  );
  assert.equal(e.seq, 4);
  const side = readdirSync(join(log.path, '..')).filter((n) => n.includes('.torn-'));
  assert.equal(side.length, 1);
  assert.equal(readFileSync(join(log.path, '..', side[0]!), 'utf8'), '{"action":"upd');
});

test('a kill in the middle of writing a line: earlier entries survive, the log recovers', (t) => {
  const log = tempLog(t);
  fill(log, 4);
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, 'torn', log.path, '1500'], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const raw = readFileSync(log.path, 'utf8');
  assert.ok(!raw.endsWith('\n'), 'the child left a torn line');
  assert.equal(verifyLogText(raw).entries.length, 4);

  log.append(input(5));
  const v = log.verify();
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  assert.deepEqual(
    v.entries.map((e) => e.seq),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(v.entries[4]!.action, 'log.recovered');
});

test('SIGKILL at random moments while appending: every acknowledged entry is kept', { timeout: 60_000 }, async (t) => {
  const log = tempLog(t);
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'loop', log.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = -1;
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      const seqs = out.split('\n').slice(0, -1);
      if (seqs.length) acked = Number(seqs.at(-1));
    });
    // Let it append a while (at least a few entries), then kill it wherever it is.
    await new Promise<void>((resolve) => {
      const wait = () => (acked >= 3 * (round + 1) ? setTimeout(resolve, Math.random() * 40) : setTimeout(wait, 5));
      wait();
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const v = log.verify();
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.ok(v.entries.length > 0 && v.entries.at(-1)!.seq >= acked, `entry ${acked} was acknowledged, log ends at ${v.entries.at(-1)?.seq}`);
  }
  // After all the kills, one more append leaves a log with no problems at all.
  log.append(input(1000));
  const v = log.verify();
  assert.deepEqual(v.problems, []);
  assert.deepEqual(
    v.entries.map((e) => e.seq),
    v.entries.map((_, i) => i),
  );
});

test('a lock left by a dead process is taken over; a live one is waited for', (t) => {
  const log = tempLog(t);
  fill(log, 1);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(`${log.path}.lock`, dead.stdout);
  log.append(input(1));
  assert.equal(existsSync(`${log.path}.lock`), false);
  assert.equal(log.verify().entries.length, 2);

  // A lock held by another live process is respected.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
  t.after(() => other.kill('SIGKILL'));
  writeFileSync(`${log.path}.lock`, String(other.pid));
  const patient = new ServiceLog(log.path, 200);
  assert.throws(() => patient.append(input(2)), (e: unknown) => (e as { code?: string }).code === 'records.locked');
  assert.equal(log.verify().entries.length, 2);
  unlinkSync(`${log.path}.lock`);
});

test('a damaged last whole line makes append refuse with a typed error', (t) => {
  const log = tempLog(t);
  fill(log, 2);
  appendFileSync(log.path, 'not json\n');
  assert.throws(() => log.append(input(3)), (e: unknown) => (e as { code?: string }).code === 'records.damaged');
  assert.deepEqual(codes(log), ['log.unreadable-entry']);
});

test('a unit identity with the image hashes devices/identity records (a list) is read back and verifies', (t) => {
  const log = tempLog(t);
  const hashes = ['ab'.repeat(32), 'cd'.repeat(32)];
  log.append({ ...input(0), unit: { id: 'UID1', chipUid: '0123456789abcdef01234567', imageHashes: hashes } });
  const v = log.verify();
  assert.deepEqual(v.problems, []);
  assert.deepEqual(v.entries[0]!.unit.imageHashes, hashes);
  // A list of anything but text is still refused.
  writeLines(log, [lines(log)[0]!.replace(`"${hashes[1]}"`, '7')]);
  assert.ok(codes(log).includes('log.unreadable-entry'), JSON.stringify(codes(log)));
});
