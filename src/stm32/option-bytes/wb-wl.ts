/**
 * STM32WB and STM32WL option bytes: L4-style 64-bit value + complement slots
 * with OPTR at +0, WRP1AR at +0x18, WRP1BR at +0x20 (chips.json WB, WL). The
 * reference data names no USER bits for these families, so only RDP and WRP
 * are decoded; every other bit is kept as read.
 */
import { imageFrom, rdpAaCc, tableRegion } from './common.ts';
import type { OptionLayout } from '../chips/index.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = [
  { name: 'OPTR', offset: 0x00, kind: 'word-pair' },
  { name: 'WRP1AR', offset: 0x18, kind: 'word-pair' },
  { name: 'WRP1BR', offset: 0x20, kind: 'word-pair' },
];

function codec(layout: OptionLayout, mask: number): OptionBytesCodec {
  return {
    layout,
    // stm32loader's WL range is 2 KB; the slots live in the first 128 bytes.
    regions: (chip) => tableRegion(chip).map((r) => ({ address: r.address, length: Math.min(r.length, 0x80) })),
    slots: () => SLOTS,
    userFields: () => [],
    wrp: (chip) => ({ kind: 'area', banks: [{ areas: ['WRP1AR', 'WRP1BR'], firstPage: 0, pages: chip.flash.layout === 'uniform' ? chip.flash.pageCount : 0, mask, endShift: 16 }] }),
    ...rdpAaCc('OPTR', 0),
    factoryImage: () => imageFrom(SLOTS, { OPTR: 0xffeff1aa, WRP1AR: mask, WRP1BR: mask }, 0x80),
    notes: `${layout}: factory OPTR not recorded in chips.json; 0xFFEFF1AA (RDP 0xAA) is an assumption for simulation only.`,
  };
}

export const wbCodec = codec('WB', 0xff);
export const wlCodec = codec('WL', 0x7f);
