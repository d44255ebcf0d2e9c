/**
 * How simulated devices judge the image in a slot. This is an adapter over
 * Unbrick's MCUboot module (src/formats/mcuboot, being written alongside):
 * devices must list only images that validate with their key and report the
 * image hash TLV and version, exactly like bootutil. The simulators never
 * carry their own copy of MCUboot verification.
 *
 * `readSlotImage` only finds where the image ends in a slot and reads what
 * devices report (version, hash TLV); `HASH_ONLY` is for devices built
 * without signature checking.
 */
import { digest } from '../../crypto/hash.ts';
import { loadKey, verifyImage } from '../../formats/mcuboot/index.ts';

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export interface SlotImage {
  /** Header magic and TLV structure are present (Zephyr's img_mgmt lists these). */
  wellFormed: boolean;
  /** Hash and signature check out with one of the device's keys (bootutil_img_validate). */
  valid: boolean;
  reason?: string;
  /** The SHA-256 image hash TLV. */
  hash?: Uint8Array;
  version: ImageVersion;
  flags: number;
  /** Bytes from the header start to the end of the TLVs. */
  length: number;
}

export interface ImageChecker {
  check(slot: Uint8Array): SlotImage;
  readonly signatureChecked: boolean;
}

const IMAGE_MAGIC = 0x96f3b83d;
const NO_IMAGE: SlotImage = { wellFormed: false, valid: false, reason: 'no image header', version: { major: 0, minor: 0, revision: 0, build: 0 }, flags: 0, length: 0 };

/** Reads what a device reads from a slot: header, TLV areas and the SHA-256 TLV (bootutil tlv.c layout). */
export function readSlotImage(slot: Uint8Array): { image: SlotImage; hashedEnd: number } | undefined {
  if (slot.length < 32) return undefined;
  const dv = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  if (dv.getUint32(0, true) !== IMAGE_MAGIC) return undefined;
  const hdrSize = dv.getUint16(8, true);
  const protSize = dv.getUint16(10, true);
  const imgSize = dv.getUint32(12, true);
  const flags = dv.getUint32(16, true);
  const version = { major: slot[20]!, minor: slot[21]!, revision: dv.getUint16(22, true), build: dv.getUint32(24, true) };
  const hashedEnd = hdrSize + imgSize + protSize;
  const infoOff = hashedEnd;
  if (infoOff + 4 > slot.length) return undefined;
  if (dv.getUint16(infoOff, true) !== 0x6907) return undefined;
  const tot = dv.getUint16(infoOff + 2, true);
  const end = infoOff + tot;
  if (end > slot.length || tot < 4) return undefined;
  let hash: Uint8Array | undefined;
  for (let off = infoOff + 4; off + 4 <= end; ) {
    const type = dv.getUint16(off, true);
    const len = dv.getUint16(off + 2, true);
    if (off + 4 + len > end) return undefined;
    if (type === 0x10 && len === 32) hash = slot.slice(off + 4, off + 4 + len);
    off += 4 + len;
  }
  if (!hash) return undefined;
  return { image: { wellFormed: true, valid: false, hash, version, flags, length: end }, hashedEnd };
}

/** Integrity only (a device built without a signature check). */
export const HASH_ONLY: ImageChecker = {
  signatureChecked: false,
  check(slot) {
    const r = readSlotImage(slot);
    if (!r) return NO_IMAGE;
    const computed = digest('sha256', slot.subarray(0, r.hashedEnd));
    const ok = Buffer.compare(computed, Buffer.from(r.image.hash!)) === 0;
    return { ...r.image, valid: ok, ...(ok ? {} : { reason: 'image hash mismatch' }) };
  },
};

/** A checker for a device holding these public keys (PEM): bootutil-exact verdicts from src/formats/mcuboot. */
export function imageChecker(keyPems: string[]): ImageChecker {
  const keys = keyPems.map((k) => loadKey(k));
  return {
    signatureChecked: true,
    check(slot) {
      const r = readSlotImage(slot);
      if (!r) return NO_IMAGE;
      const v = verifyImage(slot.subarray(0, r.image.length), { keys });
      return { ...r.image, valid: v.valid, ...(v.reason ? { reason: v.reason } : {}) };
    },
  };
}

export function versionText(v: ImageVersion): string {
  return `${v.major}.${v.minor}.${v.revision}${v.build ? `.${v.build}` : ''}`;
}
