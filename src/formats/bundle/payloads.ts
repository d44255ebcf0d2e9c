/**
 * The payload bytes of a verified bundle, for writing them to a unit. The file
 * could have changed since it was verified: each payload read is checked again
 * against the SHA-256 its signed metadata gives, so what is written is exactly
 * what was signed.
 */
import { sha256Hex } from '../../crypto/hash.ts';
import { checkError } from '../../core/errors.ts';
import { BundleArchive, PAYLOAD_PREFIX } from './container.ts';
import type { BundleMetadata } from './metadata.ts';

export async function readPayloads(path: string, md: BundleMetadata): Promise<Map<string, Uint8Array>> {
  const archive = await BundleArchive.open(path);
  try {
    const out = new Map<string, Uint8Array>();
    for (const p of md.payloads) {
      const bytes = await archive.read(PAYLOAD_PREFIX + p.name);
      if (sha256Hex(bytes) !== p.sha256) throw checkError('bundle.changed-after-verify', `Payload ${p.name} changed after the bundle was verified; refusing it.`, { payload: p.name });
      out.set(p.name, bytes);
    }
    return out;
  } finally {
    archive.close();
  }
}
