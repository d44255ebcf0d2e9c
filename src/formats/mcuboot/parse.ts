/**
 * MCUboot image decoder: header, protected and unprotected TLV areas, trailer,
 * and the meaning of the well-known TLVs. Pure: bytes in, typed values out.
 *
 * `decodeImage` is lenient (collects problems and keeps what it could read, for
 * `image info` on a damaged file); `parseImage` is strict and throws the first
 * problem as UnbrickError kind 'input' with a `mcuboot.*` code.
 * Layout rules follow bootutil's tlv.c (bootutil_tlv_iter_begin/next).
 */
import { inputError } from '../../core/errors.ts';
import { toHex } from '../../core/bytes.ts';
import type { HashAlg } from '../../crypto/hash.ts';
import { cborToJson, decodeCbor } from './cbor.ts';
import {
  BOOT_MAGIC,
  BOOT_MAGIC_ALIGNED_TAIL,
  HASH_TLVS,
  IMAGE_FLAGS,
  IMAGE_HEADER_SIZE,
  IMAGE_MAGIC,
  TLV,
  TLV_HEADER_SIZE,
  TLV_INFO_MAGIC,
  TLV_INFO_SIZE,
  TLV_PROT_INFO_MAGIC,
  tlvName,
} from './constants.ts';

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export interface McubootHeader {
  magic: number;
  loadAddr: number;
  hdrSize: number;
  protectTlvSize: number;
  imgSize: number;
  flags: number;
  /** Names of the set flags (unknown bits as "0x...."). */
  flagNames: string[];
  version: ImageVersion;
  pad1: number;
  /** MCUboot reads little-endian only; big-endian images (imgtool -e big) are decoded for display but never valid. */
  endianness: 'little' | 'big';
}

export interface ImageTlv {
  type: number;
  name: string;
  /** Length field as stored. */
  length: number;
  protected: boolean;
  /** Offset of the TLV's 4-byte header. */
  offset: number;
  valueOffset: number;
  /** The value (shorter than `length` only when it overruns the file). */
  value: Uint8Array;
  /** True when the value runs past its area or the file. */
  overruns?: boolean;
}

export interface TlvArea {
  offset: number;
  magic: number;
  /** it_tlv_tot: area size including its 4-byte info header. */
  totalSize: number;
  end: number;
  tlvs: ImageTlv[];
}

export interface Trailer {
  /** Bytes between the end of the TLVs and the end of the file. */
  bytesAfterTlvs: number;
  magicHex: string;
  magicKind: 'standard' | 'max-align' | 'none';
  maxAlign?: number;
  imageOk?: number;
  imageOkOffsetFromEnd?: number;
  copyDone?: number;
  swapInfo?: number;
  /** swap_info decoded (low nibble; bootutil BOOT_SWAP_TYPE_*), 'unset' when erased. */
  swapType?: 'unset' | 'none' | 'test' | 'perm' | 'revert' | 'fail' | 'panic' | 'unknown';
  swapSize?: number;
  /** image_ok == 0x01. */
  confirmed?: boolean;
}

export interface Dependency {
  imageId: number;
  version: ImageVersion;
}

export interface ImageProblem {
  code: string;
  message: string;
}

export interface McubootImage {
  fileSize: number;
  header: McubootHeader;
  payload: { offset: number; size: number };
  protectedTlvArea: TlvArea | null;
  tlvArea: TlvArea;
  /** Every TLV, protected first, in file order. */
  tlvs: ImageTlv[];
  /** [start, end) covered by the image hash: header + payload + protected TLV area. */
  hashedRegion: { start: number; end: number };
  trailer: Trailer | null;
  /** Derived facts. */
  hashTlv: { type: number; alg: HashAlg; value: Uint8Array } | null;
  securityCounter: number | null;
  dependencies: Dependency[];
  bootRecord: unknown;
  uuidVid: string | null;
  uuidCid: string | null;
  decompressedSize: number | null;
  sigPure: boolean;
  encrypted: { aesBits: 128 | 256 } | null;
  compressed: 'lzma2' | 'lzma2-armthumb' | 'lzma1' | null;
}

/** What a lenient decode could read. `image` is set when header and TLV areas parsed. */
export interface DecodedImage {
  header: McubootHeader | null;
  image: McubootImage | null;
  protectedTlvArea: TlvArea | null;
  tlvArea: TlvArea | null;
  problems: ImageProblem[];
}

const versionString = (v: ImageVersion) => `${v.major}.${v.minor}.${v.revision}+${v.build}`;
export { versionString };

function flagNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of Object.entries(IMAGE_FLAGS)) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  for (let b = 0; b < 32; b++) if (rest & (1 << b)) out.push(`0x${((1 << b) >>> 0).toString(16).padStart(8, '0')}`);
  return out;
}

/** Reads the 32-byte header; `little` unless the magic only matches big-endian. */
export function decodeHeader(bytes: Uint8Array): { header: McubootHeader | null; problem?: ImageProblem } {
  if (bytes.length < IMAGE_HEADER_SIZE)
    return {
      header: null,
      problem: { code: 'mcuboot.truncated-header', message: `The file is ${bytes.length} bytes, shorter than the 32-byte MCUboot header.` },
    };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dv.getUint32(0, true) === IMAGE_MAGIC;
  const be = !le && dv.getUint32(0, false) === IMAGE_MAGIC;
  const little = !be;
  const flags = dv.getUint32(16, little);
  const header: McubootHeader = {
    magic: dv.getUint32(0, little),
    loadAddr: dv.getUint32(4, little),
    hdrSize: dv.getUint16(8, little),
    protectTlvSize: dv.getUint16(10, little),
    imgSize: dv.getUint32(12, little),
    flags,
    flagNames: flagNames(flags),
    version: { major: bytes[20]!, minor: bytes[21]!, revision: dv.getUint16(22, little), build: dv.getUint32(24, little) },
    pad1: dv.getUint32(28, little),
    endianness: little ? 'little' : 'big',
  };
  if (be)
    return {
      header,
      problem: {
        code: 'mcuboot.big-endian',
        message: 'The image is big-endian (imgtool -e big). MCUboot reads headers little-endian only, so it would reject it; re-sign without -e big.',
      },
    };
  if (!le)
    return {
      header,
      problem: {
        code: 'mcuboot.bad-magic',
        message: `Header magic is 0x${header.magic.toString(16).padStart(8, '0')}, not 0x96f3b83d: this is not a signed MCUboot image (sign it with imgtool or unbrick image sign).`,
      },
    };
  if (header.hdrSize < IMAGE_HEADER_SIZE)
    return { header, problem: { code: 'mcuboot.bad-header-size', message: `Header size ${header.hdrSize} is smaller than the 32-byte header itself.` } };
  return { header };
}

function readArea(
  bytes: Uint8Array,
  dv: DataView,
  offset: number,
  little: boolean,
  isProtected: boolean,
  problems: ImageProblem[],
): TlvArea | null {
  const which = isProtected ? 'protected' : 'unprotected';
  if (offset + TLV_INFO_SIZE > bytes.length) {
    problems.push({
      code: 'mcuboot.truncated',
      message: `The file ends at ${bytes.length} bytes, before the ${which} TLV area at 0x${offset.toString(16)}: the image is cut short (incomplete download or copy?).`,
    });
    return null;
  }
  const magic = dv.getUint16(offset, little);
  const totalSize = dv.getUint16(offset + 2, little);
  const area: TlvArea = { offset, magic, totalSize, end: offset + totalSize, tlvs: [] };
  const want = isProtected ? TLV_PROT_INFO_MAGIC : TLV_INFO_MAGIC;
  if (magic !== want) {
    problems.push({
      code: 'mcuboot.bad-tlv-info-magic',
      message: `No ${which} TLV area at 0x${offset.toString(16)} (found 0x${magic.toString(16).padStart(4, '0')}, expected 0x${want.toString(16)}): the header's image size does not match the file, or it is not an MCUboot image.`,
    });
    return area;
  }
  if (totalSize < TLV_INFO_SIZE) {
    problems.push({ code: 'mcuboot.bad-tlv-area-size', message: `The ${which} TLV area claims ${totalSize} bytes, less than its own 4-byte header.` });
    return area;
  }
  let off = offset + TLV_INFO_SIZE;
  while (off < area.end) {
    if (off + TLV_HEADER_SIZE > area.end || off + TLV_HEADER_SIZE > bytes.length) {
      problems.push({
        code: 'mcuboot.tlv-overrun',
        message: `A TLV header at 0x${off.toString(16)} runs past the end of the ${which} TLV area or the file.`,
      });
      break;
    }
    const type = dv.getUint16(off, little);
    const length = dv.getUint16(off + 2, little);
    const valueOffset = off + TLV_HEADER_SIZE;
    const valueEnd = valueOffset + length;
    const tlv: ImageTlv = {
      type,
      name: tlvName(type),
      length,
      protected: isProtected,
      offset: off,
      valueOffset,
      value: bytes.subarray(valueOffset, Math.min(valueEnd, bytes.length)),
    };
    area.tlvs.push(tlv);
    if (valueEnd > area.end || valueEnd > bytes.length) {
      tlv.overruns = true;
      problems.push({
        code: 'mcuboot.tlv-overrun',
        message: `TLV 0x${type.toString(16)} (${tlv.name}) at 0x${off.toString(16)} is ${length} bytes long and runs past the end of the ${which} TLV area${valueEnd > bytes.length ? ' and the file (truncated image?)' : ''}.`,
      });
      break;
    }
    off = valueEnd;
  }
  return area;
}

function decodeTrailer(bytes: Uint8Array, tlvEnd: number): Trailer | null {
  if (bytes.length <= tlvEnd) return null;
  const end = bytes.length;
  const magic = bytes.length >= 16 ? bytes.subarray(end - 16) : bytes.subarray(tlvEnd);
  const t: Trailer = { bytesAfterTlvs: end - tlvEnd, magicHex: toHex(magic), magicKind: 'none' };
  let maxAlign: number | undefined;
  if (magic.length === 16 && Buffer.compare(Buffer.from(magic), Buffer.from(BOOT_MAGIC)) === 0) {
    t.magicKind = 'standard';
    maxAlign = 8;
  } else if (magic.length === 16 && Buffer.compare(Buffer.from(magic.subarray(2)), Buffer.from(BOOT_MAGIC_ALIGNED_TAIL)) === 0) {
    const a = magic[0]! | (magic[1]! << 8);
    if (a >= 8 && a <= 4096 && (a & (a - 1)) === 0) {
      t.magicKind = 'max-align';
      maxAlign = a;
    }
  }
  if (maxAlign === undefined) return t;
  t.maxAlign = maxAlign;
  // bootutil: magic occupies align_up(16, max_align); image_ok, copy_done, swap_info, swap_size each one max_align slot below it.
  const magicArea = Math.ceil(16 / maxAlign) * maxAlign;
  const imageOkOff = end - magicArea - maxAlign;
  const copyDoneOff = imageOkOff - maxAlign;
  const swapInfoOff = copyDoneOff - maxAlign;
  const swapSizeOff = swapInfoOff - maxAlign;
  if (imageOkOff >= tlvEnd) {
    t.imageOk = bytes[imageOkOff]!;
    t.imageOkOffsetFromEnd = end - imageOkOff;
    t.confirmed = t.imageOk === 0x01;
  }
  if (copyDoneOff >= tlvEnd) t.copyDone = bytes[copyDoneOff]!;
  if (swapInfoOff >= tlvEnd) {
    const v = bytes[swapInfoOff]!;
    t.swapInfo = v;
    const names = { 1: 'none', 2: 'test', 3: 'perm', 4: 'revert', 5: 'fail', 0xf: 'panic' } as const;
    t.swapType = v === 0xff || v === 0x00 ? 'unset' : (names[(v & 0x0f) as keyof typeof names] ?? 'unknown');
  }
  if (swapSizeOff >= tlvEnd) t.swapSize = new DataView(bytes.buffer, bytes.byteOffset + swapSizeOff, 4).getUint32(0, true);
  return t;
}

function u32(v: Uint8Array, little = true): number {
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, little);
}

function semantics(tlvs: ImageTlv[], header: McubootHeader) {
  const little = header.endianness === 'little';
  const first = (type: number, prot?: boolean) => tlvs.find((t) => t.type === type && !t.overruns && (prot === undefined || t.protected === prot));
  const hash = tlvs.find((t) => HASH_TLVS[t.type] !== undefined && !t.overruns);
  // bootutil reads these only from the protected area (tlv iter with prot=true); copies elsewhere are ignored.
  const sec = first(TLV.SEC_CNT, true);
  const deps = tlvs
    .filter((t) => t.type === TLV.DEPENDENCY && t.protected && t.value.length >= 12)
    .map((t) => {
      const dv = new DataView(t.value.buffer, t.value.byteOffset, t.value.byteLength);
      return {
        imageId: t.value[0]!,
        version: { major: t.value[4]!, minor: t.value[5]!, revision: dv.getUint16(6, little), build: dv.getUint32(8, little) },
      };
    });
  let bootRecord: unknown = null;
  const br = first(TLV.BOOT_RECORD, true);
  if (br) {
    try {
      bootRecord = cborToJson(decodeCbor(br.value));
    } catch (e) {
      bootRecord = { undecodable: (e as Error).message, hex: toHex(br.value) };
    }
  }
  const uuid = (type: number) => {
    const t = first(type, true);
    return t && t.value.length === 16 ? toHex(t.value) : null;
  };
  const ds = first(TLV.DECOMP_SIZE, true);
  const pure = first(TLV.SIG_PURE);
  const f = header.flags;
  return {
    hashTlv: hash ? { type: hash.type, alg: HASH_TLVS[hash.type]!, value: hash.value } : null,
    securityCounter: sec && sec.value.length === 4 ? u32(sec.value, little) : null,
    dependencies: deps,
    bootRecord,
    uuidVid: uuid(TLV.UUID_VID),
    uuidCid: uuid(TLV.UUID_CID),
    decompressedSize: ds && ds.value.length === 4 ? u32(ds.value, little) : null,
    sigPure: !!pure && pure.value.length === 1 && pure.value[0] === 1,
    encrypted: f & IMAGE_FLAGS.ENCRYPTED_AES256! ? ({ aesBits: 256 } as const) : f & IMAGE_FLAGS.ENCRYPTED_AES128! ? ({ aesBits: 128 } as const) : null,
    compressed:
      f & IMAGE_FLAGS.COMPRESSED_LZMA2!
        ? f & IMAGE_FLAGS.COMPRESSED_ARM_THUMB!
          ? ('lzma2-armthumb' as const)
          : ('lzma2' as const)
        : f & IMAGE_FLAGS.COMPRESSED_LZMA1!
          ? ('lzma1' as const)
          : null,
  };
}

/** Lenient decode: never throws; reports every structural problem found. */
export function decodeImage(bytes: Uint8Array): DecodedImage {
  const problems: ImageProblem[] = [];
  const { header, problem } = decodeHeader(bytes);
  const out: DecodedImage = { header, image: null, protectedTlvArea: null, tlvArea: null, problems };
  if (problem) problems.push(problem);
  if (!header || (problem && problem.code !== 'mcuboot.big-endian')) return out;
  const little = header.endianness === 'little';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tlvOff = header.hdrSize + header.imgSize;
  let unprotOff = tlvOff;
  // bootutil_tlv_iter_begin: a protected area is present iff its magic is there, and then it_tlv_tot must equal ih_protect_tlv_size.
  if (tlvOff + TLV_INFO_SIZE <= bytes.length && dv.getUint16(tlvOff, little) === TLV_PROT_INFO_MAGIC) {
    out.protectedTlvArea = readArea(bytes, dv, tlvOff, little, true, problems);
    const tot = out.protectedTlvArea?.totalSize ?? 0;
    if (tot !== header.protectTlvSize)
      problems.push({
        code: 'mcuboot.protected-size-mismatch',
        message: `The protected TLV area is ${tot} bytes but the header says ${header.protectTlvSize}: the header or TLVs were altered.`,
      });
    unprotOff = tlvOff + tot;
  } else if (header.protectTlvSize !== 0 && tlvOff + TLV_INFO_SIZE <= bytes.length) {
    problems.push({
      code: 'mcuboot.protected-size-mismatch',
      message: `The header announces ${header.protectTlvSize} bytes of protected TLVs but there is no protected TLV area at 0x${tlvOff.toString(16)}.`,
    });
  }
  out.tlvArea = readArea(bytes, dv, unprotOff, little, false, problems);
  const tlvArea = out.tlvArea;
  if (!tlvArea || tlvArea.magic !== TLV_INFO_MAGIC) return out;
  const tlvs = [...(out.protectedTlvArea?.tlvs ?? []), ...tlvArea.tlvs];
  out.image = {
    fileSize: bytes.length,
    header,
    payload: { offset: header.hdrSize, size: header.imgSize },
    protectedTlvArea: out.protectedTlvArea,
    tlvArea,
    tlvs,
    hashedRegion: { start: 0, end: header.hdrSize + header.imgSize + header.protectTlvSize },
    trailer: decodeTrailer(bytes, tlvArea.end),
    ...semantics(tlvs, header),
  };
  return out;
}

/** Strict parse: throws the first structural problem (UnbrickError kind 'input', code `mcuboot.*`). */
export function parseImage(bytes: Uint8Array): McubootImage {
  const d = decodeImage(bytes);
  const p = d.problems[0];
  if (p || !d.image) {
    const first = p ?? { code: 'mcuboot.malformed', message: 'The image could not be decoded.' };
    throw inputError(first.code, first.message, { problems: d.problems });
  }
  return d.image;
}
