// `unbrick station run|report|approve` end to end: a signed provisioning bundle, two simulated
// STM32 units on real pseudo-terminals, the CLI in a child process opening them with serialport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvRows } from '../../../src/station/data-source.ts';
import { CSV_COLUMNS } from '../../../src/station/batch-report.ts';
import { provisioningLab } from './provisioning-bundle.ts';
import { DATA_OFFSET, ptyUnit, readDataBlock } from './stm32-units.ts';
import { cli } from './station-cli.ts';


test('station run provisions two units on ptys from a signed bundle; report and control commands', { timeout: 120_000 }, async (t) => {
  const { lab, chip, bundle, boot } = await provisioningLab();
  t.after(() => lab.cleanup());
  const csv = lab.file('serials.csv', 'serial,mac\nAS-0001,02:00:00:00:00:01\nAS-0002,02:00:00:00:00:02\nAS-0003,02:00:00:00:00:03\n');
  const units = [ptyUnit('f103', 501, 0, 0.02), ptyUnit('f103', 502, 0, 0.02)];
  t.after(() => units.forEach((u) => u.close()));

  const r = await cli(lab.dataDir, [
    'station',
    'run',
    '--bundle',
    bundle,
    '--ports',
    units.map((u) => u.path).join(','),
    '--parallel',
    '2',
    '--data',
    csv,
    '--data-address',
    String(chip.flash.start + DATA_OFFSET),
    '--batch',
    'B1',
    '--station',
    'line1-st1',
    '--operator',
    'ana',
    '--max-units',
    '2',
  ]);
  assert.equal(r.status, 0, `${JSON.stringify(r.json)}\n${r.stderr}`);
  assert.deepEqual([r.json.passed, r.json.failed, r.json.mode], [2, 0, 'running']);
  assert.deepEqual(r.json.pool, { total: 3, free: 1, reserved: 0, committed: 2 });
  assert.match(r.stderr, /PASS/);
  const serials = units.map((u) => readDataBlock(u.sim)?.serial).sort();
  assert.deepEqual(serials, ['AS-0001', 'AS-0002']);
  for (const u of units) {
    assert.deepEqual(u.sim.chip.flash.read(0, boot.length), boot);
    assert.deepEqual([...u.sim.chip.wrp], [0, 1, 2, 3]);
  }

  const out = join(lab.dir, 'report.csv');
  const rep = await cli(lab.dataDir, ['station', 'report', '--batch', 'B1', '--format', 'csv', '--out', out]);
  assert.equal(rep.status, 0, JSON.stringify(rep.json));
  const rows = parseCsvRows(readFileSync(out, 'utf8'));
  assert.equal(rows.length, 3);
  const col = (row: number, name: (typeof CSV_COLUMNS)[number]) => rows[row]!.cells[CSV_COLUMNS.indexOf(name)];
  assert.deepEqual([1, 2].map((i) => [col(i, 'result'), col(i, 'station'), col(i, 'operator'), col(i, 'chip')]), [
    ['pass', 'line1-st1', 'ana', chip.name],
    ['pass', 'line1-st1', 'ana', chip.name],
  ]);
  assert.deepEqual([1, 2].map((i) => col(i, 'chip_uid')).sort(), units.map((u) => u.uid).sort());

  // A new batch with the same list carries on with the next entry: none is issued twice across batches.
  const u3 = ptyUnit('f103', 503, 0, 0.02);
  t.after(() => u3.close());
  const next = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--ports', u3.path, '--data', csv, '--data-address', String(chip.flash.start + DATA_OFFSET), '--batch', 'B2', '--max-units', '1']);
  assert.equal(next.status, 0, `${JSON.stringify(next.json)}\n${next.stderr}`);
  assert.equal(readDataBlock(u3.sim)?.serial, 'AS-0003');
  assert.deepEqual(next.json.pool, { total: 3, free: 0, reserved: 0, committed: 3 });

  const ok = await cli(lab.dataDir, ['station', 'approve', '--batch', 'B1']);
  assert.equal(ok.status, 0);
  const none = await cli(lab.dataDir, ['station', 'resume', '--batch', 'nope']);
  assert.deepEqual([none.status, none.json.error], [2, 'station.no-batch']);
  const bad = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--data', csv]);
  assert.deepEqual([bad.status, bad.json.error], [2, 'station.data-address']);
  writeFileSync(join(lab.dir, 'junk.ubundle'), 'not a zip');
  const junk = await cli(lab.dataDir, ['station', 'run', '--bundle', join(lab.dir, 'junk.ubundle')]);
  assert.equal(junk.status, 2, JSON.stringify(junk.json));
});

test('a running station pauses after its pilot lot and continues when `station approve` is run from another terminal', { timeout: 120_000 }, async (t) => {
  const { lab, bundle } = await provisioningLab();
  t.after(() => lab.cleanup());
  const units = [ptyUnit('f103', 601, 0, 0.02), ptyUnit('f103', 602, 0, 0.02)];
  t.after(() => units.forEach((u) => u.close()));
  let approved: Promise<unknown> | undefined;
  const r = await cli(
    lab.dataDir,
    ['station', 'run', '--bundle', bundle, '--ports', units.map((u) => u.path).join(','), '--parallel', '1', '--pilot', '1', '--batch', 'P1', '--max-units', '2'],
    (err) => {
      if (!approved && /LINE PAUSED: Pilot lot/.test(err)) approved = cli(lab.dataDir, ['station', 'approve', '--batch', 'P1']);
    },
  );
  assert.ok(approved, 'the line paused after its pilot lot');
  assert.equal(((await approved) as { status: number }).status, 0);
  assert.equal(r.status, 0, `${JSON.stringify(r.json)}\n${r.stderr}`);
  assert.deepEqual([r.json.passed, r.json.mode], [2, 'running']);
  assert.match(r.stderr, /LINE PAUSED: Pilot lot[\s\S]*LINE RUNNING/);
});

test('the bundle signs where per-unit data goes: no option needed, and a contradicting one is refused', { timeout: 120_000 }, async (t) => {
  const { lab, chip, bundle } = await provisioningLab('f103', { data: (c) => ({ address: c.flash.start + DATA_OFFSET }) });
  t.after(() => lab.cleanup());
  const csv = join(lab.dir, 'serials.csv');
  writeFileSync(csv, 'serial\nBD-0001\n');
  const u = ptyUnit('f103', 701, 0, 0.02);
  t.after(() => u.close());
  const clash = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--ports', u.path, '--data', csv, '--data-address', String(chip.flash.start + DATA_OFFSET + 0x1000)]);
  assert.deepEqual([clash.status, clash.json.error], [2, 'station.data-conflict']);
  const r = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--ports', u.path, '--data', csv, '--batch', 'SIGNED', '--max-units', '1']);
  assert.equal(r.status, 0, `${JSON.stringify(r.json)}\n${r.stderr}`);
  assert.equal(readDataBlock(u.sim)?.serial, 'BD-0001');
});
