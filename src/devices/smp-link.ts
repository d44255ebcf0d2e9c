/** Opening an SMP session (8N1 serial console) on a device, for the workflows. */
import { SmpClient } from '../smp/client.ts';
import { ioError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';
import type { DeviceHandle } from './registry.ts';
import { traceLink } from '../transport/trace.ts';

export interface SmpLink {
  client: SmpClient;
  /** True once the link went away (cable pulled, port closed). */
  readonly lost: boolean;
  /**
   * Runs a long exchange (an upload) so that a lost link ends it at once with
   * `io.link-lost`, instead of waiting out the client's stall timeout.
   */
  guard<T>(signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openSmp(device: DeviceHandle): Promise<SmpLink> {
  const raw = traceLink(await device.open({ parity: 'none', baudRate: 115200 }), 'smp');
  let lost = false;
  const lostListeners = new Set<() => void>();
  const closeListeners: ((err?: Error) => void)[] = [];
  raw.onClose((err) => {
    lost = true;
    for (const l of closeListeners) l(err);
    for (const l of lostListeners) l();
  });
  // Several parties want to hear about a close; a transport keeps one listener.
  const link: ByteTransport = {
    description: raw.description,
    write: (d) => raw.write(d),
    onData: (l) => raw.onData(l),
    onClose: (l) => void closeListeners.push(l),
    close: () => raw.close(),
  };
  const client = new SmpClient(link, { baud: 115200 });
  return {
    client,
    get lost() {
      return lost;
    },
    async guard(signal, fn) {
      const ac = new AbortController();
      const relay = () => ac.abort();
      signal.addEventListener('abort', relay, { once: true });
      lostListeners.add(relay);
      if (lost || signal.aborted) ac.abort();
      try {
        return await fn(ac.signal);
      } catch (e) {
        if (lost && !signal.aborted)
          throw ioError('io.link-lost', 'The link to the unit was lost (cable unplugged or unit restarted). Reconnect it, then resume: nothing already confirmed is lost.', undefined, e);
        throw e;
      } finally {
        signal.removeEventListener('abort', relay);
        lostListeners.delete(relay);
      }
    },
    close: () => raw.close(),
  };
}
