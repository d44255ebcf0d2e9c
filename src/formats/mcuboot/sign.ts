/**
 * Image signing: builds the image exactly as imgtool's `sign` lays it out
 * (image.py create/pad_to; vectors' README "Format facts"):
 *   header (32 bytes, little-endian) + header padding + payload
 *   + protected TLVs (SEC_CNT, BOOT_RECORD, DEPENDENCY…, UUID_VID, UUID_CID, custom)
 *   + unprotected TLVs (hash, SIG_PURE, KEYHASH|PUBKEY, signature)
 *   + optional padding to the slot with the boot trailer (magic, image_ok).
 * Ed25519 and unsigned images come out byte-identical to imgtool's.
 */
import { inputError, usageError } from '../../core/errors.ts';
import { concatBytes, fromHex } from '../../core/bytes.ts';
import { digest, type HashAlg } from '../../crypto/hash.ts';
import type { ImageKey } from '../../crypto/keys.ts';
import { signEcdsa, signEd25519, signRsaPss } from '../../crypto/signatures.ts';
import { aesCtr, randomAesKey, wrapImageKey } from '../../crypto/image-encryption.ts';
import {
  BOOT_MAGIC,
  BOOT_MAGIC_ALIGNED_TAIL,
  DEFAULT_MAX_ALIGN,
  DEFAULT_MAX_SECTORS,
  HASH_TLV_OF,
  IMAGE_FLAGS,
  IMAGE_HEADER_SIZE,
  IMAGE_MAGIC,
  TLV,
  TLV_INFO_MAGIC,
  TLV_NAMES,
  TLV_PROT_INFO_MAGIC,
} from './constants.ts';
import type { ImageVersion } from './parse.ts';

export interface SignOptions {
  /** Private signing key; omit for an unsigned (hash-only) image. */
  key?: ImageKey;
  version: ImageVersion | string;
  /** ih_hdr_size (imgtool -H); default 32. */
  headerSize?: number;
  /** Prepend `headerSize` erased bytes (imgtool --pad-header); otherwise the input must start with that many zero bytes. */
  padHeader?: boolean;
  /** Slot size (imgtool -S): checked against image + trailer, and the size padded to. */
  slotSize?: number;
  /** Pad to the slot and write the boot magic (imgtool --pad). */
  pad?: boolean;
  /** Pad and mark image_ok (imgtool --confirm). */
  confirm?: boolean;
  /** Flash write alignment (imgtool --align): 1, 2, 4, 8, 16 or 32. */
  align?: number;
  /** imgtool --max-align; default max(8, align). */
  maxAlign?: number;
  /** imgtool --overwrite-only: smaller trailer, image_ok not written. */
  overwriteOnly?: boolean;
  maxSectors?: number;
  /** Erased flash value for padding (imgtool -R): 0xff (default) or 0x00. */
  erasedValue?: 0xff | 0x00;
  /** SEC_CNT TLV value; 'auto' = (major << 24) | (minor << 16) | revision. */
  securityCounter?: number | 'auto';
  dependencies?: { imageId: number; version: ImageVersion | string }[];
  /** RAM load address (imgtool -L): sets RAM_LOAD. */
  ramLoadAddress?: number;
  /** Fixed ROM address (imgtool -F): sets ROM_FIXED. */
  romFixedAddress?: number;
  nonBootable?: boolean;
  /** Hash algorithm; default from the key (P-384: sha384, pure Ed25519: sha512, else sha256). */
  hash?: HashAlg;
  /** 'hash' = KEYHASH TLV (default), 'full' = PUBKEY TLV. */
  publicKeyFormat?: 'hash' | 'full';
  /** Ed25519 over the image itself with a SIG_PURE TLV (imgtool --pure). */
  pure?: boolean;
  /** Zero-pad ECDSA signatures to 72/103 bytes (imgtool --pad-sig). */
  padSig?: boolean;
  /** Boot record SW type (imgtool --boot-record). */
  bootRecord?: string;
  /** imgtool --vid / --cid: names hashed to UUIDv5. */
  vid?: string;
  cid?: string;
  /** Vendor TLVs in the protected area (imgtool --custom-tlv). */
  customTlvs?: { type: number; value: Uint8Array }[];
  /** Encrypt for this device key (imgtool -E): P-256, X25519 or RSA-2048 public key. */
  encryptFor?: ImageKey;
  /** AES key size (imgtool --encrypt-keylen); default 128. */
  encryptKeyBits?: 128 | 256;
  /** HKDF/HMAC hash for X25519 (imgtool --hmac-sha); default 256. */
  hmacSha?: 256 | 512;
  /** Set the flag and add the key TLV but leave the payload in plaintext (imgtool --clear). */
  clear?: boolean;
  /** AES image key to use instead of a fresh random one (16 or 32 bytes, matching encryptKeyBits). */
  aesKey?: Uint8Array;
}

const VERSION_RE = /^(\d+)(?:\.(\d+)(?:\.(\d+)(?:\+(\d+))?)?)?$/;

/** Parses "1.2.3+4" (imgtool's -v syntax; missing parts are 0). */
export function parseVersion(s: string): ImageVersion {
  const m = VERSION_RE.exec(s.trim());
  if (!m) throw usageError('mcuboot.bad-version', `Version "${s}" is not MAJOR.MINOR.REVISION+BUILD (e.g. 1.2.3+4).`);
  const v = { major: +m[1]!, minor: +(m[2] ?? 0), revision: +(m[3] ?? 0), build: +(m[4] ?? 0) };
  if (v.major > 255 || v.minor > 255 || v.revision > 65535 || v.build > 0xffffffff)
    throw usageError('mcuboot.bad-version', `Version "${s}" is out of range (major, minor ≤ 255; revision ≤ 65535; build < 2^32).`);
  return v;
}

const toVersion = (v: ImageVersion | string) => (typeof v === 'string' ? parseVersion(v) : v);

function tlv(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, type, true);
  dv.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

function area(magic: number, entries: Uint8Array[]): Uint8Array {
  const body = concatBytes(...entries);
  const info = new Uint8Array(4);
  const dv = new DataView(info.buffer);
  dv.setUint16(0, magic, true);
  dv.setUint16(2, 4 + body.length, true);
  if (4 + body.length > 0xffff) throw usageError('mcuboot.tlv-area-too-large', 'The TLV area would exceed 64 KiB.');
  return concatBytes(info, body);
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** RFC 4122 UUIDv5 (imgtool: vid = uuid5(NAMESPACE_DNS, vid), cid = uuid5(vid, cid)). */
export function uuid5(namespace: Uint8Array, name: string): Uint8Array {
  const h = digest('sha1', namespace, new TextEncoder().encode(name)).subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return h;
}
const NAMESPACE_DNS = fromHex('6ba7b8109dad11d180b400c04fd430c8');

/** The CBOR boot record imgtool writes (measurement zeroed; the bootloader fills it in). */
function bootRecordCbor(swType: string, v: ImageVersion, alg: HashAlg, signerId: Uint8Array): Uint8Array {
  const text = (s: string) => {
    const b = new TextEncoder().encode(s);
    if (b.length > 23) throw usageError('mcuboot.bad-boot-record', 'Boot record SW type must be at most 12 characters.');
    return concatBytes(Uint8Array.of(0x60 | b.length), b);
  };
  const bytes = (b: Uint8Array) => concatBytes(Uint8Array.of(0x58, b.length), b);
  const measurement = new Uint8Array(digest(alg).length);
  return concatBytes(
    Uint8Array.of(0xa5),
    Uint8Array.of(0x01),
    text(swType),
    Uint8Array.of(0x04),
    text(`${v.major}.${v.minor}.${v.revision}`),
    Uint8Array.of(0x05),
    bytes(signerId),
    Uint8Array.of(0x06),
    text(alg.toUpperCase()),
    Uint8Array.of(0x02),
    bytes(measurement),
  );
}

export function defaultHashFor(key: ImageKey | undefined, pure?: boolean): HashAlg {
  if (pure) return 'sha512';
  return key?.type === 'ecdsa-p384' ? 'sha384' : 'sha256';
}

function checkHashForKey(key: ImageKey | undefined, alg: HashAlg, pure: boolean) {
  if (!key) return;
  const ok =
    key.type === 'ecdsa-p256' ? alg === 'sha256'
    : key.type === 'ecdsa-p384' ? alg === 'sha384'
    : key.type === 'ed25519' ? alg === 'sha256' || alg === 'sha512'
    : key.type === 'rsa-2048' || key.type === 'rsa-3072' ? alg === 'sha256'
    : false;
  if (!ok) throw usageError('mcuboot.hash-key-mismatch', `A ${key.type} key cannot be used with ${alg} (MCUboot pairs P-256/RSA with SHA-256, P-384 with SHA-384, Ed25519 with SHA-256 or SHA-512).`);
  if (pure && (key.type !== 'ed25519' || alg !== 'sha512')) throw usageError('mcuboot.pure-needs-ed25519', 'Pure signatures (--pure) need an Ed25519 key and SHA-512.');
}

/** Bytes imgtool reserves at the end of the slot for the boot trailer. */
export function trailerSize(o: { align?: number; maxAlign?: number; overwriteOnly?: boolean; maxSectors?: number; encrypted?: boolean }): number {
  const align = o.align ?? 1;
  const maxAlign = o.maxAlign ?? Math.max(DEFAULT_MAX_ALIGN, align);
  const magicArea = Math.ceil(16 / maxAlign) * maxAlign;
  if (o.overwriteOnly) return maxAlign * 2 + magicArea;
  // Swap status, then two slots' saved image keys when encrypted (imgtool: align_up(16, max_align) each).
  const keys = o.encrypted ? 2 * Math.ceil(16 / maxAlign) * maxAlign : 0;
  return (o.maxSectors ?? DEFAULT_MAX_SECTORS) * 3 * align + keys + maxAlign * 4 + magicArea;
}

export function bootMagic(maxAlign: number): Uint8Array {
  if (maxAlign === DEFAULT_MAX_ALIGN) return BOOT_MAGIC;
  return concatBytes(Uint8Array.of(maxAlign & 0xff, maxAlign >> 8), BOOT_MAGIC_ALIGNED_TAIL);
}

/** Signs `payload` (the raw firmware) into an MCUboot image. */
export function signImage(payload: Uint8Array, o: SignOptions): Uint8Array {
  const key = o.key;
  if (key && !key.privateKey) throw usageError('mcuboot.sign-needs-private-key', 'Signing needs the private key (the PEM from `unbrick keys generate` or `imgtool keygen`), not the public key.');
  if (key?.type === 'x25519') throw usageError('mcuboot.sign-key-type', 'X25519 keys encrypt images; they cannot sign. Use an ECDSA or Ed25519 key.');
  const version = toVersion(o.version);
  const hdrSize = o.headerSize ?? IMAGE_HEADER_SIZE;
  if (hdrSize < IMAGE_HEADER_SIZE || hdrSize > 0xffff) throw usageError('mcuboot.bad-header-size', 'Header size must be between 32 and 65535 bytes.');
  const erased = o.erasedValue ?? 0xff;
  const align = o.align ?? 1;
  if (![1, 2, 4, 8, 16, 32].includes(align)) throw usageError('mcuboot.bad-align', 'Alignment must be 1, 2, 4, 8, 16 or 32.');
  const maxAlign = o.maxAlign ?? Math.max(DEFAULT_MAX_ALIGN, align);
  if (![8, 16, 32].includes(maxAlign) && maxAlign !== align) throw usageError('mcuboot.bad-align', 'Max alignment must be 8, 16 or 32.');
  const pure = !!o.pure;
  const alg = o.hash ?? defaultHashFor(key, pure);
  checkHashForKey(key, alg, pure);
  if (o.ramLoadAddress !== undefined && o.romFixedAddress !== undefined)
    throw usageError('mcuboot.load-address-conflict', 'An image is either RAM-loaded or ROM-fixed, not both.');

  // Header area + payload.
  let body: Uint8Array;
  if (o.padHeader) body = concatBytes(new Uint8Array(hdrSize).fill(erased), payload);
  else {
    if (payload.length < hdrSize || payload.subarray(0, hdrSize).some((b) => b !== 0))
      throw inputError('mcuboot.header-not-reserved', `The input does not start with ${hdrSize} zero bytes for the header: use --pad-header to add them.`);
    body = payload.slice();
  }
  // imgtool pads header + payload with zeros to a multiple of 16 before encrypting (img_size includes it).
  const enc = o.encryptFor;
  if (enc && body.length % 16) body = concatBytes(body, new Uint8Array(16 - (body.length % 16)));
  const imgSize = body.length - hdrSize;

  // Public key hash: also the boot record's signer id.
  const keyHash = key ? digest(alg, key.publicDer) : new Uint8Array(32);

  // Protected TLVs, in imgtool's order.
  const prot: Uint8Array[] = [];
  if (o.securityCounter !== undefined) {
    const sc = o.securityCounter === 'auto' ? ((version.major << 24) | (version.minor << 16) | version.revision) >>> 0 : o.securityCounter;
    if (!Number.isInteger(sc) || sc < 0 || sc > 0xffffffff) throw usageError('mcuboot.bad-security-counter', 'Security counter must fit in 32 bits.');
    prot.push(tlv(TLV.SEC_CNT, u32le(sc)));
  }
  if (o.bootRecord !== undefined) prot.push(tlv(TLV.BOOT_RECORD, bootRecordCbor(o.bootRecord, version, alg, keyHash)));
  for (const d of o.dependencies ?? []) {
    const v = toVersion(d.version);
    const p = new Uint8Array(12);
    const dv = new DataView(p.buffer);
    if (!Number.isInteger(d.imageId) || d.imageId < 0 || d.imageId > 255) throw usageError('mcuboot.bad-dependency', 'Dependency image id must be 0..255.');
    p[0] = d.imageId;
    p[4] = v.major;
    p[5] = v.minor;
    dv.setUint16(6, v.revision, true);
    dv.setUint32(8, v.build, true);
    prot.push(tlv(TLV.DEPENDENCY, p));
  }
  let vidUuid: Uint8Array | undefined;
  if (o.vid !== undefined) {
    vidUuid = uuid5(NAMESPACE_DNS, o.vid);
    prot.push(tlv(TLV.UUID_VID, vidUuid));
  }
  if (o.cid !== undefined) {
    if (!vidUuid) throw usageError('mcuboot.cid-needs-vid', 'A class id (--cid) is derived from the vendor id: give --vid too.');
    prot.push(tlv(TLV.UUID_CID, uuid5(vidUuid, o.cid)));
  }
  for (const c of o.customTlvs ?? []) {
    // imgtool accepts 0x00a0..0xfffe (bootutil's vendor ranges are xxA0..xxFF; others show as unknown).
    if (!Number.isInteger(c.type) || c.type < 0xa0 || c.type > 0xfffe || TLV_NAMES[c.type])
      throw usageError('mcuboot.bad-custom-tlv', `Custom TLV type 0x${c.type.toString(16)} must be 0xa0..0xfffe and not a standard MCUboot TLV.`);
    prot.push(tlv(c.type, c.value));
  }
  const protArea = prot.length ? area(TLV_PROT_INFO_MAGIC, prot) : new Uint8Array(0);

  // Header.
  let flags = 0;
  if (o.ramLoadAddress !== undefined) flags |= IMAGE_FLAGS.RAM_LOAD!;
  if (o.romFixedAddress !== undefined) flags |= IMAGE_FLAGS.ROM_FIXED!;
  if (o.nonBootable) flags |= IMAGE_FLAGS.NON_BOOTABLE!;
  const aesBits = o.encryptKeyBits ?? 128;
  if (enc) flags |= aesBits === 256 ? IMAGE_FLAGS.ENCRYPTED_AES256! : IMAGE_FLAGS.ENCRYPTED_AES128!;
  const hdr = new DataView(body.buffer, body.byteOffset, IMAGE_HEADER_SIZE);
  hdr.setUint32(0, IMAGE_MAGIC, true);
  hdr.setUint32(4, (o.romFixedAddress ?? o.ramLoadAddress ?? 0) >>> 0, true);
  hdr.setUint16(8, hdrSize, true);
  hdr.setUint16(10, protArea.length, true);
  hdr.setUint32(12, imgSize, true);
  hdr.setUint32(16, flags, true);
  body[20] = version.major;
  body[21] = version.minor;
  hdr.setUint16(22, version.revision, true);
  hdr.setUint32(24, version.build, true);
  hdr.setUint32(28, 0, true);

  // Hash and signature over header + payload + protected TLVs.
  const covered = concatBytes(body, protArea);
  const hash = digest(alg, covered);
  const unprot: Uint8Array[] = [tlv(HASH_TLV_OF[alg], hash)];
  if (key) {
    if (pure) unprot.push(tlv(TLV.SIG_PURE, Uint8Array.of(1)));
    unprot.push(o.publicKeyFormat === 'full' ? tlv(TLV.PUBKEY, key.publicDer) : tlv(TLV.KEYHASH, keyHash));
    switch (key.type) {
      case 'ed25519':
        unprot.push(tlv(TLV.ED25519, signEd25519(key, pure ? covered : hash)));
        break;
      case 'ecdsa-p256':
      case 'ecdsa-p384': {
        let sig = signEcdsa(key, covered, alg);
        const padTo = key.type === 'ecdsa-p256' ? 72 : 103;
        if (o.padSig && sig.length < padTo) sig = concatBytes(sig, new Uint8Array(padTo - sig.length));
        unprot.push(tlv(TLV.ECDSA_SIG, sig));
        break;
      }
      case 'rsa-2048':
      case 'rsa-3072':
        unprot.push(tlv(key.type === 'rsa-2048' ? TLV.RSA2048_PSS : TLV.RSA3072_PSS, signRsaPss(key, covered)));
        break;
    }
  }
  let imageBody = covered;
  if (enc) {
    const aesKey = o.aesKey ?? randomAesKey(aesBits);
    if (aesKey.length * 8 !== aesBits) throw usageError('mcuboot.bad-aes-key', `The AES image key must be ${aesBits / 8} bytes.`);
    const wrapped = wrapImageKey(enc, aesKey, o.hmacSha ?? 256);
    unprot.push(tlv(wrapped.tlvType, wrapped.value));
    // Only the payload is encrypted; header and TLVs stay plaintext, hash and signature are over the plaintext.
    if (!o.clear) {
      imageBody = covered.slice();
      imageBody.set(aesCtr(aesKey, covered.subarray(hdrSize, hdrSize + imgSize)), hdrSize);
    }
  }
  let image = concatBytes(imageBody, area(TLV_INFO_MAGIC, unprot));

  const slot = o.slotSize ?? 0;
  const pad = !!(o.pad || o.confirm);
  if (pad && !slot) throw usageError('mcuboot.pad-needs-slot-size', 'Padding (--pad/--confirm) needs the slot size (--slot-size).');
  if (slot) {
    const tsize = trailerSize({ align, maxAlign, overwriteOnly: o.overwriteOnly, maxSectors: o.maxSectors, encrypted: !!enc });
    if (image.length + tsize > slot)
      throw usageError(
        'mcuboot.image-too-large',
        `Image (0x${image.length.toString(16)} bytes) plus trailer (0x${tsize.toString(16)}) does not fit the 0x${slot.toString(16)}-byte slot.`,
      );
  }
  if (pad) {
    const out = new Uint8Array(slot).fill(erased);
    out.set(image, 0);
    const magic = bootMagic(maxAlign);
    out.set(magic, slot - magic.length);
    if (o.confirm && !o.overwriteOnly) out[slot - Math.ceil(16 / maxAlign) * maxAlign - maxAlign] = 0x01;
    image = out;
  }
  return image;
}
