/**
 * Factory for the Zephyr SMP application simulator (with MCUboot below it),
 * for the CLI, tests and the in-process demo lab:
 *
 *   const dev = createZephyrSim({ running: imageBytes });
 *   const port = connectInProcess(dev, { baud: 115200 });
 */
import { ZephyrDevice, type ZephyrOptions } from './device.ts';
import { FactoryUnit } from './factory-unit.ts';
import { imageChecker } from '../smp/image-check.ts';
import { MCUBOOT_DEV_KEY_P256 } from '../smp/keys.ts';
import { flashProfile } from '../smp/flash-timing.ts';

export { ZephyrDevice, type ZephyrOptions } from './device.ts';
export { connectInProcess, hostOnPty, type LineFaults } from '../smp/host.ts';

export interface ZephyrSimOptions extends Omit<ZephyrOptions, 'checker' | 'timing'> {
  keys?: string[];
  flash?: string;
  /** Image placed in slot 0 as the running application. */
  running?: Uint8Array;
}

export function createZephyrSim(o: ZephyrSimOptions = {}): ZephyrDevice {
  const { keys, flash, running, ...rest } = o;
  const dev = new ZephyrDevice({ ...rest, checker: imageChecker(keys?.length ? keys : [MCUBOOT_DEV_KEY_P256]), timing: flashProfile(flash ?? 'nrf52840').timing });
  if (running) dev.program(0, running);
  return dev;
}

export { FactoryUnit } from './factory-unit.ts';
import type { FactoryUnitOptions } from './factory-unit.ts';

/** A unit in MCUboot serial recovery that runs this Zephyr application once an image is written and it restarts. */
export function createFactoryUnit(o: Omit<ZephyrSimOptions, 'running'> & { recovery?: FactoryUnitOptions['recovery'] } = {}): FactoryUnit {
  const { keys, flash, recovery, ...rest } = o;
  return new FactoryUnit({
    ...(recovery ? { recovery } : {}),
    app: { ...rest, checker: imageChecker(keys?.length ? keys : [MCUBOOT_DEV_KEY_P256]), timing: flashProfile(flash ?? 'nrf52840').timing },
  });
}
