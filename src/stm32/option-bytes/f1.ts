/**
 * STM32F1 option bytes at 0x1FFFF800: byte + complement pairs (RDP, USER,
 * DATA0/1, WRP0-3). RDP 0xA5 = level 0, anything else = level 1; F1 has no
 * level 2. WRP bits are active low, 4 KB groups (chips.json F1, OpenOCD stm32f1x.c).
 */
import { bit, imageFrom, noLevel, tableRegion } from './common.ts';
import type { OptionBytesCodec, Slot } from './types.ts';

const SLOTS: Slot[] = ['RDP', 'USER', 'DATA0', 'DATA1', 'WRP0', 'WRP1', 'WRP2', 'WRP3'].map((name, i) => ({ name, offset: i * 2, kind: 'byte-pair' }));

export const f1Codec: OptionBytesCodec = {
  layout: 'F1',
  regions: tableRegion,
  slots: () => SLOTS,
  userFields: (chip) => [
    bit('WDG_SW', 'USER', 0, '1 = software watchdog (IWDG not started at reset)'),
    bit('nRST_STOP', 'USER', 1, '1 = no reset on entering Stop'),
    bit('nRST_STDBY', 'USER', 2, '1 = no reset on entering Standby'),
    ...(chip.pid === 0x430 ? [bit('BFB2', 'USER', 3, 'XL density: 0 = boot from bank 2')] : []),
  ],
  wrp: () => ({ kind: 'mask', activeLow: true, words: ['WRP0', 'WRP1', 'WRP2', 'WRP3'].map((word) => ({ word, shift: 0, bits: 8 })) }),
  rdpField: { word: 'RDP', shift: 0 },
  rdpLevel: (raw) => (raw === 0xa5 ? 0 : 1),
  // Readout Protect writes "a non-0xA5 value"; 0x00 is what a level-1 F1 reads back in our model.
  rdpRaw: (level) => (level === 0 ? 0xa5 : level === 1 ? 0x00 : noLevel('F1', level)),
  factoryImage: () => imageFrom(SLOTS, { RDP: 0xa5, USER: 0xff, DATA0: 0xff, DATA1: 0xff, WRP0: 0xff, WRP1: 0xff, WRP2: 0xff, WRP3: 0xff }),
  notes: 'Factory image A5 5A FF 00 ... (chips.json F1, medium: RDP from OpenOCD default_rdp, the rest follows from erased = unprotected).',
};
