/**
 * The one hash helper: every SHA and HMAC in src goes through here. node:crypto's native
 * SHA-2 runs at memory speed (the image hash covers up to a whole slot; the verify
 * benchmark compares against exactly this primitive).
 */
import { createHash, createHmac } from 'node:crypto';

export type HashAlg = 'sha256' | 'sha384' | 'sha512';

export const HASH_LEN: Record<HashAlg, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** SHA-1 only for RFC 4122 name-based UUIDs (imgtool's --vid/--cid), never for integrity. */
type AnyHash = HashAlg | 'sha1';

export function digest(alg: AnyHash, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHA-256 as lowercase hex (file and record fingerprints). Strings are hashed as UTF-8. */
export function sha256Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** An incremental hash for streamed data (files, archive entries). */
export interface Hasher {
  update(part: Uint8Array): Hasher;
  digest(): Uint8Array;
  hex(): string;
}

export function hasher(alg: HashAlg): Hasher {
  const h = createHash(alg);
  const self: Hasher = {
    update: (p) => (h.update(p), self),
    digest: () => new Uint8Array(h.digest()),
    hex: () => h.digest('hex'),
  };
  return self;
}

export function hmac(alg: HashAlg, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(alg, key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
