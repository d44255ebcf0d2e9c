/**
 * The signature primitives MCUboot uses, exactly as bootutil checks them:
 * - ECDSA P-256/P-384 over the image digest, DER read the way bootutil reads it (see decodeEcdsaSignature);
 * - Ed25519 over the digest bytes (default) or over the hashed region (pure), checked like MCUboot's ED25519_verify;
 * - RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32, over the SHA-256 digest.
 * ECDSA and Ed25519 use @noble/curves. RSA verify is plain modular arithmetic plus
 * EMSA-PSS (RFC 8017 §9.1.2); RSA signing uses node:crypto (noble has no RSA).
 * Verify functions never throw on a bad signature: they return false.
 */
import { constants, sign as nodeSign, createPrivateKey } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bigIntToBytes, bytesToBigInt } from './asn1.ts';
import { digest } from './hash.ts';
import { bytesEqual } from '../core/bytes.ts';
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
 * `size` bytes (left-padded when shorter); bytes after the SEQUENCE (--pad-sig padding) are ignored.
 */
export function decodeEcdsaSignature(sig: Uint8Array, size: number): { r: bigint; s: bigint } | undefined {
  const seq = asn1Tag(sig, 0, 0x30);
  if (!seq) return undefined;
  const out: bigint[] = [];
  let p = seq.start;
  for (let i = 0; i < 2; i++) {
    const int = asn1Tag(sig, p, 0x02);
    if (!int) return undefined;
    const v = sig.subarray(int.start, int.start + int.len);
    out.push(bytesToBigInt(v.length >= size ? v.subarray(v.length - size) : v));
    p = int.start + int.len;
  }
  return { r: out[0]!, s: out[1]! };
}

export function verifyEcdsa(key: ImageKey, hash: Uint8Array, sig: Uint8Array): boolean {
  if (key.type !== 'ecdsa-p256' && key.type !== 'ecdsa-p384') return false;
  const curve = key.type === 'ecdsa-p256' ? p256 : p384;
  const Fn = curve.Point.Fn;
  const rs = decodeEcdsaSignature(sig, Fn.BYTES);
  // uECC_verify / SEC 1 §4.1.4: r and s must lie in [1, n-1].
  if (!rs || rs.r <= 0n || rs.s <= 0n || rs.r >= Fn.ORDER || rs.s >= Fn.ORDER) return false;
  const { r, s } = rs;
  const cached = cachedPoint(key);
  try {
    if (!cached) {
      const compact = new Uint8Array(2 * Fn.BYTES);
      compact.set(bigIntToBytes(r, Fn.BYTES), 0);
      compact.set(bigIntToBytes(s, Fn.BYTES), Fn.BYTES);
      return curve.verify(compact, hash, key.publicRaw, { prehash: false, lowS: false, format: 'compact' });
    }
    // Same steps as noble's verify, with the key's point decoded and precomputed once.
    const e = Fn.create(bitsToInt(hash, Fn.BITS));
    const is = Fn.inv(s);
    const R = curve.Point.BASE.multiplyUnsafe(Fn.create(e * is)).add((cached as typeof curve.Point.BASE).multiplyUnsafe(Fn.create(r * is)));
    if (R.is0()) return false;
    return Fn.create(R.toAffine().x) === r;
  } catch {
    return false;
  }
}

/** SEC 1 bits2int: the leftmost `bits` bits of the hash as an integer. */
function bitsToInt(hash: Uint8Array, bits: number): bigint {
  const v = bytesToBigInt(hash);
  const excess = hash.length * 8 - bits;
  return excess > 0 ? v >> BigInt(excess) : v;
}

/**
 * Verifying keys are usually reused (a station checks many images with one root key), so
 * from the second use on the key's decoded curve point is kept with a precomputed window
 * table: a fixed-base multiplication then costs about a quarter of a plain one. The first
 * use takes noble's plain path, so a one-shot verify pays nothing for the table.
 */
const pointCache = new WeakMap<ImageKey, { uses: number; point?: unknown }>();
function cachedPoint(key: ImageKey): unknown {
  const entry = pointCache.get(key) ?? { uses: 0 };
  pointCache.set(key, entry);
  if (++entry.uses < 2) return undefined;
  if (entry.point === undefined) {
    try {
      const P = key.type === 'ed25519' ? ed25519.Point.fromBytes(key.publicRaw, true) : (key.type === 'ecdsa-p256' ? p256 : p384).Point.fromBytes(key.publicRaw);
      // null marks a key that can never verify (an ECDSA key at infinity).
      entry.point = key.type !== 'ed25519' && P.is0() ? null : P.precompute(8);
    } catch {
      entry.point = null;
    }
  }
  return entry.point;
}

/**
 * Ed25519 as MCUboot checks it (ED25519_verify in ext/fiat, from BoringSSL): S < L, then
 * R' = [S]B - [k]A with k = SHA-512(R ‖ A ‖ message) mod L, and the encoding of R' must equal
 * the signature's R byte for byte (cofactorless). Agrees with RFC 8032 for every honestly made
 * signature; differs only for signer-crafted R with a small-order component (rejected here).
 */
export function verifyEd25519(key: ImageKey, message: Uint8Array, sig: Uint8Array): boolean {
  if (key.type !== 'ed25519' || sig.length !== 64 || (sig[63]! & 0xe0) !== 0) return false;
  const P = ed25519.Point;
  try {
    let A = cachedPoint(key) as typeof P.BASE | null | undefined;
    if (A === null) return false;
    A ??= P.fromBytes(key.publicRaw, true); // ref10 decoding: y is not required to be reduced
    const S = bytesToBigIntLE(sig.subarray(32));
    if (S >= P.Fn.ORDER) return false;
    const k = P.Fn.create(bytesToBigIntLE(digest('sha512', sig.subarray(0, 32), key.publicRaw, message)));
    const R = P.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k));
    return bytesEqual(R.toBytes(), sig.subarray(0, 32));
  } catch {
    return false;
  }
}

function bytesToBigIntLE(b: Uint8Array): bigint {
  return bytesToBigInt(Uint8Array.from(b).reverse());
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) r = (r * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return r;
}

function mgf1Sha256(seed: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const c = new Uint8Array(4);
  for (let i = 0, off = 0; off < len; i++, off += 32) {
    new DataView(c.buffer).setUint32(0, i);
    out.set(digest('sha256', seed, c).subarray(0, Math.min(32, len - off)), off);
  }
  return out;
}

/** RSASSA-PSS verify of a SHA-256 digest with salt length 32 (MCUboot's only RSA mode). */
export function verifyRsaPss(key: ImageKey, mHash: Uint8Array, sig: Uint8Array): boolean {
  const rsa = key.rsa;
  if (!rsa || mHash.length !== 32) return false;
  const k = Math.ceil(rsa.bits / 8);
  if (sig.length !== k) return false;
  const s = bytesToBigInt(sig);
  if (s >= rsa.n) return false;
  const emBits = rsa.bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const full = bigIntToBytes(modPow(s, rsa.e, rsa.n), k);
  if (k > emLen && full[0] !== 0) return false;
  const em = full.subarray(k - emLen);
  if (em[emLen - 1] !== 0xbc) return false;
  const hLen = 32;
  const dbLen = emLen - hLen - 1;
  if (dbLen < PSS_SALT_LEN + 1) return false;
  const h = em.subarray(dbLen, dbLen + hLen);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((em[0]! & ~topMask) !== 0) return false;
  const db = mgf1Sha256(h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= em[i]!;
  db[0]! &= topMask;
  const psLen = dbLen - PSS_SALT_LEN - 1;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(dbLen - PSS_SALT_LEN);
  const h2 = digest('sha256', new Uint8Array(8), mHash, salt);
  return Buffer.compare(Buffer.from(h), Buffer.from(h2)) === 0;
}

/** ECDSA signature of a digest, DER encoded (what imgtool writes without --pad-sig). */
export function signEcdsa(key: ImageKey, hash: Uint8Array): Uint8Array {
  const curve = key.type === 'ecdsa-p256' ? p256 : p384;
  if (!key.secret || (key.type !== 'ecdsa-p256' && key.type !== 'ecdsa-p384')) throw new TypeError('need an ECDSA private key');
  return curve.sign(hash, key.secret, { prehash: false, format: 'der', extraEntropy: true });
}

export function signEd25519(key: ImageKey, message: Uint8Array): Uint8Array {
  if (!key.secret || key.type !== 'ed25519') throw new TypeError('need an Ed25519 private key');
  return ed25519.sign(message, key.secret);
}

/** RSASSA-PSS (SHA-256, salt 32) over `data` (node:crypto hashes it). */
export function signRsaPss(key: ImageKey, data: Uint8Array): Uint8Array {
  if (!key.pkcs8 || !key.rsa) throw new TypeError('need an RSA private key');
  const pk = createPrivateKey({ key: Buffer.from(key.pkcs8), format: 'der', type: 'pkcs8' });
  return new Uint8Array(nodeSign('sha256', data, { key: pk, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LEN }));
}
