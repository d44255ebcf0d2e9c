/**
 * Demo-lab units that answer with the STM32 ROM bootloader (BOOT0 held high):
 * the lab product's chip with its flash and option bytes set up for the
 * unit's story, on the STM32 bootloader simulator.
 */
import { createStm32Simulator, type Stm32BootloaderSim, type Stm32Faults } from '../stm32/index.ts';
import type { LabSimulator } from './simulators.ts';
import type { LabUnitSpec } from './units.ts';
import { LAB_PRODUCT, labApplicationImage, labBootloaderImage } from './product.ts';

export interface Stm32BoardOptions {
  /** Multiplies the chip's flash timings (the lab runs faster than a datasheet). */
  timeScale?: number;
  faults?: Stm32Faults;
}

export function stm32Board(spec: LabUnitSpec, opts: Stm32BoardOptions = {}): LabSimulator & { sim: Stm32BootloaderSim } {
  const sim = createStm32Simulator({ chip: LAB_PRODUCT.chip, timeScale: opts.timeScale ?? 0.1, ...(opts.faults ? { faults: opts.faults } : {}) });
  const chip = sim.chip;
  const at = (address: number) => address - LAB_PRODUCT.flashStart;
  const p = LAB_PRODUCT.partitions;
  if (spec.scenario !== 'mcuboot-erased-wrp') chip.flash.program(at(p.mcuboot.address), labBootloaderImage());
  chip.flash.program(at(p.slot0.address), labApplicationImage('1.2.0', { confirm: true }));
  // The shipped policy: bootloader sectors write-protected (F2/F4: one WRP bit per sector).
  chip.setWriteProtect(LAB_PRODUCT.policy.wrpSectors);
  if (spec.scenario === 'rdp-level-1') chip.setReadoutProtect();
  sim.reset(); // option bytes take effect at reset
  return {
    sim,
    attach: (device) => sim.attach(device),
    // Lab boards keep BOOT0 high: after power-up the ROM bootloader waits for 0x7F again.
    powerCycle: () => sim.reset(),
    dispose: async () => sim.close(),
  };
}
