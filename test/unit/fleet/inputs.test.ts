/**
 * The fleet inputs go through the one schema mechanism: an unknown or
 * misspelt key is refused with its path and the key it most likely meant
 * (the import spec, an ADU import manifest, an AWS OTA job document), and a
 * damaged archive is a typed error, never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusal } from '../../helpers/errors.ts';
import { parseJsonAs } from '../../../src/core/schema.ts';
import { FleetSpecSchema } from '../../../src/app/fleet-import.ts';
import { readAduManifest } from '../../../src/formats/fleet/adu.ts';
import { readAwsJobDocument } from '../../../src/formats/fleet/aws-ota.ts';
import { readMenderArtifact } from '../../../src/formats/fleet/mender.ts';
import { readTar } from '../../../src/formats/fleet/tar.ts';

test('import spec, ADU import manifest and AWS job document refuse a misspelt key, naming the one meant', () => {
  let e = refusal(() => parseJsonAs(FleetSpecSchema, JSON.stringify({ product: {}, hardwre: {} }), { what: 'spec.json', code: 'bundle.spec-invalid' }));
  assert.equal(e.code, 'bundle.spec-invalid');
  e = refusal(() =>
    readAduManifest(
      JSON.stringify({ updateId: { provider: 'A', name: 'B', version: '1' }, compatibility: [{ model: 'x' }], instructions: {}, manifestVersion: '5.0', createdDateTime: '2026-12-01T00:00:00Z', isDeployble: true }),
    ),
  );
  assert.equal(e.code, 'fleet.adu.invalid');
  assert.equal(e.details?.suggestion, 'isDeployable');
  e = refusal(() => readAwsJobDocument(JSON.stringify({ afr_ota: { files: [{ filepath: '/a', filesize: 1, fileid: 0, certfile: 'c', 'sig-sha256-ecdsa': 'MEUCIQDabcdefghij', fileSize: 1 }] } })));
  assert.equal(e.code, 'fleet.aws.invalid');
  assert.equal(e.details?.suggestion, 'afr_ota.files[0].filesize');
  assert.equal(refusal(() => readAduManifest(JSON.stringify({ manifestVersion: '4.0' }))).code, 'fleet.adu.invalid');
});

test('damaged tar archives and non-artifacts are typed refusals', () => {
  const block = new Uint8Array(512);
  block.set(new TextEncoder().encode('version'), 0);
  block.set(new TextEncoder().encode('0000777\0'), 124); // size field that is not a valid count for this archive
  block.set(new TextEncoder().encode('9999999\0'), 148); // wrong checksum
  assert.equal(refusal(() => readTar(block, { what: 'x', code: 'fleet.mender.invalid' })).code, 'fleet.mender.invalid');
  assert.equal(refusal(() => readMenderArtifact(new Uint8Array(0), { keys: [] })).code, 'fleet.mender.invalid');
  assert.equal(refusal(() => readMenderArtifact(new Uint8Array(1024), { keys: [] })).code, 'fleet.mender.invalid', 'an empty tar has no version entry');
  const random = new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff);
  assert.equal(refusal(() => readMenderArtifact(random, { keys: [] })).code, 'fleet.mender.invalid');
});
