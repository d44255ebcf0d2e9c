/**
 * DfuSe `.dfu` files (ST UM0391): an 11-byte prefix ("DfuSe", version 1,
 * image size, target count), targets (274-byte "Target" prefix with the
 * alternate setting, optional name, size and element count), elements
 * (address, size, data), and the 16-byte DFU suffix ending in a CRC-32.
 * All fields are little-endian (UM0391 says big-endian for the prefixes; every
 * real file and tool, dfu-util included, uses little-endian).
 */
import { inputError } from '../../core/errors.ts';
import { dfuCrc32 } from './crc32.ts';

export interface DfuElement {
  address: number;
  data: Uint8Array;
}

export interface DfuTarget {
  alternateSetting: number;
  name?: string;
  elements: DfuElement[];
}

export interface DfuFile {
  vendorId: number;
  productId: number;
  /** bcdDevice from the suffix; 0xFFFF means "any". */
  deviceVersion: number;
  targets: DfuTarget[];
}

const PREFIX_LEN = 11;
const TARGET_PREFIX_LEN = 274;
const ELEMENT_HEADER_LEN = 8;
const SUFFIX_LEN = 16;
const BCD_DFUSE = 0x011a;

const bad = (code: string, message: string) => inputError(`dfuse.${code}`, message);

export function parseDfuFile(bytes: Uint8Array): DfuFile {
  if (bytes.length < PREFIX_LEN + SUFFIX_LEN) throw bad('truncated', `This .dfu file is only ${bytes.length} bytes: too short to hold a DfuSe prefix and suffix.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (off: number, len: number) => String.fromCharCode(...bytes.subarray(off, off + len));

  // Suffix first: it carries the CRC over everything else.
  const s = bytes.length - SUFFIX_LEN;
  if (ascii(s + 8, 3) !== 'UFD') throw bad('no-suffix', 'The file has no DFU suffix ("UFD" signature missing): it is not a .dfu file, or it was cut short.');
  if (bytes[s + 11] !== SUFFIX_LEN) throw bad('bad-suffix', `The DFU suffix length is ${bytes[s + 11]}, not 16.`);
  const storedCrc = view.getUint32(s + 12, true);
  const crc = dfuCrc32(bytes.subarray(0, bytes.length - 4));
  if (crc !== storedCrc)
    throw bad('crc-mismatch', `The .dfu file is corrupt: its CRC is 0x${storedCrc.toString(16).padStart(8, '0')} but the content gives 0x${crc.toString(16).padStart(8, '0')}.`);
  const bcdDfu = view.getUint16(s + 6, true);
  if (bcdDfu !== BCD_DFUSE) throw bad('not-dfuse', `The file is a plain DFU ${bcdDfu.toString(16)} file, not a DfuSe (0x011a) file with target addresses.`);

  if (ascii(0, 5) !== 'DfuSe') throw bad('no-prefix', 'The file has no "DfuSe" prefix.');
  if (bytes[5] !== 1) throw bad('bad-version', `Unsupported DfuSe file version ${bytes[5]}.`);
  const imageSize = view.getUint32(6, true);
  if (imageSize !== bytes.length - SUFFIX_LEN)
    throw bad('bad-size', `The DfuSe prefix says the image is ${imageSize} bytes, but the file holds ${bytes.length - SUFFIX_LEN} before its suffix.`);
  const targetCount = bytes[10]!;

  const targets: DfuTarget[] = [];
  let off = PREFIX_LEN;
  for (let t = 0; t < targetCount; t++) {
    if (off + TARGET_PREFIX_LEN > s) throw bad('truncated', `Target ${t} runs past the end of the file.`);
    if (ascii(off, 6) !== 'Target') throw bad('bad-target', `Target ${t} does not start with "Target".`);
    const alternateSetting = bytes[off + 6]!;
    const named = view.getUint32(off + 7, true) !== 0;
    const rawName = bytes.subarray(off + 11, off + 11 + 255);
    const nul = rawName.indexOf(0);
    const name = named ? Buffer.from(rawName.subarray(0, nul < 0 ? 255 : nul)).toString('latin1') : undefined;
    const targetSize = view.getUint32(off + 266, true);
    const elementCount = view.getUint32(off + 270, true);
    off += TARGET_PREFIX_LEN;
    const end = off + targetSize;
    if (end > s) throw bad('truncated', `Target ${t} says it holds ${targetSize} bytes, past the end of the file.`);
    const elements: DfuElement[] = [];
    for (let e = 0; e < elementCount; e++) {
      if (off + ELEMENT_HEADER_LEN > end) throw bad('bad-element', `Element ${e} of target ${t} runs past its target.`);
      const address = view.getUint32(off, true);
      const size = view.getUint32(off + 4, true);
      off += ELEMENT_HEADER_LEN;
      if (off + size > end) throw bad('bad-element', `Element ${e} of target ${t} (${size} bytes at 0x${address.toString(16)}) runs past its target.`);
      if (address + size > 0x1_0000_0000) throw bad('bad-element', `Element ${e} of target ${t} wraps past the 4 GiB address space.`);
      elements.push({ address, data: bytes.slice(off, off + size) });
      off += size;
    }
    if (off !== end) throw bad('bad-target', `Target ${t} says it holds ${targetSize} bytes but its elements fill ${targetSize - (end - off)}.`);
    targets.push({ alternateSetting, ...(name !== undefined ? { name } : {}), elements });
  }
  if (off !== s) throw bad('trailing-data', `${s - off} unexpected bytes follow the last target.`);
  return { vendorId: view.getUint16(s + 4, true), productId: view.getUint16(s + 2, true), deviceVersion: view.getUint16(s, true), targets };
}

export function buildDfuFile(file: DfuFile): Uint8Array {
  const targetBytes = file.targets.map((t) => {
    const body = t.elements.reduce((n, e) => n + ELEMENT_HEADER_LEN + e.data.length, 0);
    const out = new Uint8Array(TARGET_PREFIX_LEN + body);
    const v = new DataView(out.buffer);
    out.set(Buffer.from('Target', 'latin1'), 0);
    out[6] = t.alternateSetting;
    if (t.name !== undefined) {
      v.setUint32(7, 1, true);
      out.set(Buffer.from(t.name.slice(0, 254), 'latin1'), 11);
    }
    v.setUint32(266, body, true);
    v.setUint32(270, t.elements.length, true);
    let off = TARGET_PREFIX_LEN;
    for (const e of t.elements) {
      v.setUint32(off, e.address, true);
      v.setUint32(off + 4, e.data.length, true);
      out.set(e.data, off + ELEMENT_HEADER_LEN);
      off += ELEMENT_HEADER_LEN + e.data.length;
    }
    return out;
  });
  const imageSize = PREFIX_LEN + targetBytes.reduce((n, t) => n + t.length, 0);
  const out = new Uint8Array(imageSize + SUFFIX_LEN);
  const v = new DataView(out.buffer);
  out.set(Buffer.from('DfuSe', 'latin1'), 0);
  out[5] = 1;
  v.setUint32(6, imageSize, true);
  out[10] = file.targets.length;
  let off = PREFIX_LEN;
  for (const t of targetBytes) {
    out.set(t, off);
    off += t.length;
  }
  v.setUint16(off, file.deviceVersion, true);
  v.setUint16(off + 2, file.productId, true);
  v.setUint16(off + 4, file.vendorId, true);
  v.setUint16(off + 6, BCD_DFUSE, true);
  out.set(Buffer.from('UFD', 'latin1'), off + 8);
  out[off + 11] = SUFFIX_LEN;
  v.setUint32(off + 12, dfuCrc32(out.subarray(0, out.length - 4)), true);
  return out;
}
