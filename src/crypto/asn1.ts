/**
 * Minimal ASN.1 DER reader and writer: just enough for the key containers imgtool
 * reads and writes (PKCS#8, SubjectPublicKeyInfo, SEC1, PKCS#1) and for ECDSA
 * signatures. Malformed input throws DerError; callers turn it into a typed error.
 */

export class DerError extends Error {}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
} as const;

export interface DerNode {
  tag: number;
  /** Content bytes (without tag and length). */
  value: Uint8Array;
  /** Total encoded length (tag + length + content). */
  size: number;
}

/** Reads one TLV at `offset`. Rejects indefinite and non-minimal lengths. */
export function readDer(bytes: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > bytes.length) throw new DerError('DER: truncated header');
  const tag = bytes[offset]!;
  let len = bytes[offset + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('DER: unsupported length form');
    if (offset + 2 + n > bytes.length) throw new DerError('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[offset + 2 + i]!;
    if (len < 0x80 || (n > 1 && bytes[offset + 2] === 0)) throw new DerError('DER: non-minimal length');
    hdr += n;
  }
  if (offset + hdr + len > bytes.length) throw new DerError('DER: content overruns input');
  return { tag, value: bytes.subarray(offset + hdr, offset + hdr + len), size: hdr + len };
}

/** Reads the children of a constructed node's content. */
export function readChildren(content: Uint8Array): DerNode[] {
  const out: DerNode[] = [];
  let off = 0;
  while (off < content.length) {
    const n = readDer(content, off);
    out.push(n);
    off += n.size;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`DER: expected ${what}`);
  return node;
}

/** Dotted OID string from content bytes. */
export function decodeOid(v: Uint8Array): string {
  if (v.length === 0) throw new DerError('DER: empty OID');
  const parts: number[] = [Math.floor(v[0]! / 40), v[0]! % 40];
  let acc = 0;
  for (let i = 1; i < v.length; i++) {
    acc = acc * 128 + (v[i]! & 0x7f);
    if (!(v[i]! & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  return parts.join('.');
}

function encodeOidContent(oid: string): Uint8Array {
  const p = oid.split('.').map(Number);
  const out: number[] = [p[0]! * 40 + p[1]!];
  for (const n of p.slice(2)) {
    const chunk: number[] = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

/** Encodes one TLV. */
export function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const len = content.reduce((n, c) => n + c.length, 0);
  let lenBytes: number[];
  if (len < 0x80) lenBytes = [len];
  else {
    const b: number[] = [];
    for (let v = len; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
    lenBytes = [0x80 | b.length, ...b];
  }
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let off = 1 + lenBytes.length;
  for (const c of content) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export const derSeq = (...c: Uint8Array[]) => der(TAG.SEQUENCE, ...c);
export const derOid = (oid: string) => der(TAG.OID, encodeOidContent(oid));
export const derNull = () => der(TAG.NULL);
export const derOctets = (b: Uint8Array) => der(TAG.OCTET_STRING, b);
export const derBits = (b: Uint8Array) => der(TAG.BIT_STRING, Uint8Array.of(0), b);

/** INTEGER from an unsigned big-endian magnitude (adds the sign byte when needed). */
export function derUInt(magnitude: Uint8Array | number): Uint8Array {
  let m = typeof magnitude === 'number' ? Uint8Array.of(magnitude) : magnitude;
  let i = 0;
  while (i < m.length - 1 && m[i] === 0) i++;
  m = m.subarray(i);
  return m[0]! & 0x80 ? der(TAG.INTEGER, Uint8Array.of(0), m) : der(TAG.INTEGER, m);
}

/** Unsigned magnitude of a non-negative INTEGER's content (strips the sign byte). */
export function uintBytes(content: Uint8Array): Uint8Array {
  if (content.length === 0) throw new DerError('DER: empty INTEGER');
  if (content[0]! & 0x80) throw new DerError('DER: negative INTEGER');
  return content[0] === 0 && content.length > 1 ? content.subarray(1) : content;
}

/** BIT STRING content without its unused-bits byte (which must be 0). */
export function bitStringBytes(content: Uint8Array): Uint8Array {
  if (content.length === 0 || content[0] !== 0) throw new DerError('DER: unsupported BIT STRING');
  return content.subarray(1);
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigIntToBytes(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new DerError('integer does not fit');
  return out;
}
