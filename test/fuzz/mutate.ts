/**
 * A small byte mutator (the usual havoc moves) and a tape that structure-aware
 * generators and hostile peers read their choices from, so a saved input
 * replays the same run.
 */
import { concatBytes as concat } from '../../src/core/bytes.ts';

/** Uniform 32-bit unsigned integers. */
export type Rng = () => number;

const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x100000, 0x3fffffff];
const MAX_LEN = 1 << 20;

/** One havoc step: flips, interesting values, arithmetic, cuts, duplications, inserts, splices. Returns new bytes. */
export function mutate(src: Uint8Array, rnd: Rng, corpus: Uint8Array[] = []): Uint8Array {
  const pick = (n: number) => (n <= 0 ? 0 : rnd() % n);
  let b: Uint8Array = Uint8Array.from(src);
  const at = () => pick(b.length);
  switch (pick(12)) {
    case 0:
      for (let n = 1 + pick(8); n > 0 && b.length; n--) b[at()]! ^= 1 << pick(8);
      break;
    case 1:
      for (let n = 1 + pick(4); n > 0 && b.length; n--) b[at()] = pick(256);
      break;
    case 2: {
      const i = at();
      if (i + 2 <= b.length) new DataView(b.buffer).setUint16(i, INTERESTING_16[pick(INTERESTING_16.length)]!, pick(2) === 0);
      break;
    }
    case 3: {
      const i = at();
      if (i + 4 <= b.length) new DataView(b.buffer).setUint32(i, INTERESTING_32[pick(INTERESTING_32.length)]!, pick(2) === 0);
      break;
    }
    case 4:
      if (b.length) b[at()] = (b[at()]! + pick(35) - 17) & 0xff;
      break;
    case 5: // truncate
      b = b.slice(0, at());
      break;
    case 6: {
      // delete a run
      const i = at();
      const n = 1 + pick(Math.min(64, b.length - i));
      b = concat(b.subarray(0, i), b.subarray(i + n));
      break;
    }
    case 7: {
      // duplicate a run in place
      const i = at();
      const run = b.subarray(i, i + 1 + pick(64));
      b = concat(b.subarray(0, i), run, run, b.subarray(i + run.length));
      break;
    }
    case 8: {
      // insert random bytes
      const i = at();
      b = concat(b.subarray(0, i), Uint8Array.from({ length: 1 + pick(32) }, () => pick(256)), b.subarray(i));
      break;
    }
    case 9: {
      // splice a piece of another corpus entry
      const other = corpus.length ? corpus[pick(corpus.length)]! : b;
      const j = pick(other.length);
      const piece = other.subarray(j, j + 1 + pick(256));
      const i = at();
      b = pick(2) ? concat(b.subarray(0, i), piece, b.subarray(i)) : concat(b.subarray(0, i), piece, b.subarray(i + piece.length));
      break;
    }
    case 10: // ASCII digits and separators (text formats)
      if (b.length) b[at()] = '0123456789:,;"\n\r{}[]-+.eE\\ '.charCodeAt(pick(28));
      break;
    default: // overwrite a run with one byte
      for (let i = at(), n = pick(48), v = pick(256); n > 0 && i < b.length; n--, i++) b[i] = v;
  }
  return b.length > MAX_LEN ? b.slice(0, MAX_LEN) : b;
}

/**
 * Choices read from an input, front to back; zeros once it runs out. A
 * hostile peer asks the tape what to answer, so the input is the whole run.
 */
export class Tape {
  private pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  get left(): number {
    return this.bytes.length - this.pos;
  }
  byte(): number {
    return this.pos < this.bytes.length ? this.bytes[this.pos++]! : 0;
  }
  /** 0..n-1 */
  int(n: number): number {
    if (n <= 1) return 0;
    const v = n <= 256 ? this.byte() : n <= 65536 ? (this.byte() << 8) | this.byte() : ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
    return v % n;
  }
  bool(): boolean {
    return (this.byte() & 1) === 1;
  }
  take(n: number): Uint8Array {
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += out.length;
    return out;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Random bytes from an Rng (for generators). */
export const randomBytes = (rnd: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => rnd() & 0xff);
