/**
 * Tiny CBOR (RFC 8949) decoder for the BOOT_RECORD TLV (a map of small ints to
 * text/bytes). Definite lengths only; anything else throws CborError.
 */

export class CborError extends Error {}

export type CborValue = number | string | Uint8Array | boolean | null | CborValue[] | Map<CborValue, CborValue>;

export function decodeCbor(bytes: Uint8Array): CborValue {
  let off = 0;
  const need = (n: number) => {
    if (off + n > bytes.length) throw new CborError('CBOR: truncated');
  };
  const readArg = (info: number): number => {
    if (info < 24) return info;
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (n === 0) throw new CborError('CBOR: unsupported length');
    need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[off++]!;
    return v;
  };
  const item = (depth: number): CborValue => {
    if (depth > 16) throw new CborError('CBOR: nested too deep');
    need(1);
    const b = bytes[off++]!;
    const major = b >> 5;
    const arg = readArg(b & 0x1f);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return -1 - arg;
      case 2:
      case 3: {
        need(arg);
        const v = bytes.subarray(off, off + arg);
        off += arg;
        return major === 2 ? v : new TextDecoder('utf-8', { fatal: false }).decode(v);
      }
      case 4: {
        const a: CborValue[] = [];
        for (let i = 0; i < arg; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        const m = new Map<CborValue, CborValue>();
        for (let i = 0; i < arg; i++) m.set(item(depth + 1), item(depth + 1));
        return m;
      }
      case 7:
        if (arg === 20) return false;
        if (arg === 21) return true;
        if (arg === 22) return null;
        throw new CborError('CBOR: unsupported simple value');
      default:
        throw new CborError('CBOR: unsupported type');
    }
  };
  const v = item(0);
  if (off !== bytes.length) throw new CborError('CBOR: trailing bytes');
  return v;
}

/** JSON-friendly form: maps become objects with string keys, bytes become hex. */
export function cborToJson(v: CborValue): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(cborToJson(k)), cborToJson(x)]));
  if (Array.isArray(v)) return v.map(cborToJson);
  return v;
}
