/**
 * AN3155 (STM32 USART bootloader) framing, pure: bytes in, bytes out.
 * Facts from ../shared/vectors/stm32/protocol.md (sections 2-3): a command is
 * its code plus the complement; addresses are 4 bytes MSB first plus their XOR;
 * data blocks end with the XOR of the block.
 */

export const ACK = 0x79;
export const NACK = 0x1f;
export const SYNC = 0x7f;

export const CMD = {
  get: 0x00,
  getVersion: 0x01,
  getId: 0x02,
  readMemory: 0x11,
  go: 0x21,
  writeMemory: 0x31,
  erase: 0x43,
  extendedErase: 0x44,
  special: 0x50,
  extendedSpecial: 0x51,
  writeProtect: 0x63,
  writeUnprotect: 0x73,
  readoutProtect: 0x82,
  readoutUnprotect: 0x92,
  getChecksum: 0xa1,
} as const;

export const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CMD).map(([k, v]) => [v, k]));

/** Extended Erase special codes (AN3155): global, bank 1, bank 2 mass erase. */
export const EXT_ERASE = { global: 0xffff, bank1: 0xfffe, bank2: 0xfffd } as const;

export const MAX_READ = 256;
export const MAX_WRITE = 256;
/** Legacy Erase 0x43 takes at most 255 pages per command (0xFF = global). */
export const MAX_ERASE_PAGES_LEGACY = 255;
/** stm32flash caps Extended Erase at 511 pages per command (L0/L1 refuse more). */
export const MAX_ERASE_PAGES_EXTENDED = 511;

export function xor(bytes: ArrayLike<number>, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i]!;
  return x;
}

export const commandFrame = (code: number): Uint8Array => new Uint8Array([code, code ^ 0xff]);

export function addressFrame(address: number): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(0, address >>> 0);
  b[4] = xor(b, 0, 4);
  return b;
}

/** Read Memory count: N-1 then its complement. */
export const readCountFrame = (length: number): Uint8Array => new Uint8Array([length - 1, (length - 1) ^ 0xff]);

/** Write Memory data block: N-1, data, XOR(N-1, data). */
export function writeDataFrame(data: Uint8Array): Uint8Array {
  const b = new Uint8Array(data.length + 2);
  b[0] = data.length - 1;
  b.set(data, 1);
  b[b.length - 1] = xor(b, 0, b.length - 1);
  return b;
}

/** Legacy Erase page list: N-1, pages, XOR. Global erase is `FF 00`. */
export function legacyEraseFrame(pages: number[] | 'global'): Uint8Array {
  if (pages === 'global') return new Uint8Array([0xff, 0x00]);
  const b = new Uint8Array(pages.length + 2);
  b[0] = pages.length - 1;
  pages.forEach((p, i) => (b[i + 1] = p));
  b[b.length - 1] = xor(b, 0, b.length - 1);
  return b;
}

/** Extended Erase: 2-byte count N-1 and 2-byte page numbers, MSB first, then XOR; or a 2-byte special code and its XOR. */
export function extendedEraseFrame(pages: number[] | { special: number }): Uint8Array {
  if (!Array.isArray(pages)) return new Uint8Array([pages.special >> 8, pages.special & 0xff, (pages.special >> 8) ^ (pages.special & 0xff)]);
  const b = new Uint8Array(2 + pages.length * 2 + 1);
  const v = new DataView(b.buffer);
  v.setUint16(0, pages.length - 1);
  pages.forEach((p, i) => v.setUint16(2 + i * 2, p));
  b[b.length - 1] = xor(b, 0, b.length - 1);
  return b;
}

/** Write Protect sector list: N-1, sector codes, XOR. */
export const writeProtectFrame = legacyEraseFrame as (sectors: number[]) => Uint8Array;

/** Get Checksum length field: 4 bytes MSB first plus XOR (stm32flash's form; see protocol.md 3.13). */
export const lengthFrame = addressFrame;

/** CRC of the STM32 CRC unit: poly 0x04C11DB7, init 0xFFFFFFFF, 32-bit little-endian words fed MSB first, no reflection, no final XOR. */
export function stm32Crc(data: Uint8Array, crc = 0xffffffff): number {
  if (data.length % 4 !== 0) throw new RangeError('STM32 CRC needs a multiple of 4 bytes');
  for (let i = 0; i < data.length; i += 4) {
    const word = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    crc = CRC_STEP(crc, word);
  }
  return crc >>> 0;
}

// Table-driven: process the 32-bit word a byte at a time, MSB first.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function CRC_STEP(crc: number, word: number): number {
  crc = (crc ^ word) >>> 0;
  for (let k = 0; k < 4; k++) crc = ((crc << 8) ^ TABLE[crc >>> 24]!) >>> 0;
  return crc;
}

/** Parses a Get reply payload (after the first ACK): n, version, n command codes. */
export function parseGetReply(b: Uint8Array): { version: number; commands: number[] } {
  return { version: b[1]!, commands: Array.from(b.subarray(2)) };
}

export const formatVersion = (v: number): string => `${v >> 4}.${v & 0x0f}`;
