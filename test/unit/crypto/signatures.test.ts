/**
 * Cross-check with an independent implementation (OpenSSL via node:crypto, which is
 * also what imgtool's Python `cryptography` uses): signatures we make verify there the
 * way `imgtool verify` checks them, and our verifiers agree with OpenSSL on edge cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPublicKey, sign as osslSign, verify as osslVerify, createPrivateKey } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { digest } from '../../../src/crypto/hash.ts';
import { exportPrivatePem, exportPublicPem, generateKey, isSmallOrderEd25519, loadKey, type ImageKey } from '../../../src/crypto/keys.ts';
import { bigIntToBytes, bytesToBigInt, der, derSeq, derUInt, encodePem, secretOf } from './der.ts';

/** An INTEGER with exactly these content bytes (no minimal-encoding fix-up). */
const der2 = (content: Uint8Array) => der(0x02, content);
import { decodeEcdsaSignature, verifyEcdsa, verifyEd25519, verifyRsaPss } from '../../../src/crypto/signatures.ts';
import { parseImage, signImage } from '../../../src/formats/mcuboot/index.ts';

const pub = (k: ImageKey) => createPublicKey(exportPublicPem(k));
const payload = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);

test('images we sign verify with OpenSSL as imgtool verify would check them', () => {
  for (const type of ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072'] as const) {
    for (const pure of type === 'ed25519' ? [false, true] : [false]) {
      const key = generateKey(type);
      const img = signImage(payload, { key, version: '1.0.0', padHeader: true, headerSize: 0x200, pure });
      const p = parseImage(img);
      const region = img.subarray(0, p.hashedRegion.end);
      const sig = p.tlvs.find((t) => [0x20, 0x22, 0x23, 0x24].includes(t.type))!.value;
      let ok: boolean;
      if (type === 'ed25519') ok = osslVerify(null, pure ? region : p.hashTlv!.value, pub(key), sig);
      else if (type.startsWith('rsa')) ok = osslVerify('sha256', region, { key: pub(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
      else ok = osslVerify(type === 'ecdsa-p384' ? 'sha384' : 'sha256', region, pub(key), sig);
      assert.equal(ok, true, `${type}${pure ? ' pure' : ''}`);
    }
  }
});

test('ECDSA: high-S signatures (not normalised by imgtool) are accepted; garbage is not', () => {
  const key = generateKey('ecdsa-p256');
  const h = digest('sha256', payload);
  const sig = p256.sign(h, secretOf(key), { prehash: false, format: 'compact' });
  const r = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  const n = p256.Point.CURVE().n;
  const high = derSeq(derUInt(bigIntToBytes(r, 32)), derUInt(bigIntToBytes(n - s, 32)));
  assert.equal(osslVerify('sha256', payload, pub(key), high), true, 'OpenSSL accepts high-S');
  // Our verifiers take the signed message (the covered region) and hash it: h = SHA-256(payload).
  assert.equal(verifyEcdsa(key, payload, high), true);
  assert.equal(verifyEcdsa(key, payload, high.subarray(0, high.length - 1)), false);
  // bootutil_decode_sig (tinycrypt path) ignores what follows the SEQUENCE: --pad-sig zeros or anything else.
  assert.equal(verifyEcdsa(key, payload, Uint8Array.of(...high, 0, 0)), true, '--pad-sig zeros are fine');
  assert.equal(verifyEcdsa(key, payload, Uint8Array.of(...high, 0x55)), true, 'trailing bytes are not read');
  // ...and takes an INTEGER's last 32 bytes: a minimal 33-byte r (leading 0x00) and a short s both decode.
  const rs = decodeEcdsaSignature(high, 32)!;
  assert.equal(bytesToBigInt(rs.r), r);
  assert.equal(bytesToBigInt(rs.s), n - s);
  assert.deepEqual(decodeEcdsaSignature(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07), 32)?.s, bigIntToBytes(7n, 32));
  assert.equal(decodeEcdsaSignature(Uint8Array.of(0x30, 0x06, 0x02, 0x05, 0x05), 32), undefined, 'INTEGER overruns the TLV');
  // A longer INTEGER counts by its last 32 bytes only (r with garbage in front still verifies).
  assert.equal(verifyEcdsa(key, payload, derSeq(der2(Uint8Array.of(0x7f, ...bigIntToBytes(r, 32))), derUInt(bigIntToBytes(n - s, 32)))), true);
  // r = 0 or s >= n are never valid.
  assert.equal(verifyEcdsa(key, payload, derSeq(derUInt(0), derUInt(bigIntToBytes(s, 32)))), false);
  assert.equal(verifyEcdsa(key, payload, derSeq(derUInt(bigIntToBytes(r, 32)), derUInt(bigIntToBytes(n + s, 33)))), false);
  assert.equal(verifyEcdsa(key, payload, derSeq(derUInt(bigIntToBytes(r, 32)), derUInt(bigIntToBytes(n, 32)))), false);
});

test('RSA-PSS: only salt length 32 is accepted (MCUboot), like imgtool signs', () => {
  const key = generateKey('rsa-2048');
  const priv = key.privateKey!;
  const s32 = new Uint8Array(osslSign('sha256', payload, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }));
  const s20 = new Uint8Array(osslSign('sha256', payload, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }));
  assert.equal(verifyRsaPss(key, payload, s32), true);
  assert.equal(verifyRsaPss(key, payload, s20), false);
  const flipped = s32.slice();
  flipped[100]! ^= 1;
  assert.equal(verifyRsaPss(key, payload, flipped), false);
  assert.equal(verifyRsaPss(key, payload, s32.subarray(1)), false);
  assert.equal(verifyRsaPss(key, payload, Uint8Array.of(0, ...s32)), false);
});

test('Ed25519 agrees with OpenSSL on random messages and rejects a wrong key', () => {
  const key = generateKey('ed25519');
  const other = generateKey('ed25519');
  for (let i = 0; i < 20; i++) {
    const m = digest('sha256', Uint8Array.of(i));
    const sig = new Uint8Array(osslSign(null, m, createPrivateKey(exportPrivatePem(key))));
    assert.equal(verifyEd25519(key, m, sig), true);
    assert.equal(verifyEd25519(other, m, sig), false);
  }
});

test('verdicts agree with noble’s verify (an independent implementation) on honest and corrupted signatures', async () => {
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const { p384 } = await import('@noble/curves/nist.js');
  const L = ed25519.Point.Fn.ORDER;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (const type of ['ed25519', 'ecdsa-p256', 'ecdsa-p384'] as const) {
    const key = generateKey(type);
    const hashOf = (m: Uint8Array) => (type === 'ed25519' ? m : digest(type === 'ecdsa-p384' ? 'sha384' : 'sha256', m));
    for (let i = 0; i < 60; i++) {
      const msg = digest(type === 'ecdsa-p384' ? 'sha384' : 'sha256', Uint8Array.of(i));
      let sig: Uint8Array;
      if (type === 'ed25519') sig = ed25519.sign(msg, secretOf(key));
      else sig = (type === 'ecdsa-p256' ? p256 : p384).sign(hashOf(msg), secretOf(key), { prehash: false, format: 'der' });
      const m2 = msg.slice();
      if (i % 3 === 1) sig[rnd() % sig.length]! ^= 1 << rnd() % 8;
      if (i % 3 === 2) m2[rnd() % m2.length]! ^= 1;
      if (type === 'ed25519' && i === 5) sig.set(bigIntToBytes(bytesToBigInt(sig.subarray(32).slice().reverse()) + L, 32).reverse(), 32); // S + L: non-canonical
      const plain =
        type === 'ed25519'
          ? ed25519.verify(sig, m2, key.publicRaw, { zip215: false })
          : (() => {
              // Reference: noble's own verify of the (r, s) that bootutil's DER reading yields.
              const size = type === 'ecdsa-p256' ? 32 : 48;
              const rs = decodeEcdsaSignature(sig, size);
              if (!rs) return false;
              try {
                const compact = Uint8Array.of(...rs.r, ...rs.s);
                return (type === 'ecdsa-p256' ? p256 : p384).verify(compact, hashOf(m2), key.publicRaw, { prehash: false, lowS: false, format: 'compact' });
              } catch {
                return false;
              }
            })();
      const ours = type === 'ed25519' ? verifyEd25519(key, m2, sig) : verifyEcdsa(key, m2, sig);
      assert.equal(ours, plain, `${type} #${i}`);
      if (i % 3 === 0 && i !== 5) assert.equal(ours, true, `${type} #${i} valid`);
    }
  }
  // Small-order Ed25519 keys are refused when loaded (anyone could forge for them).
  assert.throws(() => loadKey(encodePem('PUBLIC KEY', Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 1, ...new Uint8Array(31)))), /small-order/);
});

test('Ed25519 is checked like MCUboot (cofactorless): a signer-crafted R with a torsion part is rejected', async () => {
  const { ed25519, ED25519_TORSION_SUBGROUP } = await import('@noble/curves/ed25519.js');
  const key = generateKey('ed25519');
  const P = ed25519.Point;
  const { scalar } = ed25519.utils.getExtendedPublicKey(secretOf(key));
  const msg = digest('sha256', Uint8Array.of(42));
  const le = (b: Uint8Array) => bytesToBigInt(Uint8Array.from(b).reverse());
  const r = 0x1234567890abcdefn;
  const T = P.fromHex(ED25519_TORSION_SUBGROUP[1]!);
  assert.equal(T.isSmallOrder(), true);
  const R2 = P.BASE.multiply(r).add(T).toBytes();
  const k = P.Fn.create(le(digest('sha512', R2, key.publicRaw, msg)));
  const S = P.Fn.create(r + k * scalar);
  const sig = Uint8Array.of(...R2, ...bigIntToBytes(S, 32).reverse());
  assert.equal(ed25519.verify(sig, msg, key.publicRaw, { zip215: false }), true, 'RFC 8032 cofactored check accepts it');
  for (let i = 0; i < 3; i++) assert.equal(verifyEd25519(key, msg, sig), false, 'MCUboot’s byte comparison of R does not');
});

test('the small-order Ed25519 blocklist is exactly noble’s torsion subgroup, in every encoding', async () => {
  const { ed25519, ED25519_TORSION_SUBGROUP } = await import('@noble/curves/ed25519.js');
  const p = 2n ** 255n - 19n;
  const le = (b: Uint8Array) => bytesToBigInt(Uint8Array.from(b).reverse());
  const enc = (y: bigint, sign: number) => {
    const b = bigIntToBytes(y, 32).reverse();
    b[31]! |= sign << 7;
    return b;
  };
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const b = Uint8Array.from(Buffer.from(hex, 'hex'));
    const y = le(b) & (2n ** 255n - 1n);
    for (const sign of [0, 1]) {
      assert.equal(isSmallOrderEd25519(enc(y, sign)), true, hex);
      if (y + p < 2n ** 255n) assert.equal(isSmallOrderEd25519(enc(y + p, sign)), true, `${hex} non-canonical`);
    }
  }
  for (let i = 0; i < 20; i++) assert.equal(isSmallOrderEd25519(ed25519.getPublicKey(ed25519.utils.randomSecretKey())), false);
  assert.equal(isSmallOrderEd25519(enc(2n, 0)), false);
});
