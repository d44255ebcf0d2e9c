/**
 * MCUboot image encryption: recovering the AES image key from the ENC_* TLV with
 * the device's private key, and AES-CTR over the payload (zero nonce, counter
 * starting at the payload's first byte). Follows the vectors' README
 * ("Encryption") and imgtool's keys/{ecdsa,x25519,rsa}.py:
 *   ECIES: HKDF(shared secret, no salt, info "MCUBoot_ECIES_v1") -> AES key ‖ HMAC key;
 *   TLV = ephemeral public key ‖ HMAC(wrapped key) ‖ AES-CTR(zero IV)(image key).
 *   RSA: RSA-OAEP (SHA-256, MGF1-SHA-256) of the image key.
 * Everything runs in node:crypto: ECDH on KeyObjects (the peer's raw point or X25519 key becomes
 * a KeyObject through JWK, which also checks a P-256 point lies on the curve), HKDF, HMAC,
 * AES-CTR and RSA-OAEP.
 */
import {
  constants,
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { inputError } from '../core/errors.ts';
import { HASH_LEN, hmac } from './hash.ts';
import type { ImageKey, KeyType } from './keys.ts';

type MacHash = 'sha256' | 'sha512';

function hkdf(hash: MacHash, ikm: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  // No salt: RFC 5869 then uses HashLen zero bytes, which is what an empty HMAC key amounts to.
  return new Uint8Array(hkdfSync(hash, ikm, new Uint8Array(0), info, len));
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** A peer's raw public key as a KeyObject: an uncompressed P-256 point (65 bytes) or an X25519 key (32). */
function peerKey(curve: 'P-256' | 'X25519', raw: Uint8Array): KeyObject {
  if (curve === 'X25519') return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(raw) }, format: 'jwk' });
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('not an uncompressed P-256 point');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) }, format: 'jwk' });
}

/** The raw form of a public KeyObject: uncompressed EC point, or the 32-byte X25519 key. */
function rawPublic(k: KeyObject): Uint8Array {
  const jwk = k.export({ format: 'jwk' });
  const b = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
  return jwk.kty === 'EC' ? new Uint8Array(Buffer.concat([Buffer.of(4), b(jwk.x), b(jwk.y)])) : new Uint8Array(b(jwk.x));
}

const ecdh = (privateKey: KeyObject, publicKey: KeyObject) => new Uint8Array(diffieHellman({ privateKey, publicKey }));

const ECIES_INFO = new TextEncoder().encode('MCUBoot_ECIES_v1');

export const ENC_SCHEMES: Record<number, string> = {
  0x30: 'RSA-OAEP (RSA-2048)',
  0x31: 'AES key wrap',
  0x32: 'ECIES-P256 / HMAC-SHA256',
  0x33: 'ECIES-X25519 / HMAC-SHA256',
  0x34: 'ECIES-X25519 / HMAC-SHA512',
};

/** The ECIES key-wrap TLVs: the key type that unwraps each, the ephemeral key's curve and length, the HKDF/HMAC hash (imgtool keys/ecdsa.py, x25519.py). */
const ECIES_TLVS: Record<number, { keyType: KeyType; curve: 'P-256' | 'X25519'; pubLen: number; hash: MacHash; malformed: string }> = {
  0x32: { keyType: 'ecdsa-p256', curve: 'P-256', pubLen: 65, hash: 'sha256', malformed: 'The ENC_EC256 TLV does not start with a valid P-256 point.' },
  0x33: { keyType: 'x25519', curve: 'X25519', pubLen: 32, hash: 'sha256', malformed: 'The ENC_X25519 TLV does not start with a valid X25519 public key.' },
  0x34: { keyType: 'x25519', curve: 'X25519', pubLen: 32, hash: 'sha512', malformed: 'The ENC_X25519 TLV does not start with a valid X25519 public key.' },
};

/** AES-CTR with an all-zero initial counter block (MCUboot's and imgtool's choice). */
export function aesCtr(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ctr`, key, Buffer.alloc(16));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function eciesUnwrap(
  shared: Uint8Array,
  hash: MacHash,
  tlv: Uint8Array,
  pubLen: number,
  aesKeyLen: number,
): Uint8Array {
  const macLen = HASH_LEN[hash];
  if (tlv.length !== pubLen + macLen + aesKeyLen)
    throw inputError('mcuboot.enc-tlv-length', `The encryption TLV is ${tlv.length} bytes, expected ${pubLen + macLen + aesKeyLen}.`);
  const mac = tlv.subarray(pubLen, pubLen + macLen);
  const wrapped = tlv.subarray(pubLen + macLen);
  const okm = hkdf(hash, shared, ECIES_INFO, aesKeyLen + macLen);
  const expect = hmac(hash, okm.subarray(aesKeyLen), wrapped);
  if (!timingSafeEqual(Buffer.from(expect), Buffer.from(mac)))
    throw inputError(
      'mcuboot.enc-key-mismatch',
      'The encryption key does not fit this image (the key-wrap HMAC does not match): use the private key the image was encrypted for.',
    );
  return aesCtr(okm.subarray(0, aesKeyLen), wrapped);
}

/**
 * Recovers the AES image key from an ENC_* TLV. `aesKeyLen` is 16 or 32 (header flag).
 * Throws UnbrickError (input) when the key type does not match or does not fit.
 */
export function unwrapImageKey(tlvType: number, tlv: Uint8Array, encKey: ImageKey, aesKeyLen: number): Uint8Array {
  const wrongType = (want: string) =>
    inputError('mcuboot.enc-key-type', `This image's key is wrapped with ${ENC_SCHEMES[tlvType]}; --enc-key must be a ${want} private key, got ${encKey.type}.`);
  const priv = encKey.privateKey;
  if (!priv) throw inputError('mcuboot.enc-key-not-private', 'The decryption key must be the private key (imgtool keygen output), not the public one.');
  const ecies = ECIES_TLVS[tlvType];
  if (ecies) {
    if (encKey.type !== ecies.keyType) throw wrongType(ecies.curve);
    let shared: Uint8Array;
    try {
      // OpenSSL refuses an all-zero shared secret (a small-order peer key), as bootutil's X25519 does.
      shared = ecdh(priv, peerKey(ecies.curve, tlv.subarray(0, ecies.pubLen)));
    } catch {
      throw inputError('mcuboot.enc-tlv-malformed', ecies.malformed);
    }
    return eciesUnwrap(shared, ecies.hash, tlv, ecies.pubLen, aesKeyLen);
  }
  switch (tlvType) {
    case 0x30: {
      if (encKey.type !== 'rsa-2048') throw wrongType('RSA-2048');
      try {
        const k = new Uint8Array(privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, tlv));
        if (k.length !== aesKeyLen) throw new Error('length');
        return k;
      } catch {
        throw inputError('mcuboot.enc-key-mismatch', 'RSA-OAEP unwrapping failed: this is not the private key the image was encrypted for.');
      }
    }
    default:
      throw inputError('mcuboot.enc-unsupported', `Encryption TLV 0x${tlvType.toString(16)} (${ENC_SCHEMES[tlvType] ?? 'unknown'}) is not supported for decryption.`);
  }
}

export interface WrappedKey {
  /** ENC_* TLV type. */
  tlvType: number;
  value: Uint8Array;
}

function eciesWrap(shared: Uint8Array, hash: MacHash, ephemeralPub: Uint8Array, aesKey: Uint8Array): Uint8Array {
  const macLen = HASH_LEN[hash];
  const okm = hkdf(hash, shared, ECIES_INFO, aesKey.length + macLen);
  const wrapped = aesCtr(okm.subarray(0, aesKey.length), aesKey);
  const mac = hmac(hash, okm.subarray(aesKey.length), wrapped);
  const out = new Uint8Array(ephemeralPub.length + macLen + wrapped.length);
  out.set(ephemeralPub, 0);
  out.set(mac, ephemeralPub.length);
  out.set(wrapped, ephemeralPub.length + macLen);
  return out;
}

/**
 * Wraps a fresh AES image key for the device's public encryption key, as imgtool -E does:
 * P-256 -> ENC_EC256, X25519 -> ENC_X25519 (or ENC_X25519_SHA512 with hmacSha 512), RSA-2048 -> ENC_RSA2048.
 */
export function wrapImageKey(encKey: ImageKey, aesKey: Uint8Array, hmacSha: 256 | 512 = 256): WrappedKey {
  switch (encKey.type) {
    case 'ecdsa-p256': {
      if (hmacSha !== 256) throw inputError('mcuboot.enc-hmac', 'ECIES-P256 uses HMAC-SHA256 only.');
      const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { tlvType: 0x32, value: eciesWrap(ecdh(eph.privateKey, encKey.publicKey), 'sha256', rawPublic(eph.publicKey), aesKey) };
    }
    case 'x25519': {
      const eph = generateKeyPairSync('x25519');
      const shared = ecdh(eph.privateKey, encKey.publicKey);
      return { tlvType: hmacSha === 512 ? 0x34 : 0x33, value: eciesWrap(shared, hmacSha === 512 ? 'sha512' : 'sha256', rawPublic(eph.publicKey), aesKey) };
    }
    case 'rsa-2048': {
      if (hmacSha !== 256) throw inputError('mcuboot.enc-hmac', 'RSA-OAEP key wrapping has no HMAC option.');
      return { tlvType: 0x30, value: new Uint8Array(publicEncrypt({ key: encKey.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aesKey)) };
    }
    default:
      throw inputError('mcuboot.enc-key-type', `A ${encKey.type} key cannot encrypt images; use a P-256, X25519 or RSA-2048 key (imgtool keygen -t ecdsa-p256|x25519|rsa-2048).`);
  }
}

export const randomAesKey = (bits: 128 | 256): Uint8Array => new Uint8Array(randomBytes(bits / 8));
