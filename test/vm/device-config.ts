/**
 * The simulated device the VM stage puts on the bus. guest-gadget.sh chooses it (UNBRICK_VM_CHIP,
 * UNBRICK_VM_SERIAL, default f405) and starts `unbrick sim dfuse` with it; the checks in guest-suite.ts
 * read the same variables and build their expectations from the same simulator code.
 */
import { createDfuseSimulator } from '../../src/sim/dfuse/index.ts';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through test/vm/guest-gadget.sh`);
  return v;
}

/** The device on the bus and what the host must see of it (names, wTransferSize), from the same simulator. */
export function vmDevice(): { chip: string; serialNumber: string; altNames: string[]; transferSize: number } {
  const chip = env('UNBRICK_VM_CHIP');
  const serialNumber = env('UNBRICK_VM_SERIAL');
  const { sim } = createDfuseSimulator({ chip, timeScale: 0, serialNumber });
  return { chip, serialNumber, altNames: [...sim.backend.altNames], transferSize: sim.transferSize };
}
