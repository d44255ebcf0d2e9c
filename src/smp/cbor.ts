/**
 * A small CBOR (RFC 8949) codec for SMP. It can reproduce device bytes
 * exactly: maps and arrays may be written definite (a1 ..) or indefinite
 * (bf .. ff, as zcbor does by default), and map key order is kept through
 * `CborMap`. Decoding never trusts a length: every length is checked against
 * the bytes left, depth is bounded, and every failure is a typed error.
 */
import { inputError } from '../core/errors.ts';

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | CborMap
  | CborIndefArray
  | { [key: string]: CborValue };

/** An ordered map with any keys; `indefinite` overrides the encoder default. */
export class CborMap {
  constructor(
    readonly entries: Array<[CborValue, CborValue]>,
    readonly indefinite?: boolean,
  ) {}
  static of(obj: Record<string, CborValue>, indefinite?: boolean): CborMap {
    return new CborMap(Object.entries(obj), indefinite);
  }
}

/** An array with an explicit length style. */
export class CborIndefArray {
  constructor(
    readonly items: CborValue[],
    readonly indefinite = true,
  ) {}
}

export interface EncodeOptions {
  /** Write maps and arrays as indefinite-length (zcbor's default). */
  indefinite?: boolean;
}

const te = new TextEncoder();

function head(out: number[], major: number, n: number | bigint): void {
  const m = major << 5;
  const v = typeof n === 'bigint' ? n : BigInt(n);
  if (v < 24n) out.push(m | Number(v));
  else if (v < 0x100n) out.push(m | 24, Number(v));
  else if (v < 0x10000n) out.push(m | 25, Number(v >> 8n), Number(v & 0xffn));
  else if (v < 0x100000000n) {
    const x = Number(v);
    out.push(m | 26, (x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
  } else {
    out.push(m | 27);
    for (let s = 56n; s >= 0n; s -= 8n) out.push(Number((v >> s) & 0xffn));
  }
}

function enc(out: number[], v: CborValue, opts: EncodeOptions): void {
  if (v === null) return void out.push(0xf6);
  if (v === undefined) return void out.push(0xf7);
  if (v === true) return void out.push(0xf5);
  if (v === false) return void out.push(0xf4);
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isInteger(v)) {
      const b = Buffer.alloc(9);
      b[0] = 0xfb;
      b.writeDoubleBE(v, 1);
      return void out.push(...b);
    }
    const n = BigInt(v);
    return n >= 0n ? head(out, 0, n) : head(out, 1, -1n - n);
  }
  if (typeof v === 'string') {
    const b = te.encode(v);
    head(out, 3, b.length);
    for (const x of b) out.push(x);
    return;
  }
  if (v instanceof Uint8Array) {
    head(out, 2, v.length);
    for (const x of v) out.push(x);
    return;
  }
  if (Array.isArray(v) || v instanceof CborIndefArray) {
    const items = Array.isArray(v) ? v : v.items;
    const indef = v instanceof CborIndefArray ? v.indefinite : !!opts.indefinite;
    if (indef) out.push(0x9f);
    else head(out, 4, items.length);
    for (const x of items) enc(out, x, opts);
    if (indef) out.push(0xff);
    return;
  }
  const entries = v instanceof CborMap ? v.entries : Object.entries(v);
  const indef = v instanceof CborMap && v.indefinite !== undefined ? v.indefinite : !!opts.indefinite;
  if (indef) out.push(0xbf);
  else head(out, 5, entries.length);
  for (const [k, x] of entries) {
    enc(out, k, opts);
    enc(out, x, opts);
  }
  if (indef) out.push(0xff);
}

export function encodeCbor(v: CborValue, opts: EncodeOptions = {}): Uint8Array {
  const out: number[] = [];
  enc(out, v, opts);
  return Uint8Array.from(out);
}

/** A decoded item with its encoding details kept (the device side needs them). */
export type CborItem =
  | { t: 'int'; v: number | bigint }
  | { t: 'bytes'; v: Uint8Array; indef: boolean }
  | { t: 'text'; v: string; indef: boolean }
  | { t: 'array'; v: CborItem[]; indef: boolean }
  | { t: 'map'; v: Array<[CborItem, CborItem]>; indef: boolean }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'undefined' }
  | { t: 'float'; v: number }
  | { t: 'simple'; v: number }
  | { t: 'tag'; tag: number | bigint; v: CborItem };

const MAX_DEPTH = 32;
const td = new TextDecoder('utf-8', { fatal: true });

const bad = (why: string, offset: number) =>
  inputError('smp.cbor-invalid', `The device sent CBOR that cannot be decoded (${why} at byte ${offset}).`, { offset });

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.b.length) throw bad('truncated', this.pos);
    return this.b[this.pos++]!;
  }

  /** Reads the argument of an initial byte; returns -1 for indefinite. */
  arg(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return (this.byte() << 8) | this.byte();
    if (info === 26) return ((this.byte() << 24) >>> 0) + (this.byte() << 16) + (this.byte() << 8) + this.byte();
    if (info === 27) {
      let v = 0n;
      for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.byte());
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    if (info === 31) return -1;
    throw bad(`reserved additional info ${info}`, this.pos - 1);
  }

  take(n: number | bigint): Uint8Array {
    if (typeof n === 'bigint' || n > this.b.length - this.pos) throw bad('length runs past the end', this.pos);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  count(n: number | bigint): number {
    // Every item takes at least one byte, so a count larger than what is left is a lie.
    if (typeof n === 'bigint' || n > this.b.length - this.pos) throw bad('item count runs past the end', this.pos);
    return n;
  }

  item(depth: number): CborItem {
    if (depth > MAX_DEPTH) throw bad('nested too deeply', this.pos);
    const start = this.pos;
    const ib = this.byte();
    const major = ib >> 5;
    const info = ib & 0x1f;
    switch (major) {
      case 0:
      case 1: {
        const a = this.arg(info);
        if (a === -1) throw bad('indefinite integer', start);
        if (major === 0) return { t: 'int', v: a };
        const n = typeof a === 'bigint' ? -1n - a : -1 - a;
        return { t: 'int', v: typeof n === 'number' && !Number.isSafeInteger(n) ? BigInt(n) : n };
      }
      case 2:
      case 3: {
        const a = this.arg(info);
        let raw: Uint8Array;
        let indef = false;
        if (a === -1) {
          indef = true;
          const parts: Uint8Array[] = [];
          for (;;) {
            if (this.pos >= this.b.length) throw bad('unterminated string', start);
            if (this.b[this.pos] === 0xff) {
              this.pos++;
              break;
            }
            const ch = this.byte();
            if (ch >> 5 !== major) throw bad('mixed chunk types', this.pos - 1);
            const n = this.arg(ch & 0x1f);
            if (n === -1) throw bad('nested indefinite string', this.pos - 1);
            parts.push(this.take(n));
          }
          raw = Buffer.concat(parts);
        } else raw = this.take(a);
        if (major === 2) return { t: 'bytes', v: Uint8Array.from(raw), indef };
        try {
          return { t: 'text', v: td.decode(raw), indef };
        } catch {
          throw bad('text is not UTF-8', start);
        }
      }
      case 4:
      case 5: {
        const a = this.arg(info);
        const indef = a === -1;
        const n = indef ? Infinity : this.count(a);
        const items: CborItem[] = [];
        const pairs: Array<[CborItem, CborItem]> = [];
        for (let i = 0; i < n; i++) {
          if (indef) {
            if (this.pos >= this.b.length) throw bad('unterminated container', start);
            if (this.b[this.pos] === 0xff) {
              this.pos++;
              break;
            }
          }
          if (major === 4) items.push(this.item(depth + 1));
          else pairs.push([this.item(depth + 1), this.item(depth + 1)]);
        }
        return major === 4 ? { t: 'array', v: items, indef } : { t: 'map', v: pairs, indef };
      }
      case 6: {
        const tag = this.arg(info);
        if (tag === -1) throw bad('indefinite tag', start);
        return { t: 'tag', tag, v: this.item(depth + 1) };
      }
      default: {
        if (info === 20) return { t: 'bool', v: false };
        if (info === 21) return { t: 'bool', v: true };
        if (info === 22) return { t: 'null' };
        if (info === 23) return { t: 'undefined' };
        if (info === 24) return { t: 'simple', v: this.byte() };
        if (info === 25) {
          const h = this.take(2);
          return { t: 'float', v: halfToNumber((h[0]! << 8) | h[1]!) };
        }
        if (info === 26) return { t: 'float', v: Buffer.from(this.take(4)).readFloatBE(0) };
        if (info === 27) return { t: 'float', v: Buffer.from(this.take(8)).readDoubleBE(0) };
        if (info === 31) throw bad('unexpected break', start);
        if (info < 20) return { t: 'simple', v: info };
        throw bad(`reserved simple value ${info}`, start);
      }
    }
  }
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes exactly one item; trailing bytes are an error unless allowed. */
export function decodeCborItem(bytes: Uint8Array, opts: { allowTrailing?: boolean } = {}): CborItem {
  const r = new Reader(bytes);
  const item = r.item(0);
  if (!opts.allowTrailing && r.pos !== bytes.length) throw bad('trailing bytes', r.pos);
  return item;
}

/** Plain JS form: maps -> objects (keys as strings), bytes -> Uint8Array. */
export function itemToValue(it: CborItem): CborValue {
  switch (it.t) {
    case 'int':
    case 'bool':
    case 'float':
      return it.v;
    case 'bytes':
    case 'text':
      return it.v;
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'simple':
      return it.v;
    case 'tag':
      return itemToValue(it.v);
    case 'array':
      return it.v.map(itemToValue);
    case 'map': {
      const o: Record<string, CborValue> = {};
      for (const [k, v] of it.v) o[k.t === 'text' ? k.v : String(itemToValue(k))] = itemToValue(v);
      return o;
    }
  }
}

export function decodeCbor(bytes: Uint8Array): CborValue {
  return itemToValue(decodeCborItem(bytes));
}
