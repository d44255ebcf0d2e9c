/**
 * `npm run fuzz`: drives generated and mutated inputs through every fuzz
 * target, one worker thread per task (a bounded heap each), with a watchdog
 * that names the input a stuck thread was running. Prints counts per target,
 * untyped throws, hangs, out-of-memory, time and peak RSS; saves every failing
 * input under the output folder with the command that replays it.
 *
 *   npm run fuzz                               # 1 000 000 inputs, seed 1
 *   npm run fuzz -- --count 20000 --seed 7     # a shorter run
 *   npm run fuzz -- --target smp-client        # one target (comma-separated list)
 *   npm run fuzz -- --target smp-cbor --index 123 [--seed 1]   # replay one input by number
 *   npm run fuzz -- --target smp-cbor --replay fuzz-out/smp-cbor/123.bin
 *
 * Exit code 1 when anything failed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { makeInput, runOne, type Failure } from './engine.ts';
import { TARGETS, targetNamed } from './targets/index.ts';

const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    out: { type: 'string', default: 'fuzz-out' },
    index: { type: 'string' },
    replay: { type: 'string' },
    'heap-mb': { type: 'string', default: '512' },
  },
});
const seed = Number(opt.seed);
const outDir = resolve(opt.out!);

if (opt.replay || opt.index !== undefined) {
  // One input, in this thread, with its stack trace printed.
  const target = targetNamed(opt.target ?? '');
  await target.setup?.();
  const input = opt.replay ? new Uint8Array(readFileSync(opt.replay)) : makeInput(target, target.corpus?.() ?? [], seed, Number(opt.index));
  const r = await runOne(target, input);
  await target.teardown?.();
  console.log(`${target.name}: ${input.length} bytes -> ${r.outcome}${r.error ? `\n${r.error}` : ''}`);
  process.exit(r.outcome === 'untyped' || r.outcome === 'hang' ? 1 : 0);
}

const chosen = opt.target ? opt.target.split(',').map(targetNamed) : TARGETS;
const total = Number(opt.count);
const weights = chosen.reduce((s, t) => s + t.weight, 0);
/** Tasks of at most 100 000 inputs, so long targets share the workers. */
const CHUNK = 100_000;
const tasks: { target: string; from: number; to: number }[] = [];
const perTarget = new Map<string, { planned: number; inputs: number; typed: number; untyped: number; hangs: number; oom: number; ms: number }>();
for (const t of chosen) {
  const n = Math.max(1, Math.ceil((total * t.weight) / weights));
  perTarget.set(t.name, { planned: n, inputs: 0, typed: 0, untyped: 0, hangs: 0, oom: 0, ms: 0 });
  for (let from = 0; from < n; from += CHUNK) tasks.push({ target: t.name, from, to: Math.min(n, from + CHUNK) });
}

const failures: Failure[] = [];
function record(f: Failure): void {
  const row = perTarget.get(f.target)!;
  if (f.outcome === 'untyped') row.untyped++;
  else if (f.outcome === 'hang') row.hangs++;
  else row.oom++;
  failures.push(f);
  const dir = join(outDir, f.target);
  mkdirSync(dir, { recursive: true });
  const input = f.input ?? makeInput(targetNamed(f.target), targetNamed(f.target).corpus?.() ?? [], seed, f.index);
  writeFileSync(join(dir, `${f.index}.bin`), input);
  writeFileSync(
    join(dir, `${f.index}.txt`),
    `${f.outcome} in ${f.target}, seed ${seed}, input ${f.index}\n${f.error}\n\nreplay: npm run fuzz -- --target ${f.target} --replay ${join(dir, `${f.index}.bin`)}\n    or: npm run fuzz -- --target ${f.target} --seed ${seed} --index ${f.index}\n`,
  );
  console.log(`  ${f.outcome.toUpperCase()} ${f.target} #${f.index}: ${f.error.split('\n')[0]}`);
}

/** Runs one task; restarts past an input that hung or ran out of memory. */
async function runTask(task: { target: string; from: number; to: number }): Promise<void> {
  const target = targetNamed(task.target);
  const row = perTarget.get(task.target)!;
  const stallMs = Math.max(60_000, 2 * (target.timeoutMs ?? 5000));
  let from = task.from;
  while (from < task.to) {
    const started = performance.now();
    const shared = new SharedArrayBuffer(8);
    const progress = new Int32Array(shared);
    Atomics.store(progress, 0, from);
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { target: task.target, seed, from, to: task.to, shared },
      resourceLimits: { maxOldGenerationSizeMb: Number(opt['heap-mb']) },
    });
    let counts = { inputs: 0, typed: 0 };
    let stopped: 'hang' | 'oom' | 'done' | 'crash' = 'done';
    let crashError = '';
    let beat = -1;
    let still = 0;
    const watchdog = setInterval(() => {
      const now = Atomics.load(progress, 1);
      if (now !== beat) {
        beat = now;
        still = 0;
      } else if ((still += 1000) >= stallMs) {
        stopped = 'hang';
        void w.terminate();
      }
    }, 1000);
    await new Promise<void>((res) => {
      w.on('message', (m: { kind: string; inputs?: number; typed?: number; failure?: Failure }) => {
        if (m.kind === 'counts') counts = { inputs: m.inputs!, typed: m.typed! };
        else if (m.kind === 'failure') record(m.failure!);
      });
      w.on('error', (e: Error & { code?: string }) => {
        stopped = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash';
        crashError = e.stack ?? String(e);
      });
      w.on('exit', () => res());
    });
    clearInterval(watchdog);
    row.inputs += counts.inputs;
    row.typed += counts.typed;
    row.ms += performance.now() - started;
    if (stopped === 'done') return;
    if (stopped === 'crash' && Atomics.load(progress, 1) === 0) throw new Error(`the ${task.target} worker failed before its first input: ${crashError}`);
    const at = Atomics.load(progress, 0);
    record({ target: task.target, index: at, outcome: stopped === 'hang' ? 'hang' : stopped === 'oom' ? 'oom' : 'untyped', error: stopped === 'hang' ? `the thread stopped making progress for ${stallMs / 1000} s` : crashError });
    row.inputs++;
    from = at + 1;
  }
}

const t0 = performance.now();
console.log(`fuzz: ${total} inputs over ${chosen.length} targets, seed ${seed}, ${opt.jobs} workers; failing inputs go to ${outDir}/`);
const queue = [...tasks];
await Promise.all(
  Array.from({ length: Number(opt.jobs) }, async () => {
    for (let task = queue.shift(); task; task = queue.shift()) {
      await runTask(task);
      const row = perTarget.get(task.target)!;
      if (row.inputs >= row.planned) console.log(`  ${task.target.padEnd(18)} ${String(row.inputs).padStart(8)} inputs  ${(row.ms / 1000).toFixed(1)} s`);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const sum = (k: 'inputs' | 'typed' | 'untyped' | 'hangs' | 'oom') => [...perTarget.values()].reduce((s, r) => s + r[k], 0);

console.log('\ntarget              inputs   typed-errors  untyped  hangs  oom   inputs/s');
for (const [name, r] of perTarget)
  console.log(`${name.padEnd(18)} ${String(r.inputs).padStart(8)} ${String(r.typed).padStart(13)} ${String(r.untyped).padStart(8)} ${String(r.hangs).padStart(6)} ${String(r.oom).padStart(4)} ${String(Math.round(r.inputs / Math.max(r.ms / 1000, 0.001))).padStart(10)}`);
console.log(`${'total'.padEnd(18)} ${String(sum('inputs')).padStart(8)} ${String(sum('typed')).padStart(13)} ${String(sum('untyped')).padStart(8)} ${String(sum('hangs')).padStart(6)} ${String(sum('oom')).padStart(4)}`);
console.log(`\ntime ${seconds.toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole process, all workers), seed ${seed}`);
console.log(failures.length ? `${failures.length} failing inputs saved under ${outDir}/` : 'no untyped throws, no hangs, no out-of-memory');
process.exit(failures.length ? 1 : 0);
