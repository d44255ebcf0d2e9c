// The station's SMP recipe reads a bundle's preconditions as the Offline update does, before the
// first image byte: a unit on a low battery fails with the same error (reading and limit in the
// reason, slot 1 left erased); a unit whose firmware has no statistics group cannot be checked and
// fails too; a unit that meets them is provisioned; one whose new image restarts again and again
// after the station's restart fails as boot-looping when the bundle names the restart counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smpUnitRecipe } from '../../../src/station/recipes/smp-unit.ts';
import { createZephyrSim, type ZephyrDevice } from '../../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { BundleMetadata } from '../../../src/formats/bundle/metadata.ts';
import { GATEWAY, NO_PROTECTION, provisioningMetadata, runOneUnit, smpConnect, smpImagePayload, stationFolder, type Cleanup } from './recipe-fixture.ts';

const key = generateSigningKey();
const running = buildImage({ size: 8000, version: '2.0.0', key });
const image = buildImage({ size: 8000, version: '3.0.0', key });

const BATTERY = { group: 'power', stat: 'battery_mv', min: 3500, label: 'battery', unit: 'mV' };
const metadata = (preconditions: BundleMetadata['preconditions'] = { stats: [BATTERY], slotFits: true }): BundleMetadata =>
  provisioningMetadata(GATEWAY, '3.0.0', [smpImagePayload(image, '3.0.0')], { provisioning: { optionBytes: NO_PROTECTION }, preconditions });

function runUnit(t: Cleanup, dev: ZephyrDevice, md = metadata()) {
  const { dir, log } = stationFolder(t, 'unbrick-pre-');
  const recipe = smpUnitRecipe({ metadata: md, payloads: new Map([['app.bin', image.bytes]]), connect: smpConnect, identity: () => 'ADP-9', restartPollMs: 100 });
  return runOneUnit({ dir, log, recipe, batch: 'B', station: 's1', operator: 'op', parallel: 1 }, dev);
}

const unit = (t: Cleanup, statGroups?: Record<string, Record<string, number | (() => number)>>, o: { newImageBootLoops?: number } = {}) => {
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
