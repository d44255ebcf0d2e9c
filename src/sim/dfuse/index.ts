/** The simulated STM32 in USB DFU mode, on the same chip model as the UART simulator. */
import { findChip } from '../../stm32/chips/index.ts';
import { SimChip } from '../stm32/chip.ts';
import { chipBackend } from './chip-backend.ts';
import { DfuseDeviceSim } from './device.ts';
import { SimulatedUsbDevice } from './webusb.ts';

export { DfuseDeviceSim, type DfuseBackend, type SetupPacket, type ControlResult } from './device.ts';
export { SimulatedUsbDevice } from './webusb.ts';
export { chipBackend, flashLayoutString, optionBytesLayoutString } from './chip-backend.ts';

export interface DfuseSimOptions {
  /** A chip name or product ID the chip table knows, e.g. "f405" or "0x413". */
  chip: string;
  /** Multiplies every flash time (1 = datasheet typical; tests use less). */
  timeScale?: number;
  serialNumber?: string;
  transferSize?: number;
}

export function createDfuseSimulator(opts: DfuseSimOptions): { chip: SimChip; sim: DfuseDeviceSim; usb: SimulatedUsbDevice } {
  const chip = new SimChip(findChip(opts.chip), opts.timeScale ?? 1);
  const sim = new DfuseDeviceSim(chipBackend(chip), {
    serialNumber: opts.serialNumber ?? '205F38743034',
    ...(opts.transferSize ? { transferSize: opts.transferSize } : {}),
  });
  return { chip, sim, usb: new SimulatedUsbDevice(sim) };
}
