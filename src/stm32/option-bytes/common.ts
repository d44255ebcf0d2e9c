/** Small helpers the family codecs share. */
import type { ChipInfo } from '../chips/index.ts';
import { slotSize } from './engine.ts';
import type { Region, Slot, UserField } from './types.ts';

export const bit = (name: string, word: string, shift: number, meaning: string, parts?: string): UserField => ({ name, word, shift, width: 1, meaning, ...(parts ? { parts } : {}) });
export const bits = (name: string, word: string, shift: number, width: number, meaning: string, parts?: string): UserField => ({ name, word, shift, width, meaning, ...(parts ? { parts } : {}) });

/** The chip table's option-byte range as one region. */
export function tableRegion(chip: ChipInfo): Region[] {
  const { start, endInclusive } = chip.optionBytes;
  return start === null || endInclusive === null ? [] : [{ address: start, length: endInclusive - start + 1 }];
}

/** Builds an image from slot values (complements computed), other bytes 0xFF. */
export function imageFrom(slots: Slot[], values: Record<string, number>, length?: number): Uint8Array {
  const len = Math.max(length ?? 0, ...slots.map((s) => s.offset + slotSize(s)));
  const img = new Uint8Array(len).fill(0xff);
  const dv = new DataView(img.buffer);
  for (const s of slots) {
    const v = values[s.name] ?? 0xffffffff;
    switch (s.kind) {
      case 'byte-pair':
        img[s.offset] = v & 0xff;
        img[s.offset + 1] = ~v & 0xff;
        break;
      case 'half-pair':
      case 'half-in-word':
        dv.setUint16(s.offset, v & 0xffff, true);
        dv.setUint16(s.offset + 2, ~v & 0xffff, true);
        break;
      case 'word-pair':
        dv.setUint32(s.offset, v >>> 0, true);
        dv.setUint32(s.offset + 4, ~v >>> 0, true);
        break;
      case 'plain32':
        dv.setUint32(s.offset, v >>> 0, true);
    }
  }
  return img;
}

export const pagesPerBank = (chip: ChipInfo): number => {
  const total = chip.flash.layout === 'uniform' ? chip.flash.pageCount : chip.flash.sectorSizes.length;
  return chip.flash.banks === 2 ? total / 2 : total;
};

/** Smallest all-ones mask that holds page offsets 0..pages-1 (OpenOCD wrpxxr_mask). */
export const pageMask = (pages: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, pages))) - 1;

export const noLevel = (family: string, level: number): never => {
  throw new RangeError(`${family} has no RDP level ${level}`);
};
