/**
 * STM32F1 option bytes at 0x1FFFF800: byte + complement pairs (RDP, USER,
 * DATA0/1, WRP0-3). RDP 0xA5 = level 0, anything else = level 1; F1 has no
 * level 2. WRP bits are active low, 4 KB groups (chips.json F1, OpenOCD stm32f1x.c).
 */
import { imageFrom, noLevel, tableRegion, wordFields } from './common.ts';
import type { OptionBytesCodec, Slot, WrpModel } from './types.ts';

/** The byte + complement layout, which F0/F3 keep. */
export const F1_SLOTS: Slot[] = ['RDP', 'USER', 'DATA0', 'DATA1', 'WRP0', 'WRP1', 'WRP2', 'WRP3'].map((name, i) => ({ name, offset: i * 2, kind: 'byte-pair' }));

/** WRP0-3: 32 active-low bits, the same on F0/F3. */
export const f1Wrp = (): WrpModel => ({ kind: 'mask', activeLow: true, words: ['WRP0', 'WRP1', 'WRP2', 'WRP3'].map((word) => ({ word, shift: 0, bits: 8 })) });

export const f1Codec: OptionBytesCodec = {
  layout: 'F1',
  regions: tableRegion,
  slots: () => F1_SLOTS,
  userFields: (chip) =>
    wordFields('USER', {
      WDG_SW: [0, 1, '1 = software watchdog (IWDG not started at reset)'],
      nRST_STOP: 1,
      nRST_STDBY: 2,
      ...(chip.pid === 0x430 ? { BFB2: [3, 1, 'XL density: 0 = boot from bank 2'] as const } : {}),
    }),
  wrp: f1Wrp,
  rdpField: { word: 'RDP', shift: 0 },
  rdpLevel: (raw) => (raw === 0xa5 ? 0 : 1),
  // Readout Protect writes "a non-0xA5 value"; 0x00 is what a level-1 F1 reads back in our model.
  rdpRaw: (level) => (level === 0 ? 0xa5 : level === 1 ? 0x00 : noLevel('F1', level)),
  // Every byte but RDP erased (0xFF: unprotected, complement 0x00).
  factoryImage: () => imageFrom(F1_SLOTS, { RDP: 0xa5 }),
  notes: 'Factory image A5 5A FF 00 ... (chips.json F1, medium: RDP from OpenOCD default_rdp, the rest follows from erased = unprotected).',
};
