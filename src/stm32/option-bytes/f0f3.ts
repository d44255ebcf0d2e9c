/**
 * STM32F0/F3 option bytes at 0x1FFFF800: the F1 byte/complement layout with
 * RDP 0xAA = level 0, 0xCC = level 2 (permanent), anything else = level 1 (HAL
 * uses 0xBB). USER bits from STM32CubeF0 stm32f0xx_hal_flash_ex.h.
 */
import { imageFrom, rdpAaCc, tableRegion, wordFields } from './common.ts';
import { F1_SLOTS, f1Wrp } from './f1.ts';
import type { OptionBytesCodec } from './types.ts';

const NEWER_PARTS = 'F04x, F09x, F030xC';

export const f0f3Codec: OptionBytesCodec = {
  layout: 'F0F3',
  regions: tableRegion,
  slots: () => F1_SLOTS,
  userFields: () =>
    wordFields('USER', {
      WDG_SW: 0,
      nRST_STOP: 1,
      nRST_STDBY: 2,
      nBOOT0: [3, 1, 'boot selection when BOOT_SEL = 0', NEWER_PARTS],
      nBOOT1: 4,
      VDDA_MONITOR: [5, 1, '1 = VDDA monitor on'],
      RAM_PARITY_CHECK: 6,
      BOOT_SEL: [7, 1, '1 = BOOT0 pin, 0 = nBOOT0 bit', NEWER_PARTS],
    }),
  wrp: f1Wrp,
  ...rdpAaCc('RDP', 0),
  // Every byte but RDP erased (0xFF: unprotected, complement 0x00).
  factoryImage: () => imageFrom(F1_SLOTS, { RDP: 0xaa }),
  notes: 'Factory image AA 55 FF 00 ... (chips.json F0F3, medium).',
};
