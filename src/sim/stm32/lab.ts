/**
 * Ready-made STM32 units for the demo lab: a chip in the state a scenario
 * describes, answering with its ROM bootloader on whatever cable the lab
 * attaches. The lab registers this for units that answer with 'stm32-rom'.
 */
import type { ByteTransport } from '../../transport/types.ts';
import { createStm32Simulator, type Stm32BootloaderSim } from './bootloader.ts';
import { prng } from './faults.ts';

export type Stm32LabScenario = 'mcuboot-erased-wrp' | 'rdp-level-1' | 'blank';

export interface Stm32LabUnit {
  sim: Stm32BootloaderSim;
  attach(device: ByteTransport): void;
  dispose(): Promise<void>;
}

/** Pseudo-random "application" bytes, the same for a given seed. */
function firmware(bytes: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: bytes }, () => Math.floor(r() * 256));
}

export function createStm32LabUnit(scenario: Stm32LabScenario | string, seed = 1): Stm32LabUnit {
  let sim: Stm32BootloaderSim;
  switch (scenario) {
    case 'mcuboot-erased-wrp': {
      // STM32F405: MCUboot's sectors 0-1 erased but still write-protected; the application in sectors 2-4 intact.
      sim = createStm32Simulator({ chip: 'f405' });
      sim.chip.flash.program(0x8000, firmware(96 * 1024, seed));
      sim.chip.setWriteProtect([0, 1]);
      break;
    }
    case 'rdp-level-1': {
      // STM32F103: firmware present, readout protection on.
      sim = createStm32Simulator({ chip: 'f103' });
      sim.chip.flash.program(0, firmware(48 * 1024, seed));
      sim.chip.setReadoutProtect();
      break;
    }
    default:
      sim = createStm32Simulator({ chip: 'l476', getChecksum: true });
  }
  sim.reset(); // option bytes load at reset
  return {
    sim,
    attach: (device) => sim.attach(device),
    dispose: async () => sim.close(),
  };
}
