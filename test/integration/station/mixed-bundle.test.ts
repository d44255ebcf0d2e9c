// One signed provisioning bundle with both flash-address payloads (STM32 units) and an MCUboot
// image (SMP units), run by openStationRun on real ptys: each unit is probed and provisioned by
// what it offers; per-unit data goes to a flash address, to application settings or to a file,
// and a unit whose application offers neither fails before any entry is taken.
import { test } from 'node:test';
import { cli } from './station-cli.ts';
import assert from 'node:assert/strict';
import { openStationRun } from '../../../src/station/setup.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { createFactoryUnit, createZephyrSim, hostOnPty, type FactoryUnit, type ZephyrDevice } from '../../../src/sim/zephyr/index.ts';
import { DATA_OFFSET, ptyUnit, readDataBlock } from './stm32-units.ts';
import { mixedLab } from './provisioning-bundle.ts';

test('a mixed ROM + SMP bundle: every unit provisioned by what its port answers, data by settings, file or flash address', { timeout: 150_000 }, async (t) => {
  const { lab, chip, key, image, older, bundle } = await mixedLab();
  t.after(() => lab.cleanup());
  const csv = lab.file('units.csv', 'serial,mac\n' + Array.from({ length: 8 }, (_, i) => `GW-${100 + i},02:00:00:00:01:${String(i).padStart(2, '0')}`).join('\n') + '\n');

  const stm = [ptyUnit('f103', 701, 0, 0.02), ptyUnit('f103', 702, 0, 0.02)];
  const withSettings = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['app'] } });
  const withFiles = createFactoryUnit({ keys: [key.publicPem], flash: 'none', fs: {} });
  const withNeither = createFactoryUnit({ keys: [key.publicPem], flash: 'none' });
  // Already running an older application: the new image goes to slot 1 and MCUboot swaps it in.
  const running = createZephyrSim({ keys: [key.publicPem], flash: 'none', running: older.bytes, settings: { roots: ['app'] } });
  const smpUnits: [string, FactoryUnit | ZephyrDevice][] = [
    ['ADP-S', withSettings],
    ['ADP-F', withFiles],
    ['ADP-N', withNeither],
    ['ADP-Z', running],
  ];
  const hosts = smpUnits.map(([, d]) => hostOnPty(d, { baud: 115200 }));
  t.after(() => {
    stm.forEach((u) => u.close());
    hosts.forEach((h) => h.close());
  });
  const ports = [
    ...stm.map((u, i) => ({ path: u.path, vendorId: '0403', productId: '6001', serialNumber: `FT-${i}` })),
    ...hosts.map((h, i) => ({ path: h.path, vendorId: '1366', productId: '1015', serialNumber: smpUnits[i]![0] })),
  ];

  const run = await openStationRun({
    bundle,
    dataDir: lab.dataDir,
    station: 'line3',
    operator: 'kim',
    ports: 'auto',
    parallel: 6,
    batch: 'MIX',
    data: csv,
    dataAddress: chip.flash.start + DATA_OFFSET,
    dataSetting: 'serial=app/serial,mac=app/mac',
    dataFile: '/lfs1/unit.json',
    pollMs: 200,
    list: async () => ports,
  });
  try {
    await new Promise<void>((resolve) => {
      const check = () => {
        const s = run.station.snapshot();
        if (s.passed + s.failed >= 6 && s.running === 0) resolve();
      };
      run.station.onChange(check);
      check();
    });
    const status = await run.pool!.status();
    const summary = unitRows(ServiceLog.inDir(lab.dataDir).verify().entries, 'MIX').map((r) => `${r.unit} ${r.ok ? 'pass' : `FAIL ${r.code}: ${r.reason}`} [${r.steps?.map((x) => x.name).join(', ')}]`);
    assert.deepEqual(status, { total: 8, free: 3, reserved: 0, committed: 5 }, summary.join('\n'));
  } finally {
    await run.stop();
  }

  const rows = unitRows(ServiceLog.inDir(lab.dataDir).verify().entries, 'MIX');
  const at = (path: string) => rows.find((r) => r.port === path)!;
  const hex = Buffer.from(image.hash).toString('hex');
  const entryFields = (id: string) => ({ serial: id, mac: `02:00:00:00:01:${String(Number(id.slice(3)) - 100).padStart(2, '0')}` });

  for (const u of stm) {
    const r = at(u.path);
    assert.equal(r.ok, true, `${u.path}: ${r.reason}`);
    assert.equal(r.steps?.[0]?.name, 'detect');
    assert.equal(r.chipUid, u.uid);
    assert.equal(readDataBlock(u.sim)?.serial, r.dataEntry, 'the STM32 unit holds its entry at the data address');
    assert.deepEqual([...u.sim.chip.wrp], [0, 1, 2, 3], 'the option-byte policy applies to ROM units');
  }
  const smpRow = (i: number) => at(hosts[i]!.path);
  for (const i of [0, 1, 3]) {
    const r = smpRow(i);
    assert.equal(r.ok, true, `${smpUnits[i]![0]}: ${r.reason}`);
    assert.deepEqual([r.unit, r.hashes?.['gateway.bin']], [smpUnits[i]![0], hex]);
    assert.ok(r.dataEntry);
  }
  // Settings, saved for good: the application's storage holds each field under its key.
  const stored = withSettings.app.settings.stored();
  assert.deepEqual(Object.fromEntries([...stored].map(([k, v]) => [k, Buffer.from(v).toString()])), { 'app/serial': smpRow(0).dataEntry, 'app/mac': entryFields(smpRow(0).dataEntry!).mac });
  // This one's settings group has no handler for the key, but it has a file system: the entry is a file.
  assert.deepEqual(JSON.parse(Buffer.from(withFiles.app.fileSystem!.list().get('/lfs1/unit.json')!).toString()), entryFields(smpRow(1).dataEntry!));
  // The Zephyr unit swapped in the new image and kept its data.
  assert.ok(smpRow(3).steps?.some((s) => s.name === 'confirm gateway.bin'));
  assert.equal(Buffer.from(running.settings.stored().get('app/serial')!).toString(), smpRow(3).dataEntry);
  // Restarted twice (swap, then the data check); the recipe's restart only passes once slot 0 lists the new hash.
  assert.ok(running.stats.resets >= 2);
  assert.equal(running.lastBoot?.bootable, true);

  const none = smpRow(2);
  assert.deepEqual([none.ok, none.code, none.dataEntry], [false, 'station.no-data-channel', undefined]);
  // Zephyr's settings group without a handler for the key (as in the recorded sample), and no file system:
  // the first write is refused, so the entry goes back to the pool.
  assert.match(none.reason, /took none of its per-unit data \(the settings group has no handler that takes "app\/serial"\)/);
  assert.equal(withNeither.runs, 'app', 'its image went in; only the data had nowhere to go');

  const entries = rows.map((r) => r.dataEntry).filter(Boolean);
  assert.equal(entries.length, 5);
  assert.equal(new Set(entries).size, 5, 'no entry used twice');
});


test('unbrick station run with a mixed bundle: an STM32 unit and an MCUboot unit on ptys, each by what it answers; data options checked up front', { timeout: 120_000 }, async (t) => {
  const { lab, key, image, bundle } = await mixedLab();
  t.after(() => lab.cleanup());
  const stm = ptyUnit('f103', 801, 0, 0.02);
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none' });
  const host = hostOnPty(unit, { baud: 115200 });
  t.after(() => {
    stm.close();
    host.close();
  });
  const r = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--ports', `${stm.path},${host.path}`, '--parallel', '2', '--batch', 'CLI-MIX', '--max-units', '2']);
  assert.equal(r.status, 0, `${JSON.stringify(r.json)}\n${r.stderr}`);
  assert.deepEqual([r.json.passed, r.json.failed], [2, 0]);
  assert.equal((r.stderr.match(/PASS/g) ?? []).length, 2);
  const rows = unitRows(ServiceLog.inDir(lab.dataDir).verify().entries, 'CLI-MIX');
  assert.equal(rows.find((x) => x.port === stm.path)?.chipUid, stm.uid);
  assert.deepEqual([...stm.sim.chip.wrp], [0, 1, 2, 3]);
  assert.equal(rows.find((x) => x.port === host.path)?.hashes?.['gateway.bin'], Buffer.from(image.hash).toString('hex'));
  assert.equal(unit.runs, 'app');

  const csv = lab.file('d.csv', 'serial\nA-1\n');
  const noChannel = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--data', csv, '--data-address', '0x0800f000']);
  assert.deepEqual([noChannel.status, noChannel.json.error], [2, 'station.no-data-channel']);
  const noAddress = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--data', csv, '--data-file', '/lfs1/unit.json']);
  assert.deepEqual([noAddress.status, noAddress.json.error], [2, 'station.data-address']);
  const badSetting = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--data', csv, '--data-address', '0x0800f000', '--data-setting', 'serial=']);
  assert.deepEqual([badSetting.status, badSetting.json.error], [2, 'usage.bad-data-setting']);
  const noField = await cli(lab.dataDir, ['station', 'run', '--bundle', bundle, '--data', csv, '--data-address', '0x0800f000', '--data-setting', 'mac=app/mac', '--ports', '/nonexistent']);
  assert.deepEqual([noField.status, noField.json.error], [2, 'station.data-field']);
});
