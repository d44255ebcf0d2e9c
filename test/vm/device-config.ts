/**
 * The simulated device the VM stage puts on the bus, shared by the device program (test/vm/device.ts) and
 * the checks that run against it (test/vm/guest-suite.ts), so expectations come from the same source.
 */
import { createDfuseSimulator } from '../../src/sim/dfuse/index.ts';

export const VM_DEVICE = {
  /** STM32F405/407 (chips.json pid 0x413): 1 MB of 16/64/128 KiB sectors, F2/F4 option bytes. */
  chip: '0x413',
  serialNumber: '205F38743034',
};

/** The simulator: `timeScale` multiplies the chip's datasheet flash timings (1 = real chip). */
export function makeVmDevice(timeScale: number) {
  return createDfuseSimulator({ chip: VM_DEVICE.chip, timeScale, serialNumber: VM_DEVICE.serialNumber });
}

/** What the host must see: alternate-setting names and wTransferSize, from the same simulator. */
export function expectedDevice(): { altNames: string[]; transferSize: number } {
  const { sim } = makeVmDevice(1);
  return { altNames: [...sim.backend.altNames], transferSize: sim.transferSize };
}
