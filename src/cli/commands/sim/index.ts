/** `unbrick sim …`: simulated devices on pseudo-terminals (one command per simulator). */
import type { CommandGroup } from '../../framework.ts';
import { simStm32Command } from './stm32.ts';
import { simMcubootCommand } from './mcuboot.ts';
import { simZephyrCommand } from './zephyr.ts';
import { simDfuseCommand } from './dfuse.ts';

export const simGroup: CommandGroup = {
  name: 'sim',
  summary: 'run a simulated device on a pseudo-terminal',
  commands: [simStm32Command, simMcubootCommand, simZephyrCommand, simDfuseCommand],
};
