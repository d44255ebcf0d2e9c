/**
 * Turns one chip record of the reference file chips.json (hex strings, prose
 * units) into a typed ChipInfo. Used by the table generator and by the test
 * that checks the generated table against the reference, never at run time.
 */
import type { ChipInfo, Family, FlashTimingFacts, OptionLayout, Range } from './types.ts';

type Json = Record<string, unknown>;
const hex = (v: unknown): number => {
  if (typeof v !== 'string' || !/^0x[0-9a-f]+$/i.test(v)) throw new TypeError(`not a hex string: ${String(v)}`);
  return parseInt(v, 16);
};
const hexOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : hex(v));
const obj = (v: unknown): Json => v as Json;
const range = (v: unknown): Range | undefined => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : undefined);

/** "4 pages (4 KB) per WRP bit" -> 4; "1 sector per nWRP bit" -> 1; "... not recorded" -> null. */
export function pagesPerUnit(text: string): number | null {
  const m = /^(\d+) (pages?|sectors?)\b/.exec(text);
  return m ? Number(m[1]) : null;
}

/** "0x22 (V2.2)" -> 0x22; "0x30/0x31 typical" -> 0x30; missing -> null. */
export function protocolVersion(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^0x([0-9a-f]{2})/i.exec(text);
  return m ? parseInt(m[1]!, 16) : null;
}

function timing(t: unknown): FlashTimingFacts | null {
  if (!t) return null;
  const j = obj(t);
  const par = (p: unknown) => {
    if (!p) return undefined;
    const q = obj(p);
    return { sector16KMs: range(q.sector16K_ms)!, sector64KMs: range(q.sector64K_ms)!, sector128KMs: range(q.sector128K_ms)!, massEraseMs: range(q.massErase_ms)! };
  };
  const out: FlashTimingFacts = {
    pageEraseMs: range(j.pageErase_ms),
    massEraseMs: range(j.massErase_ms),
    halfwordProgramUs: range(j.halfwordProgram_us),
    doublewordProgramUs: range(j.doublewordProgram_us),
    wordProgramMs: range(j.wordProgram_ms),
    x32: par(j.x32),
    x8: par(j.x8),
    note: typeof j.note === 'string' ? j.note : typeof j.sector128K === 'string' ? j.sector128K : undefined,
    source: String(j.source),
  };
  for (const k of Object.keys(out) as (keyof FlashTimingFacts)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export function parseChip(c: Json): ChipInfo {
  const f = obj(c.flash);
  const common = {
    start: hex(f.start),
    end: hex(f.end),
    size: Number(f.size),
    banks: Number(f.banks),
    writeProtectUnit: String(f.writeProtectUnit),
    wrpPagesPerUnit: pagesPerUnit(String(f.writeProtectUnit)),
  };
  const flash =
    f.layout === 'uniform'
      ? { ...common, layout: 'uniform' as const, pageSize: Number(f.pageSize), pageCount: Number(f.pageCount) }
      : { ...common, layout: 'sectors' as const, sectorSizes: (f.sectorSizes as number[]).map(Number) };
  const ram = obj(c.bootloaderRam);
  const sys = obj(c.systemMemory);
  const ob = obj(c.optionBytes);
  const bl = obj(c.bootloader);
  const erase = hex(bl.eraseCommand);
  if (erase !== 0x43 && erase !== 0x44) throw new TypeError(`unknown erase command ${erase}`);
  return {
    pid: hex(c.pid),
    family: c.family as Family,
    name: String(c.name),
    flash,
    bootloaderRam: { freeStart: hex(ram.freeStart), end: hex(ram.end) },
    systemMemory: { start: hex(sys.start), end: hex(sys.end) },
    optionBytes: { start: hexOrNull(ob.start), endInclusive: hexOrNull(ob.endInclusive), layout: ob.layout as OptionLayout },
    bootloader: {
      eraseCommand: erase,
      globalEraseSupported: Boolean(bl.globalEraseSupported),
      typicalGetCommands: (bl.typicalGetCommands as string[]).map(hex),
      usartProtocolVersion: protocolVersion(bl.usartProtocolVersion),
    },
    flashTiming: timing(c.flashTiming),
  };
}
