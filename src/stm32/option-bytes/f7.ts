/**
 * STM32F7 option bytes at 0x1FFF0000: half-word value + complement per 64-bit
 * slot. +0x00 USER/RDP, +0x08 nWRP (+ IWDG_STDBY/STOP, F76x nDBANK/nDBOOT),
 * +0x10 BOOT_ADD0, +0x18 BOOT_ADD1 (chips.json F7; confidence medium).
 */
import { imageFrom, rdpAaCc, tableRegion, wordFields } from './common.ts';
import { F2F4_BOR_LEVELS } from './f2f4.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = [
  { name: 'OPTCR', offset: 0x00, kind: 'half-pair' },
  { name: 'OPTCR_HI', offset: 0x08, kind: 'half-pair' },
  { name: 'BOOT_ADD0', offset: 0x10, kind: 'half-pair' },
  { name: 'BOOT_ADD1', offset: 0x18, kind: 'half-pair' },
];
const f76x = (chip: ChipInfo) => chip.pid === 0x451;

export const f7Codec: OptionBytesCodec = {
  layout: 'F7',
  regions: tableRegion,
  slots: () => SLOTS,
  userFields: (chip) => [
    ...wordFields('OPTCR', { BOR_LEV: [2, 2, F2F4_BOR_LEVELS], WWDG_SW: 4, IWDG_SW: 5, nRST_STOP: 6, nRST_STDBY: 7 }),
    ...wordFields('OPTCR_HI', { ...(f76x(chip) ? { nDBOOT: [12, 1, 'dual-boot'], nDBANK: [13, 1, '1 = single bank'] } as const : {}), IWDG_STDBY: 14, IWDG_STOP: 15 }),
  ],
  wrp: (chip) => ({ kind: 'mask', activeLow: true, words: [{ word: 'OPTCR_HI', shift: 0, bits: f76x(chip) ? 12 : 8 }] }),
  ...rdpAaCc('OPTCR', 8),
  // OPTCR 0xC0FFAAFD, BOOT_ADD0 0x0080, BOOT_ADD1 0x0040 (RM0385 reset values as chips.json recalls them).
  // F76x/77x have 12 nWRP bits plus nDBOOT/nDBANK, all 1 when unprotected and single-bank.
  factoryImage: (chip) => imageFrom(SLOTS, { OPTCR: 0xaafd, OPTCR_HI: f76x(chip) ? 0xffff : 0xc0ff, BOOT_ADD0: 0x0080, BOOT_ADD1: 0x0040 }, 32),
  notes: 'Factory values from chips.json F7 (medium, not re-verified).',
};
