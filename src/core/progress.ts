/** Progress reporting shared by clients, workflows, the CLI and the UI. */

export interface Progress {
  /** What is happening, in plain words ("Uploading image", "Erasing sector 3"). */
  phase: string;
  done: number;
  total: number;
  /** Bytes per second, averaged since the phase began. */
  rate?: number;
  /** Seconds left at the current rate. */
  eta?: number;
}

export type ProgressListener = (p: Progress) => void;

/** Tracks one phase and computes rate and ETA. */
export class ProgressMeter {
  private readonly start = performance.now();
  constructor(
    private readonly phase: string,
    private readonly total: number,
    private readonly listener?: ProgressListener,
  ) {}

  update(done: number): Progress {
    const secs = (performance.now() - this.start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? (this.total - done) / rate : undefined;
    const p: Progress = { phase: this.phase, done, total: this.total, rate, ...(eta !== undefined ? { eta } : {}) };
    this.listener?.(p);
    return p;
  }
}
