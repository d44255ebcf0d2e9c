/**
 * STM32L4/G4 option bytes: 64-bit slots (32-bit value + complement). Bank-1
 * block at 0x1FFF7800: OPTR, PCROP1SR, PCROP1ER, WRP1AR, WRP1BR (G4 + SEC1R);
 * dual-bank L4 parts add a bank-2 block at 0x1FFFF800 with WRP2AR/WRP2BR.
 * WRP is two start/end page areas per bank: protected iff start <= end
 * (chips.json L4, OpenOCD stm32l4x.c). OPTR bit positions checked against
 * ST's CMSIS stm32l4xx.h (FLASH_OPTR_*_Pos) through the code index.
 */
import { imageFrom, L4_OPTR_RESETS_WATCHDOGS, L4_OPTR_SOFTWARE_BOOT0, pageMask, pagesPerBank, rdpAaCc, wordFields } from './common.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Region, Slot, WrpModel } from './types.ts';

const BANK2_BLOCK = 0x1ffff800;
const hasBank2Block = (chip: ChipInfo) => (chip.optionBytes.endInclusive ?? 0) >= BANK2_BLOCK;
const bank1Length = (chip: ChipInfo) => (chip.family === 'G4' ? 0x30 : 0x28);

const slots = (chip: ChipInfo): Slot[] => {
  const b2 = bank1Length(chip);
  const names = ['OPTR', 'PCROP1SR', 'PCROP1ER', 'WRP1AR', 'WRP1BR', ...(chip.family === 'G4' ? ['SEC1R'] : [])];
  return [
    ...names.map((name, i): Slot => ({ name, offset: i * 8, kind: 'word-pair' })),
    ...(hasBank2Block(chip) ? ['PCROP2SR', 'PCROP2ER', 'WRP2AR', 'WRP2BR'].map((name, i): Slot => ({ name, offset: b2 + 8 + i * 8, kind: 'word-pair' })) : []),
  ];
};

function wrp(chip: ChipInfo): WrpModel {
  const per = hasBank2Block(chip) ? pagesPerBank(chip) : chip.flash.layout === 'uniform' ? chip.flash.pageCount : 0;
  const bank1Pages = hasBank2Block(chip) ? per : Math.min(per, pagesPerBank(chip));
  const mask = pageMask(bank1Pages);
  return {
    kind: 'area',
    banks: [
      { areas: ['WRP1AR', 'WRP1BR'], firstPage: 0, pages: bank1Pages, mask, endShift: 16 },
      ...(hasBank2Block(chip) ? [{ areas: ['WRP2AR', 'WRP2BR'], firstPage: per, pages: per, mask, endShift: 16 }] : []),
    ],
  };
}

export const l4Codec: OptionBytesCodec = {
  layout: 'L4',
  regions: (chip): Region[] => [{ address: chip.optionBytes.start!, length: bank1Length(chip) }, ...(hasBank2Block(chip) ? [{ address: BANK2_BLOCK, length: 0x28 }] : [])],
  slots,
  userFields: (chip) =>
    wordFields('OPTR', {
      BOR_LEV: [8, 3, '0 = 1.7 V ... 4 = 2.8 V reset threshold'],
      ...L4_OPTR_RESETS_WATCHDOGS,
      ...(chip.flash.banks === 2 ? { BFB2: [20, 1, '1 = boot from bank 2 when it holds a valid image'] as const } : {}),
      ...(chip.pid === 0x415 || chip.pid === 0x461 ? { DUALBANK: [21, 1, '1 = dual-bank mode'] as const } : {}),
      nBOOT1: 23,
      SRAM2_PE: [24, 1, '0 = SRAM2 parity check enabled'],
      SRAM2_RST: [25, 1, '0 = SRAM2 erased on system reset'],
      ...(chip.pid !== 0x415 ? L4_OPTR_SOFTWARE_BOOT0 : {}),
    }),
  wrp,
  ...rdpAaCc('OPTR', 0),
  // OPTR 0xFFEFF8AA checked against Black Magic Probe's L4 option table and SVD reset values; PCROP/WRP defaults from the same table.
  factoryImage: (chip) => {
    const m = wrp(chip);
    const off = (i: number) => (m.kind === 'area' ? m.banks[Math.min(i, m.banks.length - 1)]!.mask : 0xff);
    return imageFrom(
      slots(chip),
      { OPTR: 0xffeff8aa, PCROP1SR: 0xffffffff, PCROP1ER: 0, WRP1AR: off(0), WRP1BR: off(0), SEC1R: 0, PCROP2SR: 0xffffffff, PCROP2ER: 0, WRP2AR: off(1), WRP2BR: off(1) },
      bank1Length(chip) + (hasBank2Block(chip) ? 0x28 : 0),
    );
  },
  notes: 'Factory OPTR 0xFFEFF8AA (verified: Black Magic Probe stm32l4.c option table, SVD reset value). Unprotected WRP area = start all ones, end 0.',
};
