/**
 * DfuSe memory layouts, as a device describes each alternate setting in its
 * interface string: "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg".
 * Grammar as parsed by dfu-util's dfuse_mem.c: a name, then one or more
 * "/0xSTART/" groups of comma-separated "COUNT*SIZE UNIT TYPE" runs, unit B/K/M,
 * type a..g a bit field (1 readable, 2 erasable, 4 writable).
 */
import { inputError } from '../../core/errors.ts';

export interface MemorySegment {
  start: number;
  /** Size of each page/sector in this run. */
  pageSize: number;
  pageCount: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

export interface MemoryLayout {
  name: string;
  segments: MemorySegment[];
}

const UNIT: Record<string, number> = { B: 1, K: 1024, M: 1024 * 1024, ' ': 1, '': 1 };

export function parseMemoryLayout(desc: string): MemoryLayout {
  const fail = (why: string) => inputError('dfuse.bad-layout', `The device's memory description "${desc.slice(0, 120)}" cannot be read: ${why}.`);
  if (!desc.startsWith('@')) throw fail('it does not start with "@"');
  const parts = desc.slice(1).split('/');
  const name = parts[0]!.trim();
  if (parts.length < 3 || (parts.length - 1) % 2 !== 0) throw fail('expected "/0xADDRESS/RUNS" groups');
  const segments: MemorySegment[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const startText = parts[i]!.trim();
    if (!/^0x[0-9a-f]+$/i.test(startText)) throw fail(`"${startText}" is not a hex address`);
    let start = parseInt(startText, 16);
    for (const run of parts[i + 1]!.split(',')) {
      const m = /^\s*(\d+)\*\s*(\d+)\s*([BKM ]?)\s*([a-g])\s*$/.exec(run);
      if (!m) throw fail(`"${run}" is not COUNT*SIZE[B|K|M]TYPE`);
      const pageCount = parseInt(m[1]!, 10);
      const pageSize = parseInt(m[2]!, 10) * UNIT[m[3]!]!;
      const type = m[4]!.charCodeAt(0) - 0x60; // a=1 ... g=7
      if (pageCount === 0 || pageSize === 0) throw fail(`"${run}" describes no memory`);
      segments.push({ start, pageSize, pageCount, readable: !!(type & 1), erasable: !!(type & 2), writable: !!(type & 4) });
      start += pageCount * pageSize;
    }
  }
  return { name, segments };
}

/** The page holding `address`, or undefined outside the layout. */
export function pageAt(layout: MemoryLayout, address: number): { start: number; size: number; segment: MemorySegment } | undefined {
  for (const seg of layout.segments) {
    const end = seg.start + seg.pageSize * seg.pageCount;
    if (address >= seg.start && address < end) {
      const index = Math.floor((address - seg.start) / seg.pageSize);
      return { start: seg.start + index * seg.pageSize, size: seg.pageSize, segment: seg };
    }
  }
  return undefined;
}

/** Total bytes a layout spans. */
export const layoutSize = (layout: MemoryLayout): number => layout.segments.reduce((n, s) => n + s.pageCount * s.pageSize, 0);
