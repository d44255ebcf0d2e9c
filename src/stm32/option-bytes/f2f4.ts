/**
 * STM32F2/F4 option bytes at 0x1FFFC000: half-word + complement half-word.
 * +0: USER (OPTCR[7:0]) and RDP (OPTCR[15:8]); +8: nWRP[11:0] (active low, one
 * bit per sector) and SPRMOD (bit 15). Dual-bank F42x/43x/469/479 add a block at
 * 0x1FFEC000 whose +8 holds nWRP for sectors 12-23 (chips.json F2F4,
 * OpenOCD stm32f2x.c; complements confirmed by source f4_ob_complement).
 * OPTCR bit positions (BOR_LEV 3:2, BFB2 4, WDG_SW 5, nRST_STOP 6,
 * nRST_STDBY 7, RDP 15:8, nWRP 27:16, SPRMOD 31) checked against CMSIS
 * stm32f4xx.h FLASH_OPTCR_*_Pos through the code index.
 */
import { imageFrom, rdpAaCc, wordFields } from './common.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Region, Slot } from './types.ts';

const BANK1 = 0x1fffc000;
const BANK2 = 0x1ffec000;
/** BOR_LEV values, the same on F7 (RM0090, RM0385). */
export const F2F4_BOR_LEVELS = '3 = BOR off, 2 = level 1, 1 = level 2, 0 = level 3';

const dualBank = (chip: ChipInfo) => chip.optionBytes.start === BANK2;

const slots = (chip: ChipInfo): Slot[] => [
  { name: 'OPTCR', offset: 0, kind: 'half-pair' },
  { name: 'nWRP', offset: 8, kind: 'half-pair' },
  ...(dualBank(chip) ? [{ name: 'nWRP2', offset: 24, kind: 'half-pair' } as Slot] : []),
];

export const f2f4Codec: OptionBytesCodec = {
  layout: 'F2F4',
  // Bank 1 block first, then (dual-bank parts) the bank 2 block.
  regions: (chip): Region[] => [{ address: BANK1, length: 16 }, ...(dualBank(chip) ? [{ address: BANK2, length: 16 }] : [])],
  slots,
  userFields: (chip) => [
    ...wordFields('OPTCR', { BOR_LEV: [2, 2, F2F4_BOR_LEVELS], ...(dualBank(chip) ? { BFB2: 4 } : {}), WDG_SW: 5, nRST_STOP: 6, nRST_STDBY: 7 }),
    ...wordFields('nWRP', { SPRMOD: [15, 1, '1 = nWRP bits select PCROP instead (parts with PCROP)', 'F42x/43x/401/411/412/413/446/469'] }),
  ],
  wrp: (chip) => ({
    kind: 'mask',
    activeLow: true,
    words: [
      { word: 'nWRP', shift: 0, bits: Math.min(12, chip.flash.layout === 'sectors' ? chip.flash.sectorSizes.length : 12) },
      ...(dualBank(chip) ? [{ word: 'nWRP2', shift: 0, bits: 12 }] : []),
    ],
  }),
  ...rdpAaCc('OPTCR', 8),
  // OPTCR factory 0x0FFFAAED: USER 0xED, RDP 0xAA, nWRP 0xFFF. Reserved bytes are unknown; 0xFF here.
  factoryImage: (chip) => imageFrom(slots(chip), { OPTCR: 0xaaed, nWRP: 0x0fff, nWRP2: 0x0fff }, dualBank(chip) ? 32 : 16),
  notes: 'Factory OPTCR 0x0FFFAAED (chips.json F2F4, medium); reserved bytes modelled as 0xFF.',
};
