/**
 * Image signing and encryption keys in imgtool's formats.
 *
 * In: PKCS#8 "PRIVATE KEY" (what `imgtool keygen` writes), SubjectPublicKeyInfo
 * "PUBLIC KEY" (`imgtool getpub -e pem`), SEC1 "EC PRIVATE KEY", PKCS#1
 * "RSA PRIVATE KEY"/"RSA PUBLIC KEY", and raw DER (`imgtool getpub -e raw`).
 * Out: the same PKCS#8 / SPKI PEM imgtool writes.
 *
 * `publicDer` is exactly what MCUboot embeds in the PUBKEY TLV and hashes for
 * KEYHASH: SubjectPublicKeyInfo DER for EC, Ed25519 and X25519, but PKCS#1
 * RSAPublicKey DER for RSA (vectors README, "Keys").
 */
import { generateKeyPairSync } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { inputError, usageError } from '../core/errors.ts';
import { toHex } from '../core/bytes.ts';
import {
  bitStringBytes,
  bytesToBigInt,
  decodeOid,
  der,
  derBits,
  DerError,
  derNull,
  derOctets,
  derOid,
  derSeq,
  derUInt,
  expectTag,
  readChildren,
  readDer,
  TAG,
  uintBytes,
} from './asn1.ts';
import { digest } from './hash.ts';
import { decodePem, encodePem } from './pem.ts';

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa-2048' | 'rsa-3072' | 'x25519';
export const KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'x25519'];

export interface RsaParts {
  n: bigint;
  e: bigint;
  bits: number;
}

export interface ImageKey {
  type: KeyType;
  /** The bytes MCUboot embeds (PUBKEY TLV) and hashes (KEYHASH TLV). */
  publicDer: Uint8Array;
  /** Raw public key: EC uncompressed point, Ed25519/X25519 32 bytes, RSA modulus. */
  publicRaw: Uint8Array;
  rsa?: RsaParts;
  /** EC scalar or Ed25519/X25519 seed; absent for public-only keys and RSA. */
  secret?: Uint8Array;
  /** PKCS#8 DER of the private key (all types), used for export and RSA operations. */
  pkcs8?: Uint8Array;
  /** SHA-256 of `publicDer` in hex, as `imgtool getpubhash` prints it. */
  fingerprint: string;
  /** Optional label (file name) for reports. */
  name?: string;
}

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  ed25519: '1.3.101.112',
  x25519: '1.3.101.110',
  rsa: '1.2.840.113549.1.1.1',
} as const;

export const isPrivate = (k: ImageKey): boolean => k.pkcs8 !== undefined;

function finish(k: Omit<ImageKey, 'fingerprint'>, name?: string): ImageKey {
  return { ...k, fingerprint: toHex(digest('sha256', k.publicDer)), ...(name ? { name } : {}) };
}

// ---------- public key builders ----------

function ecSpki(curveOid: string, point: Uint8Array): Uint8Array {
  return derSeq(derSeq(derOid(OID.ecPublicKey), derOid(curveOid)), derBits(point));
}

function edSpki(oid: string, raw: Uint8Array): Uint8Array {
  return derSeq(derSeq(derOid(oid)), derBits(raw));
}

function rsaPkcs1Public(n: Uint8Array, e: Uint8Array): Uint8Array {
  return derSeq(derUInt(n), derUInt(e));
}

function ecKey(type: 'ecdsa-p256' | 'ecdsa-p384', point: Uint8Array, secret?: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const curve = type === 'ecdsa-p256' ? p256 : p384;
  const curveOid = type === 'ecdsa-p256' ? OID.p256 : OID.p384;
  // Normalise to the uncompressed point and check it lies on the curve.
  const pt = curve.Point.fromBytes(point).toBytes(false);
  const base = { type, publicRaw: pt, publicDer: ecSpki(curveOid, pt) };
  if (!secret) return base;
  // imgtool (Python cryptography) writes PKCS#8 around SEC1 ECPrivateKey with the public key, no params.
  const sec1 = derSeq(derUInt(1), derOctets(secret), der(0xa1, derBits(pt)));
  const pkcs8 = derSeq(derUInt(0), derSeq(derOid(OID.ecPublicKey), derOid(curveOid)), derOctets(sec1));
  return { ...base, secret, pkcs8 };
}

function edKey(type: 'ed25519' | 'x25519', raw: Uint8Array, secret?: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const oid = type === 'ed25519' ? OID.ed25519 : OID.x25519;
  // No honest Ed25519 key is of small order; trusting one would let anyone forge (MCUboot does not check).
  if (type === 'ed25519' && ed25519.Point.fromBytes(raw, true).isSmallOrder())
    throw inputError('keys.weak-key', 'This Ed25519 public key is a small-order point: signatures for it can be forged. It cannot be a real signing key.');
  const base = { type, publicRaw: raw, publicDer: edSpki(oid, raw) };
  if (!secret) return base;
  const pkcs8 = derSeq(derUInt(0), derSeq(derOid(oid)), derOctets(derOctets(secret)));
  return { ...base, secret, pkcs8 };
}

function rsaKey(n: Uint8Array, e: Uint8Array, pkcs8?: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const nn = bytesToBigInt(n);
  const bits = nn.toString(2).length;
  if (bits !== 2048 && bits !== 3072)
    throw inputError('keys.unsupported-rsa-size', `RSA key is ${bits} bits; MCUboot supports RSA-2048 and RSA-3072 only.`);
  const type = bits === 2048 ? 'rsa-2048' : 'rsa-3072';
  const base = { type, publicRaw: n, publicDer: rsaPkcs1Public(n, e), rsa: { n: nn, e: bytesToBigInt(e), bits } } as const;
  return pkcs8 ? { ...base, pkcs8 } : base;
}

// ---------- parsers ----------

function curveTypeOf(oid: string): 'ecdsa-p256' | 'ecdsa-p384' {
  if (oid === OID.p256) return 'ecdsa-p256';
  if (oid === OID.p384) return 'ecdsa-p384';
  throw inputError('keys.unsupported-curve', `EC curve ${oid} is not one MCUboot signs with (P-256 or P-384).`);
}

function parseSpki(d: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const top = readChildren(expectTag(readDer(d), TAG.SEQUENCE, 'SubjectPublicKeyInfo').value);
  const alg = readChildren(expectTag(top[0], TAG.SEQUENCE, 'AlgorithmIdentifier').value);
  const oid = decodeOid(expectTag(alg[0], TAG.OID, 'algorithm OID').value);
  const bits = bitStringBytes(expectTag(top[1], TAG.BIT_STRING, 'subjectPublicKey').value);
  if (oid === OID.ecPublicKey) return ecKey(curveTypeOf(decodeOid(expectTag(alg[1], TAG.OID, 'curve OID').value)), bits);
  if (oid === OID.ed25519 || oid === OID.x25519) {
    if (bits.length !== 32) throw new DerError('bad key length');
    return edKey(oid === OID.ed25519 ? 'ed25519' : 'x25519', bits);
  }
  if (oid === OID.rsa) return parsePkcs1Public(bits);
  throw inputError('keys.unsupported-algorithm', `Key algorithm ${oid} is not supported for MCUboot images.`);
}

function parsePkcs1Public(d: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const f = readChildren(expectTag(readDer(d), TAG.SEQUENCE, 'RSAPublicKey').value);
  return rsaKey(uintBytes(expectTag(f[0], TAG.INTEGER, 'n').value), uintBytes(expectTag(f[1], TAG.INTEGER, 'e').value));
}

function parsePkcs1Private(d: Uint8Array, pkcs8?: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const f = readChildren(expectTag(readDer(d), TAG.SEQUENCE, 'RSAPrivateKey').value);
  const n = uintBytes(expectTag(f[1], TAG.INTEGER, 'n').value);
  const e = uintBytes(expectTag(f[2], TAG.INTEGER, 'e').value);
  const wrapped = pkcs8 ?? derSeq(derUInt(0), derSeq(derOid(OID.rsa), derNull()), derOctets(d));
  return rsaKey(n, e, wrapped);
}

function parseSec1(d: Uint8Array, curveOid?: string): Omit<ImageKey, 'fingerprint'> {
  const f = readChildren(expectTag(readDer(d), TAG.SEQUENCE, 'ECPrivateKey').value);
  const secret = expectTag(f[1], TAG.OCTET_STRING, 'privateKey').value;
  let oid = curveOid;
  let point: Uint8Array | undefined;
  for (const n of f.slice(2)) {
    if (n.tag === 0xa0) oid = decodeOid(expectTag(readDer(n.value), TAG.OID, 'curve').value);
    if (n.tag === 0xa1) point = bitStringBytes(expectTag(readDer(n.value), TAG.BIT_STRING, 'publicKey').value);
  }
  if (!oid) throw new DerError('EC key without curve');
  const type = curveTypeOf(oid);
  const curve = type === 'ecdsa-p256' ? p256 : p384;
  const pub = curve.getPublicKey(secret, false);
  if (point && toHex(point) !== toHex(pub)) throw inputError('keys.inconsistent', 'The EC private key and its embedded public key do not match.');
  return ecKey(type, pub, secret);
}

function parsePkcs8(d: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const top = readChildren(expectTag(readDer(d), TAG.SEQUENCE, 'PrivateKeyInfo').value);
  const alg = readChildren(expectTag(top[1], TAG.SEQUENCE, 'AlgorithmIdentifier').value);
  const oid = decodeOid(expectTag(alg[0], TAG.OID, 'algorithm OID').value);
  const inner = expectTag(top[2], TAG.OCTET_STRING, 'privateKey').value;
  if (oid === OID.ecPublicKey) return parseSec1(inner, decodeOid(expectTag(alg[1], TAG.OID, 'curve OID').value));
  if (oid === OID.ed25519 || oid === OID.x25519) {
    const seed = expectTag(readDer(inner), TAG.OCTET_STRING, 'seed').value;
    if (seed.length !== 32) throw new DerError('bad seed length');
    return oid === OID.ed25519 ? edKey('ed25519', ed25519.getPublicKey(seed), seed) : edKey('x25519', x25519.getPublicKey(seed), seed);
  }
  if (oid === OID.rsa) return parsePkcs1Private(inner, d);
  throw inputError('keys.unsupported-algorithm', `Key algorithm ${oid} is not supported for MCUboot images.`);
}

/** Tries the DER containers a raw key file may hold. */
function parseDerAny(d: Uint8Array): Omit<ImageKey, 'fingerprint'> {
  const attempts = [parseSpki, parsePkcs8, parsePkcs1Public, (x: Uint8Array) => parsePkcs1Private(x), (x: Uint8Array) => parseSec1(x)];
  let last: unknown;
  for (const f of attempts) {
    try {
      return f(d);
    } catch (e) {
      if (e instanceof Error && 'code' in e && typeof (e as { code: unknown }).code === 'string' && (e as { code: string }).code.startsWith('keys.')) throw e;
      last = e;
    }
  }
  throw inputError('keys.unreadable', 'Not a key in a format imgtool uses (PEM or DER: PKCS#8, SubjectPublicKeyInfo, SEC1, PKCS#1).', {
    reason: last instanceof Error ? last.message : String(last),
  });
}

/**
 * Loads a key from PEM text or DER bytes. Private keys carry their public half.
 * Throws UnbrickError kind 'input', codes `keys.*`.
 */
export function loadKey(input: string | Uint8Array, name?: string): ImageKey {
  const text = typeof input === 'string' ? input : looksLikePem(input) ? Buffer.from(input).toString('latin1') : undefined;
  try {
    if (text === undefined) return finish(parseDerAny(input as Uint8Array), name);
    const blocks = decodePem(text);
    const b = blocks.find((x) => /KEY/.test(x.label));
    if (!b) throw inputError('keys.no-pem', 'No PEM key block found (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN PUBLIC KEY-----").');
    switch (b.label) {
      case 'PRIVATE KEY':
        return finish(parsePkcs8(b.der), name);
      case 'PUBLIC KEY':
        return finish(parseSpki(b.der), name);
      case 'EC PRIVATE KEY':
        return finish(parseSec1(b.der), name);
      case 'RSA PRIVATE KEY':
        return finish(parsePkcs1Private(b.der), name);
      case 'RSA PUBLIC KEY':
        return finish(parsePkcs1Public(b.der), name);
      default:
        if (/ENCRYPTED/.test(b.label))
          throw inputError('keys.encrypted', 'The key is password-protected. Export it unencrypted (e.g. `openssl pkcs8 -in KEY -out PLAIN.pem`) and keep it safe.');
        throw inputError('keys.unsupported-pem', `PEM block "${b.label}" is not a key format imgtool uses.`);
    }
  } catch (e) {
    if (e instanceof DerError) throw inputError('keys.malformed', `The key file is malformed: ${e.message}.`);
    if (e instanceof Error && !('kind' in e)) throw inputError('keys.malformed', `The key is not valid: ${e.message}.`);
    throw e;
  }
}

function looksLikePem(b: Uint8Array): boolean {
  return Buffer.from(b.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
}

/** The public half of a key (drops every private part). */
export function publicOnly(k: ImageKey): ImageKey {
  const { secret: _s, pkcs8: _p, ...pub } = k;
  return pub;
}

/** PKCS#8 PEM as `imgtool keygen` writes it. */
export function exportPrivatePem(k: ImageKey): string {
  if (!k.pkcs8) throw usageError('keys.not-private', 'This is a public key; a private key is needed.');
  return encodePem('PRIVATE KEY', k.pkcs8);
}

/** SubjectPublicKeyInfo PEM as `imgtool getpub -e pem` writes it (also for RSA). */
export function exportPublicPem(k: ImageKey): string {
  const spki = k.rsa ? derSeq(derSeq(derOid(OID.rsa), derNull()), derBits(k.publicDer)) : k.publicDer;
  return encodePem('PUBLIC KEY', spki);
}

/** A new key of `type` (random). */
export function generateKey(type: KeyType): ImageKey {
  switch (type) {
    case 'ecdsa-p256':
    case 'ecdsa-p384': {
      const curve = type === 'ecdsa-p256' ? p256 : p384;
      const secret = curve.utils.randomSecretKey();
      return finish(ecKey(type, curve.getPublicKey(secret, false), secret));
    }
    case 'ed25519': {
      const seed = ed25519.utils.randomSecretKey();
      return finish(edKey('ed25519', ed25519.getPublicKey(seed), seed));
    }
    case 'x25519': {
      const seed = x25519.utils.randomSecretKey();
      return finish(edKey('x25519', x25519.getPublicKey(seed), seed));
    }
    case 'rsa-2048':
    case 'rsa-3072': {
      // RSA key generation is one of the few places node:crypto is used (noble has no RSA).
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 3072, publicExponent: 65537 });
      return finish(parsePkcs8(new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }))));
    }
  }
}

/** A one-line description: "ecdsa-p256 (private) sha256:0664…". */
export function describeKey(k: ImageKey): string {
  return `${k.type} (${isPrivate(k) ? 'private' : 'public'}) sha256:${k.fingerprint.slice(0, 16)}…${k.name ? ` ${k.name}` : ''}`;
}

/** The private key as a bootloader embeds it for decryption (imgtool getpriv): PKCS#1 for RSA, PKCS#8 otherwise. */
export function bootloaderPrivateDer(k: ImageKey): Uint8Array {
  if (!k.pkcs8) throw usageError('keys.not-private', 'This is a public key; a private key is needed.');
  if (!k.rsa) return k.pkcs8;
  const top = readChildren(readDer(k.pkcs8).value);
  return expectTag(top[2], TAG.OCTET_STRING, 'privateKey').value;
}

const C_NAMES: Record<KeyType, string> = {
  'ecdsa-p256': 'ecdsa_pub_key',
  'ecdsa-p384': 'ecdsap384_pub_key',
  ed25519: 'ed25519_pub_key',
  'rsa-2048': 'rsa_pub_key',
  'rsa-3072': 'rsa_pub_key',
  x25519: 'x25519_pub_key',
};

/** A C array as `imgtool getpub -e lang-c` (public) or `imgtool getpriv` (private) prints it. */
export function exportCSource(k: ImageKey, which: 'public' | 'private' = 'public'): string {
  const bytes = which === 'public' ? k.publicDer : bootloaderPrivateDer(k);
  const name = which === 'public' ? C_NAMES[k.type] : 'enc_priv_key';
  const lines: string[] = ['/* Autogenerated by imgtool.py, do not edit. */', `const unsigned char ${name}[] = {`];
  for (let i = 0; i < bytes.length; i += 8)
    lines.push('    ' + Array.from(bytes.subarray(i, i + 8), (b) => `0x${b.toString(16).padStart(2, '0')},`).join(' '));
  lines.push('};', `const unsigned int ${name}_len = ${bytes.length};`);
  return lines.join('\n') + '\n';
}
