/** The per-unit data destination: the bundle's signed one wins; a contradicting option is refused, a missing one filled in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBundleData } from '../../../src/station/setup.ts';
import type { BundleMetadata } from '../../../src/formats/bundle/metadata.ts';

const md = (data?: NonNullable<BundleMetadata['provisioning']>['data']) =>
  ({ kind: 'provisioning', payloads: [], provisioning: { optionBytes: { rdpLevel: 0, wrp: [] }, ...(data ? { data } : {}) } }) as unknown as BundleMetadata;

test('per-unit data destination: the signed one fills in and wins; a contradicting option is refused', () => {
  assert.deepEqual(withBundleData(md(), { data: 'x.csv', dataAddress: 0x0800f000 }), { data: 'x.csv', dataAddress: 0x0800f000 }, 'no signed destination: the options decide');
  assert.deepEqual(withBundleData(md({ address: 0x0800f000, setting: 'app/serial' }), { data: 'x.csv' }), { data: 'x.csv', dataAddress: 0x0800f000, dataSetting: 'app/serial' });
  assert.deepEqual(withBundleData(md({ address: 0x0800f000 }), { data: 'x.csv', dataAddress: 0x0800f000 }), { data: 'x.csv', dataAddress: 0x0800f000 }, 'the same value twice is fine');
  assert.throws(
    () => withBundleData(md({ address: 0x0800f000 }), { data: 'x.csv', dataAddress: 0x0801f000 }),
    (e: Error & { code?: string }) => e.code === 'station.data-conflict' && /address 0x800f000; --data-address says otherwise/.test(e.message),
  );
  assert.throws(() => withBundleData(md({ file: '/lfs1/a.json' }), { dataFile: '/lfs1/b.json' }), (e: Error & { code?: string }) => e.code === 'station.data-conflict');
});
