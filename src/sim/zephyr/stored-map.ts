/**
 * How the simulated Zephyr keeps a name -> bytes map in a flash partition (its
 * settings in `storage`, its file system's files): our own record, not NVS or
 * littlefs — a 4-byte magic, a 4-byte length, then JSON with base64 values.
 * An erased, foreign or torn partition reads as an empty map.
 */
import type { NorFlash } from '../flash.ts';
import type { SlotArea } from '../smp/boot.ts';

const HEAD = 8;

export function readStoredMap(flash: NorFlash, area: SlotArea, magic: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const head = flash.read(area.offset, HEAD);
  const dv = new DataView(head.buffer, head.byteOffset, HEAD);
  if (dv.getUint32(0, true) !== magic) return out;
  const len = dv.getUint32(4, true);
  if (len > area.size - HEAD) return out;
  try {
    const doc = JSON.parse(Buffer.from(flash.read(area.offset + HEAD, len)).toString('utf8')) as Record<string, string>;
    for (const [k, v] of Object.entries(doc)) out.set(k, new Uint8Array(Buffer.from(v, 'base64')));
  } catch {
    /* a torn record: nothing more stored */
  }
  return out;
}

/** The record of `values` as it is programmed at the start of the partition. */
export function storedMapRecord(values: Map<string, Uint8Array>, magic: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(Object.fromEntries([...values].map(([k, v]) => [k, Buffer.from(v).toString('base64')]))));
  const rec = new Uint8Array(HEAD + json.length);
  const dv = new DataView(rec.buffer);
  dv.setUint32(0, magic, true);
  dv.setUint32(4, json.length, true);
  rec.set(json, HEAD);
  return rec;
}
