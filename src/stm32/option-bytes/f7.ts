/**
 * STM32F7 option bytes at 0x1FFF0000: half-word value + complement per 64-bit
 * slot. +0x00 USER/RDP, +0x08 nWRP (+ IWDG_STDBY/STOP, F76x nDBANK/nDBOOT),
 * +0x10 BOOT_ADD0, +0x18 BOOT_ADD1 (chips.json F7; confidence medium).
 */
import { levelFromRaw } from './engine.ts';
import { bit, bits, imageFrom, tableRegion } from './common.ts';
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
    bits('BOR_LEV', 'OPTCR', 2, 2, '3 = BOR off, 2 = level 1, 1 = level 2, 0 = level 3'),
    bit('WWDG_SW', 'OPTCR', 4, '1 = software WWDG'),
    bit('IWDG_SW', 'OPTCR', 5, '1 = software IWDG'),
    bit('nRST_STOP', 'OPTCR', 6, '1 = no reset on entering Stop'),
    bit('nRST_STDBY', 'OPTCR', 7, '1 = no reset on entering Standby'),
    ...(f76x(chip) ? [bit('nDBOOT', 'OPTCR_HI', 12, 'dual-boot'), bit('nDBANK', 'OPTCR_HI', 13, '1 = single bank')] : []),
    bit('IWDG_STDBY', 'OPTCR_HI', 14, '1 = IWDG runs in Standby'),
    bit('IWDG_STOP', 'OPTCR_HI', 15, '1 = IWDG runs in Stop'),
  ],
  wrp: (chip) => ({ kind: 'mask', activeLow: true, words: [{ word: 'OPTCR_HI', shift: 0, bits: f76x(chip) ? 12 : 8 }] }),
  rdpField: { word: 'OPTCR', shift: 8 },
  rdpLevel: (raw) => levelFromRaw(raw, 0xaa, 0xcc),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 2 ? 0xcc : 0xbb),
  // OPTCR 0xC0FFAAFD, BOOT_ADD0 0x0080, BOOT_ADD1 0x0040 (RM0385 reset values as chips.json recalls them).
  // F76x/77x have 12 nWRP bits plus nDBOOT/nDBANK, all 1 when unprotected and single-bank.
  factoryImage: (chip) => imageFrom(SLOTS, { OPTCR: 0xaafd, OPTCR_HI: f76x(chip) ? 0xffff : 0xc0ff, BOOT_ADD0: 0x0080, BOOT_ADD1: 0x0040 }, 32),
  notes: 'Factory values from chips.json F7 (medium, not re-verified).',
};
