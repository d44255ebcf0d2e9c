// The station orchestrator over simulated STM32 units (four chip families, in-process), with
// faults on some ports: good units pass with their own per-unit data written to flash; faulty ones
// are recorded failed with their reason; the pilot pause and the failure-rate stop trigger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { batchReport } from '../../../src/station/batch-report.ts';
import { deadPort, inProcessUnit, readDataBlock, simPort, stm32TestRecipe, testImage, type SimUnitHandle } from './stm32-units.ts';

const CHIPS = ['f103', 'f405', 'l476', 'g071'];

test('8 simulated STM32 units in parallel with faults; pilot pause; failure-rate stop', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-line-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = 'serial,secret\n' + Array.from({ length: 40 }, (_, i) => `SN-${String(i).padStart(4, '0')},${(0x5eed + i * 31).toString(16)}\n`).join('');
  const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal'), station: 'line1' });
  t.after(() => void pool.close());
  const log = ServiceLog.inDir(dir);
  const units: SimUnitHandle[] = [];
  t.after(() => units.forEach((u) => u.close()));
  const add = (u: SimUnitHandle) => (units.push(u), u);

  const good = [0, 1, 2, 3, 4].map((i) => add(inProcessUnit(CHIPS[i % 4]!, 100 + i)));
  const cableCut = add(inProcessUnit('f405', 105, { disconnectAfter: 3000 })); // dies during the write
  const pulled = add(inProcessUnit('l476', 106)); // unplugged by the operator mid-run
  const dead = deadPort(); // nothing answers on this port
  const ports = [...good, cableCut, pulled].map((u, i) => simPort(`p${i}`, u));
  ports.push(simPort('p7', dead));

  const st = Station.open({
    dir,
    log,
    recipe: stm32TestRecipe(testImage(12 * 1024)),
    batch: 'B-sim',
    station: 'line1',
    operator: 'op@line1',
    parallel: 8,
    pool,
    policy: { pilot: 8, window: 6, threshold: 0.34, portFaultLimit: 2 },
  });
  st.updatePorts(ports);
  assert.equal(st.snapshot().running, 8, 'all eight run at once');
  // Pull one unit once it is writing.
  const deadline = Date.now() + 30_000;
  while (st.snapshot().ports.find((p) => p.id === 'p6')?.step !== 'write') {
    assert.ok(Date.now() < deadline, 'p6 never reached the write step');
    await new Promise((r) => setTimeout(r, 2));
  }
  pulled.link?.cut?.();
  st.updatePorts(ports.filter((p) => p.id !== 'p6'));
  await st.idle();

  const rows = unitRows(log.verify().entries, 'B-sim');
  const byPort = new Map(rows.map((r) => [r.port, r]));
  for (const [i, u] of good.entries()) {
    const r = byPort.get(`p${i}`)!;
    assert.equal(r.ok, true, `${r.port}: ${r.reason}`);
    assert.equal(r.chipUid, u.uid);
    assert.equal(r.target, 'stm32');
    assert.ok(r.chip && r.versions?.bootloader && r.hashes?.['app.bin'] && r.optionBytes?.rdp === 'level 0');
    assert.deepEqual(
      r.steps?.map((s) => s.name),
      ['open', 'identify', 'read uid', 'write', 'verify', 'per-unit data', 'final check'],
    );
    // What is in the unit's flash is the entry the record names.
    assert.equal(readDataBlock(u.sim)?.serial, r.dataEntry);
  }
  const cut = byPort.get('p5')!;
  assert.equal(cut.ok, false);
  assert.equal(cut.chipUid, cableCut.uid, 'identified before the cable died');
  assert.ok(cut.code && cut.reason.length > 10, JSON.stringify(cut));
  const pulledRow = byPort.get('p6')!;
  assert.deepEqual([pulledRow.ok, pulledRow.code], [false, 'station.unplugged']);
  const deadRow = byPort.get('p7')!;
  assert.equal(deadRow.ok, false);
  assert.match(deadRow.unit, /^port:p7@\d{4}-/, 'an unidentified unit is named by its port and start time');
  assert.match(deadRow.code!, /^stm32\./);

  const entries = rows.filter((r) => r.dataEntry).map((r) => r.dataEntry);
  assert.equal(new Set(entries).size, entries.length, 'no per-unit entry used twice');
  assert.equal((await pool.status()).committed, 5);

  // The pilot lot of 8 triggered: nothing new starts until someone approves.
  assert.equal(st.snapshot().mode, 'pilot-review');
  const extra = add(inProcessUnit('g071', 120));
  st.updatePorts([...ports.filter((p) => p.id !== 'p6'), simPort('p8', extra)]);
  await st.idle();
  assert.equal(st.snapshot().ports.find((p) => p.id === 'p8')!.state, 'idle');
  st.approvePilot();
  await st.idle();
  assert.equal(unitRows(log.verify().entries, 'B-sim').find((r) => r.port === 'p8')?.ok, true);

  // A run of units whose cables fail: the line stops itself and says why.
  const broken = [0, 1, 2].map((i) => add(inProcessUnit(CHIPS[i]!, 130 + i, { disconnectAfter: 3000 })));
  st.updatePorts(broken.map((u, i) => simPort(`q${i}`, u)));
  await st.idle();
  const snap = st.snapshot();
  assert.equal(snap.mode, 'stopped');
  // 3 or 4 of the last 6 (the earlier cable cut may still be in the window, depending on finishing order).
  assert.match(snap.reason!, /^Line stopped: [34] of the last 6 units failed \((50|67)%, limit 34%\)\. Most frequent: stm32\.[a-z-]+ \([34]\)/);
  const brokenRows = unitRows(log.verify().entries, 'B-sim').filter((r) => r.port.startsWith('q'));
  assert.deepEqual(
    brokenRows.map((r) => [r.ok, !!r.chipUid]),
    [
      [false, true],
      [false, true],
      [false, true],
    ],
  );
  const late = add(inProcessUnit('f103', 140));
  st.updatePorts([simPort('q9', late)]);
  await st.idle();
  assert.equal(st.snapshot().ports.find((p) => p.id === 'q9')!.state, 'idle', 'a stopped line starts nothing');

  const report = batchReport(log.verify(), log.path, { batch: 'B-sim' });
  assert.deepEqual(report.totals, { units: 12, passed: 6, failed: 6, attempts: 12, passedOnRerun: 0 });
  assert.equal(report.log.intact, true);
});
