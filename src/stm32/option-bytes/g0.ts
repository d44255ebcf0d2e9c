/**
 * STM32G0 option bytes at 0x1FFF7800 (128 bytes of 64-bit value + complement
 * slots): OPTR, PCROP1A, WRP1AR, WRP1BR, PCROP1B, SECR. WRP areas as on L4 with
 * the page mask pages-1 (chips.json G0, OpenOCD stm32l4x.c). G0B1/C1 bank-2
 * WRP registers are not located in the reference data, so only bank 1 is decoded.
 * OPTR positions up to IWDG_SW (BORR_EN 8, BORF_LEV 10:9, BORR_LEV 12:11,
 * nRST_STOP 13, nRST_STDBY 14, nRST_SHDW 15, IWDG_SW 16) checked against a
 * CMSIS stm32g0xx.h through the code index; the rest as chips.json recalls RM0444.
 */
import { imageFrom, pageMask, pagesPerBank, rdpAaCc, tableRegion, wordFields } from './common.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Slot, WrpModel } from './types.ts';

const SLOTS: Slot[] = [
  ['OPTR', 0x00],
  ['PCROP1ASR', 0x08],
  ['PCROP1AER', 0x10],
  ['WRP1AR', 0x18],
  ['WRP1BR', 0x20],
  ['PCROP1BSR', 0x28],
  ['PCROP1BER', 0x30],
  ['SECR', 0x70],
].map(([name, offset]) => ({ name: name as string, offset: offset as number, kind: 'word-pair' }));

const wrp = (chip: ChipInfo): WrpModel => ({
  kind: 'area',
  banks: [{ areas: ['WRP1AR', 'WRP1BR'], firstPage: 0, pages: pagesPerBank(chip), mask: pageMask(pagesPerBank(chip)), endShift: 16 }],
});

export const g0Codec: OptionBytesCodec = {
  layout: 'G0',
  regions: tableRegion,
  slots: () => SLOTS,
  userFields: (chip) =>
    wordFields('OPTR', {
      BORR_EN: [8, 1, '1 = brown-out reset enabled'],
      BORF_LEV: [9, 2, 'falling BOR threshold (0 = lowest)'],
      BORR_LEV: [11, 2, 'rising BOR threshold (0 = lowest)'],
      nRST_STOP: 13, nRST_STDBY: 14, nRST_SHDW: 15,
      IWDG_SW: 16, IWDG_STOP: 17, IWDG_STDBY: 18, WWDG_SW: 19,
      ...(chip.pid === 0x467 ? ({ nSWAP_BANK: [20, 1, 'bank swap'], DUAL_BANK: [21, 1, '1 = dual bank'] } as const) : {}),
      RAM_PARITY_CHECK: 22,
      nBOOT_SEL: [24, 1, '1 = BOOT0 pin, 0 = nBOOT0 bit'],
      nBOOT1: 25,
      nBOOT0: [26, 1, 'boot selection when nBOOT_SEL = 0'],
      NRST_MODE: [27, 2, '1 = reset input only, 2 = GPIO, 3 = bidirectional reset'],
      IRHEN: [29, 1, '1 = internal resets drive NRST'],
    }),
  wrp,
  ...rdpAaCc('OPTR', 0),
  factoryImage: (chip) => {
    const off = pageMask(pagesPerBank(chip));
    return imageFrom(SLOTS, { OPTR: 0xfffffeaa, PCROP1ASR: off, PCROP1AER: 0, WRP1AR: off, WRP1BR: off, PCROP1BSR: off, PCROP1BER: 0, SECR: 0 }, 0x80);
  },
  notes: 'Factory OPTR 0xFFFFFEAA (chips.json records none; value seen in a public G0 project note, medium). PCROP/WRP areas off.',
};
