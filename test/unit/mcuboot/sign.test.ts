/**
 * Signing: every vector imgtool produced is reproduced from its payload with the
 * same key and options. Deterministic schemes (Ed25519, unsigned) must match
 * byte for byte; ECDSA and RSA-PSS (random nonce/salt) must match in everything
 * but the signature bytes. Every image we sign passes the bootloader-exact verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../../src/core/bytes.ts';
import { codeOf as code } from '../../helpers/errors.ts';
import { generateKey, KEY_TYPES, publicOnly } from '../../../src/crypto/keys.ts';
import { writeIntelHex } from '../../../src/formats/ihex.ts';
import { parseImage, signImage, verifyImage } from '../../../src/formats/mcuboot/index.ts';
import { imageBytes, manifest, readVector, signOptionsFromImgtool, vectorKey, type ManifestImage } from './vectors.ts';

const signable = manifest.images.filter(
  (im: ManifestImage) => im.imgtool_argv && !im.imgtool_argv.includes('--compression') && !im.imgtool_argv.includes('big'),
);

test('the signable vectors cover every supported key type and option', () => {
  const ids = signable.map((x: ManifestImage) => x.id);
  assert.ok(ids.length >= 35, `${ids.length}`);
  for (const t of ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'unsigned']) assert.ok(ids.some((i: string) => i.startsWith(t)), t);
});

for (const im of signable) {
  test(`sign reproduces imgtool: ${im.id}`, () => {
    const { opts, payload, hexAddress } = signOptionsFromImgtool(im.imgtool_argv);
    const ours = signImage(readVector(payload), opts);
    const ref = imageBytes(im);
    if (hexAddress !== undefined) {
      // imgtool -x: Intel HEX at that address; base address minus nothing since the header is padded in.
      const text = writeIntelHex({ segments: [{ address: hexAddress, data: ours }] });
      assert.equal(text, Buffer.from(readVector(im.file)).toString('latin1'), 'Intel HEX output byte-exact');
    }
    const encKey = im.encrypted_for ? vectorKey(im.encrypted_for, 'private') : undefined;
    const verdict = verifyImage(ours, { keys: opts.key ? [publicOnly(opts.key)] : [], encKey });
    assert.equal(verdict.valid, true, `${verdict.code}: ${verdict.reason}`);
    if (im.encrypted_for) {
      // Random AES key and ECIES ephemeral key: compare what is deterministic.
      const a = parseImage(ours);
      const b = parseImage(ref);
      assert.deepEqual(a.header, b.header);
      assert.equal(toHex(a.hashTlv!.value), toHex(b.hashTlv!.value), 'same plaintext hash');
      const sigLen = (t: { type: number; length: number }) => ([0x20, 0x22, 0x23].includes(t.type) ? 'sig' : t.length);
      assert.deepEqual(a.tlvs.map((t) => [t.type, sigLen(t)]), b.tlvs.map((t) => [t.type, sigLen(t)]));
      assert.equal(verdict.encryption?.payload, opts.clear ? 'plaintext' : 'decrypted');
      if (!opts.clear) assert.equal(verifyImage(ours, { keys: [publicOnly(opts.key!)] }).code, 'mcuboot.encrypted-no-key');
      return;
    }
    if (im.reproducible_bytes) {
      assert.equal(toHex(ours), toHex(ref), 'byte-exact with imgtool');
      return;
    }
    // Random-nonce schemes: identical except the signature TLV's value and length.
    const a = parseImage(ours);
    const b = parseImage(ref);
    assert.deepEqual(a.header, b.header);
    assert.equal(toHex(ours.subarray(0, a.hashedRegion.end)), toHex(ref.subarray(0, b.hashedRegion.end)), 'header, payload, protected TLVs');
    const shape = (x: typeof a) => x.tlvs.map((t) => [t.type, t.protected, [0x20, 0x22, 0x23].includes(t.type) ? 'sig' : toHex(t.value)]);
    assert.deepEqual(shape(a), shape(b));
    // Padded images fill the slot; others end at the TLVs (signature length varies by a byte or two).
    if (b.trailer) assert.equal(ours.length, ref.length, 'padded to the same slot size');
    else assert.equal(ours.length, a.tlvArea.end);
    if (a.trailer) assert.deepEqual({ ...a.trailer, bytesAfterTlvs: 0 }, { ...b.trailer, bytesAfterTlvs: 0 });
  });
}

test('sign and verify round trip for every key type, key hash and full key, padded and confirmed', () => {
  const payload = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  for (const type of KEY_TYPES.filter((t) => t !== 'x25519')) {
    const key = generateKey(type);
    for (const publicKeyFormat of ['hash', 'full'] as const) {
      const img = signImage(payload, {
        key,
        version: '2.3.4+5',
        headerSize: 0x200,
        padHeader: true,
        slotSize: 0x8000,
        confirm: true,
        align: 8,
        securityCounter: 'auto',
        dependencies: [{ imageId: 1, version: '1.0.0' }],
        publicKeyFormat,
      });
      assert.equal(img.length, 0x8000);
      const r = verifyImage(img, { keys: [publicOnly(key)] });
      assert.equal(r.valid, true, `${type}/${publicKeyFormat}: ${r.reason}`);
      assert.equal(r.signature?.keyTlv, publicKeyFormat === 'hash' ? 'KEYHASH' : 'PUBKEY');
      assert.equal(r.securityCounter, (2 << 24) | (3 << 16) | 4);
      assert.equal(r.trailer?.confirmed, true);
      assert.equal(r.version, '2.3.4+5');
      // A different key of the same type is rejected.
      assert.equal(verifyImage(img, { keys: [generateKey(type)] }).code, publicKeyFormat === 'hash' ? 'mcuboot.key-not-found' : 'mcuboot.key-not-found');
    }
  }
});

test('pure Ed25519, SHA-512 and padded ECDSA signatures verify', () => {
  const payload = new Uint8Array(777).fill(0x42);
  const ed = generateKey('ed25519');
  const pure = signImage(payload, { key: ed, version: '1', pure: true, padHeader: true });
  assert.equal(verifyImage(pure, { keys: [ed] }).signature?.type, 'ed25519-pure');
  assert.equal(verifyImage(signImage(payload, { key: ed, version: '1', hash: 'sha512', padHeader: true }), { keys: [ed] }).hashAlgorithm, 'sha512');
  const ec = generateKey('ecdsa-p256');
  const padded = signImage(payload, { key: ec, version: '1', padSig: true, padHeader: true });
  assert.equal(parseImage(padded).tlvs.find((t) => t.type === 0x22)?.length, 72);
  assert.equal(verifyImage(padded, { keys: [ec] }).valid, true);
});

test('bad sign requests are typed usage/input errors', () => {
  const key = generateKey('ecdsa-p256');
  const p = new Uint8Array(64);
  assert.equal(code(() => signImage(p, { key: publicOnly(key), version: '1' })), 'mcuboot.sign-needs-private-key');
  assert.equal(code(() => signImage(new Uint8Array(64).fill(1), { key, version: '1', headerSize: 32 })), 'mcuboot.header-not-reserved');
  assert.equal(code(() => signImage(p, { key, version: '1.2.3.4' })), 'mcuboot.bad-version');
  assert.equal(code(() => signImage(p, { key, version: '256' })), 'mcuboot.bad-version');
  assert.equal(code(() => signImage(p, { key, version: '1', hash: 'sha384' })), 'mcuboot.hash-key-mismatch');
  assert.equal(code(() => signImage(p, { key, version: '1', padHeader: true, slotSize: 0x200 })), 'mcuboot.image-too-large');
  assert.equal(code(() => signImage(p, { key, version: '1', confirm: true })), 'mcuboot.pad-needs-slot-size');
  assert.equal(code(() => signImage(p, { key: generateKey('x25519'), version: '1' })), 'mcuboot.sign-key-type');
});

test('a signature over a hash the key type is never paired with is not accepted', async () => {
  const { signEcdsa } = await import('../../../src/crypto/signatures.ts');
  const { digest } = await import('../../../src/crypto/hash.ts');
  // Hand-build a P-256 image hashed with SHA-512 (imgtool refuses to make one).
  const key = generateKey('ecdsa-p256');
  const unsigned = signImage(new Uint8Array(100), { version: '1', padHeader: true, hash: 'sha512' });
  const p = parseImage(unsigned);
  const h = digest('sha512', unsigned.subarray(0, p.hashedRegion.end));
  const kh = digest('sha512', key.publicDer);
  const sig = signEcdsa(key, h);
  const tlv = (type: number, v: Uint8Array) => Uint8Array.of(type, 0, v.length & 0xff, v.length >> 8, ...v);
  const body = [...tlv(0x12, h), ...tlv(0x01, kh), ...tlv(0x22, sig)];
  const img = Uint8Array.of(...unsigned.subarray(0, p.hashedRegion.end), 0x07, 0x69, (body.length + 4) & 0xff, (body.length + 4) >> 8, ...body);
  const r = verifyImage(img, { keys: [publicOnly(key)] });
  assert.equal(r.code, 'mcuboot.hash-alg-for-key', r.reason);
  assert.equal(verifyImage(img, {}).valid, true, 'integrity alone is fine');
});
