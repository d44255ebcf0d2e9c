/**
 * An SMP client over any byte transport: one request per sequence number,
 * answers matched by sequence/group/id/op, a timeout per request, retries
 * that resend the same frame (same sequence, so a late answer to the first
 * try still counts), and resynchronisation after garbage: the frame reader
 * drops bad frames and skips console text, and a start line always restarts
 * it. Devices never answer frames they cannot decode, so silence is the only
 * error signal on the wire; timeouts are sized from the frame's wire time.
 */
import { cancelledError, deviceError, ioError, throwIfAborted } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';
import { concatBytes } from '../core/bytes.ts';
import { encodeCbor, decodeCbor, type CborValue } from './cbor.ts';
import { encodeFrame, FrameReader, frameWireLength } from './frame.ts';
import { decodeHeader, encodeHeader, HEADER_SIZE, OP, type SmpHeader } from './header.ts';
import { answerError } from './errors.ts';

export interface SmpClientOptions {
  /** Line rate used to size timeouts (0 = unknown/fast). */
  baud?: number;
  /** Base answer timeout, on top of the frames' wire time. */
  timeoutMs?: number;
  retries?: number;
  /** 0 = SMP v1 header (default, understood by every device), 1 = SMP v2. */
  version?: number;
  /** Pause between lines of one frame, for devices with few line buffers on fast links. */
  lineGapMs?: number;
}

export interface SmpRequest {
  op: 'read' | 'write';
  group: number;
  id: number;
  body?: CborValue;
  /** What this is, in words, for error messages ("image upload"). */
  what: string;
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
  /** Idle line time before each further line of this frame (overrides the client's `lineGapMs`). */
  lineGapMs?: number;
  /** Idle line time before this frame's first line when frames follow each other (pipelined). */
  frameGapMs?: number;
  /**
   * When each line may start, given when it could and its wire time (the upload engine's read-grid
   * pacing, link-learner.ts). Overrides the gaps.
   */
  placeLine?: (earliestMs: number, wireMs: number) => number;
  /** Whether idle line time from this time on may be filled with a line the device drops (with placeLine). */
  fillGap?: (fromMs: number) => boolean;
}

export type Pacing = Pick<SmpRequest, 'lineGapMs' | 'frameGapMs' | 'placeLine' | 'fillGap'>;

/** A line a device drops when it has no line buffer for it: spaces (neither SMP marker) and its LF. */
function fillerLine(bytes: number): Uint8Array {
  const line = new Uint8Array(bytes).fill(0x20);
  line[bytes - 1] = 0x0a;
  return line;
}

export interface SmpAnswer {
  header: SmpHeader;
  /** Decoded CBOR (plain object), or {} for an empty payload. */
  body: Record<string, unknown>;
  /** Time from the request's last byte leaving the line to the answer (ms). */
  latencyMs?: number;
  /** When the answer's first byte came (performance.now(), from its end less its wire time at the line rate). */
  arrivedAt?: number;
}

interface Waiter {
  match(h: SmpHeader): boolean;
  resolve(a: SmpAnswer): void;
  /** Ends the current wait early (the link closed). */
  wake?: () => void;
}

export class SmpClient {
  private seq = Math.floor(Math.random() * 256);
  private waiters: Waiter[] = [];
  private readonly reader: FrameReader;
  private closed: Error | undefined;
  readonly stats = { badFrames: 0, textLines: 0, timeouts: 0, retries: 0, fillerLines: 0 };
  private textListener?: (line: string) => void;
  /** When the latest answer's first byte came (see SmpAnswer.arrivedAt). */
  lastArrivedAt: number | undefined;

  constructor(
    readonly transport: ByteTransport,
    readonly opts: SmpClientOptions = {},
  ) {
    this.reader = new FrameReader((e) => {
      if (e.kind === 'bad-frame') this.stats.badFrames++;
      else if (e.kind === 'text') {
        this.stats.textLines++;
        this.textListener?.(Buffer.from(e.line).toString('utf8').replace(/\r$/, ''));
      } else this.onPacket(e.packet);
    });
    transport.onData((d) => this.reader.push(d));
    transport.onClose((err) => {
      this.closed = err ?? new Error('closed');
      // A pulled cable ends every wait now, not after the request's timeout (an erase waits 30 s per try).
      for (const w of this.waiters) w.wake?.();
    });
  }

  /** Console text the device prints on the same line (Zephyr logs). */
  onText(listener: (line: string) => void): void {
    this.textListener = listener;
  }

  private onPacket(packet: Uint8Array): void {
    if (packet.length < HEADER_SIZE) return void this.stats.badFrames++;
    const header = decodeHeader(packet);
    let body: Record<string, unknown> = {};
    // Trust the frame, not the header length (Zephyr 3.4 can send a header with no payload).
    const cbor = packet.subarray(HEADER_SIZE);
    if (cbor.length) {
      try {
        const v = decodeCbor(cbor);
        if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) body = v as Record<string, unknown>;
        else return void this.stats.badFrames++;
      } catch {
        return void this.stats.badFrames++;
      }
    }
    const i = this.waiters.findIndex((w) => w.match(header));
    if (i < 0) return; // a stale answer to an earlier, already settled request
    const [w] = this.waiters.splice(i, 1);
    this.lastArrivedAt = performance.now() - this.wireMs(frameWireLength(packet.length));
    w!.resolve({ header, body, arrivedAt: this.lastArrivedAt });
  }

  /** Wire time of n bytes at the configured rate, in ms. */
  wireMs(bytes: number): number {
    return this.opts.baud ? (bytes * 10 * 1000) / this.opts.baud : 0;
  }

  /** Frames go out whole and in order, even when requests are pipelined. */
  private writeChain: Promise<unknown> = Promise.resolve();
  /** When the bytes written so far will have left at the line rate (an estimate; now when the rate is unknown). */
  private lineFreeAt = 0;

  /** Writes a frame; resolves with the time its last byte leaves the line. */
  private sendFrame(frame: Uint8Array, pacing: Pacing): Promise<number> {
    const p = this.writeChain.then(() => this.writeFrame(frame, pacing));
    this.writeChain = p.catch(() => {});
    return p;
  }

  private async writeFrame(frame: Uint8Array, pacing: Pacing): Promise<number> {
    if (this.closed) throw ioError('io.port-closed', `${this.transport.description} is closed (cable unplugged?).`);
    if (pacing.placeLine) return this.writePlaced(frame, pacing.placeLine, pacing.fillGap);
    if (!pacing.lineGapMs && !pacing.frameGapMs) return this.writeAfterGap(frame, 0);
    let start = 0;
    for (let i = 0; i < frame.length; i++)
      if (frame[i] === 0x0a) {
        await this.writeAfterGap(frame.subarray(start, i + 1), start === 0 ? (pacing.frameGapMs ?? 0) : (pacing.lineGapMs ?? 0));
        start = i + 1;
      }
    return this.lineFreeAt;
  }

  /**
   * Writes each line when `place` says. Lines placed back to back go out in one write; idle the
   * device lets fill (`fillGap`) goes out as a filler line in the same write, so the line stays busy
   * and the next line starts when the bytes before it have left, to the bit; other idle waits on a
   * timer, which may fire late.
   */
  private async writePlaced(frame: Uint8Array, place: NonNullable<Pacing['placeLine']>, fillGap: Pacing['fillGap']): Promise<number> {
    const byteMs = this.wireMs(1);
    let parts: Uint8Array[] = [];
    let groupAt = 0;
    const flush = async () => {
      if (!parts.length) return;
      // A group that follows bytes still on the line goes now (the OS queues it behind them): only a
      // group after idle waits for its time.
      const wait = groupAt - performance.now();
      if (wait > 0.2 && groupAt > this.lineFreeAt + 0.5) await new Promise((r) => setTimeout(r, wait));
      const bytes = parts.length === 1 ? parts[0]! : concatBytes(...parts);
      parts = [];
      await this.transport.write(bytes);
      this.lineFreeAt = Math.max(performance.now(), this.lineFreeAt) + this.wireMs(bytes.length);
    };
    let planned = Math.max(performance.now(), this.lineFreeAt);
    let start = 0;
    for (let i = 0; i < frame.length; i++) {
      if (frame[i] !== 0x0a) continue;
      const line = frame.subarray(start, i + 1);
      start = i + 1;
      const wire = this.wireMs(line.length);
      let at = place(planned, wire);
      if (at > planned + 0.05) {
        if (byteMs > 0 && fillGap?.(planned)) {
          const n = Math.max(1, Math.ceil((at - planned) / byteMs));
          if (!parts.length) groupAt = planned;
          parts.push(fillerLine(n));
          this.stats.fillerLines++;
          at = planned + n * byteMs;
        } else await flush();
      }
      if (!parts.length) groupAt = at;
      parts.push(line);
      planned = at + wire;
    }
    await flush();
    return this.lineFreeAt;
  }

  /** Writes once the line has been idle `gapMs` (the OS queues bytes, so "idle" is when earlier bytes have left). */
  private async writeAfterGap(bytes: Uint8Array, gapMs: number): Promise<number> {
    const wait = this.lineFreeAt + gapMs - performance.now();
    if (gapMs > 0 && wait > 0) await new Promise((r) => setTimeout(r, wait));
    await this.transport.write(bytes);
    this.lineFreeAt = Math.max(performance.now(), this.lineFreeAt) + this.wireMs(bytes.length);
    return this.lineFreeAt;
  }

  /** Sends a request and waits for its answer; errors in the answer are NOT thrown here. */
  async call(req: SmpRequest): Promise<SmpAnswer> {
    const op = req.op === 'read' ? OP.read : OP.write;
    const cbor = encodeCbor(req.body ?? {});
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    const header: SmpHeader = { op, version: this.opts.version ?? 0, flags: 0, len: cbor.length, group: req.group, seq, id: req.id };
    const packet = new Uint8Array(HEADER_SIZE + cbor.length);
    packet.set(encodeHeader(header));
    packet.set(cbor, HEADER_SIZE);
    const frame = encodeFrame(packet);
    const retries = req.retries ?? this.opts.retries ?? 3;
    // Counted from when the frame has left the line (frames queued ahead of it included), plus a short answer's wire time.
    const timeout = (req.timeoutMs ?? this.opts.timeoutMs ?? 1500) + this.wireMs(frameWireLength(64));
    let answer: SmpAnswer | undefined;
    const waiter: Waiter = {
      match: (h) => h.seq === seq && h.group === req.group && h.id === req.id && (h.op === op + 1 || h.op === op + 2),
      resolve: (a) => {
        answer = { ...a, latencyMs: performance.now() - wireEnd };
        wake?.();
      },
    };
    let wake: (() => void) | undefined;
    let wireEnd = performance.now();
    this.waiters.push(waiter);
    try {
      for (let attempt = 0; attempt <= retries; attempt++) {
        throwIfAborted(req.signal);
        if (attempt > 0) this.stats.retries++;
        wireEnd = await this.sendFrame(frame, { lineGapMs: req.lineGapMs ?? this.opts.lineGapMs ?? 0, frameGapMs: req.frameGapMs ?? 0, placeLine: req.placeLine, fillGap: req.fillGap });
        await new Promise<void>((resolve) => {
          // Whatever ends the wait (answer, timeout, cancel) removes both the timer and the abort
          // listener: a long silence must not pile listeners up on the caller's signal.
          const done = () => {
            clearTimeout(t);
            req.signal?.removeEventListener('abort', done);
            resolve();
          };
          const t = setTimeout(done, Math.max(0, wireEnd - performance.now()) + timeout);
          req.signal?.addEventListener('abort', done, { once: true });
          wake = done;
          waiter.wake = done;
          if (answer || this.closed) done();
        });
        if (answer) return answer;
        if (req.signal?.aborted) throw cancelledError();
        if (this.closed) throw ioError('io.port-closed', `${this.transport.description} closed while waiting for the answer to ${req.what} (cable unplugged?).`);
        this.stats.timeouts++;
      }
    } finally {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    }
    throw deviceError('smp.timeout', `No answer from the device to ${req.what} after ${retries + 1} tries. Check the port, the baud rate, and that the device is in serial recovery or running an SMP-enabled application.`, { group: req.group, id: req.id });
  }

  /** `call`, then throws the device's error (rc / err) in plain words. */
  async request(req: SmpRequest): Promise<Record<string, unknown>> {
    const a = await this.call(req);
    const err = answerError(a.body, req.what);
    if (err) throw err;
    return a.body;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
