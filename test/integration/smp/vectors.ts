/** Loads the shared SMP transcripts in place (../shared relative to the repo root). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CborMap, type CborValue } from '../../../src/smp/cbor.ts';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const SHARED = join(REPO, '..', 'shared');
export const MCUBOOT_DIR = join(SHARED, 'vectors', 'smp-mcuboot-serial');
export const ZEPHYR_DIR = join(SHARED, 'vectors', 'smp-zephyr');

export interface Exchange {
  label: string;
  reqWire: Uint8Array;
  reqWireLines: Uint8Array[];
  /** Decoded request, when it was a well-formed packet. */
  req?: { header: Record<string, number>; cborHex: string; packetHex: string; json: unknown; handCrafted: boolean };
  /** Recorded response bytes (frame lines only for Zephyr), or undefined for silence. */
  respWire?: Uint8Array;
  resp?: { header: Record<string, number>; cborHex: string; json: unknown };
}

export interface Case {
  file: string;
  variant: string;
  exchanges: Exchange[];
}

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

function splitLines(wire: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < wire.length; i++)
    if (wire[i] === 0x0a) {
      out.push(wire.subarray(start, i + 1));
      start = i + 1;
    }
  if (start < wire.length) out.push(wire.subarray(start));
  return out;
}

export function mcubootCases(): Case[] {
  return readdirSync(MCUBOOT_DIR)
    .filter((f) => /^[A-D]\d\d_.*\.json$/.test(f))
    .sort()
    .map((file) => {
      const d = JSON.parse(readFileSync(join(MCUBOOT_DIR, file), 'utf8'));
      return {
        file,
        variant: d.peer_variant,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- recorded JSON, read field by field
        exchanges: d.exchanges.map((e: any): Exchange => {
          const r = e.request;
          const s = e.response;
          const reqWire = hex(r.wire_hex);
          return {
            label: r.label,
            reqWire,
            reqWireLines: splitLines(reqWire),
            ...(r.smp_header ? { req: { header: r.smp_header, cborHex: r.cbor_hex, packetHex: r.packet_hex, json: r.cbor, handCrafted: false } } : {}),
            ...(s ? { respWire: hex(s.wire_hex), resp: { header: s.smp_header, cborHex: s.cbor_hex, json: s.cbor } } : {}),
          };
        }),
      };
    });
}

export function zephyrCases(): Case[] {
  return readdirSync(join(ZEPHYR_DIR, 'cases'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const d = JSON.parse(readFileSync(join(ZEPHYR_DIR, 'cases', file), 'utf8'));
      return {
        file,
        variant: 'zephyr',
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- recorded JSON, read field by field
        exchanges: d.exchanges.map((e: any): Exchange => {
          const r = e.request;
          const s = e.response;
          const reqWire = hex(r.wire_hex);
          const frame = s?.frame_lines?.length ? new Uint8Array(Buffer.from(s.frame_lines.join(''), 'latin1')) : undefined;
          return {
            label: e.label,
            reqWire,
            reqWireLines: splitLines(reqWire),
            ...(r.smp_header ? { req: { header: r.smp_header, cborHex: r.cbor_hex ?? '', packetHex: r.packet_hex ?? '', json: r.cbor_json, handCrafted: !!r.wire_is_hand_crafted } } : {}),
            ...(frame && s.decoded ? { respWire: frame, resp: { header: s.decoded.smp_header, cborHex: s.decoded.cbor_hex ?? '', json: s.decoded.cbor_json } } : {}),
          };
        }),
      };
    });
}

/** Walks recorded JSON, byte strings ({$bytes_hex} or {$bytes}) to bytes, objects through `toMap` in their order. */
function fromRecorded(v: unknown, toMap: (entries: [string, unknown][]) => unknown): unknown {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => fromRecorded(x, toMap));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$bytes_hex === 'string') return hex(o.$bytes_hex);
    if (typeof o.$bytes === 'string') return hex(o.$bytes);
    return toMap(Object.entries(o).map(([k, x]) => [k, fromRecorded(x, toMap)]));
  }
  return v;
}

/** Recorded JSON to codec values; maps keep their order. */
export const fromRecordedJson = (v: unknown): CborValue => fromRecorded(v, (entries) => new CborMap(entries as [string, CborValue][])) as CborValue;

/** Same, but to plain objects (what the decoder returns). */
export const recordedToPlain = (v: unknown): unknown => fromRecorded(v, Object.fromEntries);

export const readShared = (...p: string[]) => new Uint8Array(readFileSync(join(SHARED, ...p)));
export const toBytes = hex;
