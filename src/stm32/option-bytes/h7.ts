/**
 * STM32H7: option bytes are FLASH registers (OPTSR, WPSN per bank), not a
 * bootloader-mapped area (chips.json H7, OpenOCD stm32h7x.c). This codec works
 * on a register image: OPTSR, WPSN1, WPSN2 as little-endian words. RDP is
 * OPTSR[15:8]; WPSN bit = 0 protects that 128 KB sector.
 */
import { imageFrom, rdpAaCc, wordFields } from './common.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = ['OPTSR', 'WPSN1', 'WPSN2'].map((name, i) => ({ name, offset: i * 4, kind: 'plain32' }));

export const h7Codec: OptionBytesCodec = {
  layout: 'H7',
  regions: () => [],
  slots: () => SLOTS,
  userFields: () =>
    wordFields('OPTSR', {
      BOR_LEV: [2, 2, 'brown-out reset level'],
      IWDG1_SW: [4, 1, '1 = software IWDG1'],
      nRST_STOP_D1: [6, 1, '1 = no reset on D1 Stop'],
      nRST_STBY_D1: [7, 1, '1 = no reset on D1 Standby'],
      FZ_IWDG_STOP: [17, 1, '1 = IWDG runs in Stop'],
      FZ_IWDG_SDBY: [18, 1, '1 = IWDG runs in Standby'],
      ST_RAM_SIZE: [19, 2, 'RAM kept for ST secure services'],
      SECURITY: [21, 1, '1 = secure access mode'],
      IO_HSLV: [29, 1, '1 = I/O high speed at low voltage'],
      SWAP_BANK_OPT: [31, 1, '1 = banks swapped'],
    }),
  wrp: (chip) => ({ kind: 'mask', activeLow: true, words: [{ word: 'WPSN1', shift: 0, bits: 8 }, ...(chip.flash.banks === 2 ? [{ word: 'WPSN2', shift: 0, bits: 8 }] : [])] }),
  ...rdpAaCc('OPTSR', 8),
  factoryImage: () => imageFrom(SLOTS, { OPTSR: 0x0006aaf0 | 0x0c, WPSN1: 0xff, WPSN2: 0xff }),
  notes: 'Register image, not bootloader-mapped. Factory OPTSR assumed (RDP 0xAA, BOR off); WPSN 0xFF from OpenOCD.',
};
