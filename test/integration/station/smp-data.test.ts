// Per-unit data on SMP units, in-process: a station stopped after the data reached the unit but
// before the entry was committed re-runs the unit with the same entry (images not written again),
// a firmware that does not store its settings fails the restart check, and a value longer than the
// unit's settings read limit is refused as unverifiable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Station, type StationPort } from '../../../src/station/station.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { smpUnitRecipe } from '../../../src/station/recipes/smp-unit.ts';
import type { SmpDataTarget } from '../../../src/station/recipes/smp-data.ts';
import { createFactoryUnit } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import { dataPool, GATEWAY, provisioningMetadata, runOneUnit, smpConnect, smpImagePayload, stationFolder, type Cleanup } from './recipe-fixture.ts';

const key = generateSigningKey();
const image = buildImage({ size: 8000, version: '3.0.0', key });

/** A gateway unit whose settings live under `dev/` (or as `settings` says), removed after the test. */
function factoryUnit(t: Cleanup, o: Partial<Parameters<typeof createFactoryUnit>[0]> = {}) {
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['dev'] }, ...o });
  t.after(() => unit.dispose());
  return unit;
}

function line(t: Cleanup, data: SmpDataTarget, csv = 'serial,key\nGW-1,00112233\nGW-2,44556677\nGW-3,8899aabb\n') {
  const { dir, log } = stationFolder(t, 'unbrick-smpdata-');
  const pool = dataPool(t, dir, csv);
  const recipe = smpUnitRecipe({
    metadata: provisioningMetadata(GATEWAY, '3.0.0', [smpImagePayload(image, '3.0.0')]),
    payloads: new Map([['app.bin', image.bytes]]),
    withData: true,
    data,
    connect: smpConnect,
    identity: () => 'ADP-7',
    restartPollMs: 100,
  });
  const options = { dir, log, recipe, batch: 'B', station: 's1', operator: 'op', parallel: 1, pool };
  /** One unit on p0 until done; the batch's records so far. */
  const run = (unit: unknown) => runOneUnit(options, unit);
  return { dir, pool, log, open: () => Station.open(options), run };
}

test('stopped after the data reached the unit, before the entry was committed: the re-run gets the same entry, once', { timeout: 60_000 }, async (t) => {
  const unit = factoryUnit(t);
  const l = line(t, { settings: [{ field: 'serial', key: 'dev/sn' }, { field: 'key', key: 'dev/key' }] });
  const port: StationPort = { id: 'p0', handle: unit };
  const first = l.open();
  const stopped = new Promise<void>((resolve) => {
    const off = first.onChange((s) => {
      if (s.ports.find((p) => p.id === 'p0')?.step !== 'restart (data check)') return;
      off();
      void first.stop().then(resolve);
    });
  });
  first.updatePorts([port]);
  await stopped;
  const [aborted] = unitRows(l.log.verify().entries, 'B');
  assert.deepEqual([aborted?.ok, aborted?.code, aborted?.dataEntry], [false, 'station.stopped', 'GW-1']);
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 1, committed: 0 }, 'written to the unit, not yet counted as used');

  // The operator re-plugs the unit (a port that showed a result waits for a new unit).
  const second = l.open();
  second.updatePorts([]);
  second.updatePorts([port]);
  await second.idle();
  await second.stop();
  const rows = unitRows(l.log.verify().entries, 'B');
  const rerun = rows[1]!;
  assert.equal(rerun.ok, true, rerun.reason);
  assert.equal(rerun.dataEntry, 'GW-1', 'the same entry, not the next one');
  assert.ok(!rerun.steps?.some((s) => s.name.startsWith('write ')), 'the image was already in place');
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 0, committed: 1 });
  assert.deepEqual(Buffer.from(unit.app.settings.stored().get('dev/sn')!).toString(), 'GW-1');
  assert.deepEqual(Buffer.from(unit.app.settings.stored().get('dev/key')!).toString(), '00112233');
});

test('a firmware that does not store its settings fails the restart check; its entry stays with the unit', { timeout: 60_000 }, async (t) => {
  const unit = factoryUnit(t);
  // A settings handler without an export: settings_save() stores nothing for it.
  unit.app.settings.save = () => 0;
  const l = line(t, { settings: [{ field: 'serial', key: 'dev/sn' }] });
  const [r] = await l.run(unit);
  assert.deepEqual([r?.ok, r?.code, r?.dataEntry], [false, 'station.data-not-persisted', 'GW-1']);
  assert.match(r!.reason, /did not survive a restart/);
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 1, committed: 0 });
});

test('a value longer than the unit reads back cannot be verified; raw hex fields fit', { timeout: 60_000 }, async (t) => {
  const long = factoryUnit(t);
  const l = line(t, { settings: [{ key: 'dev/id' }] });
  const [r] = await l.run(long);
  assert.deepEqual([r?.ok, r?.code], [false, 'station.data-too-long']);
  assert.match(r!.reason, /at most 32/);

  const raw = factoryUnit(t);
  const l2 = line(t, { settings: [{ key: 'dev/key' }], rawField: 'key' });
  const [ok] = await l2.run(raw);
  assert.equal(ok?.ok, true, ok?.reason);
  assert.deepEqual(raw.app.settings.stored().get('dev/key'), Uint8Array.from([0, 0x11, 0x22, 0x33]));
});

test('a newer Zephyr refusing the key as an unknown root (EUNKNOWN in v1): the entry goes to the file instead', { timeout: 60_000 }, async (t) => {
  const unit = factoryUnit(t, { settings: { unknownRoot: 'root-key-not-found' }, fs: {} });
  const l = line(t, { settings: [{ field: 'serial', key: 'dev/sn' }], file: '/lfs1/unit.json' });
  const [r] = await l.run(unit);
  assert.equal(r?.ok, true, r?.reason);
  assert.match(r!.reason, /per-unit data GW-1 in \/lfs1\/unit.json/);
  assert.deepEqual(JSON.parse(Buffer.from(unit.app.fileSystem!.list().get('/lfs1/unit.json')!).toString()), { serial: 'GW-1', key: '00112233' });
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 0, committed: 1 });
});
