// Per-unit data on SMP units, in-process: a station stopped after the data reached the unit but
// before the entry was committed re-runs the unit with the same entry (images not written again),
// a firmware that does not store its settings fails the restart check, and a value longer than the
// unit's settings read limit is refused as unverifiable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station, type StationPort } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { smpUnitRecipe } from '../../../src/station/recipes/smp-unit.ts';
import type { SmpDataTarget } from '../../../src/station/recipes/smp-data.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { connectInProcess, createFactoryUnit, type FactoryUnit } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { BundleMetadata } from '../../../src/formats/bundle/metadata.ts';

const key = generateSigningKey();
const image = buildImage({ size: 8000, version: '3.0.0', key });

function metadata(): BundleMetadata {
  return {
    type: 'unbrick.bundle',
    specVersion: 1,
    kind: 'provisioning',
    product: { vendorId: '00000000-0000-0000-0000-000000000001', classId: '00000000-0000-0000-0000-000000000003', name: 'Gateway', hardwareRevisions: ['A'] },
    version: '3.0.0',
    sequence: 1,
    created: '2026-11-01T00:00:00Z',
    expires: '2027-11-01T00:00:00Z',
    releaseNotes: '',
    payloads: [{ name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 0 }, size: image.bytes.length, sha256: '', version: '3.0.0', imageHash: Buffer.from(image.hash).toString('hex') }],
  };
}

function line(t: { after(fn: () => void): void }, data: SmpDataTarget, csv = 'serial,key\nGW-1,00112233\nGW-2,44556677\nGW-3,8899aabb\n') {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-smpdata-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal') });
  t.after(() => void pool.close());
  const log = ServiceLog.inDir(dir);
  const recipe = smpUnitRecipe({
    metadata: metadata(),
    payloads: new Map([['app.bin', image.bytes]]),
    withData: true,
    data,
    connect: async (h) => {
      const link = connectInProcess(h as FactoryUnit, { baud: 0 });
      return { client: new SmpClient(link, { timeoutMs: 500, retries: 2 }), close: () => link.close() };
    },
    identity: () => 'ADP-7',
    restartPollMs: 100,
  });
  const open = () => Station.open({ dir, log, recipe, batch: 'B', station: 's1', operator: 'op', parallel: 1, pool });
  return { dir, pool, log, open };
}

test('stopped after the data reached the unit, before the entry was committed: the re-run gets the same entry, once', { timeout: 60_000 }, async (t) => {
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['dev'] } });
  t.after(() => unit.dispose());
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
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['dev'] } });
  t.after(() => unit.dispose());
  // A settings handler without an export: settings_save() stores nothing for it.
  unit.app.settings.save = () => 0;
  const l = line(t, { settings: [{ field: 'serial', key: 'dev/sn' }] });
  const st = l.open();
  st.updatePorts([{ id: 'p0', handle: unit }]);
  await st.idle();
  await st.stop();
  const [r] = unitRows(l.log.verify().entries, 'B');
  assert.deepEqual([r?.ok, r?.code, r?.dataEntry], [false, 'station.data-not-persisted', 'GW-1']);
  assert.match(r!.reason, /did not survive a restart/);
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 1, committed: 0 });
});

test('a value longer than the unit reads back cannot be verified; raw hex fields fit', { timeout: 60_000 }, async (t) => {
  const long = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['dev'] } });
  t.after(() => long.dispose());
  const l = line(t, { settings: [{ key: 'dev/id' }] });
  const st = l.open();
  st.updatePorts([{ id: 'p0', handle: long }]);
  await st.idle();
  await st.stop();
  const [r] = unitRows(l.log.verify().entries, 'B');
  assert.deepEqual([r?.ok, r?.code], [false, 'station.data-too-long']);
  assert.match(r!.reason, /at most 32/);

  const raw = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { roots: ['dev'] } });
  t.after(() => raw.dispose());
  const l2 = line(t, { settings: [{ key: 'dev/key' }], rawField: 'key' });
  const st2 = l2.open();
  st2.updatePorts([{ id: 'p0', handle: raw }]);
  await st2.idle();
  await st2.stop();
  const [ok] = unitRows(l2.log.verify().entries, 'B');
  assert.equal(ok?.ok, true, ok?.reason);
  assert.deepEqual(raw.app.settings.stored().get('dev/key'), Uint8Array.from([0, 0x11, 0x22, 0x33]));
});

test('a newer Zephyr refusing the key as an unknown root (EUNKNOWN in v1): the entry goes to the file instead', { timeout: 60_000 }, async (t) => {
  const unit = createFactoryUnit({ keys: [key.publicPem], flash: 'none', settings: { unknownRoot: 'root-key-not-found' }, fs: {} });
  t.after(() => unit.dispose());
  const l = line(t, { settings: [{ field: 'serial', key: 'dev/sn' }], file: '/lfs1/unit.json' });
  const st = l.open();
  st.updatePorts([{ id: 'p0', handle: unit }]);
  await st.idle();
  await st.stop();
  const [r] = unitRows(l.log.verify().entries, 'B');
  assert.equal(r?.ok, true, r?.reason);
  assert.match(r!.reason, /per-unit data GW-1 in \/lfs1\/unit.json/);
  assert.deepEqual(JSON.parse(Buffer.from(unit.app.fileSystem!.list().get('/lfs1/unit.json')!).toString()), { serial: 'GW-1', key: '00112233' });
  assert.deepEqual(await l.pool.status(), { total: 3, free: 2, reserved: 0, committed: 1 });
});
