/**
 * Paces bytes like a real UART. A pty moves bytes at memory speed, so a
 * simulator must hold each byte for its time on the wire: frameBits / baud
 * seconds (10 bits for 8N1, 11 for 8E1). Used in both directions: device
 * output is released at line rate, and host input reaches the device logic no
 * faster than the line could have carried it. baud 0 turns pacing off (for use
 * behind linesim, which paces on its own).
 */
import { takeBytes } from '../core/bytes.ts';

/**
 * A Node timer fires no sooner than 1 ms after it is set, so a byte is released up to this
 * much before its wire time ends: otherwise every turnaround (a one-byte ACK, a short
 * answer) would cost a timer tick that a real line does not have. The rate stays exact:
 * the line's busy time is still counted byte by byte.
 */
const LEAD_MS = 1;

export class PacedLine {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  /** Time (ms, performance.now) at which the line becomes idle. */
  private busyUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    private readonly baud: number,
    private readonly frameBits: number,
    private readonly deliver: (chunk: Uint8Array) => void,
  ) {}

  /** Milliseconds one byte occupies on the wire (0 when unpaced). */
  get byteMs(): number {
    return this.baud > 0 ? (this.frameBits * 1000) / this.baud : 0;
  }

  push(data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    if (this.baud <= 0) return this.deliver(data);
    this.queue.push(data);
    this.queued += data.length;
    this.busyUntil = Math.max(this.busyUntil, performance.now());
    // An idle line starts at once (on the next turn of the event loop, never inside the writer's call).
    if (!this.timer && !this.immediate)
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        if (!this.closed && !this.timer) this.release();
      });
  }

  /** Bytes still waiting for their wire time. */
  get pending(): number {
    return this.queued;
  }

  /** Drops whatever is still in flight (a reset or a cut cable). */
  flush(): void {
    this.queue.length = 0;
    this.queued = 0;
  }

  close(): void {
    this.closed = true;
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
  }

  private schedule(): void {
    if (this.timer || this.queued === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, 1);
  }

  /** Releases every byte whose wire time has elapsed (or ends within LEAD_MS). */
  private release(): void {
    const now = performance.now();
    // The line can have carried this many bytes since it last went busy.
    let n = Math.floor((now + LEAD_MS - this.busyUntil) / this.byteMs);
    if (n <= 0) return this.schedule();
    n = Math.min(n, this.queued);
    this.busyUntil += n * this.byteMs;
    const out = takeBytes(this.queue, n);
    this.queued -= n;
    this.deliver(out);
    this.schedule();
  }
}
