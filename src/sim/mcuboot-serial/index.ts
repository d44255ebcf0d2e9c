/**
 * Factory for the MCUboot serial-recovery simulator, for the CLI, tests and
 * the in-process demo lab:
 *
 *   const dev = createMcubootSim({ images: 1 });
 *   const port = connectInProcess(dev, { baud: 115200 }); // a ByteTransport
 *   // or: const pty = hostOnPty(dev, { baud: 115200 }); pty.path
 */
import { McubootDevice, type McubootOptions } from './device.ts';
import { imageChecker } from '../smp/image-check.ts';
import { MCUBOOT_DEV_KEY_P256 } from '../smp/keys.ts';
import { flashProfile } from '../smp/flash-timing.ts';

export { McubootDevice, type McubootOptions } from './device.ts';
export { connectInProcess, hostOnPty, type LineFaults } from '../smp/host.ts';

export interface McubootSimOptions extends Omit<McubootOptions, 'checker' | 'timing'> {
  /** Public keys (PEM) the device trusts; default MCUboot's development key root-ec-p256. */
  keys?: string[];
  /** Flash timing profile: 'nrf52840' (default), 'stm32l4' or 'none'. */
  flash?: string;
}

export function createMcubootSim(o: McubootSimOptions = {}): McubootDevice {
  const { keys, flash, ...rest } = o;
  return new McubootDevice({ ...rest, checker: imageChecker(keys?.length ? keys : [MCUBOOT_DEV_KEY_P256]), timing: flashProfile(flash ?? 'nrf52840').timing });
}
