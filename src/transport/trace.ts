/**
 * The wire trace for support: every byte a link moves, timestamped, with its
 * direction, written as it happens to a JSON-lines file (format in
 * docs/wire-trace.md). The recorder sits at the transport boundary, so
 * clients and codecs do not know it is there; decoding is done later by pure
 * functions (`unbrick trace show`, src/devices/wire-trace.ts).
 *
 * One recorder is active per process at most (`--trace FILE` on a device
 * command, or the app's setting); every link opened while it is active is
 * recorded into it, each link under its own number.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ioError } from '../core/errors.ts';
import type { ByteTransport } from './types.ts';
import type { InterfaceControl } from './usb.ts';

export const TRACE_FORMAT = 'unbrick-wire-trace';
export const TRACE_VERSION = 1;

/** What the link carries, so the viewer knows which decoder applies. */
export type TraceProtocol = 'smp' | 'an3155' | 'dfu';

export type TraceLine =
  | { kind: 'header'; format: typeof TRACE_FORMAT; version: number; started: string; tool: string }
  | { kind: 'open'; t: number; link: number; protocol: TraceProtocol; description: string }
  | { kind: 'close'; t: number; link: number; reason?: string }
  /** Bytes on a stream link: tx = host to device, rx = device to host. */
  | { kind: 'data'; t: number; link: number; dir: 'tx' | 'rx'; hex: string }
  /** A USB class control transfer: out carries data to the device, in returns data. */
  | { kind: 'control'; t: number; link: number; dir: 'out' | 'in'; request: number; value: number; length: number; hex: string; error?: string };

export class TraceRecorder {
  readonly path: string;
  private fd: number | undefined;
  private readonly t0 = performance.now();
  private nextLink = 1;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /** Creates (truncates) the trace file and writes its header. */
  static create(path: string, tool = 'unbrick'): TraceRecorder {
    let fd: number;
    try {
      fd = openSync(path, 'w', 0o600);
    } catch (e) {
      throw ioError('trace.open-failed', `Cannot write the trace file ${path}: ${(e as Error).message}`, { path }, e);
    }
    const r = new TraceRecorder(path, fd);
    r.write({ kind: 'header', format: TRACE_FORMAT, version: TRACE_VERSION, started: new Date().toISOString(), tool });
    return r;
  }

  /** Milliseconds since the trace started, to the microsecond. */
  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /** Writes synchronously: a crash or a kill loses nothing already exchanged. */
  write(line: TraceLine): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, JSON.stringify(line) + '\n');
  }

  newLink(protocol: TraceProtocol, description: string): number {
    const link = this.nextLink++;
    this.write({ kind: 'open', t: this.now(), link, protocol, description });
    return link;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A ByteTransport that records every byte both ways into `rec`. */
export function tracedTransport(inner: ByteTransport, rec: TraceRecorder, protocol: TraceProtocol): ByteTransport {
  const link = rec.newLink(protocol, inner.description);
  let closed = false;
  const closeOnce = (reason?: string) => {
    if (closed) return;
    closed = true;
    rec.write({ kind: 'close', t: rec.now(), link, ...(reason ? { reason } : {}) });
  };
  const traced: ByteTransport = {
    description: inner.description,
    write: (data) => {
      rec.write({ kind: 'data', t: rec.now(), link, dir: 'tx', hex: hex(data) });
      return inner.write(data);
    },
    onData: (listener) =>
      inner.onData((data) => {
        rec.write({ kind: 'data', t: rec.now(), link, dir: 'rx', hex: hex(data) });
        listener(data);
      }),
    onClose: (listener) =>
      inner.onClose((err) => {
        closeOnce(err ? err.message : 'the link went away (device side)');
        listener(err);
      }),
    close: async () => {
      closeOnce('closed by the host');
      await inner.close();
    },
  };
  if (inner.setSignals) traced.setSignals = (s) => inner.setSignals!(s);
  return traced;
}

/** USB class control transfers (DFU requests) recorded with their setup fields and data. */
export function tracedControl(inner: InterfaceControl, rec: TraceRecorder, description: string): InterfaceControl {
  const link = rec.newLink('dfu', description);
  return {
    async in(request, value, length) {
      try {
        const data = await inner.in(request, value, length);
        rec.write({ kind: 'control', t: rec.now(), link, dir: 'in', request, value, length, hex: hex(data) });
        return data;
      } catch (e) {
        rec.write({ kind: 'control', t: rec.now(), link, dir: 'in', request, value, length, hex: '', error: (e as Error).message });
        throw e;
      }
    },
    async out(request, value, data) {
      try {
        await inner.out(request, value, data);
        rec.write({ kind: 'control', t: rec.now(), link, dir: 'out', request, value, length: data.length, hex: hex(data) });
      } catch (e) {
        rec.write({ kind: 'control', t: rec.now(), link, dir: 'out', request, value, length: data.length, hex: hex(data), error: (e as Error).message });
        throw e;
      }
    },
  };
}

let active: TraceRecorder | undefined;

/** Starts recording every link opened from now on (one trace per process). */
export function startTrace(path: string, tool?: string): TraceRecorder {
  if (active) throw ioError('trace.busy', `A trace is already being recorded to ${active.path}.`);
  active = TraceRecorder.create(path, tool);
  return active;
}

export function stopTrace(): void {
  active?.close();
  active = undefined;
}

export const activeTrace = (): TraceRecorder | undefined => active;

/** Wraps a freshly opened link when a trace is being recorded; otherwise returns it as it is. */
export function traceLink(inner: ByteTransport, protocol: TraceProtocol): ByteTransport {
  return active ? tracedTransport(inner, active, protocol) : inner;
}

export function traceControl(inner: InterfaceControl, description: string): InterfaceControl {
  return active ? tracedControl(inner, active, description) : inner;
}
