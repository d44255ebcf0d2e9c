/**
 * Request decoding the way device firmware does it (zcbor_map_decode_bulk):
 * the body must be one map with text keys; each wanted key may appear once
 * with the wanted type; unknown keys are skipped; indefinite-length strings
 * are not accepted. Anything else fails the whole request (rc 3 on devices).
 */
import { decodeCborItem, encodeCbor, CborMap, type CborItem, type CborValue } from '../../smp/cbor.ts';
import { decodeHeader, encodeHeader, HEADER_SIZE, type SmpHeader } from '../../smp/header.ts';
import type { CborType } from '../../smp/messages.ts';

/** A request field's type, as declared in src/smp/messages.ts (`requestFields`). */
export type FieldType = CborType;
type FieldValue<T extends FieldType> = T extends 'uint' | 'int' ? number : T extends 'tstr' ? string : T extends 'bstr' ? Uint8Array : boolean;

export type Decoded<S extends Record<string, FieldType>> = { [K in keyof S]?: FieldValue<S[K]> };

export function decodeBody(cbor: Uint8Array): CborItem | undefined {
  try {
    return decodeCborItem(cbor, { allowTrailing: true });
  } catch {
    return undefined;
  }
}

/** Returns the decoded fields, or undefined when the device would reject the body. */
export function bulk<S extends Record<string, FieldType>>(body: CborItem | undefined, spec: S, opts: { emptyOk?: boolean } = {}): Decoded<S> | undefined {
  if (!body) return opts.emptyOk ? {} : undefined;
  if (body.t !== 'map') return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of body.v) {
    if (k.t !== 'text' || k.indef) return undefined;
    const want = spec[k.v];
    if (!want) continue;
    if (k.v in out) return undefined;
    switch (want) {
      case 'uint':
        if (v.t !== 'int' || typeof v.v !== 'number' || v.v < 0 || v.v > 0xffffffff) return undefined;
        break;
      case 'int':
        if (v.t !== 'int' || typeof v.v !== 'number') return undefined;
        break;
      case 'tstr':
        if (v.t !== 'text' || v.indef) return undefined;
        break;
      case 'bstr':
        if (v.t !== 'bytes' || v.indef) return undefined;
        break;
      case 'bool':
        if (v.t !== 'bool') return undefined;
        break;
    }
    out[k.v] = (v as { v: unknown }).v;
  }
  return out as Decoded<S>;
}

export interface ParsedRequest {
  header: SmpHeader;
  /** CBOR bytes after the header (what the device actually received). */
  cbor: Uint8Array;
  body: CborItem | undefined;
}

export function parseRequest(packet: Uint8Array): ParsedRequest | undefined {
  if (packet.length < HEADER_SIZE) return undefined;
  const header = decodeHeader(packet);
  const cbor = packet.subarray(HEADER_SIZE);
  return { header, cbor, body: cbor.length ? decodeBody(cbor) : undefined };
}

/** A response packet: request header with op + 1, flags 0, the CBOR length; version/reserved bits kept unless given. */
export function responsePacket(req: SmpHeader, cbor: Uint8Array, override: Partial<SmpHeader> = {}): Uint8Array {
  const h = encodeHeader({ ...req, op: req.op + 1, flags: 0, len: cbor.length, ...override });
  const p = new Uint8Array(HEADER_SIZE + cbor.length);
  p.set(h);
  p.set(cbor, HEADER_SIZE);
  return p;
}

/** Encodes an ordered map the way zcbor does (indefinite unless canonical). */
export function zmap(entries: Array<[string, CborValue]>, canonical = false): CborMap {
  return new CborMap(entries, !canonical);
}

export function zcbor(v: CborValue, canonical = false): Uint8Array {
  return encodeCbor(v, { indefinite: !canonical });
}
