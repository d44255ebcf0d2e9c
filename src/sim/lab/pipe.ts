/**
 * An in-process serial cable: two ByteTransport ends, bytes written on one
 * arrive on the other (asynchronously, like a real line). Used by the demo lab
 * to host simulated units without a pty (and on Windows, which has none).
 */
import type { ByteTransport } from '../../transport/types.ts';
import { ioError } from '../../core/errors.ts';
import { PacedLine } from '../line.ts';
import { seededRandom } from '../../core/random.ts';

export interface Pipe {
  host: ByteTransport;
  device: ByteTransport;
  /** Pulls the cable: both ends see close. */
  cut(err?: Error): void;
}

export interface PipeOptions {
  /** Paces each direction like a UART at this baud rate (0 or absent: unpaced). */
  baud?: number;
  /** Bits per byte on the wire: 10 for 8N1, 11 for 8E1. */
  frameBits?: number;
  /** Probability per byte of one flipped bit, both directions (a noisy cable); deterministic for `seed`. */
  corrupt?: number;
  /** Probability per byte that it is lost, both directions (a bad contact). */
  drop?: number;
  seed?: number;
  /** Called for each byte the noise damaged or lost (tests check that the noise really bit). */
  onDamage?: () => void;
  /** What the receiving UART makes of each chunk (framing disagreements, see uart.ts). */
  toDevice?: (data: Uint8Array) => Uint8Array;
  toHost?: (data: Uint8Array) => Uint8Array;
}


export function createPipe(description: string, opts: PipeOptions = {}): Pipe {
  type End = { listener?: (d: Uint8Array) => void; closeListeners: ((e?: Error) => void)[]; buffered: Uint8Array[] };
  const ends: [End, End] = [
    { closeListeners: [], buffered: [] },
    { closeListeners: [], buffered: [] },
  ];
  let closed = false;
  const rand = seededRandom(opts.seed ?? 1);
  const noise = (data: Uint8Array) => {
    if (opts.drop) {
      const kept: number[] = [];
      for (const b of data) {
        if (rand() < opts.drop) opts.onDamage?.();
        else kept.push(b);
      }
      if (kept.length !== data.length) data = Uint8Array.from(kept);
    }
    if (!opts.corrupt) return data;
    for (let i = 0; i < data.length; i++)
      if (rand() < opts.corrupt) {
        data[i] = data[i]! ^ (1 << Math.floor(rand() * 8));
        opts.onDamage?.();
      }
    return data;
  };
  const deliverTo = (peer: End, receive?: (data: Uint8Array) => Uint8Array) => (data: Uint8Array) => {
    if (closed) return;
    data = noise(data);
    if (receive) data = receive(data);
    if (!data.length) return;
    if (peer.listener) peer.listener(data);
    else peer.buffered.push(data);
  };
  // One paced line per direction; baud 0 delivers at once (still asynchronously, below).
  const lines = new Map<End, PacedLine>([
    [ends[1], new PacedLine(opts.baud ?? 0, opts.frameBits ?? 10, deliverTo(ends[1], opts.toDevice))],
    [ends[0], new PacedLine(opts.baud ?? 0, opts.frameBits ?? 10, deliverTo(ends[0], opts.toHost))],
  ]);
  const cut = (err?: Error) => {
    if (closed) return;
    closed = true;
    for (const l of lines.values()) l.close();
    for (const e of ends) for (const l of e.closeListeners) queueMicrotask(() => l(err));
  };
  const make = (self: End, peer: End, name: string): ByteTransport => ({
    description: name,
    async write(data) {
      if (closed) throw ioError('io.closed', `${name}: the link is closed.`);
      const copy = Uint8Array.from(data);
      setImmediate(() => !closed && lines.get(peer)!.push(copy));
    },
    onData(l) {
      self.listener = l;
      for (const b of self.buffered.splice(0)) l(b);
    },
    onClose(l) {
      self.closeListeners.push(l);
    },
    async close() {
      cut();
    },
  });
  return { host: make(ends[0], ends[1], description), device: make(ends[1], ends[0], `${description} (device end)`), cut };
}
