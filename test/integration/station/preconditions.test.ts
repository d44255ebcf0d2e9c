// The station's SMP recipe reads a bundle's preconditions as the Offline update does, before the
// first image byte: a unit on a low battery fails with the same error (reading and limit in the
// reason, slot 1 left erased); a unit whose firmware has no statistics group cannot be checked and
// fails too; a unit that meets them is provisioned; one whose new image restarts again and again
// after the station's restart fails as boot-looping when the bundle names the restart counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station } from '../../../src/station/station.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { smpUnitRecipe } from '../../../src/station/recipes/smp-unit.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { connectInProcess, createZephyrSim, type ZephyrDevice } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { BundleMetadata } from '../../../src/formats/bundle/metadata.ts';

const key = generateSigningKey();
const running = buildImage({ size: 8000, version: '2.0.0', key });
const image = buildImage({ size: 8000, version: '3.0.0', key });

const BATTERY = { group: 'power', stat: 'battery_mv', min: 3500, label: 'battery', unit: 'mV' };
const metadata = (preconditions: BundleMetadata['preconditions'] = { stats: [BATTERY], slotFits: true }): BundleMetadata => ({
  type: 'unbrick.bundle',
  specVersion: 1,
  kind: 'provisioning',
  product: { vendorId: '00000000-0000-0000-0000-000000000001', classId: '00000000-0000-0000-0000-000000000003', name: 'Gateway', hardwareRevisions: ['A'] },
  version: '3.0.0',
  sequence: 1,
  created: '2026-11-01T00:00:00Z',
  expires: '2027-11-01T00:00:00Z',
  releaseNotes: '',
  provisioning: { optionBytes: { rdpLevel: 0, wrp: [] } },
  payloads: [{ name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 0 }, size: image.bytes.length, sha256: '', version: '3.0.0', imageHash: Buffer.from(image.hash).toString('hex') }],
  preconditions,
});

async function runUnit(t: { after(fn: () => void): void }, dev: ZephyrDevice, md = metadata()) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-pre-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = ServiceLog.inDir(dir);
  const recipe = smpUnitRecipe({
    metadata: md,
    payloads: new Map([['app.bin', image.bytes]]),
    connect: async (h) => {
      const link = connectInProcess(h as ZephyrDevice, { baud: 0 });
      return { client: new SmpClient(link, { timeoutMs: 500, retries: 2 }), close: () => link.close() };
    },
    identity: () => 'ADP-9',
    restartPollMs: 100,
  });
  const st = Station.open({ dir, log, recipe, batch: 'B', station: 's1', operator: 'op', parallel: 1 });
  st.updatePorts([{ id: 'p0', handle: dev }]);
  await st.idle();
  await st.stop();
  return unitRows(log.verify().entries, 'B');
}

const unit = (t: { after(fn: () => void): void }, statGroups?: Record<string, Record<string, number | (() => number)>>, o: { newImageBootLoops?: number } = {}) => {
  const dev = createZephyrSim({ keys: [key.publicPem], flash: 'none', running: running.bytes, slotInfo: true, ...(statGroups ? { statGroups } : {}), ...o });
  t.after(() => dev.dispose());
  return dev;
};

test('station: a unit on a low battery fails the preconditions before any byte is written, with the same error as the update', { timeout: 60_000 }, async (t) => {
  const dev = unit(t, { power: { battery_mv: 3200 } });
  const [r] = await runUnit(t, dev);
  assert.equal(r?.ok, false);
  assert.equal(r?.code, 'update.precondition-failed');
  assert.match(r!.reason, /battery \(power\/battery_mv\) reads 3200 mV; it must be at least 3500 mV/);
  assert.ok(!r!.steps?.some((s) => s.name.startsWith('write ')), 'nothing was written');
  assert.equal(dev.flash.isErased(dev.slots.secondary.offset, dev.slots.secondary.size), true);
});

test('station: a unit whose firmware has no such statistics group cannot be checked, and fails', { timeout: 60_000 }, async (t) => {
  const [r] = await runUnit(t, unit(t));
  assert.deepEqual([r?.ok, r?.code], [false, 'update.precondition-unreadable']);
  assert.match(r!.reason, /no statistics group "power"/);
});

test('station: a unit that meets the preconditions is provisioned', { timeout: 60_000 }, async (t) => {
  const [r] = await runUnit(t, unit(t, { power: { battery_mv: 3900 } }));
  assert.equal(r?.ok, true, r?.reason);
  assert.ok(r!.steps?.some((s) => s.name === 'preconditions'));
});

test('station: a unit whose new image restarts again and again after the restart fails as boot-looping', { timeout: 60_000 }, async (t) => {
  let resets = () => 0;
  const dev = unit(t, { power: { battery_mv: 3900 }, boot: { reset_count: () => resets() } }, { newImageBootLoops: 5 });
  resets = () => dev.stats.resets;
  const [r] = await runUnit(t, dev, metadata({ stats: [BATTERY], restarts: { group: 'boot', stat: 'reset_count' } }));
  assert.deepEqual([r?.ok, r?.code], [false, 'update.boot-loop']);
  assert.match(r!.reason, /boot-looping: it restarted 6 times after the station restarted it once into app\.bin 3\.0\.0/);
});
