/**
 * SMP over a serial console: [len u16 BE][packet][crc16 BE], base64 with '='
 * padding, cut into lines that start with 06 09 (first) or 04 14 (further)
 * and end with a single LF. Each line holds whole 4-character groups because
 * devices decode every line on its own, and at most 124 characters so a line
 * fits a 128-byte line buffer with its marker and LF (shared README: "Framing,
 * client to device"). The CRC is CRC-16/XMODEM over the packet only.
 */
import { inputError } from '../core/errors.ts';

export const START = [0x06, 0x09] as const;
export const CONT = [0x04, 0x14] as const;
export const MAX_LINE_CHARS = 124;
const LF = 0x0a;

let table: Uint16Array | undefined;
export function crc16xmodem(data: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint16Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i << 8;
      for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
      table[i] = c;
    }
  }
  for (const b of data) crc = ((crc << 8) & 0xffff) ^ table[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The decoded frame body: length field, packet, CRC. */
export function frameBody(packet: Uint8Array): Uint8Array {
  const body = new Uint8Array(packet.length + 4);
  const len = packet.length + 2;
  body[0] = len >> 8;
  body[1] = len & 0xff;
  body.set(packet, 2);
  const crc = crc16xmodem(packet);
  body[packet.length + 2] = crc >> 8;
  body[packet.length + 3] = crc & 0xff;
  return body;
}

/** Console lines for a packet, cut every 124 base64 characters (MCUboot and mcumgr clients do this). */
export function encodeFrame(packet: Uint8Array, maxChars = MAX_LINE_CHARS): Uint8Array {
  if (maxChars % 4 !== 0 || maxChars < 4) throw new RangeError('line length must be a multiple of 4');
  const text = Buffer.from(frameBody(packet)).toString('base64');
  const out: number[] = [];
  for (let i = 0; i < text.length; i += maxChars) {
    out.push(...(i === 0 ? START : CONT));
    for (let j = i; j < Math.min(i + maxChars, text.length); j++) out.push(text.charCodeAt(j));
    out.push(LF);
  }
  return Uint8Array.from(out);
}

/** Wire bytes a packet of `packetLen` bytes takes (markers, base64, LFs). */
export function frameWireLength(packetLen: number, maxChars = MAX_LINE_CHARS): number {
  const chars = Math.ceil((packetLen + 4) / 3) * 4;
  const lines = Math.ceil(chars / maxChars);
  return chars + lines * 3;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict per-line base64: whole groups, padding only at the end. Returns undefined when invalid. */
export function decodeLineBase64(text: Uint8Array): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const s = Buffer.from(text).toString('latin1');
  if (!B64.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export type FrameEvent =
  | { kind: 'packet'; packet: Uint8Array }
  | { kind: 'bad-frame'; reason: string }
  | { kind: 'text'; line: Uint8Array };

/**
 * Reassembles frames from a byte stream (the host side). Lines without a
 * marker are console text (Zephyr logs share the UART) and are reported as
 * such; a start line always restarts reassembly, so garbage never wedges it.
 */
export class FrameReader {
  private line: number[] = [];
  private body: Uint8Array[] = [];
  private bodyLen = 0;
  private expected = -1;

  constructor(
    private readonly onEvent: (e: FrameEvent) => void,
    /** Longest line kept; longer lines are noise (guards memory against a babbling port). */
    private readonly maxLine = 4096,
  ) {}

  push(data: Uint8Array): void {
    for (const b of data) {
      if (b === LF) {
        const line = Uint8Array.from(this.line);
        this.line = [];
        this.handleLine(line);
      } else if (this.line.length < this.maxLine) this.line.push(b);
    }
  }

  reset(): void {
    this.line = [];
    this.abandon();
  }

  private abandon(): void {
    this.body = [];
    this.bodyLen = 0;
    this.expected = -1;
  }

  private handleLine(raw: Uint8Array): void {
    // Tolerate CR before LF from hosts/bridges that add it.
    const line = raw.length && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    const isStart = line[0] === START[0] && line[1] === START[1];
    const isCont = line[0] === CONT[0] && line[1] === CONT[1];
    if (!isStart && !isCont) {
      if (line.length) this.onEvent({ kind: 'text', line });
      return;
    }
    if (isStart) this.abandon();
    else if (this.expected < 0) return this.onEvent({ kind: 'bad-frame', reason: 'continuation line without a start line' });
    const dec = decodeLineBase64(line.subarray(2));
    if (!dec) {
      this.abandon();
      return this.onEvent({ kind: 'bad-frame', reason: 'invalid base64' });
    }
    this.body.push(dec);
    this.bodyLen += dec.length;
    if (this.expected < 0) {
      if (this.bodyLen < 2) return this.onEvent({ kind: 'bad-frame', reason: 'start line too short' });
      const first = Buffer.concat(this.body);
      this.expected = (first[0]! << 8) | first[1]!;
    }
    const expected = this.expected;
    if (this.bodyLen - 2 < expected) return;
    const all = new Uint8Array(Buffer.concat(this.body));
    this.abandon();
    if (all.length - 2 !== expected) return this.onEvent({ kind: 'bad-frame', reason: 'length field does not match the data' });
    const payload = all.subarray(2);
    if (payload.length < 2 || crc16xmodem(payload) !== 0) return this.onEvent({ kind: 'bad-frame', reason: 'CRC mismatch' });
    this.onEvent({ kind: 'packet', packet: payload.slice(0, payload.length - 2) });
  }
}

/** Decodes one complete frame (all its lines) into its packet; throws a typed error otherwise. */
export function decodeFrame(wire: Uint8Array): Uint8Array {
  let packet: Uint8Array | undefined;
  let reason = 'no complete frame';
  new FrameReader((e) => {
    if (e.kind === 'packet' && !packet) packet = e.packet;
    else if (e.kind === 'bad-frame') reason = e.reason;
  }).push(wire);
  if (!packet) throw inputError('smp.bad-frame', `Not a valid SMP console frame: ${reason}.`);
  return packet;
}
