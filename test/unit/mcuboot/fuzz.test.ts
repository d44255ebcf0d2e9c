/**
 * Property test: random mutations and truncations of valid images only ever give a
 * verdict (verifyImage never throws) or a typed UnbrickError (parseImage), and
 * never hang. A mutated image is never reported valid unless its covered bytes and
 * signature survived (checked against the original's hash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnbrickError } from '../../../src/core/errors.ts';
import { decodeImage, parseImage, verifyImage } from '../../../src/formats/mcuboot/index.ts';
import { imageBytes, manifest, vectorKey, type ManifestImage } from './vectors.ts';
import { mutate, prng } from './mutate.ts';

const SOURCES = ['ecdsa-p256_seccnt-auto_dep', 'ed25519_pure', 'rsa-2048_basic', 'ecdsa-p384_seccnt_pad_confirm', 'ed25519_enc-x25519', 'ed25519_custom-tlvs'];

test('mutated and truncated images only give typed results', () => {
  const started = Date.now();
  let valid = 0;
  let total = 0;
  for (const [si, id] of SOURCES.entries()) {
    const im = manifest.images.find((x: ManifestImage) => x.id === id);
    const src = imageBytes(im);
    const keys = [vectorKey(im.signed_with, 'public')];
    const encKey = im.encrypted_for ? vectorKey(im.encrypted_for, 'private') : undefined;
    const tlvStart = im.decoded.layout.tlv_area_offset;
    const rnd = prng(0x5eed + si);
    for (let i = 0; i < 500; i++) {
      const m = mutate(src, rnd, tlvStart);
      total++;
      const r = verifyImage(m, { keys, encKey });
      assert.equal(typeof r.valid, 'boolean');
      if (r.valid) {
        valid++;
        // Still valid means the signed part is intact: same covered bytes as the original.
        const end = decodeImage(m).image!.hashedRegion.end;
        assert.equal(Buffer.compare(Buffer.from(m.subarray(0, end)), Buffer.from(src.subarray(0, end))), 0, `${id} #${i} valid after change inside the signed region`);
      } else assert.match(r.code ?? '', /^(mcuboot|keys)\./, `${id} #${i}: ${r.code}`);
      try {
        parseImage(m);
      } catch (e) {
        assert.ok(e instanceof UnbrickError, `${id} #${i}: untyped ${String(e)}`);
        assert.equal(e.kind, 'input');
      }
    }
  }
  assert.equal(total, SOURCES.length * 500);
  assert.ok(valid < total / 2, 'most mutations are caught');
  assert.ok(Date.now() - started < 60_000, 'no hang');
});
