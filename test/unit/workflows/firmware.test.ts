/**
 * Which verified bundle a workflow writes: the named one, else the newest of
 * the unit's product; a question when several products fit; refusals for the
 * wrong chip, slot or library; a library file changed after import is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleLibrary, libraryDir } from '../../../src/trust/library.ts';
import { goldenForSmp, goldenForStm32, updateForSmp } from '../../../src/workflows/firmware.ts';
import { CLASS_ID, inTrustedLab, makeBundle, VENDOR_ID, vectorImage, vectorKeyPath } from '../bundle/fixture.ts';
import { hasCode as code } from '../../helpers/errors.ts';

const OTHER_CLASS = '0a1b2c3d-4e5f-5a6b-8c7d-000000000009';
const smpPayload = (slot: number) => [{ file: vectorImage('ed25519_basic'), name: 'app.bin', role: 'mcuboot-image' as const, target: { kind: 'smp' as const, image: 0, slot }, imageKey: vectorKeyPath('ed25519-a') }];

test('firmware source: newest of the unit product, a question across products, refusals with reasons', inTrustedLab(async (lab, v) => {
  const key = [v.releaseKeys[0]!];
  const golden = new BundleLibrary('golden', { dir: lab.dataDir });
  const gateway = { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Gateway', hardwareRevisions: ['B'], mcuProductId: 0x413 };
  const sensor = { ...gateway, classId: OTHER_CLASS, name: 'Acme Sensor', mcuProductId: 0x410 };
  const g1 = await golden.import(await makeBundle(lab, 'g1.ubundle', key, { kind: 'golden', product: gateway, version: '1.0.0', sequence: 1, payloads: smpPayload(0) }));
  const g2 = await golden.import(await makeBundle(lab, 'g2.ubundle', key, { kind: 'golden', product: gateway, version: '1.1.0', sequence: 2, payloads: smpPayload(0) }));
  const src = { dir: lab.dataDir, product: { vendorId: VENDOR_ID, classId: CLASS_ID } };

  const newest = await goldenForSmp(src);
  assert.equal(newest.origin.bundleId, g2.entry.id, 'the highest sequence');
  assert.equal(newest.slot, 0);
  assert.equal((await goldenForSmp(src, g1.entry.id.slice(0, 10))).origin.version, '1.0.0', 'a named entry wins');

  await golden.import(await makeBundle(lab, 's1.ubundle', key, { kind: 'golden', product: sensor, version: '3.0.0', sequence: 1, payloads: smpPayload(0) }));
  await assert.rejects(goldenForSmp({ dir: lab.dataDir }), (e: Error & { code?: string; details?: { choices?: unknown[] } }) => {
    assert.equal(e.code, 'firmware.choose');
    assert.equal(e.details?.choices?.length, 3);
    return true;
  });
  await assert.rejects(goldenForSmp(src, (await golden.entries()).find((e) => e.product.name === 'Acme Sensor')!.id), code('firmware.wrong-product'));
  // No flash regions in these bundles: nothing a full unbrick could write, for any chip.
  await assert.rejects(goldenForStm32(src, 0x413), code('firmware.none'));
  // An update goes to slot 1 and comes from the update library only.
  await assert.rejects(updateForSmp(src), code('firmware.none'));
  const updates = new BundleLibrary('update', { dir: lab.dataDir });
  const u0 = await updates.import(await makeBundle(lab, 'u0.ubundle', key, { product: gateway, sequence: 5, payloads: smpPayload(0) }));
  await assert.rejects(updateForSmp(src, u0.entry.id), code('firmware.wrong-slot'));

  // A library file changed after import is never written.
  appendFileSync(join(libraryDir('golden', lab.dataDir), g2.entry.file), 'x');
  await assert.rejects(goldenForSmp(src), code('golden.file-modified'));
}));

test('firmware source: a golden set for a full unbrick needs the chip it was made for and one bootloader region', inTrustedLab(async (lab, v) => {
  const key = [v.releaseKeys[0]!];
  const boot = lab.file('boot.bin', new Uint8Array(2048).fill(0x11));
  const product = { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Gateway', hardwareRevisions: ['B'], mcuProductId: 0x413 };
  const golden = new BundleLibrary('golden', { dir: lab.dataDir });
  await golden.import(
    await makeBundle(lab, 'g.ubundle', key, {
      kind: 'golden',
      product,
      payloads: [
        { file: boot, name: 'boot.bin', role: 'bootloader', target: { kind: 'address', address: 0x0800_0000 }, version: '2.0.0' },
        { file: vectorImage('ed25519_basic'), name: 'app-slot0.bin', role: 'stm32-region', target: { kind: 'address', address: 0x0802_0000 } },
      ],
    }),
  );
  const src = { dir: lab.dataDir };
  await assert.rejects(goldenForStm32(src, 0x410), code('firmware.none'), 'another chip');
  const set = await goldenForStm32(src, 0x413);
  assert.deepEqual(
    set.regions.map((r) => [r.name, r.address, r.role]),
    [
      ['boot.bin', 0x0800_0000, 'bootloader'],
      ['app-slot0.bin', 0x0802_0000, 'stm32-region'],
    ],
  );
  assert.equal(set.bootloader.name, 'boot.bin');
  assert.match(set.regions[1]!.imageHash ?? '', /^[0-9a-f]{64}$/, 'an MCUboot image region carries its image hash (what the unit lists once it runs)');
  assert.equal(set.regions[0]!.imageHash, undefined);
}));
