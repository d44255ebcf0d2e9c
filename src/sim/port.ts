/**
 * The host's end of an in-process link to a simulated device, no pty: for the
 * demo lab on any platform, fast tests and fuzzing. Bytes move asynchronously,
 * as over a real port, but unpaced.
 */
import { ioError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';

export interface SimulatedPort {
  port: ByteTransport;
  /** Hands bytes the device sent to the host after the current turn (dropped if the link closes first). */
  toHost(data: Uint8Array): void;
  /** Ends the link as a pulled cable: closed at once, the host told with `err` now or, with `later`, after the current turn. */
  unplug(err: Error, later?: boolean): void;
  readonly closed: boolean;
}

/** `fromHost` gets a copy of every write; writing to a closed link is io.port-closed with `closedMessage`. */
export function simulatedPort(description: string, closedMessage: string, fromHost: (data: Uint8Array) => void): SimulatedPort {
  let listener: ((d: Uint8Array) => void) | undefined;
  let closeListener: ((err?: Error) => void) | undefined;
  let closed = false;
  return {
    port: {
      description,
      async write(data) {
        if (closed) throw ioError('io.port-closed', closedMessage);
        fromHost(Uint8Array.from(data));
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
    },
    toHost(data) {
      setImmediate(() => !closed && listener?.(data));
    },
    unplug(err, later = false) {
      closed = true;
      if (later) setImmediate(() => closeListener?.(err));
      else closeListener?.(err);
    },
    get closed() {
      return closed;
    },
  };
}
