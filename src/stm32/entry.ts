/**
 * Getting the chip into its system bootloader. Many USB-UART boards wire the
 * adapter's RTS and DTR lines to BOOT0 and NRST (through transistors, so the
 * lines may be inverted). Where they are wired, Unbrick drives the sequence;
 * otherwise it tells the technician what to do by hand.
 */
import { usageError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';

export type EntryWiring = 'none' | 'rts-boot0-dtr-reset' | 'dtr-boot0-rts-reset';
export const ENTRY_WIRINGS: EntryWiring[] = ['none', 'rts-boot0-dtr-reset', 'dtr-boot0-rts-reset'];

export const MANUAL_ENTRY_STEPS = [
  'Enter the STM32 bootloader by hand:',
  '  1. Connect the adapter: adapter TX -> chip RX (e.g. PA10), adapter RX -> chip TX (PA9), GND -> GND. Do not connect 5 V to a 3.3 V board.',
  '  2. Hold BOOT0 high (jumper or button; on parts with nBOOT0/nSWBOOT0 options AN2606 says which pin or bit selects system memory).',
  '  3. Press and release RESET (or power-cycle the board) while BOOT0 is high.',
  '  4. Run the command again. After flashing, set BOOT0 low and reset to run the application.',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drives BOOT0 high and pulses reset. `invert` for boards whose transistors
 * make the asserted modem line pull the pin low (the usual NodeMCU-style wiring
 * asserts = low).
 */
export async function enterBootloader(transport: ByteTransport, wiring: EntryWiring, invert = false): Promise<boolean> {
  if (wiring === 'none') return false;
  if (!transport.setSignals) throw usageError('stm32.no-modem-lines', `${transport.description} has no DTR/RTS control. ${MANUAL_ENTRY_STEPS.join(' ')}`);
  // BOOT0 high through the reset, then let the bootloader start.
  await resetWithBoot0(transport.setSignals.bind(transport), wiring, invert, true);
  await sleep(100);
  return true;
}

/** BOOT0 low and a reset pulse: the chip starts its application. */
export async function leaveBootloader(transport: ByteTransport, wiring: EntryWiring, invert = false): Promise<boolean> {
  if (wiring === 'none' || !transport.setSignals) return false;
  await resetWithBoot0(transport.setSignals.bind(transport), wiring, invert, false);
  return true;
}

/** Sets BOOT0 and pulses reset (50 ms asserted) on the modem lines the wiring names; `invert`: asserted = line low. */
async function resetWithBoot0(setSignals: NonNullable<ByteTransport['setSignals']>, wiring: Exclude<EntryWiring, 'none'>, invert: boolean, boot0: boolean): Promise<void> {
  const boot = wiring === 'rts-boot0-dtr-reset' ? 'rts' : 'dtr';
  const reset = boot === 'rts' ? 'dtr' : 'rts';
  const level = (on: boolean) => (invert ? !on : on);
  await setSignals({ [boot]: level(boot0), [reset]: level(true) });
  await sleep(50);
  await setSignals({ [reset]: level(false) });
}
