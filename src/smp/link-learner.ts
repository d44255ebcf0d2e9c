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
 * the real Zephyr peer at 115200 the upload finds its 20 ms read grid (below)
 * and settles on 4-line frames placed on it, two in flight; against MCUboot
 * and fast devices it never leaves the top.
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
  /** Lines started on the device's read grid (see ReadGrid below) instead of after gaps. */
  grid?: boolean;
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
  /** The device's read period, when answers showed one (ms). */
  gridMs?: number;
  /** Whether the upload ended with lines paced to that grid (at most two lines per read). */
  gridPaced?: boolean;
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
  /** Arrival times (performance.now()) of answers already seen, e.g. the params answer. */
  arrivals?: number[];
}

/**
 * Read periods learned on earlier uploads in this process, by device limits and line rate: a
 * station flashing unit after unit starts the next one on the grid once its first answers fall on
 * it (checked, never assumed: answers off the grid drop it).
 */
const knownPeriods = new Map<string, number>();

/** Forgets the read periods learned so far (the next upload learns its device's from nothing). */
export function forgetReadGrids(): void {
  knownPeriods.clear();
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
    this.arrivals.push(...(o.arrivals ?? []));
    this.key = `${o.maxPacket}/${o.maxWindow}/${o.wireMs(1000).toFixed(1)}`;
    this.hypothesis = knownPeriods.get(this.key);
  }

  get framing(): Framing {
    return this.onGrid && this.gridFraming ? this.gridFraming : this.framings[this.current]!;
  }

  // Read-grid state.
  private readonly key: string;
  private hypothesis: number | undefined;
  private readonly arrivals: number[] = [];
  private grid: ReadGrid | undefined;
  private placer: LinePlacer | undefined;
  private gridFraming: Framing | undefined;
  private onGrid = false;
  /** A frame was lost at line rate: the receive side has a limit worth looking for a grid. */
  private lossSeen = false;
  private sinceSearch = 0;
  /** Answers to wait before trying the grid again after it lost frames. */
  private gridPatience = 0;
  private gridWait = 0;
  private here2 = { answered: 0, lost: 0 };
  private gridLostInRow = 0;
  private dithered = 0;

  /** Start time for a line under grid pacing (client hook). */
  placeLine(earliest: number, wireMs: number): number {
    return this.placer ? this.placer.place(earliest, wireMs) : earliest;
  }

  /** Whether idle line time from `at` may be filled with a line the device drops (client hook, see LinePlacer.fillable). */
  fillGap(at: number): boolean {
    return this.onGrid && !!this.placer && this.placer.fillable(at);
  }

  /**
   * Frames to keep in flight now. A pipelined framing off the grid opens its window once one of its
   * frames was answered: a receive side that loses pipelined frames then costs one loss timeout to
   * find out, not a window of them (the first upload to a Zephyr UART lost ~0.9 s that way).
   */
  get window(): number {
    const f = this.framing;
    return f.grid || this.here.answered > 0 ? f.window : 1;
  }

  /** Whether the first frame's answer should come before more frames go (a known grid period is checked on it). */
  get waitFirstAnswer(): boolean {
    return this.hypothesis !== undefined && !this.grid;
  }

  /** Idle before a stop-and-wait frame while looking for a grid: breaks the lock of answers to one phase. */
  ditherMs(): number {
    // Only for the first answers after a loss: a device that loses frames for other reasons (host
    // load) and has no grid must not pay it for long.
    if (!this.lossSeen || this.onGrid || this.framing.window !== 1 || this.dithered >= 12) return 0;
    this.dithered++;
    return Math.random() * 20;
  }

  /** The best frame size on a grid, and its time per frame. */
  private planGrid(grid: ReadGrid): { framing: Framing; ms: number } {
    const line = (chars: number) => this.o.wireMs(chars + 3);
    let best: { framing: Framing; ms: number; rate: number } | undefined;
    const max = this.o.maxPacket;
    const candidates = new Set([max]);
    for (let k = 1; bodyForLines(k) - 4 <= max; k++) candidates.add(bodyForLines(k) - 4);
    for (const packet of candidates) {
      if (this.o.dataFor(packet) <= 0) continue;
      const chars = Math.ceil((packet + 4) / 3) * 4;
      const lines = Array.from({ length: Math.ceil(chars / MAX_LINE_CHARS) }, (_, i) => line(Math.min(MAX_LINE_CHARS, chars - i * MAX_LINE_CHARS)));
      const ms = gridFrameMs(grid, lines);
      const rate = this.o.dataFor(packet) / ms;
      if (!best || rate > best.rate) best = { framing: { packet, lines: lines.length, window: Math.min(2, this.o.maxWindow), gapMs: 0, grid: true }, ms, rate };
    }
    return best!;
  }

  private useGrid(grid: ReadGrid): void {
    this.grid = grid;
    if (this.placer) this.placer.grid = grid;
    else this.placer = new LinePlacer(grid);
    const plan = this.planGrid(grid);
    this.gridFraming = plan.framing;
    this.gridFrameMs = plan.ms;
  }

  private gridFrameMs = Infinity;

  /** Paces to the grid when that beats the current framing (always when `known`: a period learned on a device like this one). */
  private enterGrid(known = false): void {
    if (this.onGrid || !this.gridFraming) return;
    const ladder = this.framings[this.current]!;
    if (!known && this.o.dataFor(this.gridFraming.packet) / this.gridMs() <= this.o.dataFor(ladder.packet) / this.frameMs(ladder)) return;
    this.onGrid = true;
    this.gridLostInRow = 0;
    this.here2 = { answered: 0, lost: 0 };
    this.answeredInRow = 0;
    this.changes++;
    // The framings above were lost at line rate (or are on a device known to read on a grid): not
    // tried again this upload unless the grid itself fails.
    for (let i = 0; i <= this.current; i++) this.patience.set(i, Math.max(this.patience.get(i) ?? 0, (this.o.growAfter ?? 24) * 8));
  }

  /** Off the grid after losses there: the most cautious full-frame framing (the bolder ones lose at line rate here). */
  private toCalm(): void {
    const calm = this.framings.reduce((last, f, i) => (f.packet === this.framings[0]!.packet && f.window === 1 ? i : last), this.current);
    if (calm > this.current) this.move(calm, true);
  }

  private forgetGrid(): void {
    knownPeriods.delete(this.key);
    this.grid = undefined;
    this.placer = undefined;
    this.hypothesis = undefined;
    this.leaveGrid();
  }

  private leaveGrid(): void {
    if (!this.onGrid) return;
    this.onGrid = false;
    this.answeredInRow = 0;
    this.here = { answered: 0, lost: 0 };
    this.changes++;
  }

  /** Steady time per frame on the grid, plus what the window does not hide. */
  private gridMs(): number {
    return this.grid ? this.gridFrameMs : Infinity;
  }

  /** An answer came; its first byte arrived at `at` (host clock). */
  private noteArrival(at: number): void {
    this.arrivals.push(at);
    if (this.arrivals.length > 40) this.arrivals.shift();
    this.sinceSearch++;
    if (this.hypothesis && !this.grid && this.arrivals.length >= 2 && this.arrivals.length <= 4) {
      // A period seen before: the first answers on one phase of it are enough to start on it.
      const { phaseMs, fit } = gridPhase(this.arrivals, this.hypothesis, 2);
      if (fit === 1) {
        this.useGrid({ periodMs: this.hypothesis, phaseMs: phaseMs - READ_LAG_MS });
        this.enterGrid(true);
        return;
      }
    }
    if (this.onGrid && this.grid) {
      // Follow the grid: the period over many answers, the phase from the latest few (a period a few
      // microseconds off moves the phase by a millisecond a second). Drop the grid when answers stop
      // falling on it (no grid after all).
      const g = this.grid;
      const recent = this.arrivals.slice(-16);
      if (recent.length >= 12 && gridPhase(recent, g.periodMs, 1.5).fit < 0.35) return this.forgetGrid();
      const latest = gridPhase(this.arrivals.slice(-6), g.periodMs, 1.5);
      if (this.sinceSearch >= 4 && this.arrivals.length >= 12) {
        this.sinceSearch = 0;
        for (const n of [12, 32]) g.periodMs = refinePeriod(this.arrivals.slice(-n), g.periodMs, 1.5, latest.phaseMs);
        knownPeriods.set(this.key, g.periodMs);
      }
      g.phaseMs = latest.phaseMs - READ_LAG_MS;
      return;
    }
    if (this.lossSeen && this.sinceSearch >= 2) {
      this.sinceSearch = 0;
      const g = findGrid(this.arrivals.slice(-24));
      // A smaller period replaces a larger one (a multiple of the true period, seen while answers were
      // locked to it) only on strong evidence: a few samples can fit a wrong one by chance.
      const down = g && this.grid && g.periodMs < this.grid.periodMs - 0.5;
      // A device that answers a fixed time after each frame, sent as soon as the answer before came,
      // gives answers as regular as a grid's: but on a read grid the wait for the answer varies over
      // the period (frames end anywhere between reads), on such a device it does not.
      const lat = this.latencies.slice(-24).sort((a, b) => a - b);
      const spread = lat.length >= 8 ? lat[Math.floor((lat.length - 1) * 0.9)]! - lat[Math.floor((lat.length - 1) * 0.1)]! : 0;
      if (g && spread >= g.periodMs * 0.3 && (!this.grid || (down && g.fit >= 0.9 && this.arrivals.length >= 12) || Math.abs(g.periodMs - this.grid.periodMs) < 0.5)) {
        this.useGrid({ periodMs: g.periodMs, phaseMs: g.phaseMs - READ_LAG_MS });
        if (g.periodMs <= 50) knownPeriods.set(this.key, g.periodMs);
      }
    }
    if (this.grid && !this.onGrid) {
      this.grid.phaseMs = gridPhase(this.arrivals.slice(-6), this.grid.periodMs, 1.5).phaseMs - READ_LAG_MS;
      if (this.gridWait <= 0) this.enterGrid(knownPeriods.has(this.key));
    }
  }

  /** How long after its last byte left to wait for an answer before calling a frame lost. */
  lossTimeoutMs(ceilingMs: number): number {
    if (!this.latencies.length) return ceilingMs;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const worst = sorted[sorted.length - 1]!;
    const p90 = sorted[Math.floor((sorted.length - 1) * 0.9)]!;
    // On a read grid an answer comes at the first read after the frame's end: a few periods cover
    // a late read, and every loss there (a late timer or read under host load) costs only this.
    if (this.onGrid && this.grid) return Math.min(ceilingMs, Math.max(this.grid.periodMs * 3 + 20, worst + 20));
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

  /** A frame was answered; `ofFraming` false for a frame not sent on the current framing (the upload's small first one). */
  answered(latencyMs: number | undefined, arrivedAt?: number, ofFraming = true): void {
    if (latencyMs !== undefined) this.noteLatency(latencyMs);
    if (arrivedAt !== undefined) this.noteArrival(arrivedAt);
    if (!ofFraming) return;
    if (this.gridWait > 0) this.gridWait--;
    if (this.onGrid) {
      this.gridLostInRow = 0;
      this.here2.answered++;
      this.answeredInRow++;
      return;
    }
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
    if (this.onGrid) {
      // A rare loss is noise (a late timer or read under load); a frequent one means the grid is wrong.
      this.here2.lost++;
      this.gridLostInRow++;
      const { answered, lost } = this.here2;
      if (lost >= 3 && lost / (answered + lost) > 0.15) {
        this.gridPatience = this.gridPatience ? this.gridPatience * 2 : this.o.growAfter ?? 24;
        this.gridWait = this.gridPatience;
        // The grid itself may be wrong (a period that fit a few answers by chance): learn it again from
        // new answers rather than come back to it.
        this.forgetGrid();
        this.toCalm();
      } else if (this.gridLostInRow >= 2) {
        // Two in a row: the phase is off (the device stalled, or the host did). Back on the ladder
        // for a few answers, whose times give the phase again.
        this.gridWait = 3;
        this.leaveGrid();
        this.toCalm();
      }
      return true;
    }
    if (this.framing.gapMs === 0) this.lossSeen = true;
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
    // A pipelined framing's first frame goes alone (see `window`): losing it was the stop-and-wait
    // rung's test already.
    const alone = this.framing.window > 1 && this.here.answered === 0 && this.framings[this.current + 1]?.window === 1 && this.framings[this.current + 1]?.gapMs === this.framing.gapMs;
    if (alone) this.patience.set(this.current + 1, Math.max(this.patience.get(this.current + 1) ?? 0, grow * 4));
    const skip = (this.cameDown || alone) && this.here.answered === 0 && this.framings[this.current + 2]?.packet === this.framing.packet ? 2 : 1;
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
    return {
      frameSize: f.packet,
      lines: f.lines,
      window: f.window,
      lineGapMs: Number(f.gapMs.toFixed(1)),
      framesLost: this.lost,
      changes: this.changes,
      ...(this.grid ? { gridMs: Number(this.grid.periodMs.toFixed(2)), gridPaced: this.onGrid } : {}),
    };
  }
}

/*
 * Read grids. Some receive sides do not take bytes as they arrive but in bursts, on a clock: the
 * Zephyr smp_svr peer's UART emulation reads the pty, then sleeps 10 ms (one 100 Hz tick plus the
 * tick Zephyr adds to relative timeouts), so it reads every 20 ms, and uart_mcumgr takes a line
 * buffer at a line's FIRST byte and gets it back only after the burst (the SMP work runs while the
 * reader sleeps). With two line buffers, the bytes of one burst may touch at most two lines, counting
 * one left partial by the burst before (measured: ../shared/peers, zephyr-smp-svr through linesim).
 * Its answers are written at read instants, so their arrival times sit on the same grid: the host
 * learns period and phase from them and then starts lines so that no read interval touches more than
 * two. At most 3 lines of 127 bytes per 2 intervals (the middle one straddles a read), about 83 %
 * of the line rate with ~7 ms of slack for late timers and late reads.
 */

/** Reads at phaseMs + k * periodMs (host clock, performance.now()). */
export interface ReadGrid {
  periodMs: number;
  phaseMs: number;
}

/** The least time after a read its answer's first byte reaches the host (processing, relay; 0.1-0.2 ms through linesim): a read is placed this much earlier. */
const READ_LAG_MS = 0.2;

const mod = (x: number, p: number) => ((x % p) + p) % p;
/** Signed distance of phase a from phase b on a circle of p. */
const circ = (a: number, b: number, p: number) => {
  const d = mod(a - b, p);
  return d > p / 2 ? d - p : d;
};

/**
 * The densest phase of `times` on a grid of `periodMs`: the earliest of the samples within `tolMs` of
 * the best centre, and the share of all samples that are. The phase is given as the grid instant
 * nearest the latest sample, not modulo the period: reads are predicted from a recent anchor, so a
 * period refined by a few microseconds moves them by as little (modulo the period, k x the error
 * over the ~10^6 periods since the clock's origin would move them anywhere).
 */
export function gridPhase(times: number[], periodMs: number, tolMs = 1): { phaseMs: number; fit: number } {
  let best = 0;
  let bestN = -1;
  for (const a of times) {
    const n = times.filter((b) => Math.abs(circ(b, a, periodMs)) <= tolMs).length;
    if (n > bestN) [best, bestN] = [a, n];
  }
  const near = times.map((b) => circ(b, best, periodMs)).filter((d) => Math.abs(d) <= tolMs).sort((x, y) => x - y);
  // The earliest of them: an answer comes after its read, later whenever the host or the device is
  // busy, never before (in-process simulators read late by whatever holds the event loop).
  const centre = near[0] ?? 0;
  const latest = Math.max(...times);
  return { phaseMs: latest - circ(latest, best + centre, periodMs), fit: times.length ? bestN / times.length : 0 };
}

export interface GridSearch {
  minMs?: number;
  maxMs?: number;
  tolMs?: number;
  /** Share of the samples that must sit on the grid. */
  minFit?: number;
}

/**
 * Whether answer arrival times sit on a grid, and its period and phase. The largest period that
 * fits is taken: any multiple of the true period fits too when the samples happen to be locked to
 * one (stop-and-wait), and pacing for a multiple is safe, only slower (each of its intervals holds
 * whole intervals of the true grid), while a wrong smaller one is not. Samples at other phases (a
 * resend after a loss, a different frame length) then bring the period down to the true one.
 */
export function findGrid(times: number[], o: GridSearch = {}): (ReadGrid & { fit: number }) | undefined {
  const { minMs = 10, maxMs = 200, tolMs = 1.5, minFit = 0.75 } = o;
  if (times.length < 8) return undefined;
  const t = [...times].sort((a, b) => a - b);
  const diffs = t.slice(1).map((x, i) => x - t[i]!).filter((d) => d > tolMs);
  if (diffs.length < 7) return undefined;
  const found: Array<ReadGrid & { fit: number }> = [];
  for (let p = maxMs; p >= minMs; p -= 0.05) {
    // Consecutive differences are short, so a coarse step finds the period (a late answer spoils two
    // differences, hence the low bar here); the phase check over every sample decides.
    const on = diffs.filter((d) => Math.abs(d - Math.round(d / p) * p) <= tolMs && Math.round(d / p) >= 1);
    if (on.length < diffs.length * 0.5) continue;
    // Refine on the recent samples first (a coarse period is off by up to a step per interval),
    // then on all of them.
    let refined = p;
    for (const n of [6, 12, t.length]) {
      const part = t.slice(-n);
      refined = refinePeriod(part, refined, tolMs, gridPhase(part, refined, tolMs).phaseMs);
    }
    if (found.some((f) => Math.abs(f.periodMs - refined) < 0.2)) continue;
    const { phaseMs, fit } = gridPhase(t, refined, tolMs);
    if (fit >= minFit) found.push({ periodMs: refined, phaseMs, fit });
  }
  // The best fit, or the largest multiple of it about as good (a divisor fits at least as well by
  // chance). A period about as good that is not a multiple fits a subset of the samples by chance (all
  // 80 ms apart fit 26.7 and 16 as well as 20): never taken.
  const best = Math.max(0, ...found.map((f) => f.fit));
  const top = found.find((f) => f.fit === best);
  if (!top) return undefined;
  const multiple = (p: number) => Math.round(p / top.periodMs) >= 1 && Math.abs(p - Math.round(p / top.periodMs) * top.periodMs) <= 0.5;
  return found.find((f) => f.fit >= best - 0.1 && multiple(f.periodMs)) ?? top;
}

/**
 * Least-squares period from samples numbered by their grid index, counted from `anchor` (a time on
 * the grid; the first sample when not given). Samples off the grid are left out.
 */
export function refinePeriod(t: number[], p: number, tolMs: number, anchor = t[0]!): number {
  const pts = t.map((x) => [Math.round((x - anchor) / p), x - anchor] as const).filter(([k, x]) => Math.abs(x - k * p) <= tolMs);
  if (pts.length < 3) return p;
  const mk = pts.reduce((s, [k]) => s + k, 0) / pts.length;
  const mx = pts.reduce((s, [, x]) => s + x, 0) / pts.length;
  const skk = pts.reduce((s, [k]) => s + (k - mk) ** 2, 0);
  if (!skk) return p;
  const slope = pts.reduce((s, [k, x]) => s + (k - mk) * (x - mx), 0) / skk;
  return Math.abs(slope - p) < 0.5 ? slope : p;
}

export interface LinePlacerOptions {
  /** Lines one read may touch (the receive side's line buffers). */
  linesPerRead?: number;
  /** A line starts this long after a read at the earliest (late reads, the answer's own lag). */
  earlyMs?: number;
  /** And ends this long before the read that must not see it (late timers). */
  lateMs?: number;
}

/**
 * Where to start each line so that no read interval of the grid touches more than `linesPerRead`
 * lines (a line counts in every interval it has a byte in; margins widen it both ways). Greedy: the
 * earliest start that keeps the rule, which gives one full line plus the start of the next in one
 * interval and the rest of it plus one more line in the next. Pure: times in, times out.
 */
export class LinePlacer {
  private placed: Array<[number, number]> = [];
  /** The same lines without margins: where their bytes are. */
  private spans: Array<[number, number]> = [];
  readonly linesPerRead: number;
  readonly earlyMs: number;
  readonly lateMs: number;

  constructor(
    public grid: ReadGrid,
    o: LinePlacerOptions = {},
  ) {
    this.linesPerRead = o.linesPerRead ?? 2;
    // Three 127-byte lines take 33 ms of 40, which leaves ~7 ms. Reads come late, never early: the
    // Zephyr peer's read instants (linesim --trace) sit within 0.2 ms of a 20 ms grid, some up to a
    // few ms late under host load, and the phase learned from answers is within 0.3 ms of them; lines
    // after filler start to the bit. So most of the slack goes after a read.
    this.earlyMs = o.earlyMs ?? 3.5;
    this.lateMs = o.lateMs ?? 2;
  }

  /** Index of the read interval (read k-1, read k] holding time t. */
  private interval(t: number): number {
    return Math.ceil((t - this.grid.phaseMs) / this.grid.periodMs);
  }

  private fits(start: number, dur: number): boolean {
    const a = this.interval(start - this.earlyMs);
    const b = this.interval(start + dur + this.lateMs);
    for (let k = a; k <= b; k++) {
      let n = 1;
      for (const [s, e] of this.placed) if (this.interval(s) <= k && this.interval(e) >= k) n++;
      if (n > this.linesPerRead) return false;
    }
    return true;
  }

  /** Start time for a line of `durMs` wire time that could start at `earliest`; records it. */
  place(earliest: number, durMs: number): number {
    const { periodMs, phaseMs } = this.grid;
    let start = earliest;
    if (!this.fits(start, durMs)) {
      // Otherwise just after one of the next reads, from the one that opened this interval (bounded: an
      // empty interval always fits).
      let k = this.interval(earliest) - 1;
      do {
        start = Math.max(earliest, phaseMs + k * periodMs + this.earlyMs + 0.01);
        k++;
      } while (!this.fits(start, durMs) && k < this.interval(earliest) + 64);
    }
    this.placed.push([start - this.earlyMs, start + durMs + this.lateMs]);
    this.spans.push([start, start + durMs]);
    if (this.placed.length > 8) this.placed.shift();
    if (this.spans.length > 8) this.spans.shift();
    return start;
  }

  /**
   * Whether a line that starts at `t` is one the device drops: the read that takes its first byte
   * already meets `linesPerRead` lines, whose buffers are all held until after that read. uart_mcumgr
   * then ignores every byte up to the line's LF without a buffer (drivers/console/uart_mcumgr.c,
   * uart_mcumgr_rx_byte; a line that is neither 06 09 nor 04 14 also leaves a frame being assembled
   * alone: mcumgr_serial_process_frag). Idle line time there can be filled with such a line, which
   * keeps the line busy: the next line then starts when the bytes before it have left, exactly, not
   * when a host timer fires.
   */
  fillable(t: number): boolean {
    const k = this.interval(t);
    // A read a little early (a late phase estimate) must still find both lines: the same margin as a line's end.
    if (this.interval(t + this.lateMs) !== k) return false;
    return this.spans.filter(([s, e]) => this.interval(s) <= k && this.interval(e) >= k).length >= this.linesPerRead;
  }
}

/** Steady time per frame (ms) when frames of these line wire times follow each other on the grid. */
export function gridFrameMs(grid: ReadGrid, lineMs: number[], o: LinePlacerOptions = {}): number {
  const placer = new LinePlacer(grid, o);
  let free = grid.phaseMs;
  const ends: number[] = [];
  for (let f = 0; f < 7; f++) {
    for (const d of lineMs) free = placer.place(free, d) + d;
    ends.push(free);
  }
  return (ends[6]! - ends[1]!) / 5;
}
