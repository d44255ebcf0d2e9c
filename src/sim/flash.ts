/**
 * NOR flash as simulated devices see it: erase sets a whole sector to the
 * erased value, programming can only clear bits (1 -> 0), and both take time.
 * Device models (MCUboot slots, STM32 chips) add their own rules on top, such
 * as write protection or a programming granule that must be erased first.
 */

export interface Sector {
  /** Offset from the start of this flash. */
  offset: number;
  size: number;
}

export interface FlashTiming {
  /** Milliseconds to erase one sector of the given size. */
  eraseMs(sectorSize: number): number;
  /** Milliseconds to program n bytes. */
  programMs(bytes: number): number;
}

export const NO_TIME: FlashTiming = { eraseMs: () => 0, programMs: () => 0 };

/** Builds a sector list from runs, e.g. [[4, 16384], [1, 65536], [7, 131072]] for an STM32F4. */
export function sectorsFromRuns(runs: Array<[count: number, size: number]>): Sector[] {
  const out: Sector[] = [];
  let offset = 0;
  for (const [count, size] of runs)
    for (let i = 0; i < count; i++) {
      out.push({ offset, size });
      offset += size;
    }
  return out;
}

export class NorFlash {
  readonly data: Uint8Array;
  readonly size: number;

  constructor(
    readonly sectors: Sector[],
    readonly erasedValue = 0xff,
    readonly timing: FlashTiming = NO_TIME,
  ) {
    const last = sectors[sectors.length - 1];
    this.size = last ? last.offset + last.size : 0;
    this.data = new Uint8Array(this.size).fill(erasedValue);
  }

  /** Index of the sector holding `offset`, or -1 outside the flash. */
  sectorAt(offset: number): number {
    let lo = 0;
    let hi = this.sectors.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.sectors[mid]!;
      if (offset < s.offset) hi = mid - 1;
      else if (offset >= s.offset + s.size) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Sector indexes touched by [offset, offset + length). */
  sectorsCovering(offset: number, length: number): number[] {
    if (length <= 0) return [];
    const first = this.sectorAt(offset);
    const last = this.sectorAt(offset + length - 1);
    if (first < 0 || last < 0) throw new RangeError(`range 0x${offset.toString(16)}+${length} is outside the flash`);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length);
    return this.data.slice(offset, offset + length);
  }

  /** Erases one sector; returns the time it takes in ms. */
  eraseSector(index: number): number {
    const s = this.sectors[index];
    if (!s) throw new RangeError(`no sector ${index}`);
    this.data.fill(this.erasedValue, s.offset, s.offset + s.size);
    return this.timing.eraseMs(s.size);
  }

  /** Erases everything; returns the time it takes in ms. */
  eraseAll(): number {
    return this.sectors.reduce((ms, _s, i) => ms + this.eraseSector(i), 0);
  }

  /** Programs bytes with NOR semantics (bits only go 1 -> 0); returns the time in ms. */
  program(offset: number, bytes: Uint8Array): number {
    this.checkRange(offset, bytes.length);
    for (let i = 0; i < bytes.length; i++) this.data[offset + i]! &= bytes[i]!;
    return this.timing.programMs(bytes.length);
  }

  isErased(offset: number, length: number): boolean {
    this.checkRange(offset, length);
    for (let i = offset; i < offset + length; i++) if (this.data[i] !== this.erasedValue) return false;
    return true;
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size)
      throw new RangeError(`range 0x${offset.toString(16)}+${length} is outside the flash (size 0x${this.size.toString(16)})`);
  }
}
