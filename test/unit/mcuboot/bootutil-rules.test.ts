/**
 * Corner rules of bootutil_img_validate / bootutil_find_key that imgtool never produces
 * but a bootloader-exact verifier must follow (images rebuilt by hand from a vector).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes } from '../../../src/core/bytes.ts';
import { parseImage, verifyImage } from '../../../src/formats/mcuboot/index.ts';
import { imageBytes, manifest, vectorKey, type ManifestImage } from './vectors.ts';

const base = imageBytes(manifest.images.find((x: ManifestImage) => x.id === 'ed25519_basic'));
const key = vectorKey('ed25519-a', 'public');
const img = parseImage(base);
const byType = (type: number) => img.tlvArea.tlvs.find((t) => t.type === type)!.value;

function tlv(type: number, value: Uint8Array): Uint8Array {
  return Uint8Array.of(type & 0xff, type >> 8, value.length & 0xff, value.length >> 8, ...value);
}
/** The vector with its unprotected TLV area replaced. */
function withTlvs(...entries: Uint8Array[]): Uint8Array {
  const body = concatBytes(...entries);
  const tot = body.length + 4;
  return concatBytes(base.subarray(0, img.tlvArea.offset), Uint8Array.of(0x07, 0x69, tot & 0xff, tot >> 8), body);
}

test('the rebuilt original is still valid (the helper is sound)', () => {
  const same = withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, byType(0x01)), tlv(0x24, byType(0x24)));
  assert.deepEqual(same, base);
});

test('every hash TLV of the image hash type must match, not only the first', () => {
  const wrong = byType(0x10).slice();
  wrong[0]! ^= 1;
  const r = verifyImage(withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, byType(0x01)), tlv(0x24, byType(0x24)), tlv(0x10, wrong)), { keys: [key] });
  assert.equal(r.code, 'mcuboot.hash-mismatch');
});

test('KEYHASH: longer than the digest aborts; a prefix matches like bootutil_find_key', () => {
  const long = withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, Uint8Array.of(...byType(0x01), 0)), tlv(0x24, byType(0x24)));
  assert.equal(verifyImage(long, { keys: [key] }).code, 'mcuboot.bad-keyhash-length');
  const short = withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, byType(0x01).subarray(0, 4)), tlv(0x24, byType(0x24)));
  const r = verifyImage(short, { keys: [key] });
  assert.equal(r.valid, true);
  assert.match(r.warnings.join(' '), /prefix/);
  assert.equal(verifyImage(short, { keys: [vectorKey('ed25519-b', 'public')] }).code, 'mcuboot.key-not-found');
});

test('a signature TLV of the wrong length for the key aborts validation', () => {
  const r = verifyImage(withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, byType(0x01)), tlv(0x24, byType(0x24).subarray(0, 63))), { keys: [key] });
  assert.equal(r.code, 'mcuboot.bad-signature-length');
});

test('a later signature block can carry the valid signature (multiple signatures)', () => {
  const other = vectorKey('ed25519-b', 'public');
  const bogus = new Uint8Array(64).fill(3);
  const twoBlocks = withTlvs(tlv(0x10, byType(0x10)), tlv(0x01, byType(0x01)), tlv(0x24, bogus), tlv(0x01, byType(0x01)), tlv(0x24, byType(0x24)));
  const r = verifyImage(twoBlocks, { keys: [other, key] });
  assert.equal(r.valid, true);
  assert.equal(r.signature?.keyIndex, 1);
});
