/**
 * STM32H7: option bytes are FLASH registers (OPTSR, WPSN per bank), not a
 * bootloader-mapped area (chips.json H7, OpenOCD stm32h7x.c). This codec works
 * on a register image: OPTSR, WPSN1, WPSN2 as little-endian words. RDP is
 * OPTSR[15:8]; WPSN bit = 0 protects that 128 KB sector.
 */
import { levelFromRaw } from './engine.ts';
import { bit, bits, imageFrom } from './common.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = ['OPTSR', 'WPSN1', 'WPSN2'].map((name, i) => ({ name, offset: i * 4, kind: 'plain32' }));

export const h7Codec: OptionBytesCodec = {
  layout: 'H7',
  regions: () => [],
  slots: () => SLOTS,
  userFields: () => [
    bits('BOR_LEV', 'OPTSR', 2, 2, 'brown-out reset level'),
    bit('IWDG1_SW', 'OPTSR', 4, '1 = software IWDG1'),
    bit('nRST_STOP_D1', 'OPTSR', 6, '1 = no reset on D1 Stop'),
    bit('nRST_STBY_D1', 'OPTSR', 7, '1 = no reset on D1 Standby'),
    bit('FZ_IWDG_STOP', 'OPTSR', 17, '1 = IWDG runs in Stop'),
    bit('FZ_IWDG_SDBY', 'OPTSR', 18, '1 = IWDG runs in Standby'),
    bits('ST_RAM_SIZE', 'OPTSR', 19, 2, 'RAM kept for ST secure services'),
    bit('SECURITY', 'OPTSR', 21, '1 = secure access mode'),
    bit('IO_HSLV', 'OPTSR', 29, '1 = I/O high speed at low voltage'),
    bit('SWAP_BANK_OPT', 'OPTSR', 31, '1 = banks swapped'),
  ],
  wrp: (chip) => ({ kind: 'mask', activeLow: true, words: [{ word: 'WPSN1', shift: 0, bits: 8 }, ...(chip.flash.banks === 2 ? [{ word: 'WPSN2', shift: 0, bits: 8 }] : [])] }),
  rdpField: { word: 'OPTSR', shift: 8 },
  rdpLevel: (raw) => levelFromRaw(raw, 0xaa, 0xcc),
  rdpRaw: (level) => (level === 0 ? 0xaa : level === 2 ? 0xcc : 0xbb),
  factoryImage: () => imageFrom(SLOTS, { OPTSR: 0x0006aaf0 | 0x0c, WPSN1: 0xff, WPSN2: 0xff }),
  notes: 'Register image, not bootloader-mapped. Factory OPTSR assumed (RDP 0xAA, BOR off); WPSN 0xFF from OpenOCD.',
};
