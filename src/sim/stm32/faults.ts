/**
 * Field faults for the simulated STM32 line, deterministic for a seed: byte
 * corruption and drops in either direction, a stall, a cable cut, and a chip
 * reset in the middle of an operation (brown-out, someone pressing RESET).
 */
import { seededRandom } from '../../core/random.ts';

export interface Stm32Faults {
  /** Probability per byte of flipping one bit (both directions). */
  corrupt?: number;
  /** Probability per byte of losing it (both directions). */
  drop?: number;
  /** After this many host->device bytes, go silent for stallMs. */
  stallAfter?: number;
  stallMs?: number;
  /** After this many host->device bytes, the cable is cut for good. */
  disconnectAfter?: number;
  /** After this many host->device bytes, the chip resets (once). */
  resetAfter?: number;
  seed?: number;
}


export class FaultLine {
  private readonly rand: () => number;
  private inCount = 0;
  private stalledUntil = 0;
  private resetDone = false;
  cut = false;

  constructor(
    private readonly f: Stm32Faults,
    private readonly onReset: () => void,
    private readonly onCut: () => void,
  ) {
    this.rand = seededRandom(f.seed ?? 1);
  }

  /** True when any fault is configured. */
  get active(): boolean {
    return Object.entries(this.f).some(([k, v]) => k !== 'seed' && v !== undefined && v !== 0);
  }

  private mangle(data: Uint8Array): Uint8Array {
    if (!this.f.corrupt && !this.f.drop) return data;
    const out: number[] = [];
    for (const b of data) {
      if (this.f.drop && this.rand() < this.f.drop) continue;
      out.push(this.f.corrupt && this.rand() < this.f.corrupt ? b ^ (1 << Math.floor(this.rand() * 8)) : b);
    }
    return Uint8Array.from(out);
  }

  /** Host -> device bytes; returns what the chip receives. */
  inbound(data: Uint8Array): Uint8Array {
    if (this.cut) return new Uint8Array(0);
    const now = performance.now();
    const before = this.inCount;
    this.inCount += data.length;
    if (this.f.disconnectAfter !== undefined && before < this.f.disconnectAfter && this.inCount >= this.f.disconnectAfter) {
      this.cut = true;
      this.onCut();
      return data.subarray(0, Math.max(0, this.f.disconnectAfter - before));
    }
    if (this.f.stallAfter !== undefined && before < this.f.stallAfter && this.inCount >= this.f.stallAfter) this.stalledUntil = now + (this.f.stallMs ?? 1000);
    if (now < this.stalledUntil) return new Uint8Array(0);
    if (!this.resetDone && this.f.resetAfter !== undefined && this.inCount >= this.f.resetAfter) {
      this.resetDone = true;
      const keep = data.subarray(0, Math.max(0, this.f.resetAfter - before));
      queueMicrotask(this.onReset);
      return this.mangle(keep);
    }
    return this.mangle(data);
  }

  /** The cable is plugged back in: faults that fire once stay spent. */
  restore(): void {
    this.cut = false;
    this.stalledUntil = 0;
    this.inCount = Math.max(this.inCount, (this.f.disconnectAfter ?? 0) + 1);
  }

  /** Device -> host bytes. */
  outbound(data: Uint8Array): Uint8Array {
    if (this.cut || performance.now() < this.stalledUntil) return new Uint8Array(0);
    return this.mangle(data);
  }
}
