/**
 * A host-side ByteTransport straight onto a simulator, no pty: for the demo
 * lab on any platform and for fast tests. Bytes are delivered asynchronously,
 * as a real line would, but unpaced.
 */
import { ioError } from '../../core/errors.ts';
import type { ByteTransport } from '../../transport/types.ts';
import type { Stm32BootloaderSim } from './bootloader.ts';

export function inProcessTransport(sim: Stm32BootloaderSim): ByteTransport & { cut(): void } {
  let listener: ((d: Uint8Array) => void) | undefined;
  let closeListener: ((err?: Error) => void) | undefined;
  let closed = false;
  sim.onOutput((d) => {
    const copy = Uint8Array.from(d);
    setImmediate(() => !closed && listener?.(copy));
  });
  return {
    description: `simulated ${sim.chip.info.name}`,
    async write(data) {
      if (closed) throw ioError('io.port-closed', 'The simulated link is closed.');
      const copy = Uint8Array.from(data);
      setImmediate(() => !closed && sim.feed(copy));
    },
    onData(l) {
      listener = l;
    },
    onClose(l) {
      closeListener = l;
    },
    async close() {
      closed = true;
    },
    cut() {
      closed = true;
      closeListener?.(new Error('cable cut'));
    },
  };
}
