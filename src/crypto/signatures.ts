/**
 * The signature primitives MCUboot uses, exactly as bootutil checks them, through node:crypto
 * (OpenSSL) KeyObjects. Each takes the signed message, which is the region the image hash
 * covers: OpenSSL hashes it again with the image's algorithm, so verifying over the region is
 * verifying over the hash TLV's digest (the caller has already compared the two).
 * - ECDSA P-256/P-384 over SHA-256/SHA-384, with the DER read the way bootutil reads it
 *   (decodeEcdsaSignature) and handed to OpenSSL as fixed-width r ‖ s;
 * - Ed25519 over the digest bytes (default) or over the hashed region (pure). OpenSSL's
 *   ED25519_verify and MCUboot's (ext/fiat, from BoringSSL) are the same ref10 check:
 *   S < L, R' = [S]B - [k]A, the encoding of R' equal to R byte for byte (cofactorless);
 * - RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length exactly 32, over the SHA-256 digest.
 * Verify functions never throw on a bad signature: they return false.
 */
import { constants, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import type { HashAlg } from './hash.ts';
import type { ImageKey } from './keys.ts';

const PSS_SALT_LEN = 32;

/** mbedtls_asn1_get_tag: tag, then a short or long (1-4 byte) length that must fit before `end`. */
function asn1Tag(sig: Uint8Array, at: number, tag: number): { start: number; len: number } | undefined {
  if (at >= sig.length || sig[at] !== tag) return undefined;
  let p = at + 1;
  if (p >= sig.length) return undefined;
  let len = sig[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || p + n > sig.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + sig[p++]!;
  }
  return len > sig.length - p ? undefined : { start: p, len };
}

/**
 * The ECDSA (r, s) as MCUboot's bootutil_decode_sig reads them (image_ecdsa.c, tinycrypt
 * path, Zephyr's default): a SEQUENCE that fits in the TLV, two INTEGERs taken as their last
 * `size` bytes (left-padded when shorter); bytes after the SEQUENCE (--pad-sig padding) are
 * ignored. Returns r and s as `size`-byte big-endian numbers.
 */
export function decodeEcdsaSignature(sig: Uint8Array, size: number): { r: Uint8Array; s: Uint8Array } | undefined {
  const seq = asn1Tag(sig, 0, 0x30);
  if (!seq) return undefined;
  const out: Uint8Array[] = [];
  let p = seq.start;
  for (let i = 0; i < 2; i++) {
    const int = asn1Tag(sig, p, 0x02);
    if (!int) return undefined;
    const v = sig.subarray(int.start, int.start + int.len);
    const fixed = new Uint8Array(size);
    fixed.set(v.length >= size ? v.subarray(v.length - size) : v, size - Math.min(v.length, size));
    out.push(fixed);
    p = int.start + int.len;
  }
  return { r: out[0]!, s: out[1]! };
}

const curveHash = (key: ImageKey): HashAlg => (key.type === 'ecdsa-p384' ? 'sha384' : 'sha256');

/**
 * ECDSA over `message` hashed with `alg` (the curve's own hash by default). OpenSSL checks
 * r and s lie in [1, n-1] (uECC_verify / SEC 1 §4.1.4 do the same). High-S is accepted.
 */
export function verifyEcdsa(key: ImageKey, message: Uint8Array, sig: Uint8Array, alg: HashAlg = curveHash(key)): boolean {
  if (key.type !== 'ecdsa-p256' && key.type !== 'ecdsa-p384') return false;
  const rs = decodeEcdsaSignature(sig, key.type === 'ecdsa-p256' ? 32 : 48);
  if (!rs) return false;
  try {
    return nodeVerify(alg, message, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.concat([rs.r, rs.s]));
  } catch {
    return false;
  }
}

export function verifyEd25519(key: ImageKey, message: Uint8Array, sig: Uint8Array): boolean {
  if (key.type !== 'ed25519' || sig.length !== 64) return false;
  try {
    return nodeVerify(null, message, key.publicKey, sig);
  } catch {
    return false;
  }
}

/** RSASSA-PSS with SHA-256 and salt length exactly 32 (MCUboot's only RSA mode) over `message`. */
export function verifyRsaPss(key: ImageKey, message: Uint8Array, sig: Uint8Array): boolean {
  if (!key.rsaBits || sig.length !== key.rsaBits / 8) return false;
  try {
    return nodeVerify('sha256', message, { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LEN }, sig);
  } catch {
    return false;
  }
}

/** ECDSA signature of `message` hashed with `alg`, DER encoded (what imgtool writes without --pad-sig). */
export function signEcdsa(key: ImageKey, message: Uint8Array, alg: HashAlg = curveHash(key)): Uint8Array {
  if (!key.privateKey || (key.type !== 'ecdsa-p256' && key.type !== 'ecdsa-p384')) throw new TypeError('need an ECDSA private key');
  return new Uint8Array(nodeSign(alg, message, { key: key.privateKey, dsaEncoding: 'der' }));
}

export function signEd25519(key: ImageKey, message: Uint8Array): Uint8Array {
  if (!key.privateKey || key.type !== 'ed25519') throw new TypeError('need an Ed25519 private key');
  return new Uint8Array(nodeSign(null, message, key.privateKey));
}

/** RSASSA-PSS (SHA-256, salt 32) over `message` (OpenSSL hashes it). */
export function signRsaPss(key: ImageKey, message: Uint8Array): Uint8Array {
  if (!key.privateKey || !key.rsaBits) throw new TypeError('need an RSA private key');
  return new Uint8Array(nodeSign('sha256', message, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LEN }));
}
