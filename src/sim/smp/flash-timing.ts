/**
 * Flash timing profiles for the simulated devices. Figures are datasheet
 * maxima, which is what a device must be ready to wait for:
 *   nrf52840: Nordic nRF52840 Product Specification v1.7, NVMC electrical
 *     specification: t_WRITE 41 us per 32-bit word, t_ERASEPAGE 85 ms per 4 KiB page.
 *   stm32l4: ST STM32L476xx datasheet DS10198, Flash memory characteristics:
 *     64-bit programming 90.76 us (max), 2 KiB page erase 24.47 ms (max);
 *     scaled per byte and per 4 KiB here.
 * 'none' makes flash instant (for replaying recorded transcripts quickly).
 */
import { NO_TIME, type FlashTiming } from '../flash.ts';

export type FlashProfile = 'nrf52840' | 'stm32l4' | 'none';

export const FLASH_PROFILES: Record<FlashProfile, { timing: FlashTiming; text: string }> = {
  nrf52840: {
    timing: { eraseMs: (size) => 85 * (size / 4096), programMs: (n) => (Math.ceil(n / 4) * 41) / 1000 },
    text: 'nRF52840 NVMC: 85 ms per 4 KiB erase, 41 us per 4-byte write',
  },
  stm32l4: {
    timing: { eraseMs: (size) => 24.47 * (size / 2048), programMs: (n) => (Math.ceil(n / 8) * 90.76) / 1000 },
    text: 'STM32L4: 24.47 ms per 2 KiB erase, 90.76 us per 8-byte write',
  },
  none: { timing: NO_TIME, text: 'instant flash' },
};

export function flashProfile(name: string): { timing: FlashTiming; text: string } {
  const p = FLASH_PROFILES[name as FlashProfile];
  if (!p) throw new RangeError(`unknown flash profile ${name}`);
  return p;
}
