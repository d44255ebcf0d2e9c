/**
 * Intel HEX reader and writer (records 00-05, 16/32-bit addressing).
 * Pure: text in, address-keyed segments out. Malformed input throws UnbrickError
 * kind 'input' with an `ihex.*` code naming the line.
 */
import { inputError } from '../core/errors.ts';

export interface HexSegment {
  address: number;
  data: Uint8Array;
}

export interface IntelHex {
  /** Contiguous runs of data, sorted by address, never overlapping. */
  segments: HexSegment[];
  /** Start address from a type 03 (CS:IP as linear) or 05 record, if present. */
  startAddress?: number;
}

/** Parses Intel HEX text. Checks every checksum and rejects overlapping data. */
export function parseIntelHex(text: string): IntelHex {
  const chunks: { address: number; data: Uint8Array; line: number }[] = [];
  let base = 0;
  let startAddress: number | undefined;
  let sawEof = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    if (sawEof) throw inputError('ihex.data-after-eof', `Intel HEX ${where}: data after the end-of-file record.`);
    if (line[0] !== ':' || line.length < 11 || line.length % 2 === 0 || !/^:[0-9A-Fa-f]+$/.test(line))
      throw inputError('ihex.bad-record', `Intel HEX ${where} is not a valid record (must be ':' followed by hex digits).`);
    const rec = Buffer.from(line.slice(1), 'hex');
    const len = rec[0]!;
    if (rec.length !== len + 5) throw inputError('ihex.bad-length', `Intel HEX ${where}: byte count ${len} does not match the record length.`);
    let sum = 0;
    for (const b of rec) sum = (sum + b) & 0xff;
    if (sum !== 0) throw inputError('ihex.bad-checksum', `Intel HEX ${where}: checksum mismatch (file damaged in transfer?).`);
    const offset = (rec[1]! << 8) | rec[2]!;
    const type = rec[3]!;
    const payload = new Uint8Array(rec.subarray(4, 4 + len));
    switch (type) {
      case 0x00:
        if (len > 0) chunks.push({ address: base + offset, data: payload, line: i + 1 });
        break;
      case 0x01:
        sawEof = true;
        break;
      case 0x02:
        if (len !== 2) throw inputError('ihex.bad-record', `Intel HEX ${where}: extended segment address record must hold 2 bytes.`);
        base = ((payload[0]! << 8) | payload[1]!) * 16;
        break;
      case 0x04:
        if (len !== 2) throw inputError('ihex.bad-record', `Intel HEX ${where}: extended linear address record must hold 2 bytes.`);
        base = ((payload[0]! << 24) | (payload[1]! << 16)) >>> 0;
        break;
      case 0x03:
        if (len !== 4) throw inputError('ihex.bad-record', `Intel HEX ${where}: start segment address record must hold 4 bytes.`);
        startAddress = ((payload[0]! << 8) | payload[1]!) * 16 + ((payload[2]! << 8) | payload[3]!);
        break;
      case 0x05:
        if (len !== 4) throw inputError('ihex.bad-record', `Intel HEX ${where}: start linear address record must hold 4 bytes.`);
        startAddress = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
        break;
      default:
        throw inputError('ihex.unknown-record', `Intel HEX ${where}: unknown record type 0x${type.toString(16).padStart(2, '0')}.`);
    }
  }
  if (!sawEof && chunks.length === 0) throw inputError('ihex.empty', 'The Intel HEX file holds no data records.');
  chunks.sort((a, b) => a.address - b.address);
  const segments: HexSegment[] = [];
  let cur: { address: number; parts: Uint8Array[]; end: number } | undefined;
  const flush = () => {
    if (!cur) return;
    const data = new Uint8Array(cur.end - cur.address);
    let off = 0;
    for (const p of cur.parts) {
      data.set(p, off);
      off += p.length;
    }
    segments.push({ address: cur.address, data });
  };
  for (const c of chunks) {
    if (cur && c.address < cur.end)
      throw inputError('ihex.overlap', `Intel HEX line ${c.line}: data at 0x${c.address.toString(16)} overlaps earlier data.`);
    if (cur && c.address === cur.end) {
      cur.parts.push(c.data);
      cur.end += c.data.length;
    } else {
      flush();
      cur = { address: c.address, parts: [c.data], end: c.address + c.data.length };
    }
  }
  flush();
  return startAddress === undefined ? { segments } : { segments, startAddress };
}

/** One contiguous block from the lowest to the highest address, gaps filled with `fill`. */
export function flattenSegments(segments: HexSegment[], fill = 0xff): HexSegment {
  if (segments.length === 0) return { address: 0, data: new Uint8Array(0) };
  const start = Math.min(...segments.map((s) => s.address));
  const end = Math.max(...segments.map((s) => s.address + s.data.length));
  const data = new Uint8Array(end - start).fill(fill);
  for (const s of segments) data.set(s.data, s.address - start);
  return { address: start, data };
}

function record(type: number, offset: number, data: Uint8Array): string {
  const rec = new Uint8Array(data.length + 5);
  rec[0] = data.length;
  rec[1] = (offset >> 8) & 0xff;
  rec[2] = offset & 0xff;
  rec[3] = type;
  rec.set(data, 4);
  let sum = 0;
  for (let i = 0; i < rec.length - 1; i++) sum = (sum + rec[i]!) & 0xff;
  rec[rec.length - 1] = (0x100 - sum) & 0xff;
  return ':' + Buffer.from(rec).toString('hex').toUpperCase();
}

/** Writes Intel HEX with 32-bit (type 04) addressing, `recordSize` data bytes per line. */
export function writeIntelHex(hex: IntelHex, recordSize = 16): string {
  const out: string[] = [];
  let upper = -1;
  for (const seg of [...hex.segments].sort((a, b) => a.address - b.address)) {
    let off = 0;
    while (off < seg.data.length) {
      const addr = seg.address + off;
      const hi = Math.floor(addr / 0x10000);
      if (hi !== upper) {
        out.push(record(0x04, 0, Uint8Array.of((hi >> 8) & 0xff, hi & 0xff)));
        upper = hi;
      }
      // Do not let a record cross a 64 KiB boundary.
      const n = Math.min(recordSize, seg.data.length - off, 0x10000 - (addr & 0xffff));
      out.push(record(0x00, addr & 0xffff, seg.data.subarray(off, off + n)));
      off += n;
    }
  }
  if (hex.startAddress !== undefined) {
    const a = hex.startAddress >>> 0;
    out.push(record(0x05, 0, Uint8Array.of(a >>> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff)));
  }
  out.push(':00000001FF');
  return out.join('\n') + '\n';
}
