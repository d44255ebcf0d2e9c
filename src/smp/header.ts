/** The 8-byte SMP header (op, version, flags, length, group, sequence, command id). */
import { inputError } from '../core/errors.ts';

export const OP = { read: 0, readRsp: 1, write: 2, writeRsp: 3 } as const;

export interface SmpHeader {
  op: number;
  /** 0 = SMP v1, 1 = SMP v2 (bits 3-4 of byte 0). */
  version: number;
  /** Bits 5-7 of byte 0; devices copy them back. */
  reserved?: number;
  flags: number;
  len: number;
  group: number;
  seq: number;
  id: number;
}

export const HEADER_SIZE = 8;

export function encodeHeader(h: SmpHeader): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  b[0] = (h.op & 7) | ((h.version & 3) << 3) | (((h.reserved ?? 0) & 7) << 5);
  b[1] = h.flags & 0xff;
  b[2] = (h.len >> 8) & 0xff;
  b[3] = h.len & 0xff;
  b[4] = (h.group >> 8) & 0xff;
  b[5] = h.group & 0xff;
  b[6] = h.seq & 0xff;
  b[7] = h.id & 0xff;
  return b;
}

export function decodeHeader(b: Uint8Array): SmpHeader {
  if (b.length < HEADER_SIZE) throw inputError('smp.short-packet', `An SMP packet needs an 8-byte header; got ${b.length} bytes.`);
  return {
    op: b[0]! & 7,
    version: (b[0]! >> 3) & 3,
    reserved: b[0]! >> 5,
    flags: b[1]!,
    len: (b[2]! << 8) | b[3]!,
    group: (b[4]! << 8) | b[5]!,
    seq: b[6]!,
    id: b[7]!,
  };
}
