/**
 * MCUboot image format constants (bootutil/image.h, imgtool image.py; the vectors'
 * README "Format facts" wins where MCUboot's docs/design.md is stale, e.g. the
 * UUID TLVs are 0x74/0x75, not 0x80/0x81).
 */
import type { HashAlg } from '../../crypto/hash.ts';

export const IMAGE_MAGIC = 0x96f3b83d;
export const IMAGE_HEADER_SIZE = 32;
export const TLV_INFO_MAGIC = 0x6907;
export const TLV_PROT_INFO_MAGIC = 0x6908;
export const TLV_INFO_SIZE = 4;
export const TLV_HEADER_SIZE = 4;

/** Header flags, ih_flags. */
export const IMAGE_FLAGS: Record<string, number> = {
  PIC: 0x1,
  ENCRYPTED_AES128: 0x4,
  ENCRYPTED_AES256: 0x8,
  NON_BOOTABLE: 0x10,
  RAM_LOAD: 0x20,
  ROM_FIXED: 0x100,
  COMPRESSED_LZMA1: 0x200,
  COMPRESSED_LZMA2: 0x400,
  COMPRESSED_ARM_THUMB: 0x800,
};

export const TLV = {
  KEYHASH: 0x01,
  PUBKEY: 0x02,
  SHA256: 0x10,
  SHA384: 0x11,
  SHA512: 0x12,
  RSA2048_PSS: 0x20,
  ECDSA224: 0x21,
  ECDSA_SIG: 0x22,
  RSA3072_PSS: 0x23,
  ED25519: 0x24,
  SIG_PURE: 0x25,
  ENC_RSA2048: 0x30,
  ENC_KW: 0x31,
  ENC_EC256: 0x32,
  ENC_X25519: 0x33,
  ENC_X25519_SHA512: 0x34,
  DEPENDENCY: 0x40,
  SEC_CNT: 0x50,
  BOOT_RECORD: 0x60,
  DECOMP_SIZE: 0x70,
  DECOMP_SHA: 0x71,
  DECOMP_SIGNATURE: 0x72,
  COMP_DEC_SIZE: 0x73,
  UUID_VID: 0x74,
  UUID_CID: 0x75,
} as const;

/** Names as imgtool / the vectors' manifest print them. */
export const TLV_NAMES: Record<number, string> = {
  0x01: 'KEYHASH',
  0x02: 'PUBKEY',
  0x10: 'SHA256',
  0x11: 'SHA384',
  0x12: 'SHA512',
  0x20: 'RSA2048',
  0x21: 'ECDSA224',
  0x22: 'ECDSASIG',
  0x23: 'RSA3072',
  0x24: 'ED25519',
  0x25: 'SIG_PURE',
  0x30: 'ENCRSA2048',
  0x31: 'ENCKW',
  0x32: 'ENCEC256',
  0x33: 'ENCX25519',
  0x34: 'ENCX25519_SHA512',
  0x40: 'DEPENDENCY',
  0x50: 'SEC_CNT',
  0x60: 'BOOT_RECORD',
  0x70: 'DECOMP_SIZE',
  0x71: 'DECOMP_SHA',
  0x72: 'DECOMP_SIGNATURE',
  0x73: 'COMP_DEC_SIZE',
  0x74: 'UUID_VID',
  0x75: 'UUID_CID',
};

/** bootutil image.h reserves xxA0..xxFF in every upper-byte range for vendors (0xffff is IMAGE_TLV_ANY). */
export const isVendorTlv = (type: number): boolean => (type & 0xff) >= 0xa0 && type !== 0xffff;

export function tlvName(type: number): string {
  return TLV_NAMES[type] ?? (isVendorTlv(type) ? 'VENDOR' : 'UNKNOWN');
}

export const HASH_TLVS: Record<number, HashAlg> = { 0x10: 'sha256', 0x11: 'sha384', 0x12: 'sha512' };
export const HASH_TLV_OF: Record<HashAlg, number> = { sha256: 0x10, sha384: 0x11, sha512: 0x12 };

export const SIGNATURE_TLVS: ReadonlySet<number> = new Set([0x20, 0x22, 0x23, 0x24]);
export const ENC_TLVS: ReadonlySet<number> = new Set([0x30, 0x31, 0x32, 0x33, 0x34]);

/**
 * TLVs bootutil permits in the unprotected area when built with
 * MCUBOOT_USE_TLV_ALLOW_LIST (Zephyr default y): key, hash, signature, SIG_PURE,
 * encryption TLVs (image_validate.c `allowed_unprot_tlvs`).
 */
export const UNPROTECTED_ALLOWED: ReadonlySet<number> = new Set([0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33, 0x34]);

/** Boot trailer magic for max_align 8, and the tail shared by the max_align-encoded form. */
export const BOOT_MAGIC = Uint8Array.from([0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80]);
export const BOOT_MAGIC_ALIGNED_TAIL = Uint8Array.from([0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a]);
export const DEFAULT_MAX_ALIGN = 8;
export const DEFAULT_MAX_SECTORS = 128;
