/**
 * Structure-aware CBOR for SMP: values built from a tape, biased toward the
 * keys and shapes real answers carry (rc, off, len, images[], hash, version,
 * err{group,rc}), with edge numbers, wrong types and deep nesting.
 */
import { CborIndefArray, CborMap, encodeCbor, type CborValue } from '../../src/smp/cbor.ts';
import type { Tape } from './mutate.ts';

const KEYS = ['rc', 'off', 'len', 'data', 'sha', 'images', 'image', 'slot', 'version', 'hash', 'bootable', 'pending', 'confirmed', 'active', 'permanent', 'err', 'group', 'r', 'output', 'buf_size', 'buf_count', 'bootloader', 'mode', 'type', 'val', 'name', 'max_size', 'slots', 'size', 'upload_image_id', 'types', 'format', 'output', 'splitStatus', 'match', 'rsn', 'status', 'x'];
const EDGE_INTS = [0, 1, -1, 23, 24, 255, 256, 65535, 65536, 0x7fffffff, -0x80000000, 0xffffffff, 2 ** 53, -(2 ** 53), 1e308, Number.NaN, Infinity, 0.5, -0.0];

export function genValue(t: Tape, depth = 0): CborValue {
  const k = t.int(depth > 3 ? 8 : 12);
  switch (k) {
    case 0:
      return t.pick(EDGE_INTS);
    case 1:
      return t.int(70000) - 1000;
    case 2:
      return t.bool() ? BigInt.asUintN(64, BigInt(t.int(0x1_0000_0000)) << 32n) : -BigInt(t.int(0x1_0000_0000)) - 1n;
    case 3:
      return Buffer.from(t.take(t.int(48))).toString('latin1');
    case 4:
      return t.take(t.pick([0, 1, 4, 16, 32, 33, 48, 64, 128, 512]));
    case 5:
      return t.pick([true, false, null, undefined]);
    case 6:
      return t.pick(['1.2.3', '0.0.0', '255.255.65535.4294967295', '', 'x.y', '1.2.3.4.5', 'serial recovery', 'MCUboot']);
    case 7:
      return t.int(4) - 1;
    case 8:
    case 9:
      return genMap(t, depth + 1);
    case 10:
      return Array.from({ length: t.int(5) }, () => genValue(t, depth + 1));
    default:
      return new CborIndefArray(Array.from({ length: t.int(4) }, () => genValue(t, depth + 1)));
  }
}

export function genMap(t: Tape, depth = 0): CborMap {
  const n = t.int(7);
  const entries: Array<[CborValue, CborValue]> = [];
  for (let i = 0; i < n; i++) {
    const key: CborValue = t.int(10) === 0 ? genValue(t, depth + 2) : t.pick(KEYS);
    entries.push([key, keyedValue(t, String(key), depth)]);
  }
  return new CborMap(entries, t.bool());
}

/** A value that fits its key most of the time (so parsers get past their first check). */
function keyedValue(t: Tape, key: string, depth: number): CborValue {
  if (t.int(4) === 0) return genValue(t, depth + 1);
  switch (key) {
    case 'images':
    case 'slots':
      return Array.from({ length: t.int(4) }, () => genMap(t, depth + 1));
    case 'hash':
    case 'sha':
    case 'data':
      return t.take(t.pick([0, 32, 31, 64, 128]));
    case 'err':
      return CborMap.of({ group: t.int(70), rc: t.int(20) });
    case 'version':
      return t.pick(['1.2.0', '1.3.0', '0.0.0+0', 'garbage', '']);
    case 'bootable':
    case 'pending':
    case 'confirmed':
    case 'active':
    case 'permanent':
      return t.bool();
    default:
      return t.pick([0, 1, 2, 4, 8, 128, 512, 4096, 65535, 0x100000, -1, t.int(1 << 20)]);
  }
}

/** Encoded CBOR of a generated map (the decoder target's structure-aware input). */
export function genCborBytes(t: Tape): Uint8Array {
  const v = t.int(5) === 0 ? genValue(t) : genMap(t);
  return encodeCbor(v, { indefinite: t.bool() });
}
