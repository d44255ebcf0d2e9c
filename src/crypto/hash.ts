/**
 * Hashing for image digests. Uses node:crypto's native SHA-2 because the image
 * hash covers up to a whole slot and must run at memory speed (the verify
 * benchmark compares against exactly this primitive).
 */
import { createHash } from 'node:crypto';

export type HashAlg = 'sha256' | 'sha384' | 'sha512';

export const HASH_LEN: Record<HashAlg, number> = { sha256: 32, sha384: 48, sha512: 64 };

export function digest(alg: HashAlg, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
