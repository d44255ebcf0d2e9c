/**
 * STM32L0/L1 option bytes at 0x1FF80000: 32-bit words, value in [15:0] and
 * complement in [31:16]. Word 0 RDP (+ L0 WPRMOD bit 8), word 1 USER, words 2-3
 * WRP1/WRP2 (16 sectors each); L1 Cat.4/5 add WRP words at 0x80. WRP is
 * ACTIVE HIGH here (1 = protected), the opposite of F0/F1/F2/F4 (chips.json
 * L0L1, OpenOCD stm32lx.c).
 */
import { imageFrom, rdpAaCc, tableRegion, wordFields } from './common.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const extraWrp = (chip: ChipInfo) => (chip.optionBytes.endInclusive !== null && chip.optionBytes.endInclusive >= 0x1ff8009f ? 6 : 0);
const wrpNames = (chip: ChipInfo) => ['WRP1', 'WRP2', ...Array.from({ length: extraWrp(chip) }, (_, i) => `WRP${i + 3}`)];

const slots = (chip: ChipInfo): Slot[] => [
  { name: 'RDP', offset: 0, kind: 'half-in-word' },
  { name: 'USER', offset: 4, kind: 'half-in-word' },
  { name: 'WRP1', offset: 8, kind: 'half-in-word' },
  { name: 'WRP2', offset: 12, kind: 'half-in-word' },
  ...Array.from({ length: extraWrp(chip) }, (_, i): Slot => ({ name: `WRP${i + 3}`, offset: 0x80 + i * 4, kind: 'half-in-word' })),
];

export const l0l1Codec: OptionBytesCodec = {
  layout: 'L0L1',
  regions: tableRegion,
  slots,
  userFields: (chip) => [
    ...(chip.family === 'L0' ? wordFields('RDP', { WPRMOD: [8, 1, '1 = WRP bits select PCROP'] }) : []),
    ...wordFields('USER', { BOR_LEV: [0, 4, 'brown-out reset threshold'], IWDG_SW: 4, nRST_STOP: 5, nRST_STDBY: 6, BFB2: [7, 1, undefined, 'L0 Cat.5 / L1 Cat.4-5'] }),
  ],
  wrp: (chip) => ({ kind: 'mask', activeLow: false, words: wrpNames(chip).map((word) => ({ word, shift: 0, bits: 16 })) }),
  ...rdpAaCc('RDP', 0, 0x00),
  // Word 0 0xFF5500AA and WRP 0xFFFF0000 from OpenOCD; USER 0x0078 (BOR off, software IWDG, no resets) is an assumption.
  factoryImage: (chip) =>
    imageFrom(slots(chip), { RDP: 0x00aa, USER: 0x0078, ...Object.fromEntries(wrpNames(chip).map((n) => [n, 0])) }, chip.optionBytes.endInclusive! - chip.optionBytes.start! + 1),
  notes: 'Word 0 and WRP factory values from OpenOCD; the USER factory value is not recorded in chips.json (assumed 0x0078).',
};
