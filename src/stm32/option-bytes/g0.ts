/**
 * STM32G0 option bytes at 0x1FFF7800 (128 bytes of 64-bit value + complement
 * slots): OPTR, PCROP1A, WRP1AR, WRP1BR, PCROP1B, SECR. WRP areas as on L4 with
 * the page mask pages-1 (chips.json G0, OpenOCD stm32l4x.c). G0B1/C1 bank-2
 * WRP registers are not located in the reference data, so only bank 1 is decoded.
 * OPTR positions up to IWDG_SW (BORR_EN 8, BORF_LEV 10:9, BORR_LEV 12:11,
 * nRST_STOP 13, nRST_STDBY 14, nRST_SHDW 15, IWDG_SW 16) checked against a
 * CMSIS stm32g0xx.h through the code index; the rest as chips.json recalls RM0444.
 */
import { levelFromRaw } from './engine.ts';
import { bit, bits, imageFrom, pageMask, pagesPerBank, tableRegion } from './common.ts';
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
  userFields: (chip) => [
    bit('BORR_EN', 'OPTR', 8, '1 = brown-out reset enabled'),
    bits('BORF_LEV', 'OPTR', 9, 2, 'falling BOR threshold (0 = lowest)'),
    bits('BORR_LEV', 'OPTR', 11, 2, 'rising BOR threshold (0 = lowest)'),
    bit('nRST_STOP', 'OPTR', 13, '1 = no reset on entering Stop'),
    bit('nRST_STDBY', 'OPTR', 14, '1 = no reset on entering Standby'),
    bit('nRST_SHDW', 'OPTR', 15, '1 = no reset on entering Shutdown'),
    bit('IWDG_SW', 'OPTR', 16, '1 = software IWDG'),
    bit('IWDG_STOP', 'OPTR', 17, '1 = IWDG runs in Stop'),
    bit('IWDG_STDBY', 'OPTR', 18, '1 = IWDG runs in Standby'),
    bit('WWDG_SW', 'OPTR', 19, '1 = software WWDG'),
    ...(chip.pid === 0x467 ? [bit('nSWAP_BANK', 'OPTR', 20, 'bank swap'), bit('DUAL_BANK', 'OPTR', 21, '1 = dual bank')] : []),
    bit('RAM_PARITY_CHECK', 'OPTR', 22, '0 = SRAM parity check enabled'),
    bit('nBOOT_SEL', 'OPTR', 24, '1 = BOOT0 pin, 0 = nBOOT0 bit'),
    bit('nBOOT1', 'OPTR', 25, 'with BOOT0 = 1: 1 = system memory, 0 = SRAM'),
    bit('nBOOT0', 'OPTR', 26, 'boot selection when nBOOT_SEL = 0'),
    bits('NRST_MODE', 'OPTR', 27, 2, '1 = reset input only, 2 = GPIO, 3 = bidirectional reset'),
    bit('IRHEN', 'OPTR', 29, '1 = internal resets drive NRST'),
  ],
  wrp,
  rdpField: { word: 'OPTR', shift: 0 },
  rdpLevel: (raw) => levelFromRaw(raw, 0xaa, 0xcc),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 2 ? 0xcc : 0xbb),
  factoryImage: (chip) => {
    const off = pageMask(pagesPerBank(chip));
    return imageFrom(SLOTS, { OPTR: 0xfffffeaa, PCROP1ASR: off, PCROP1AER: 0, WRP1AR: off, WRP1BR: off, PCROP1BSR: off, PCROP1BER: 0, SECR: 0 }, 0x80);
  },
  notes: 'Factory OPTR 0xFFFFFEAA (chips.json records none; value seen in a public G0 project note, medium). PCROP/WRP areas off.',
};
