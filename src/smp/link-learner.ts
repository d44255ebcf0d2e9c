/**
 * Learns how a device's receive side wants to be fed, from what it answers.
 *
 * A console SMP server receives into a few line buffers (Zephyr's UART
 * transport: two of 128 bytes) that its SMP thread frees when it gets to run.
 * Lines that arrive while all are taken are dropped and the frame gets no
 * answer at all (shared peers README, "Zephyr loses requests"). What the host
 * can change: how many lines a frame has (packet size), how many frames are in
 * flight (window), and idle line time between lines (gap). Each combination
 * is a framing; a short ladder of them runs from what the device's MCUmgr
 * params allow down to one-line frames, stop-and-wait, with a line's time of
 * idle.
 *
 * A framing whose losses cost more than the next step down would (each loss
 * costs the loss timeout and a resend) moves the upload one step down; after a run of answered
 * frames the upload steps back up, and a step that fails again waits
 * twice as long before the next try. Total silence therefore ends at the most
 * cautious framing, where the caller's stall limit applies as before. Against
 * the real Zephyr peer at 115200 the upload settles on full frames paced by
 * 2-3 ms per line; against MCUboot and fast devices it never leaves the top.
 */
import { frameWireLength, MAX_LINE_CHARS } from './frame.ts';

export interface Framing {
  /** Largest SMP packet (header + CBOR) per frame. */
  packet: number;
  /** Console lines such a frame takes. */
  lines: number;
  /** Frames in flight. */
  window: number;
  /** Idle line time before every line of a frame but the first when in a row (ms). */
  gapMs: number;
}

export interface LinkReport {
  /** The framing the upload ended on. */
  frameSize: number;
  lines: number;
  window: number;
  lineGapMs: number;
  /** Frames that got no answer. */
  framesLost: number;
  /** Framing changes (down after losses, up after runs of answers). */
  changes: number;
}

/** Raw bytes of a frame body (length + packet + CRC) that fit `lines` console lines. */
const bodyForLines = (lines: number) => (lines * MAX_LINE_CHARS * 3) / 4;
export const linesForPacket = (packet: number) => Math.ceil(Math.ceil((packet + 4) / 3) * 4 / MAX_LINE_CHARS);

export interface LearnerOptions {
  /** The device's own limits (MCUmgr params or the verified probe). */
  maxPacket: number;
  maxWindow: number;
  /** Wire time of n bytes (0 when the line rate is unknown). */
  wireMs(bytes: number): number;
  /** Image data bytes a packet of this size carries. */
  dataFor(packet: number): number;
  /** Answered frames in a row before trying a faster framing again. */
  growAfter?: number;
  /** Answer latencies already seen (ms). */
  latencies?: number[];
}

export class LinkLearner {
  /** Boldest first. */
  readonly framings: Framing[];
  private current = 0;
  private readonly patience = new Map<number, number>();
  private answeredInRow = 0;
  /** Frames answered and lost since the upload came to the current framing. */
  private here = { answered: 0, lost: 0 };
  private lost = 0;
  private changes = 0;
  /** Recent answer latencies (ms), for the loss timeout. */
  private readonly latencies: number[] = [];

  constructor(private readonly o: LearnerOptions) {
    const lineTime = Math.max(o.wireMs(MAX_LINE_CHARS + 3), 11); // a 127-byte line at 115200 8N1, at least
    const max = o.maxPacket;
    const two = Math.min(max, bodyForLines(2) - 4);
    const one = Math.min(max, bodyForLines(1) - 4);
    // Boldest first. Pacing the device's full frames keeps most of the rate; two-line frames fit
    // two line buffers with none to spare; one-line frames with a line's idle are the last resort.
    const ladder: Array<[number, number, number]> = [
      [max, o.maxWindow, 0],
      [max, 1, 0],
      [max, 1, 2],
      [max, 1, 3],
      [max, 1, 5],
      // (Two-line frames pipelined, even with gaps, lose one in two or more on the real Zephyr peer:
      // the SMP work holds the line buffers while it handles the frame before. Not a rung.)
      [two, 1, 0],
      [two, 1, lineTime],
      [one, 1, lineTime],
    ];
    this.framings = [];
    for (const [packet, window, gapMs] of ladder)
      if (o.dataFor(packet) > 0 && !this.framings.some((f) => f.packet === packet && f.window === window && f.gapMs === gapMs)) this.framings.push({ packet, lines: linesForPacket(packet), window, gapMs });
    for (const l of o.latencies ?? []) this.noteLatency(l);
  }

  get framing(): Framing {
    return this.framings[this.current]!;
  }

  /** How long after its last byte left to wait for an answer before calling a frame lost. */
  lossTimeoutMs(ceilingMs: number): number {
    if (!this.latencies.length) return ceilingMs;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const worst = sorted[sorted.length - 1]!;
    const p90 = sorted[Math.floor((sorted.length - 1) * 0.9)]!;
    // Past the slowest recent answer, and well past the usual ones (the answer's own wire time is
    // added by the client). Every loss waits this long, so it is not padded further: an answer that
    // comes later still counts (the device's offset realigns the upload), it only costs a resend.
    return Math.min(ceilingMs, Math.max(150, p90 * 2 + 60, worst + 40));
  }

  /** Line time per frame with no loss: wire, idle gaps, and the answer's turnaround the window does not hide. */
  private frameMs(f: Framing): number {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const turnaround = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 10;
    return this.o.wireMs(frameWireLength(f.packet)) + f.gapMs * (f.lines - 1) + turnaround / f.window;
  }

  private noteLatency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > 32) this.latencies.shift();
  }

  answered(latencyMs: number | undefined): void {
    if (latencyMs !== undefined) this.noteLatency(latencyMs);
    this.answeredInRow++;
    this.here.answered++;
    // Answers flow: try a bolder framing again, the nearest one that is really faster (a failed try
    // costs a loss timeout, so one that would gain a few per cent is not worth it).
    const up = this.climbTarget();
    if (up !== undefined && this.answeredInRow >= (this.patience.get(up) ?? this.o.growAfter ?? 24)) {
      const from = this.current;
      this.move(up);
      this.climbedFrom = from;
    }
  }

  private climbTarget(): number | undefined {
    const rate = (f: Framing) => this.o.dataFor(f.packet) / this.frameMs(f);
    const here = rate(this.framing);
    for (let i = this.current - 1; i >= 0; i--) if (rate(this.framings[i]!) >= here * 1.05) return i;
    return undefined;
  }

  /**
   * A frame got no answer. The framing is left when the next one down, losing nothing, would be
   * faster than this one with its losses so far (each costs the loss timeout and a resend): a rare
   * loss on a fast framing is line noise, a frequent one on any framing is the receive side.
   * Returns false when even the most cautious framing is losing frames.
   */
  lostFrame(): boolean {
    this.lost++;
    this.answeredInRow = 0;
    this.here.lost++;
    const below = this.framings[this.current + 1];
    if (below) {
      const p = this.here.lost / (this.here.answered + this.here.lost);
      const f = this.framing;
      const withLosses = this.o.dataFor(f.packet) / (this.frameMs(f) / (1 - Math.min(p, 0.99)) + (p / (1 - Math.min(p, 0.99))) * this.lossTimeoutMs(1500));
      if (withLosses > this.o.dataFor(below.packet) / this.frameMs(below)) return true;
    }
    // Failing again after it was given another try: wait twice as long before the next one. A framing
    // that lost its very first frame is the receive side's limit, not noise: four times as long.
    const prev = this.patience.get(this.current);
    const grow = this.o.growAfter ?? 24;
    this.patience.set(this.current, prev ? prev * 2 : this.here.answered === 0 ? grow * 4 : grow);
    if (this.current === this.framings.length - 1) return false;
    // A framing reached by a loss that loses its first frame too: the receive side is further off
    // than one step, so skip one (each step found by losing costs a loss timeout).
    // A bolder framing tried after a run of answers goes back to the framing that gave them. Skips
    // stay within one frame size: smaller frames are the bigger step, never taken blind.
    const skip = this.cameDown && this.here.answered === 0 && this.framings[this.current + 2]?.packet === this.framing.packet ? 2 : 1;
    this.move(this.climbedFrom ?? this.current + skip, true);
    return true;
  }

  /** Whether the upload came to the current framing after a loss (not by growing back). */
  private cameDown = false;
  /** The framing the upload grew from to the current one. */
  private climbedFrom: number | undefined;

  private move(to: number, down = false): void {
    this.cameDown = down;
    this.climbedFrom = undefined;
    this.answeredInRow = 0;
    this.here = { answered: 0, lost: 0 };
    this.current = to;
    this.changes++;
  }

  report(): LinkReport {
    const f = this.framing;
    return { frameSize: f.packet, lines: f.lines, window: f.window, lineGapMs: Number(f.gapMs.toFixed(1)), framesLost: this.lost, changes: this.changes };
  }
}
