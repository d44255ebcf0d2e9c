/**
 * Image signing and encryption keys in imgtool's formats, held as node:crypto KeyObjects.
 *
 * In: PKCS#8 "PRIVATE KEY" (what `imgtool keygen` writes), "ENCRYPTED PRIVATE KEY" (PKCS#8
 * with a passphrase, `imgtool keygen -p`), SubjectPublicKeyInfo "PUBLIC KEY" (`imgtool getpub
 * -e pem`), SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"/"RSA PUBLIC KEY", and raw DER
 * (`imgtool getpub -e raw`). Out: the same PKCS#8 / SPKI PEM imgtool writes. OpenSSL reads and
 * writes these containers (imgtool's Python `cryptography` is OpenSSL too), so the exports are
 * byte-identical to imgtool's files (test/unit/crypto/keys.test.ts checks every vector key).
 *
 * `publicDer` is exactly what MCUboot embeds in the PUBKEY TLV and hashes for
 * KEYHASH: SubjectPublicKeyInfo DER for EC, Ed25519 and X25519, but PKCS#1
 * RSAPublicKey DER for RSA (vectors README, "Keys").
 */
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { inputError, usageError } from '../core/errors.ts';
import { bytesEqual, toHex } from '../core/bytes.ts';
import { digest } from './hash.ts';

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa-2048' | 'rsa-3072' | 'x25519';
export const KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'x25519'];

export interface ImageKey {
  type: KeyType;
  /** The bytes MCUboot embeds (PUBKEY TLV) and hashes (KEYHASH TLV). */
  publicDer: Uint8Array;
  /** Raw public key: EC uncompressed point, Ed25519/X25519 32 bytes, RSA modulus. */
  publicRaw: Uint8Array;
  publicKey: KeyObject;
  /** Absent for public-only keys. */
  privateKey?: KeyObject;
  /** RSA modulus size in bits (2048 or 3072). */
  rsaBits?: number;
  /** SHA-256 of `publicDer` in hex, as `imgtool getpubhash` prints it. */
  fingerprint: string;
  /** Optional label (file name) for reports. */
  name?: string;
}

export interface LoadKeyOptions {
  /** Passphrase of an encrypted private key (PKCS#8 "ENCRYPTED PRIVATE KEY" or legacy encrypted PEM). */
  passphrase?: string;
}

export const isPrivate = (k: ImageKey): boolean => k.privateKey !== undefined;

const b64url = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

/**
 * Small-order Ed25519 points, by y mod p (the sign bit does not matter): the identity (y = 1),
 * order 2 (y = -1), order 4 (y = 0) and order 8 (y = ±c). libsodium's ge25519_has_small_order
 * blocklist holds the same values; test/unit/crypto checks them against noble's torsion subgroup.
 */
const ED_P = 2n ** 255n - 19n;
const ED_C = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const SMALL_ORDER_Y = [0n, 1n, ED_P - 1n, ED_C, ED_P - ED_C];
export function isSmallOrderEd25519(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? raw[i]! & 0x7f : raw[i]!);
  return SMALL_ORDER_Y.includes(y % ED_P);
}

const SPKI_LEN = { 'ecdsa-p256': 91, 'ecdsa-p384': 120 } as const;

/** The ImageKey of a public KeyObject (and its private half). Throws typed `keys.*` errors. */
function fromKeyObjects(pub: KeyObject, priv: KeyObject | undefined, name?: string): ImageKey {
  let type: KeyType;
  let publicRaw: Uint8Array;
  let publicDer: Uint8Array;
  let rsaBits: number | undefined;
  const alg = pub.asymmetricKeyType;
  if (alg === 'ec') {
    const curve = pub.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1')
      throw inputError('keys.unsupported-algorithm', `EC curve ${curve ?? 'unknown'} is not supported for MCUboot images (P-256 and P-384 are).`);
    type = curve === 'prime256v1' ? 'ecdsa-p256' : 'ecdsa-p384';
    const jwk = pub.export({ format: 'jwk' });
    publicRaw = Uint8Array.of(4, ...b64url(jwk.x), ...b64url(jwk.y));
    publicDer = new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
    // OpenSSL keeps a compressed point compressed; imgtool's getpub always writes it uncompressed.
    if (publicDer.length !== SPKI_LEN[type]) {
      pub = createPublicKey({ key: jwk, format: 'jwk' });
      publicDer = new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
    }
    if (priv) {
      // A SEC1 key may carry a public key that is not its own; OpenSSL takes it as given.
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(b64url(priv.export({ format: 'jwk' }).d));
      if (!bytesEqual(new Uint8Array(ecdh.getPublicKey()), publicRaw))
        throw inputError('keys.inconsistent', 'The EC private key and its embedded public key do not match.');
    }
  } else if (alg === 'ed25519' || alg === 'x25519') {
    type = alg;
    publicRaw = b64url(pub.export({ format: 'jwk' }).x);
    publicDer = new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
    // No honest Ed25519 key is of small order; trusting one would let anyone forge (MCUboot does not check).
    if (type === 'ed25519' && isSmallOrderEd25519(publicRaw))
      throw inputError('keys.weak-key', 'This Ed25519 public key is a small-order point: signatures for it can be forged. It cannot be a real signing key.');
  } else if (alg === 'rsa') {
    rsaBits = pub.asymmetricKeyDetails?.modulusLength ?? 0;
    if (rsaBits !== 2048 && rsaBits !== 3072)
      throw inputError('keys.unsupported-rsa-size', `RSA key is ${rsaBits} bits; MCUboot supports RSA-2048 and RSA-3072 only.`);
    type = rsaBits === 2048 ? 'rsa-2048' : 'rsa-3072';
    publicRaw = b64url(pub.export({ format: 'jwk' }).n);
    publicDer = new Uint8Array(pub.export({ type: 'pkcs1', format: 'der' }));
  } else {
    throw inputError('keys.unsupported-algorithm', `Key algorithm ${alg ?? 'unknown'} is not supported for MCUboot images.`);
  }
  return {
    type,
    publicDer,
    publicRaw,
    publicKey: pub,
    ...(priv ? { privateKey: priv } : {}),
    ...(rsaBits ? { rsaBits } : {}),
    fingerprint: toHex(digest('sha256', publicDer)),
    ...(name ? { name } : {}),
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const PRIVATE_LABELS = new Set(['PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);
const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY']);

function needPassphrase(): never {
  throw inputError(
    'keys.encrypted',
    'The key is protected by a passphrase: give the name of an environment variable holding it with --key-passphrase-env VAR, or pipe it in with --key-passphrase-stdin.',
  );
}

function decryptFailed(): never {
  throw inputError('keys.bad-passphrase', 'The key could not be decrypted: the passphrase is wrong (or the encrypted key is damaged).');
}

/** The first key block of PEM text, as KeyObjects. */
function fromPem(text: string, passphrase: string | undefined): { pub: KeyObject; priv?: KeyObject } {
  const block = [...text.matchAll(PEM_BLOCK)].find((m) => /KEY/.test(m[1]!));
  if (!block) throw inputError('keys.no-pem', 'No PEM key block found (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN PUBLIC KEY-----").');
  const label = block[1]!;
  if (PUBLIC_LABELS.has(label)) return { pub: createPublicKey({ key: block[0], format: 'pem' }) };
  if (!PRIVATE_LABELS.has(label)) throw inputError('keys.unsupported-pem', `PEM block "${label}" is not a key format imgtool uses.`);
  // PKCS#8 encryption, or legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" headers).
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block[2]!);
  if (encrypted && passphrase === undefined) needPassphrase();
  let priv: KeyObject;
  try {
    priv = createPrivateKey({ key: block[0], format: 'pem', ...(encrypted ? { passphrase } : {}) });
  } catch (e) {
    if (encrypted) decryptFailed();
    throw e;
  }
  return { pub: createPublicKey(priv), priv };
}

/** The DER containers a raw key file may hold, tried in turn. */
function fromDer(d: Uint8Array, passphrase: string | undefined): { pub: KeyObject; priv?: KeyObject } {
  const key = Buffer.from(d);
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      const priv = createPrivateKey({ key, format: 'der', type, ...(type === 'pkcs8' && passphrase !== undefined ? { passphrase } : {}) });
      return { pub: createPublicKey(priv), priv };
    } catch (e) {
      // DER EncryptedPrivateKeyInfo: node says a passphrase is needed, or the given one fails.
      if (type === 'pkcs8' && (e as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') needPassphrase();
    }
  }
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return { pub: createPublicKey({ key, format: 'der', type }) };
    } catch {
      // next container
    }
  }
  if (passphrase !== undefined) decryptFailed();
  throw inputError('keys.unreadable', 'Not a key in a format imgtool uses (PEM or DER: PKCS#8, SubjectPublicKeyInfo, SEC1, PKCS#1).');
}

/**
 * Loads a key from PEM text or DER bytes. Private keys carry their public half.
 * Throws UnbrickError kind 'input', codes `keys.*`.
 */
export function loadKey(input: string | Uint8Array, name?: string, opts: LoadKeyOptions = {}): ImageKey {
  const text = typeof input === 'string' ? input : looksLikePem(input) ? Buffer.from(input).toString('latin1') : undefined;
  try {
    const { pub, priv } = text === undefined ? fromDer(input as Uint8Array, opts.passphrase) : fromPem(text, opts.passphrase);
    return fromKeyObjects(pub, priv, name);
  } catch (e) {
    if (e instanceof Error && 'kind' in e) throw e;
    throw inputError('keys.malformed', `The key file is malformed: ${(e as Error).message}.`);
  }
}

function looksLikePem(b: Uint8Array): boolean {
  return Buffer.from(b.subarray(0, 64)).toString('latin1').includes('-----BEGIN');
}

/** The public half of a key (drops the private part). */
export function publicOnly(k: ImageKey): ImageKey {
  const { privateKey: _p, ...pub } = k;
  return pub;
}

function privateOf(k: ImageKey): KeyObject {
  if (!k.privateKey) throw usageError('keys.not-private', 'This is a public key; a private key is needed.');
  return k.privateKey;
}

/** PKCS#8 DER of the private key. */
export function privatePkcs8(k: ImageKey): Uint8Array {
  return new Uint8Array(privateOf(k).export({ type: 'pkcs8', format: 'der' }));
}

/** PKCS#8 PEM as `imgtool keygen` writes it (unencrypted). */
export function exportPrivatePem(k: ImageKey): string {
  return String(privateOf(k).export({ type: 'pkcs8', format: 'pem' }));
}

/** SubjectPublicKeyInfo PEM as `imgtool getpub -e pem` writes it (also for RSA). */
export function exportPublicPem(k: ImageKey): string {
  return String(k.publicKey.export({ type: 'spki', format: 'pem' }));
}

/** A new key of `type` (random). */
export function generateKey(type: KeyType): ImageKey {
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  switch (type) {
    case 'ecdsa-p256':
    case 'ecdsa-p384':
      pair = generateKeyPairSync('ec', { namedCurve: type === 'ecdsa-p256' ? 'P-256' : 'P-384' });
      break;
    case 'ed25519':
      pair = generateKeyPairSync('ed25519');
      break;
    case 'x25519':
      pair = generateKeyPairSync('x25519');
      break;
    case 'rsa-2048':
    case 'rsa-3072':
      pair = generateKeyPairSync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 3072, publicExponent: 65537 });
      break;
  }
  return fromKeyObjects(pair.publicKey, pair.privateKey);
}

/** A one-line description: "ecdsa-p256 (private) sha256:0664…". */
export function describeKey(k: ImageKey): string {
  return `${k.type} (${isPrivate(k) ? 'private' : 'public'}) sha256:${k.fingerprint.slice(0, 16)}…${k.name ? ` ${k.name}` : ''}`;
}

/** The private key as a bootloader embeds it for decryption (imgtool getpriv): PKCS#1 for RSA, PKCS#8 otherwise. */
export function bootloaderPrivateDer(k: ImageKey): Uint8Array {
  return new Uint8Array(privateOf(k).export({ type: k.rsaBits ? 'pkcs1' : 'pkcs8', format: 'der' }));
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
