/**
 * MCUboot image toolkit: parse, verify (bootloader-exact), sign.
 * Public API for the rest of Unbrick; import from here, not from the files behind it.
 */
import { inputError } from '../../core/errors.ts';
import { toHex } from '../../core/bytes.ts';
import { decodeImage, parseImage } from './parse.ts';

export { decodeImage, decodeHeader, parseImage, versionString } from './parse.ts';
export type { DecodedImage, Dependency, ImageProblem, ImageTlv, ImageVersion, McubootHeader, McubootImage, TlvArea, Trailer } from './parse.ts';
export { hashCoveredRegion, verifyImage } from './verify.ts';
export type { VerifyOptions, VerifyResult, VerifySignature } from './verify.ts';
export { bootMagic, parseVersion, signImage, trailerSize, uuid5 } from './sign.ts';
export type { SignOptions } from './sign.ts';
export { readImageFile } from './input.ts';
export { IMAGE_FLAGS, IMAGE_MAGIC, TLV, TLV_NAMES, tlvName } from './constants.ts';
export { loadKey } from '../../crypto/keys.ts';
export type { ImageKey, KeyType } from '../../crypto/keys.ts';

/**
 * The image hash a device reports for this image (SMP image state list `hash`):
 * the value of its SHA256/384/512 TLV, which for a valid image equals the hash
 * of the covered bytes. Throws UnbrickError ('input', `mcuboot.*`) for a malformed image.
 */
export function imageHash(bytes: Uint8Array): Uint8Array {
  const img = parseImage(bytes);
  if (!img.hashTlv) throw inputError('mcuboot.no-hash', 'The image has no hash TLV.');
  return img.hashTlv.value;
}

export const imageHashHex = (bytes: Uint8Array): string => toHex(imageHash(bytes));

/** True when `bytes` starts with an MCUboot header magic (cheap sniffing for file pickers). */
export function looksLikeMcubootImage(bytes: Uint8Array): boolean {
  return decodeImage(bytes.subarray(0, 32)).header?.magic === 0x96f3b83d;
}
