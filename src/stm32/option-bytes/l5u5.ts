/**
 * STM32L5/U5 (TrustZone): the option bytes are FLASH registers, not mapped for
 * the bootloader's Read/Write Memory (chips.json L5U5). This codec works on a
 * register image: OPTR, WRP1AR, WRP1BR, WRP2AR, WRP2BR as little-endian words.
 * RDP 0x55 = level 0.5 (TZEN=1). WRPxyR bit 31 UNLOCK (U5): clearing it locks
 * the area for good.
 */
import { imageFrom, L4_OPTR_RESETS_WATCHDOGS, L4_OPTR_SOFTWARE_BOOT0, pagesPerBank, wordFields } from './common.ts';
import type { ChipInfo } from '../chips/index.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = ['OPTR', 'WRP1AR', 'WRP1BR', 'WRP2AR', 'WRP2BR'].map((name, i) => ({ name, offset: i * 4, kind: 'plain32' }));
const unlock = (chip: ChipInfo) => (chip.family === 'U5' ? ['WRP1AR', 'WRP1BR', 'WRP2AR', 'WRP2BR'].flatMap((w) => wordFields(w, { [`${w}_UNLOCK`]: [31, 1, '0 = area locked PERMANENTLY'] })) : []);

export const l5u5Codec: OptionBytesCodec = {
  layout: 'L5U5',
  regions: () => [],
  slots: () => SLOTS,
  userFields: (chip) => [
    ...wordFields('OPTR', {
      BOR_LEV: [8, 3, 'brown-out reset threshold'],
      ...L4_OPTR_RESETS_WATCHDOGS,
      SWAP_BANK: [20, 1, 'bank swap'],
      ...L4_OPTR_SOFTWARE_BOOT0,
      TZEN: [31, 1, '1 = TrustZone enabled'],
    }),
    ...unlock(chip),
  ],
  wrp: (chip) => {
    const pages = pagesPerBank(chip);
    return {
      kind: 'area',
      banks: [
        { areas: ['WRP1AR', 'WRP1BR'], firstPage: 0, pages, mask: 0x7f, endShift: 16 },
        { areas: ['WRP2AR', 'WRP2BR'], firstPage: pages, pages, mask: 0x7f, endShift: 16 },
      ],
    };
  },
  rdpField: { word: 'OPTR', shift: 0 },
  rdpLevel: (raw) => (raw === 0xaa ? 0 : raw === 0x55 ? 0.5 : raw === 0xcc ? 2 : 1),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 0.5 ? 0x55 : level === 2 ? 0xcc : 0xbb),
  factoryImage: () => imageFrom(SLOTS, { OPTR: 0x7feff8aa, WRP1AR: 0x8000007f, WRP1BR: 0x8000007f, WRP2AR: 0x8000007f, WRP2BR: 0x8000007f }),
  notes: 'Register image, not bootloader-mapped. Factory OPTR assumed (RDP 0xAA, TZEN 0).',
};
