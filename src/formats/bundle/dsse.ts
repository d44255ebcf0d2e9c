/**
 * DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse v1):
 * `{payloadType, payload: base64, signatures: [{keyid, sig: base64}]}`. Each
 * signature covers PAE(payloadType, payload) = "DSSEv1 <len> <type> <len> <body>",
 * so it is made over exactly the payload bytes that are later parsed (no
 * re-serialisation), and a root signature can never pass as a bundle signature.
 *
 * Release keys: Ed25519 (signature = 64 bytes over the PAE) and ECDSA P-256
 * (ASN.1 DER over SHA-256 of the PAE, as `openssl dgst -sha256 -sign` makes it).
 * Key ids are SHA-256 of the SubjectPublicKeyInfo DER (= `imgtool getpubhash`).
 */
import { sign, verify } from 'node:crypto';
import { inputError, usageError } from '../../core/errors.ts';
import type { ImageKey } from '../../crypto/keys.ts';
import { Reader } from './schema.ts';

export interface Envelope {
  payloadType: string;
  payload: Uint8Array;
  signatures: { keyid: string; sig: Uint8Array }[];
}

export const RELEASE_KEY_TYPES = ['ed25519', 'ecdsa-p256'] as const;
export type ReleaseKeyType = (typeof RELEASE_KEY_TYPES)[number];
export const isReleaseKeyType = (t: string): t is ReleaseKeyType => (RELEASE_KEY_TYPES as readonly string[]).includes(t);

export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function signPae(key: ImageKey, message: Uint8Array): Uint8Array {
  const priv = key.privateKey;
  if (!priv) throw usageError('bundle.key-not-private', `Signing needs a private key; ${key.name ?? key.fingerprint.slice(0, 16)} is public only.`);
  if (key.type === 'ed25519') return new Uint8Array(sign(null, message, priv));
  if (key.type === 'ecdsa-p256') return new Uint8Array(sign('sha256', message, { key: priv, dsaEncoding: 'der' }));
  throw usageError('bundle.key-type', `Release keys must be Ed25519 or ECDSA P-256; ${key.name ?? 'this key'} is ${key.type}.`);
}

/** True when `sig` is a valid signature by `key` over `message`; never throws. */
export function verifyPae(key: ImageKey, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (key.type === 'ed25519') return sig.length === 64 && verify(null, message, key.publicKey, sig);
    // High-S signatures are accepted: openssl makes them, and a malleable signature gains an attacker nothing here.
    if (key.type === 'ecdsa-p256') return verify('sha256', message, { key: key.publicKey, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
  return false;
}

export function signEnvelope(payloadType: string, payload: Uint8Array, keys: ImageKey[]): Envelope {
  const msg = pae(payloadType, payload);
  const seen = new Set<string>();
  const signatures = [];
  for (const k of keys) {
    if (seen.has(k.fingerprint)) throw usageError('bundle.duplicate-key', `The same key was given twice (${k.fingerprint.slice(0, 16)}…).`);
    seen.add(k.fingerprint);
    signatures.push({ keyid: k.fingerprint, sig: signPae(k, msg) });
  }
  return { payloadType, payload, signatures };
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const body = {
    payload: Buffer.from(e.payload).toString('base64'),
    payloadType: e.payloadType,
    signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: Buffer.from(s.sig).toString('base64') })),
  };
  return new TextEncoder().encode(JSON.stringify(body, null, 2) + '\n');
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses an envelope; `code` prefixes the refusal codes (e.g. "bundle", "trust"). */
export function decodeEnvelope(bytes: Uint8Array, what: string, code: string, maxPayload: number): Envelope {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw inputError(`${code}.envelope-invalid`, `${what} is not a readable signed envelope: ${(e as Error).message}.`);
  }
  const r = new Reader(what, `${code}.envelope-invalid`);
  const o = r.object(v, 'envelope', ['payload', 'payloadType', 'signatures']);
  const payloadType = r.string(o.payloadType, 'payloadType', { max: 100 });
  const b64 = r.string(o.payload, 'payload', { max: Math.ceil(maxPayload / 3) * 4 + 4, pattern: B64 });
  const signatures = r.array(
    o.signatures,
    'signatures',
    (x, p) => {
      const s = r.object(x, p, ['keyid', 'sig']);
      const sig = r.string(s.sig, `${p}.sig`, { max: 200, pattern: B64 });
      return { keyid: r.hex(s.keyid, `${p}.keyid`, 32), sig: new Uint8Array(Buffer.from(sig, 'base64')) };
    },
    { min: 1, max: 16 },
  );
  return { payloadType, payload: new Uint8Array(Buffer.from(b64, 'base64')), signatures };
}

export type SignatureStatus = 'valid' | 'invalid' | 'unknown-key' | 'revoked' | 'retired';

export interface SignatureCheck {
  keyid: string;
  status: SignatureStatus;
}

export interface KeyRing {
  /** Keys allowed for this role right now. */
  trusted: Map<string, ImageKey>;
  /** Key ids that are revoked (by the vendor's root or locally): never counted. */
  revoked: Set<string>;
  /** Key ids an earlier root version trusted for this role and a rotation removed. */
  retired: Set<string>;
}

/** Checks each signature once per distinct key id (duplicates never count twice toward a threshold). */
export function checkSignatures(e: Envelope, ring: KeyRing): { checks: SignatureCheck[]; validKeyids: string[] } {
  const msg = pae(e.payloadType, e.payload);
  const checks: SignatureCheck[] = [];
  const valid = new Set<string>();
  for (const s of e.signatures) {
    let status: SignatureStatus;
    const key = ring.trusted.get(s.keyid);
    if (ring.revoked.has(s.keyid)) status = 'revoked';
    else if (!key) status = ring.retired.has(s.keyid) ? 'retired' : 'unknown-key';
    else status = verifyPae(key, msg, s.sig) ? 'valid' : 'invalid';
    if (status === 'valid') valid.add(s.keyid);
    checks.push({ keyid: s.keyid, status });
  }
  return { checks, validKeyids: [...valid] };
}
