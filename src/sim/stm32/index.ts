/** The simulated STM32 chip with its system bootloader: in-process factory and pty host. */
export { createStm32Simulator, Stm32BootloaderSim, type Stm32SimOptions, type SimPhase } from './bootloader.ts';
export { startStm32PtySim, type Stm32PtySim, type Stm32PtyOptions } from './host.ts';
export { SimChip, type ChipState } from './chip.ts';
export { inProcessTransport } from './in-process.ts';
export type { Stm32Faults } from './faults.ts';

/** Chips the simulator models (one of each family the issue names); any chip-table entry also works. */
export const MODELLED_CHIPS = ['f103', 'f405', 'l476', 'g071'] as const;
