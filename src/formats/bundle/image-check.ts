/**
 * The bridge to the MCUboot image toolkit: each MCUboot payload must verify,
 * bootloader-exact, with the one image-signing key the metadata names.
 * (No MCUboot checking is done in the bundle code itself.)
 */
import type { ImageKey } from '../../crypto/keys.ts';
import { verifyImage } from '../mcuboot/index.ts';
import type { ImageVerdict } from './verify.ts';

export function verifyMcubootPayload(bytes: Uint8Array, key: ImageKey): ImageVerdict {
  const r = verifyImage(bytes, { keys: [key], tlvAllowList: true });
  const v: ImageVerdict = { valid: r.valid, securityCounter: r.securityCounter };
  if (r.code) v.code = r.code;
  if (r.reason) v.reason = r.reason;
  if (r.hash) v.hash = r.hash;
  if (r.version) v.version = r.version;
  return v;
}
