// A station SIGKILLed while an SMP unit's per-unit data is on the unit but not yet committed (the
// restart check is running): the restarted station records the interruption, runs the unit again
// with the same entry, and commits it once. Processes: this test hosts the unit on a pty; each
// station is a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { poolsDir } from '../../../src/station/setup.ts';
import { createFactoryUnit, hostOnPty } from '../../../src/sim/zephyr/index.ts';
import { mixedLab } from './provisioning-bundle.ts';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

function station(args: string[]): { child: ChildProcess; lines: string[]; waitFor(re: RegExp): Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/station/smp-station-child.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  child.stdout!.on('data', (d) => {
    buf += String(d);
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.re.test(line))) w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const hit = lines.find((l) => re.test(l));
        if (hit) return resolve(hit);
        waiters.push({ re, resolve });
        void exited.then(() => reject(new Error(`station exited before ${re}: ${lines.join(' | ')} ${err}`)));
      }),
  };
}

test('SIGKILL between the data check and the commit: the re-run gets the same entry, committed once', { timeout: 120_000 }, async (t) => {
  const { lab, key, bundle } = await mixedLab();
  t.after(() => lab.cleanup());
  const csv = lab.file('sn.csv', 'serial\nSN-0001\nSN-0002\nSN-0003\n');
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['app'] } });
  const host = hostOnPty(unit, { baud: 115200 });
  t.after(() => host.close());
  const args = [bundle, lab.dataDir, csv, host.path, 'ADP-K1'];

  const first = station(args);
  await first.waitFor(/^STEP restart \(data check\)$/);
  first.child.kill('SIGKILL');
  await first.exited;
  assert.equal(Buffer.from(unit.app.settings.stored().get('app/serial') ?? []).toString(), 'SN-0001', 'the entry reached the unit and was saved');

  const second = station(args);
  const done = await second.waitFor(/^DONE /);
  await second.exited;
  assert.match(done, /^DONE pass 1 /);
  assert.ok(!second.lines.some((l) => l.startsWith('STEP write ')), 'the image was in place: not written again');

  const rows = unitRows(ServiceLog.inDir(lab.dataDir).verify().entries, 'CRASH');
  assert.deepEqual(
    rows.map((r) => [r.unit, r.ok, r.code ?? '', r.dataEntry]),
    [
      ['ADP-K1', false, 'station.interrupted', 'SN-0001'],
      ['ADP-K1', true, '', 'SN-0001'],
    ],
  );
  const pool = LocalDataPool.open({ entries: parseCsvEntries(readFileSync(csv, 'utf8')), journalPath: join(poolsDir(lab.dataDir), 'sn.csv.journal') });
  try {
    assert.deepEqual(await pool.status(), { total: 3, free: 2, reserved: 0, committed: 1 });
    assert.deepEqual(await pool.assignments(), [{ id: 'SN-0001', unit: 'ADP-K1', state: 'committed' }]);
  } finally {
    await pool.close();
  }
});
