/**
 * Puts a simulated SMP device on a line: a real pty (hosts open its path with
 * serialport, mcumgr, linesim) or an in-process byte stream (the demo lab).
 * Both directions are paced at the configured baud, 8N1 (PacedLine; baud 0 =
 * unpaced, for use behind linesim), and line faults can be injected between
 * the wire and the device: bit flips, dropped bytes, stalls of the device's
 * output and a cable cut.
 */
import { PacedLine } from '../line.ts';
import { openPty } from '../pty.ts';
import { ioError } from '../../core/errors.ts';
import type { ByteTransport } from '../../transport/types.ts';
import type { SmpDevice } from './device.ts';

export interface LineFaults {
  /** Probability per byte that one bit flips (each direction). */
  flipRate?: number;
  /** Probability per byte that it is lost (each direction). */
  dropRate?: number;
  /** The device's output stops for `stallMs` every `stallEveryMs`. */
  stallMs?: number;
  stallEveryMs?: number;
  /** After this many bytes from the host, nothing passes either way for `cutMs` (cable pulled and replugged). */
  cutAfterBytes?: number;
  cutMs?: number;
  /** Random source (tests pass a seeded one). */
  random?: () => number;
}

export interface LinkOptions {
  baud: number;
  faults?: LineFaults;
}


/** The wire between host and device, with pacing and faults. */
export class SimLink {
  private readonly rx: PacedLine;
  private readonly tx: PacedLine;
  private toHost: (b: Uint8Array) => void = () => {};
  private fromHostCount = 0;
  private cutUntil = 0;
  private stallTimer?: NodeJS.Timeout;
  private stalled = false;
  private held: Uint8Array[] = [];
  private readonly rand: () => number;
  private readonly unsubscribe: () => void;
  readonly counters = { flipped: 0, dropped: 0, cut: 0 };

  constructor(
    readonly device: SmpDevice,
    private readonly opts: LinkOptions,
  ) {
    const f = opts.faults ?? {};
    this.rand = f.random ?? Math.random;
    this.rx = new PacedLine(opts.baud, 10, (b) => device.input(b));
    this.tx = new PacedLine(opts.baud, 10, (b) => this.toHost(b));
    this.unsubscribe = device.onOutput((b) => {
      const out = this.damage(b);
      if (!out.length || this.isCut()) return;
      if (this.stalled) this.held.push(out);
      else this.tx.push(out);
    });
    if (f.stallMs && f.stallEveryMs) {
      this.stallTimer = setInterval(() => {
        this.stalled = true;
        setTimeout(() => {
          this.stalled = false;
          for (const h of this.held.splice(0)) this.tx.push(h);
        }, f.stallMs);
      }, f.stallEveryMs);
    }
  }

  onToHost(listener: (b: Uint8Array) => void): void {
    this.toHost = listener;
  }

  fromHost(data: Uint8Array): void {
    const f = this.opts.faults ?? {};
    this.fromHostCount += data.length;
    if (f.cutAfterBytes !== undefined && this.fromHostCount >= f.cutAfterBytes && this.cutUntil === 0) {
      this.cutUntil = performance.now() + (f.cutMs ?? 1000);
      this.counters.cut++;
      this.rx.flush();
      this.tx.flush();
    }
    if (this.isCut()) return;
    const out = this.damage(data);
    if (out.length) this.rx.push(out);
  }

  private isCut(): boolean {
    return this.cutUntil > 0 && performance.now() < this.cutUntil;
  }

  private damage(data: Uint8Array): Uint8Array {
    const f = this.opts.faults;
    if (!f || (!f.flipRate && !f.dropRate)) return data;
    const out: number[] = [];
    for (const b of data) {
      if (f.dropRate && this.rand() < f.dropRate) {
        this.counters.dropped++;
        continue;
      }
      if (f.flipRate && this.rand() < f.flipRate * 8) {
        this.counters.flipped++;
        out.push(b ^ (1 << Math.floor(this.rand() * 8)));
      } else out.push(b);
    }
    return Uint8Array.from(out);
  }

  close(): void {
    this.unsubscribe();
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.rx.close();
    this.tx.close();
  }
}

export interface PtyHost {
  /** The path a host opens, e.g. /dev/pts/7. */
  readonly path: string;
  readonly link: SimLink;
  close(): void;
}

/** Runs the device on a new pseudo-terminal. */
export function hostOnPty(device: SmpDevice, opts: LinkOptions): PtyHost {
  const pty = openPty();
  const link = new SimLink(device, opts);
  link.onToHost((b) => pty.write(b));
  pty.onData((b) => link.fromHost(b));
  return {
    path: pty.path,
    link,
    close() {
      link.close();
      device.dispose();
      pty.close();
    },
  };
}

/** The host's end of an in-process line to the device (the demo lab's "serial port"). */
export function connectInProcess(device: SmpDevice, opts: LinkOptions): ByteTransport & { link: SimLink } {
  const link = new SimLink(device, opts);
  let listener: ((b: Uint8Array) => void) | undefined;
  let closeListener: ((err?: Error) => void) | undefined;
  let closed = false;
  link.onToHost((b) => listener?.(b));
  return {
    link,
    description: `simulated device (in-process, ${opts.baud ? `${opts.baud} 8N1` : 'unpaced'})`,
    async write(data) {
      if (closed) throw ioError('io.port-closed', 'The simulated line is closed.');
      link.fromHost(data);
    },
    onData(l) {
      listener = l;
    },
    onClose(l) {
      closeListener = l;
    },
    async close() {
      if (closed) return;
      closed = true;
      link.close();
      closeListener?.();
    },
  };
}
