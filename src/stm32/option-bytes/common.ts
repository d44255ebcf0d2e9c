/** Small helpers the family codecs share. */
import type { ChipInfo } from '../chips/index.ts';
import { levelFromRaw, slotSize } from './engine.ts';
import type { OptionBytesCodec, Region, Slot, UserField } from './types.ts';

/**
 * What the option bits that keep their name across families mean, in one
 * wording (RM0008, RM0091, RM0090, RM0385, RM0351, RM0444, RM0438). A family
 * table gives its own words where its bit says something else.
 */
const SHARED_MEANING: Record<string, string> = {
  WDG_SW: '1 = software IWDG',
  IWDG_SW: '1 = software IWDG',
  WWDG_SW: '1 = software WWDG',
  IWDG_STOP: '1 = IWDG runs in Stop',
  IWDG_STDBY: '1 = IWDG runs in Standby',
  nRST_STOP: '1 = no reset on entering Stop',
  nRST_STDBY: '1 = no reset on entering Standby',
  nRST_SHDW: '1 = no reset on entering Shutdown',
  nBOOT1: 'with BOOT0 = 1: 1 = system memory, 0 = SRAM',
  nSWBOOT0: '0 = BOOT0 taken from nBOOT0',
  RAM_PARITY_CHECK: '0 = SRAM parity check enabled',
  BFB2: 'dual-bank boot',
};

/** A declared field: its bit position (one bit, shared meaning), or [position, width, meaning, parts it exists on]. */
export type FieldSpec = number | readonly [shift: number, width: number, meaning?: string, parts?: string];

/** The fields of one option word from its table (name -> position), in the table's order. */
export function wordFields(word: string, table: Record<string, FieldSpec>): UserField[] {
  return Object.entries(table).map(([name, spec]) => {
    const [shift, width, own, parts] = typeof spec === 'number' ? [spec, 1] : spec;
    const meaning = own ?? SHARED_MEANING[name];
    // A table entry without words is a slip in this folder, not bad input.
    if (meaning === undefined) throw new Error(`option field ${name} has no meaning`);
    return { name, word, shift, width, meaning, ...(parts ? { parts } : {}) };
  });
}

/** L4, L5 and U5 keep these OPTR bits at the same places (RM0351, RM0438, RM0456). */
export const L4_OPTR_RESETS_WATCHDOGS = { nRST_STOP: 12, nRST_STDBY: 13, nRST_SHDW: 14, IWDG_SW: 16, IWDG_STOP: 17, IWDG_STDBY: 18, WWDG_SW: 19 } as const;
export const L4_OPTR_SOFTWARE_BOOT0 = { nSWBOOT0: 26, nBOOT0: [27, 1, 'boot selection when nSWBOOT0 = 0'] } as const;

/**
 * RDP as most families encode it (HAL OB_RDP_LEVEL_*): 0xAA level 0, 0xCC
 * level 2 (permanent), anything else level 1, which is written as 0xBB unless
 * the family says otherwise. The 8-bit field sits in `word` at `shift`.
 */
export const rdpAaCc = (word: string, shift: number, level1Raw = 0xbb): Pick<OptionBytesCodec, 'rdpField' | 'rdpLevel' | 'rdpRaw'> => ({
  rdpField: { word, shift },
  rdpLevel: (raw) => levelFromRaw(raw, 0xaa, 0xcc),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 2 ? 0xcc : level1Raw),
});

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
