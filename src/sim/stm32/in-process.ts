/**
 * A host-side ByteTransport straight onto a simulator, no pty: for the demo
 * lab on any platform and for fast tests. Bytes are delivered asynchronously,
 * as a real line would, but unpaced.
 */
import type { ByteTransport } from '../../transport/types.ts';
import { simulatedPort } from '../port.ts';
import type { Stm32BootloaderSim } from './bootloader.ts';

export function inProcessTransport(sim: Stm32BootloaderSim): ByteTransport & { cut(): void } {
  const link = simulatedPort(`simulated ${sim.chip.info.name}`, 'The simulated link is closed.', (data) => setImmediate(() => !link.closed && sim.feed(data)));
  sim.onOutput((d) => link.toHost(Uint8Array.from(d)));
  return { ...link.port, cut: () => link.unplug(new Error('cable cut')) };
}
