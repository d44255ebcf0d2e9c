/**
 * Reading a wire trace (written by src/transport/trace.ts) back for support:
 * the raw bytes of every exchange, and beside them what they mean where the
 * protocol is known: SMP console frames (header + CBOR body), AN3155 command
 * names and ACK/NACK, DFU class requests and GETSTATUS answers.
 * Pure functions over the file's text; `unbrick trace show` prints `formatTrace`.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { ioError, UnbrickError } from '../core/errors.ts';
import type { TraceAttachment } from '../records/report.ts';
import { literal, num, obj, oneOf, opt, parseAs, str, tagged } from '../core/schema.ts';
import { decodeCbor, type CborValue } from '../smp/cbor.ts';
import { GROUP_NAME, rcName } from '../smp/errors.ts';
import { FrameReader } from '../smp/frame.ts';
import { decodeHeader, HEADER_SIZE } from '../smp/header.ts';
import { ACK, COMMAND_NAMES, NACK, SYNC, xor } from '../stm32/an3155/codec.ts';
import { DfuRequest, DfuseCommand, decodeStatus, STATE_NAMES, STATUS_TEXT } from '../dfu/protocol.ts';
import { TRACE_FORMAT, type TraceLine } from '../transport/trace.ts';

const MAX_HEX = 16 << 20;
const t = num({ min: 0 });
const link = num({ int: true, min: 1, max: 1_000_000 });
const hexStr = str({ max: MAX_HEX, pattern: /^(?:[0-9a-f]{2})*$/ });
const LineSchema = tagged('kind', {
  header: obj({ kind: literal('header'), format: literal(TRACE_FORMAT), version: literal(1), started: str({ max: 40 }), tool: str({ max: 200 }) }),
  open: obj({ kind: literal('open'), t, link, protocol: oneOf(['smp', 'an3155', 'dfu'] as const), description: str({ max: 500 }) }),
  close: obj({ kind: literal('close'), t, link, reason: opt(str({ max: 2000 })) }),
  data: obj({ kind: literal('data'), t, link, dir: oneOf(['tx', 'rx'] as const), hex: hexStr }),
  control: obj({
    kind: literal('control'),
    t,
    link,
    dir: oneOf(['out', 'in'] as const),
    request: num({ int: true, min: 0, max: 255 }),
    value: num({ int: true, min: 0, max: 0xffff }),
    length: num({ int: true, min: 0, max: 0xffff }),
    hex: hexStr,
    error: opt(str({ max: 2000 })),
  }),
});

/** Parses a trace file's text; a damaged line is refused with its line number. */
export function readTrace(text: string, what = 'trace'): TraceLine[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new UnbrickError('input', 'trace.empty', `${what} is empty: not a wire trace.`);
  return lines.map((l, i) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new UnbrickError('input', 'trace.invalid', `${what} line ${i + 1} is not JSON: the file is damaged or not a wire trace.`, { line: i + 1 });
    }
    const parsed = parseAs(LineSchema, v, { what: `${what} line ${i + 1}`, code: 'trace.invalid' }) as TraceLine;
    if ((i === 0) !== (parsed.kind === 'header')) throw new UnbrickError('input', 'trace.invalid', `${what}: the first line (only) must be the trace header.`, { line: i + 1 });
    return parsed;
  });
}

/** One line of the decoded view. */
export interface TraceEvent {
  t: number;
  link: number;
  /** tx/out: host to device; rx/in: device to host; '' for link events. */
  dir: 'tx' | 'rx' | 'out' | 'in' | '';
  /** The raw bytes of this event (empty for a decoded packet that spans earlier chunks). */
  raw: Uint8Array;
  /** What the bytes mean, when known. */
  decoded?: string;
}

// SMP command names by group and id (mcumgr protocol: Zephyr docs "SMP Protocol Specification").
const SMP_COMMANDS: Record<number, Record<number, string>> = {
  0: { 0: 'echo', 2: 'task stats', 3: 'memory pool stats', 4: 'date-time', 5: 'reset', 6: 'MCUmgr parameters', 7: 'OS information', 8: 'bootloader information' },
  1: { 0: 'state', 1: 'upload', 2: 'file', 3: 'core list', 4: 'core load', 5: 'erase', 6: 'slot info' },
  2: { 0: 'show', 1: 'list' },
  3: { 0: 'read/write', 1: 'delete', 2: 'commit', 3: 'load/save' },
  8: { 0: 'file', 1: 'status', 2: 'hash/checksum', 3: 'supported hashes', 4: 'close' },
  9: { 0: 'exec' },
  63: { 0: 'erase storage' },
};
const SMP_OPS = ['read', 'read-rsp', 'write', 'write-rsp'];

/** A CBOR value in one short line: byte strings by length (and a prefix), long texts cut. */
export function cborText(v: CborValue, depth = 0): string {
  if (v instanceof Uint8Array) return v.length <= 8 ? `h'${Buffer.from(v).toString('hex')}'` : `<${v.length} bytes ${Buffer.from(v.subarray(0, 4)).toString('hex')}…>`;
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return String(v);
  if (depth > 6) return '…';
  if (Array.isArray(v)) return `[${v.map((x) => cborText(x, depth + 1)).join(', ')}]`;
  if ('items' in v && Array.isArray(v.items)) return `[${(v.items as CborValue[]).map((x) => cborText(x, depth + 1)).join(', ')}]`;
  if ('entries' in v && Array.isArray(v.entries)) return `{${(v.entries as [CborValue, CborValue][]).map(([k, x]) => `${cborText(k, depth + 1)}: ${cborText(x, depth + 1)}`).join(', ')}}`;
  return `{${Object.entries(v as Record<string, CborValue>).map(([k, x]) => `${k}: ${cborText(x, depth + 1)}`).join(', ')}}`;
}

/** One SMP packet (header + CBOR body) in words: "write image/upload seq 3 {off: 0, ...}". */
export function describeSmpPacket(packet: Uint8Array): string {
  if (packet.length < HEADER_SIZE) return `short SMP packet (${packet.length} bytes)`;
  const h = decodeHeader(packet);
  const cmd = SMP_COMMANDS[h.group]?.[h.id] ?? `command ${h.id}`;
  const head = `SMP ${SMP_OPS[h.op] ?? `op ${h.op}`} ${GROUP_NAME[h.group] ?? `group ${h.group}`}/${cmd} seq ${h.seq}${h.version ? ' (v2)' : ''}`;
  const body = packet.subarray(HEADER_SIZE);
  if (body.length !== h.len) return `${head}: header says ${h.len} body bytes, ${body.length} present`;
  let value: CborValue;
  try {
    value = decodeCbor(body);
  } catch (e) {
    return `${head}: body is not CBOR (${(e as Error).message})`;
  }
  const rc = value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Record<string, CborValue>).rc : undefined;
  return `${head} ${cborText(value)}${typeof rc === 'number' ? ` -> rc ${rc} (${rc === 0 ? 'ok' : rcName(rc)})` : ''}`;
}

/** AN3155 bytes in words, chunk by chunk (the host writes one frame per write). */
export function describeAn3155(dir: 'tx' | 'rx', b: Uint8Array): string | undefined {
  if (b.length === 0) return undefined;
  if (dir === 'tx') {
    if (b.length === 1 && b[0] === SYNC) return 'AN3155 sync (0x7F)';
    if (b.length === 2 && (b[0]! ^ 0xff) === b[1]) return `AN3155 command ${COMMAND_NAMES[b[0]!] ?? '(unknown)'} (0x${b[0]!.toString(16).padStart(2, '0')})`;
    if (b.length === 5 && xor(b, 0, 4) === b[4]) return `AN3155 address 0x${Buffer.from(b.subarray(0, 4)).toString('hex')}`;
    if (b.length >= 2) return `AN3155 data, ${b.length} bytes, checksum ${xor(b, 0, b.length - 1) === b[b.length - 1] ? 'ok' : 'BAD'}`;
    return undefined;
  }
  const first = b[0] === ACK ? 'ACK' : b[0] === NACK ? 'NACK' : undefined;
  if (!first) return `AN3155 answer data, ${b.length} bytes`;
  return b.length === 1 ? `AN3155 ${first}` : `AN3155 ${first} + ${b.length - 1} bytes`;
}

const DFU_NAMES = Object.fromEntries(Object.entries(DfuRequest).map(([k, v]) => [v, k])) as Record<number, string>;
const DFUSE_NAMES = Object.fromEntries(Object.entries(DfuseCommand).map(([k, v]) => [v, k])) as Record<number, string>;

/** One DFU class request in words; DfuSe commands (block 0 downloads) and GETSTATUS answers decoded. */
export function describeDfu(dir: 'out' | 'in', request: number, value: number, data: Uint8Array, error?: string): string {
  const name = DFU_NAMES[request] ?? `request ${request}`;
  let what = `DFU ${name} wValue ${value}`;
  if (request === DfuRequest.DNLOAD && value === 0 && data.length > 0) {
    const cmd = DFUSE_NAMES[data[0]!] ?? `0x${data[0]!.toString(16)}`;
    const addr = data.length >= 5 ? ` 0x${Buffer.from(data.subarray(1, 5)).reverse().toString('hex')}` : '';
    what = `DFU DNLOAD DfuSe ${cmd}${addr}`;
  } else if (request === DfuRequest.DNLOAD) what = `DFU DNLOAD block ${value}, ${data.length} bytes${data.length === 0 ? ' (end of download)' : ''}`;
  else if (request === DfuRequest.UPLOAD) what = `DFU UPLOAD block ${value}, ${data.length} bytes`;
  else if (request === DfuRequest.GETSTATUS && dir === 'in' && data.length >= 6) {
    const s = decodeStatus(data);
    what = `DFU GETSTATUS -> ${STATUS_TEXT[s.status]?.[0] ?? `status ${s.status}`}, state ${STATE_NAMES[s.state] ?? s.state}, poll ${s.pollTimeout} ms`;
  }
  return error ? `${what} FAILED: ${error}` : what;
}

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/** Every event of a trace, decoded where its link's protocol is known. */
export function decodeTrace(lines: readonly TraceLine[]): TraceEvent[] {
  const out: TraceEvent[] = [];
  const protocols = new Map<number, string>();
  const readers = new Map<string, { reader: FrameReader; state: { at: { t: number; link: number; dir: 'tx' | 'rx' } } }>();
  for (const l of lines) {
    if (l.kind === 'header') continue;
    if (l.kind === 'open') {
      protocols.set(l.link, l.protocol);
      out.push({ t: l.t, link: l.link, dir: '', raw: new Uint8Array(0), decoded: `link opened: ${l.description} (${l.protocol})` });
    } else if (l.kind === 'close') out.push({ t: l.t, link: l.link, dir: '', raw: new Uint8Array(0), decoded: `link closed${l.reason ? `: ${l.reason}` : ''}` });
    else if (l.kind === 'control') out.push({ t: l.t, link: l.link, dir: l.dir, raw: bytes(l.hex), decoded: describeDfu(l.dir, l.request, l.value, bytes(l.hex), l.error) });
    else {
      const raw = bytes(l.hex);
      const protocol = protocols.get(l.link);
      if (protocol === 'an3155') {
        const d = describeAn3155(l.dir, raw);
        out.push({ t: l.t, link: l.link, dir: l.dir, raw, ...(d ? { decoded: d } : {}) });
      } else if (protocol === 'smp') {
        out.push({ t: l.t, link: l.link, dir: l.dir, raw });
        const key = `${l.link}/${l.dir}`;
        let r = readers.get(key);
        if (!r) {
          // The chunk that completes a frame dates the decoded packet.
          const state = { at: { t: l.t, link: l.link, dir: l.dir } };
          const reader = new FrameReader((e) => {
            const at = { ...state.at, raw: new Uint8Array(0) };
            if (e.kind === 'packet') out.push({ ...at, decoded: describeSmpPacket(e.packet) });
            else if (e.kind === 'bad-frame') out.push({ ...at, decoded: `SMP bad frame: ${e.reason}` });
            else out.push({ ...at, decoded: `console text: ${JSON.stringify(Buffer.from(e.line).toString('latin1').slice(0, 200))}` });
          });
          r = { reader, state };
          readers.set(key, r);
        }
        r.state.at = { t: l.t, link: l.link, dir: l.dir };
        r.reader.push(raw);
      } else out.push({ t: l.t, link: l.link, dir: l.dir, raw });
    }
  }
  return out;
}

/** Raw bytes shown per line of the view; longer chunks continue on following lines. */
const HEX_PER_LINE = 32;

/** The decoded view: time, link, direction, raw hex, and what it means. */
export function formatTrace(lines: readonly TraceLine[], opts: { rawLimit?: number } = {}): string[] {
  const header = lines[0]?.kind === 'header' ? lines[0] : undefined;
  const out = header ? [`Wire trace by ${header.tool}, started ${header.started}`] : [];
  const arrow = { tx: 'host->dev', out: 'host->dev', rx: 'dev->host', in: 'dev->host', '': '' } as const;
  const limit = opts.rawLimit ?? 4096;
  for (const e of decodeTrace(lines)) {
    const stamp = `${(e.t / 1000).toFixed(6).padStart(12)}s  #${e.link}  ${arrow[e.dir].padEnd(9)}`;
    const hex = Buffer.from(e.raw.subarray(0, limit)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
    const rows: string[] = [];
    for (let i = 0; i < hex.length; i += HEX_PER_LINE * 3) rows.push(hex.slice(i, i + HEX_PER_LINE * 3 - 1));
    if (e.raw.length > limit) rows.push(`… ${e.raw.length - limit} more bytes`);
    if (rows.length === 0) out.push(`${stamp}  ${e.decoded ? `= ${e.decoded}` : ''}`);
    rows.forEach((r, i) => out.push(`${i === 0 ? stamp : ' '.repeat(stamp.length)}  ${r}${i === 0 && e.decoded ? `   = ${e.decoded}` : ''}`));
  }
  return out;
}

/** A trace file as a support report carries it: raw text and decoded view (one that is too big to carry is named instead). */
export function traceAttachment(path: string, maxBytes = 1 << 20): TraceAttachment {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw ioError('io.read-failed', `Cannot read the trace ${path}: ${(e as Error).message}`, { path }, e);
  }
  if (size > maxBytes) return { name: basename(path), text: '', view: [`(${path} is ${size} bytes, too large to attach; send the file itself.)`] };
  const text = readFileSync(path, 'utf8');
  return { name: basename(path), text, view: formatTrace(readTrace(text, path), { rawLimit: 256 }) };
}
