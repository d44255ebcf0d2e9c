/**
 * Image file input: raw .bin or Intel HEX (imgtool -x output). HEX is flattened
 * from its lowest address with 0xff gaps, and that address is kept.
 */
import { flattenSegments, parseIntelHex } from '../ihex.ts';

export interface ImageInput {
  bytes: Uint8Array;
  format: 'bin' | 'hex';
  /** Flash address of byte 0, for Intel HEX input. */
  address?: number;
}

/** True when the content looks like Intel HEX text (starts with ':' and hex digits). */
export function looksLikeIntelHex(data: Uint8Array): boolean {
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data[i] !== 0x3a) return false;
  const head = Buffer.from(data.subarray(i + 1, i + 9)).toString('latin1');
  return /^[0-9A-Fa-f]{8}$/.test(head);
}

/** Decodes a file's content; `name` (file name) decides by extension, else content is sniffed. */
export function readImageFile(data: Uint8Array, name = ''): ImageInput {
  const isHex = /\.(hex|ihex|ihx)$/i.test(name) || (!/\.bin$/i.test(name) && looksLikeIntelHex(data));
  if (!isHex) return { bytes: data, format: 'bin' };
  const flat = flattenSegments(parseIntelHex(Buffer.from(data).toString('latin1')).segments, 0xff);
  return { bytes: flat.data, format: 'hex', address: flat.address };
}
