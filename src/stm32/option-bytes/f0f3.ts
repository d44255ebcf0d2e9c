/**
 * STM32F0/F3 option bytes at 0x1FFFF800: the F1 byte/complement layout with
 * RDP 0xAA = level 0, 0xCC = level 2 (permanent), anything else = level 1 (HAL
 * uses 0xBB). USER bits from STM32CubeF0 stm32f0xx_hal_flash_ex.h.
 */
import { levelFromRaw } from './engine.ts';
import { bit, imageFrom, tableRegion } from './common.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = ['RDP', 'USER', 'DATA0', 'DATA1', 'WRP0', 'WRP1', 'WRP2', 'WRP3'].map((name, i) => ({ name, offset: i * 2, kind: 'byte-pair' }));

export const f0f3Codec: OptionBytesCodec = {
  layout: 'F0F3',
  regions: tableRegion,
  slots: () => SLOTS,
  userFields: () => [
    bit('WDG_SW', 'USER', 0, '1 = software IWDG'),
    bit('nRST_STOP', 'USER', 1, '1 = no reset on entering Stop'),
    bit('nRST_STDBY', 'USER', 2, '1 = no reset on entering Standby'),
    bit('nBOOT0', 'USER', 3, 'boot selection when BOOT_SEL = 0', 'F04x, F09x, F030xC'),
    bit('nBOOT1', 'USER', 4, 'with BOOT0 = 1: 1 = system memory, 0 = SRAM'),
    bit('VDDA_MONITOR', 'USER', 5, '1 = VDDA monitor on'),
    bit('RAM_PARITY_CHECK', 'USER', 6, '0 = SRAM parity check enabled'),
    bit('BOOT_SEL', 'USER', 7, '1 = BOOT0 pin, 0 = nBOOT0 bit', 'F04x, F09x, F030xC'),
  ],
  wrp: () => ({ kind: 'mask', activeLow: true, words: ['WRP0', 'WRP1', 'WRP2', 'WRP3'].map((word) => ({ word, shift: 0, bits: 8 })) }),
  rdpField: { word: 'RDP', shift: 0 },
  rdpLevel: (raw) => levelFromRaw(raw, 0xaa, 0xcc),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 2 ? 0xcc : 0xbb),
  factoryImage: () => imageFrom(SLOTS, { RDP: 0xaa, USER: 0xff, DATA0: 0xff, DATA1: 0xff, WRP0: 0xff, WRP1: 0xff, WRP2: 0xff, WRP3: 0xff }),
  notes: 'Factory image AA 55 FF 00 ... (chips.json F0F3, medium).',
};
