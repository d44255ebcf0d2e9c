/**
 * MCUboot image encryption: recovering the AES image key from the ENC_* TLV with
 * the device's private key, and AES-CTR over the payload (zero nonce, counter
 * starting at the payload's first byte). Follows the vectors' README
 * ("Encryption") and imgtool's keys/{ecdsa,x25519,rsa}.py:
 *   ECIES: HKDF(shared secret, no salt, info "MCUBoot_ECIES_v1") -> AES key ‖ HMAC key;
 *   TLV = ephemeral public key ‖ HMAC(wrapped key) ‖ AES-CTR(zero IV)(image key).
 *   RSA: RSA-OAEP (SHA-256, MGF1-SHA-256) of the image key.
 * ECDH uses @noble/curves; AES-CTR and RSA-OAEP use node:crypto (noble has neither).
 */
import { constants, createCipheriv, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { inputError } from '../core/errors.ts';
import { exportPublicPem, type ImageKey } from './keys.ts';

const ECIES_INFO = new TextEncoder().encode('MCUBoot_ECIES_v1');

export const ENC_SCHEMES: Record<number, string> = {
  0x30: 'RSA-OAEP (RSA-2048)',
  0x31: 'AES key wrap',
  0x32: 'ECIES-P256 / HMAC-SHA256',
  0x33: 'ECIES-X25519 / HMAC-SHA256',
  0x34: 'ECIES-X25519 / HMAC-SHA512',
};

/** AES-CTR with an all-zero initial counter block (MCUboot's and imgtool's choice). */
export function aesCtr(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ctr`, key, Buffer.alloc(16));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function eciesUnwrap(
  shared: Uint8Array,
  hash: typeof sha256 | typeof sha512,
  tlv: Uint8Array,
  pubLen: number,
  aesKeyLen: number,
): Uint8Array {
  const macLen = hash.outputLen;
  if (tlv.length !== pubLen + macLen + aesKeyLen)
    throw inputError('mcuboot.enc-tlv-length', `The encryption TLV is ${tlv.length} bytes, expected ${pubLen + macLen + aesKeyLen}.`);
  const mac = tlv.subarray(pubLen, pubLen + macLen);
  const wrapped = tlv.subarray(pubLen + macLen);
  const okm = hkdf(hash, shared, undefined, ECIES_INFO, aesKeyLen + macLen);
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
  if (!encKey.pkcs8) throw inputError('mcuboot.enc-key-not-private', 'The decryption key must be the private key (imgtool keygen output), not the public one.');
  switch (tlvType) {
    case 0x32: {
      if (encKey.type !== 'ecdsa-p256' || !encKey.secret) throw wrongType('P-256');
      let shared: Uint8Array;
      try {
        shared = p256.getSharedSecret(encKey.secret, tlv.subarray(0, 65), true).subarray(1);
      } catch {
        throw inputError('mcuboot.enc-tlv-malformed', 'The ENC_EC256 TLV does not start with a valid P-256 point.');
      }
      return eciesUnwrap(shared, sha256, tlv, 65, aesKeyLen);
    }
    case 0x33:
    case 0x34: {
      if (encKey.type !== 'x25519' || !encKey.secret) throw wrongType('X25519');
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(encKey.secret, tlv.subarray(0, 32));
      } catch {
        throw inputError('mcuboot.enc-tlv-malformed', 'The ENC_X25519 TLV does not start with a valid X25519 public key.');
      }
      return eciesUnwrap(shared, tlvType === 0x34 ? sha512 : sha256, tlv, 32, aesKeyLen);
    }
    case 0x30: {
      if (encKey.type !== 'rsa-2048') throw wrongType('RSA-2048');
      try {
        const key = createPrivateKey({ key: Buffer.from(encKey.pkcs8), format: 'der', type: 'pkcs8' });
        const k = new Uint8Array(privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, tlv));
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

function eciesWrap(shared: Uint8Array, hash: typeof sha256 | typeof sha512, ephemeralPub: Uint8Array, aesKey: Uint8Array): Uint8Array {
  const macLen = hash.outputLen;
  const okm = hkdf(hash, shared, undefined, ECIES_INFO, aesKey.length + macLen);
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
      const eph = p256.utils.randomSecretKey();
      const shared = p256.getSharedSecret(eph, encKey.publicRaw, true).subarray(1);
      return { tlvType: 0x32, value: eciesWrap(shared, sha256, p256.getPublicKey(eph, false), aesKey) };
    }
    case 'x25519': {
      const eph = x25519.utils.randomSecretKey();
      const shared = x25519.getSharedSecret(eph, encKey.publicRaw);
      return { tlvType: hmacSha === 512 ? 0x34 : 0x33, value: eciesWrap(shared, hmacSha === 512 ? sha512 : sha256, x25519.getPublicKey(eph), aesKey) };
    }
    case 'rsa-2048': {
      if (hmacSha !== 256) throw inputError('mcuboot.enc-hmac', 'RSA-OAEP key wrapping has no HMAC option.');
      const key = createPublicKey(exportPublicPem(encKey));
      return { tlvType: 0x30, value: new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aesKey)) };
    }
    default:
      throw inputError('mcuboot.enc-key-type', `A ${encKey.type} key cannot encrypt images; use a P-256, X25519 or RSA-2048 key (imgtool keygen -t ecdsa-p256|x25519|rsa-2048).`);
  }
}

export const randomAesKey = (bits: 128 | 256): Uint8Array => new Uint8Array(randomBytes(bits / 8));
