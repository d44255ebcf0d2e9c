/**
 * Demo-lab units that answer SMP: two in MCUboot serial recovery (one with an
 * empty slot, one with a corrupt image) and one running its Zephyr application
 * with a test image 1.3.0 pending in slot 1. They trust the lab signing key.
 */
import { createMcubootSim } from '../mcuboot-serial/index.ts';
import { createZephyrSim } from '../zephyr/index.ts';
import { setPending } from '../smp/boot.ts';
import type { SmpDevice } from '../smp/device.ts';
import type { LabSimulator } from './simulators.ts';
import type { LabUnitSpec } from './units.ts';
import { labApplicationImage, labPublicKeyPem } from './product.ts';

export const SMP_SLOT_SIZE = 0x20000;

function wrap(dev: SmpDevice): LabSimulator & { dev: SmpDevice } {
  let off: (() => void) | undefined;
  return {
    dev,
    attach(device) {
      off?.();
      device.onData((b) => dev.input(b));
      off = dev.onOutput((b) => void device.write(b).catch(() => {}));
    },
    powerCycle: () => dev.reset(),
    dispose: async () => dev.dispose(),
  };
}

export function smpBoard(spec: LabUnitSpec): LabSimulator & { dev: SmpDevice } {
  const keys = [labPublicKeyPem()];
  if (spec.answersWith === 'zephyr-smp') {
    const dev = createZephyrSim({ keys, slotSize: SMP_SLOT_SIZE, flash: 'stm32l4', running: labApplicationImage('1.2.0', { confirm: true, slotSize: SMP_SLOT_SIZE }) });
    dev.program(1, labApplicationImage('1.3.0', { slotSize: SMP_SLOT_SIZE }));
    setPending(dev.flash, dev.slots, false); // "test": MCUboot swaps it in on the next reset, once
    return wrap(dev);
  }
  const dev = createMcubootSim({ keys, slotSize: SMP_SLOT_SIZE, flash: 'stm32l4', recovery: 'always' });
  if (spec.scenario === 'corrupt-image') {
    const img = labApplicationImage('1.1.0', { slotSize: SMP_SLOT_SIZE });
    img[0x400] = img[0x400]! ^ 0x5a; // one flipped payload byte: the hash no longer matches
    dev.program(0, 0, img);
  }
  return wrap(dev);
}
