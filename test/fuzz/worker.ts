/**
 * One fuzz task in a worker thread (its own heap limit, so a runaway
 * allocation is caught as out-of-memory instead of taking the run down).
 * Progress goes to shared memory for the watchdog: [oldest running input,
 * inputs done]. Counts are posted as it goes and failures when found, so a
 * worker killed for a hang loses nothing but the inputs in flight.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runRange, type Failure } from './engine.ts';
import { targetNamed } from './targets/index.ts';

const { target: name, seed, from, to, shared } = workerData as { target: string; seed: number; from: number; to: number; shared: SharedArrayBuffer };
const progress = new Int32Array(shared);
const target = targetNamed(name);
const post = (m: unknown) => parentPort!.postMessage(m);

// A throw that escapes a run (from a timer or event handler inside the code under test) is an untyped crash of the input running then.
const escaped = (e: unknown) => {
  const f: Failure = { target: name, index: Atomics.load(progress, 0), outcome: 'untyped', error: `escaped the run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
  post({ kind: 'failure', failure: f });
};
process.on('uncaughtException', escaped);
process.on('unhandledRejection', escaped);

await target.setup?.();
const corpus = target.corpus?.() ?? [];
const stats = await runRange(target, corpus, seed, from, to, {
  progress(oldest, s) {
    Atomics.store(progress, 0, oldest);
    Atomics.add(progress, 1, 1);
    if (s.inputs % 2000 === 0) post({ kind: 'counts', inputs: s.inputs, typed: s.typed });
  },
  failure: (f) => post({ kind: 'failure', failure: f }),
});
post({ kind: 'counts', inputs: stats.inputs, typed: stats.typed });
await target.teardown?.();
post({ kind: 'done' });
