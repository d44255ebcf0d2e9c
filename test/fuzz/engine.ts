/**
 * The fuzz engine: a fuzz target turns one input (bytes) into a run of a
 * decoder, a client facing a hostile device, a simulator facing a hostile
 * host, or the server facing a hostile page. Input i of a target is made from
 * (seed, target, i) alone, so any input can be made again from its index; it
 * is also saved as a file when it fails. A run may only end or throw an
 * UnbrickError (or the target's documented typed error); anything else counts
 * as an untyped throw, and a run past its time budget as a hang.
 */
import { UnbrickError } from '../../src/core/errors.ts';
import { seededRandom } from '../../src/core/random.ts';
import { mutate, type Rng } from './mutate.ts';

export interface FuzzTarget {
  name: string;
  /** Share of the default total (relative). */
  weight: number;
  /** Inputs in flight at once: targets that wait on timers (clients, the server) run many side by side. */
  concurrency?: number;
  /** Budget per input, ms (default 5000): past it, the input is a hang. */
  timeoutMs?: number;
  /** Once per worker, before any input. */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Valid inputs to mutate (vectors, encoded structures). */
  corpus?(): Uint8Array[];
  /** A fresh structure-aware input. */
  generate?(rnd: Rng): Uint8Array;
  /** Runs one input. */
  run(input: Uint8Array): void | Promise<void>;
  /** A documented typed error besides UnbrickError (e.g. an ApiError from the contract). */
  typed?(e: unknown): boolean;
}

/** FNV-1a of the target name: each target gets its own stream for the same seed. */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The input `index` of `target` for `seed`: a generated one, or a mutation of a corpus entry or of a generated one. */
export function makeInput(target: FuzzTarget, corpus: Uint8Array[], seed: number, index: number): Uint8Array {
  const r = seededRandom((Math.imul(seed, 0x9e3779b1) ^ nameHash(target.name) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const rnd: Rng = () => Math.floor(r() * 0x1_0000_0000);
  const roll = rnd() % 10;
  let base: Uint8Array;
  if (corpus.length && (roll < 5 || !target.generate)) base = corpus[rnd() % corpus.length]!;
  else if (target.generate) base = target.generate(rnd);
  else base = Uint8Array.from({ length: rnd() % 256 }, () => rnd() & 0xff);
  // Half of the generated inputs stay as generated (well-formed structures reach the deep paths).
  if (target.generate && roll >= 5 && roll < 8) return base;
  let out = base;
  for (let n = 1 + (rnd() % 3); n > 0; n--) out = mutate(out, rnd, corpus);
  return out;
}

export type Outcome = 'ok' | 'typed' | 'untyped' | 'hang';

export interface Failure {
  target: string;
  index: number;
  outcome: 'untyped' | 'hang' | 'oom';
  error: string;
  input?: Uint8Array;
}

/** Runs one input with its budget; says how it ended. */
export async function runOne(target: FuzzTarget, input: Uint8Array): Promise<{ outcome: Outcome; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'hang'>((r) => {
    timer = setTimeout(() => r('hang'), target.timeoutMs ?? 5000);
  });
  try {
    const res = await Promise.race([Promise.resolve().then(() => target.run(input)), budget]);
    if (res === 'hang') return { outcome: 'hang', error: `no end within ${target.timeoutMs ?? 5000} ms` };
    return { outcome: 'ok' };
  } catch (e) {
    if (e instanceof UnbrickError || target.typed?.(e)) return { outcome: 'typed' };
    return { outcome: 'untyped', error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  } finally {
    clearTimeout(timer);
  }
}

export interface RangeStats {
  inputs: number;
  typed: number;
  failures: Failure[];
}

export interface RangeHooks {
  /** The oldest input still running (the watchdog names it when the thread stops answering), and the counts so far. */
  progress?(oldestRunning: number, stats: RangeStats): void;
  failure?(f: Failure): void;
}

/** Runs inputs [from, to) of a target, `concurrency` at a time. */
export async function runRange(target: FuzzTarget, corpus: Uint8Array[], seed: number, from: number, to: number, hooks: RangeHooks = {}): Promise<RangeStats> {
  const stats: RangeStats = { inputs: 0, typed: 0, failures: [] };
  const running = new Set<number>();
  let next = from;
  const lane = async () => {
    while (next < to) {
      const i = next++;
      running.add(i);
      hooks.progress?.(Math.min(...running), stats);
      const input = makeInput(target, corpus, seed, i);
      const r = await runOne(target, input);
      running.delete(i);
      stats.inputs++;
      if (r.outcome === 'typed') stats.typed++;
      else if (r.outcome !== 'ok') {
        const f: Failure = { target: target.name, index: i, outcome: r.outcome, error: r.error ?? '', input };
        stats.failures.push(f);
        hooks.failure?.(f);
      }
      // Let timers and I/O run between synchronous inputs (the watchdog reads progress from shared memory anyway).
      if (stats.inputs % 256 === 0) await new Promise((res) => setImmediate(res));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, target.concurrency ?? 1) }, lane));
  return stats;
}
