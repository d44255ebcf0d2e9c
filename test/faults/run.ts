/**
 * `npm run faults`: every fault point of every scenario (see points.ts): a
 * probe run counts a workflow's flash steps, then each step gets each fault
 * kind. Prints points per scenario and kind, the verdicts, time and peak RSS;
 * exits 1 on any silent corruption, unit claimed bootable that is not,
 * untyped failure or hang.
 *
 *   npm run faults                         # every point (~84 500 at the default --byte-range 64)
 *   npm run faults -- --parallel 24        # points run side by side per process (they mostly wait; default 64)
 *   npm run faults -- --workers 2          # child processes sharing the points (one per core; default 1)
 *   npm run faults -- --workers 2 --byte-range 1024   # ~27 200 points: about an hour on 2 loaded cores
 *   npm run faults -- --minutes 30         # stop taking new points after 30 minutes
 *   npm run faults -- --sample 200 --seed 3   # a seeded sample of the points
 *   npm run faults -- --scenario update --kind power-torn --step 17   # one flash point
 *   npm run faults -- --byte-range 256     # fewer byte-range points (one per 256 bytes received)
 *
 * A point costs ~0.18 s CPU and waits for most of its ~9 s (median; 90% under
 * 35 s: clients' timeouts after a cut, restarts), hence 64 side by side.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../src/core/random.ts';
import { closeSharedLibraries, FAULT_KINDS, runPoint, SCENARIOS, type FaultKind, type PointAxis, type PointResult, type Scenario } from './points.ts';

const { values: opt } = parseArgs({
  options: {
    parallel: { type: 'string', default: '64' },
    workers: { type: 'string', default: '1' },
    minutes: { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string', default: '1' },
    scenario: { type: 'string' },
    kind: { type: 'string' },
    step: { type: 'string' },
    'byte-range': { type: 'string', default: '64' },
  },
});

/** One point as it crosses to a worker process (a scenario by name). */
type PointSpec = { scenario: string; kind: FaultKind; step: number; axis: PointAxis };
const scenarioNamed = (name: string) => SCENARIOS.find((s) => s.name === name)!;

/** Runs points `parallel` at a time until done or `deadline` (epoch ms): each result goes to `onResult`. */
async function runPoints(todo: PointSpec[], parallel: number, deadline: number, onResult: (r: PointResult) => void): Promise<void> {
  const queue = [...todo];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let p = queue.shift(); p && Date.now() < deadline; p = queue.shift()) onResult(await runPoint(scenarioNamed(p.scenario), p.kind, p.step, p.axis));
    }),
  );
}

// A worker process (--workers): takes its share of the points from the parent, sends each result back.
if (process.env.UNBRICK_FAULTS_WORKER) {
  const job = await new Promise<{ points: PointSpec[]; parallel: number; deadline: number }>((resolve) => process.once('message', resolve as never));
  await runPoints(job.points, job.parallel, job.deadline, (r) => process.send!(r));
  await closeSharedLibraries();
  process.send!({ done: process.resourceUsage().maxRSS }, () => process.exit(0));
  await new Promise(() => {}); // exits once 'done' is sent
}

const t0 = performance.now();
const scenarios = SCENARIOS.filter((s) => !opt.scenario || s.name === opt.scenario || s.name.startsWith(opt.scenario));
const kinds = FAULT_KINDS.filter((k) => !opt.kind || k === opt.kind);

// Probe runs: how many flash steps each scenario takes without a fault (and that it succeeds).
const points: { sc: Scenario; kind: FaultKind; step: number; axis: PointAxis }[] = [];
/** Byte-range points: one cut per this many bytes the unit receives (the upload's every range). */
const BYTE_RANGE = Number(opt['byte-range']);
for (const sc of scenarios) {
  // On a loaded machine a run may time out without any fault: the probe gets three tries.
  let probe = await runPoint(sc, 'power-before', 0);
  for (let i = 0; i < 2 && probe.verdict !== 'ok'; i++) probe = await runPoint(sc, 'power-before', 0);
  console.log(`${sc.name}: ${probe.steps} flash steps and ${probe.bytes} bytes received without a fault (${probe.runs.join(', ')}, ${probe.verdict})`);
  if (probe.verdict !== 'ok') throw new Error(`the ${sc.name} probe run did not succeed: ${probe.detail}`);
  // A resumed run repeats some steps: a few steps past the first run's end are points too.
  const last = Math.ceil(probe.steps * 1.05) + 2;
  for (let step = 1; step <= last; step++) for (const kind of kinds) if (!opt.step || Number(opt.step) === step) points.push({ sc, kind, step, axis: 'flash' });
  // A cut at every byte range of what the unit receives: power lost inside the range (the byte there torn, or just
  // received), or (own power) only the cable pulled.
  const r = seededRandom(probe.bytes);
  for (let from = 0; from < probe.bytes; from += BYTE_RANGE)
    for (const kind of ['power-torn', 'power-after', 'cable'] as const) if (kinds.includes(kind) && !opt.step) points.push({ sc, kind, step: from + 1 + Math.floor(r() * BYTE_RANGE), axis: 'byte' });
}
let chosen = points;
if (opt.sample) {
  const r = seededRandom(Number(opt.seed));
  chosen = points
    .map((p) => ({ p, k: r() }))
    .sort((a, b) => a.k - b.k)
    .slice(0, Number(opt.sample))
    .map((x) => x.p);
}
console.log(`${points.length} fault points in all; running ${chosen.length}, ${opt.parallel} at a time${Number(opt.workers) > 1 ? ` in each of ${opt.workers} processes` : ''}`);

const results: PointResult[] = [];
/** `--minutes`: take no new point after that long (a loaded machine); the summary says how many were reached. */
const deadline = opt.minutes !== undefined ? Date.now() - (performance.now() - t0) + Number(opt.minutes) * 60_000 : Number.MAX_SAFE_INTEGER; // not Infinity: it crosses to workers as JSON
let lastReport = performance.now();
const collect = (r: PointResult) => {
  results.push(r);
  if (!['ok', 'clean-failure', 'not-reached'].includes(r.verdict)) console.log(`  ${r.verdict.toUpperCase()} ${r.scenario} ${r.kind} ${r.axis} ${r.step}: ${r.detail}`);
  if (performance.now() - lastReport > 30_000) {
    lastReport = performance.now();
    console.log(`  ... ${results.length}/${chosen.length} points, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
};
const specs: PointSpec[] = chosen.map((p) => ({ scenario: p.sc.name, kind: p.kind, step: p.step, axis: p.axis }));
const workers = Math.max(1, Number(opt.workers));
/** The largest peak RSS of a worker process (KiB), reported with this process's. */
let workerRss = 0;
if (workers === 1) await runPoints(specs, Number(opt.parallel), deadline, collect);
else {
  // Node runs a process's points on one core: child processes (this script again) use the others. Each takes every
  // n-th point, so each gets a like share of every scenario, and sends its results back as they end.
  const self = fileURLToPath(import.meta.url);
  await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      new Promise<void>((resolve, reject) => {
        const child = fork(self, [], { env: { ...process.env, UNBRICK_FAULTS_WORKER: '1' } });
        let done = false;
        child.on('message', (m: PointResult | { done: number }) => {
          if (!('done' in m)) return collect(m);
          done = true;
          workerRss = Math.max(workerRss, m.done);
        });
        child.on('exit', (code) => (done ? resolve() : reject(new Error(`fault worker ${w + 1} exited with ${code} before its last point`))));
        child.send({ points: specs.filter((_, i) => i % workers === w), parallel: Number(opt.parallel), deadline });
      }),
    ),
  );
}
await closeSharedLibraries();

const VERDICTS = ['ok', 'clean-failure', 'not-reached', 'silent-corruption', 'claimed-bootable', 'untyped', 'hang'] as const;
console.log(`\nscenario          at    kind          points ${VERDICTS.map((v) => v.padStart(v.length + 1)).join('')}`);
for (const sc of scenarios)
  for (const axis of ['flash', 'byte'] as const)
    for (const kind of kinds) {
      const rs = results.filter((r) => r.scenario === sc.name && r.kind === kind && r.axis === axis);
      if (rs.length) console.log(`${sc.name.padEnd(17)} ${axis.padEnd(5)} ${kind.padEnd(13)} ${String(rs.length).padStart(6)} ${VERDICTS.map((v) => String(rs.filter((r) => r.verdict === v).length).padStart(v.length + 1)).join('')}`);
    }
const bad = results.filter((r) => ['silent-corruption', 'claimed-bootable', 'untyped', 'hang'].includes(r.verdict));
console.log(`${'total'.padEnd(37)} ${String(results.length).padStart(6)} ${VERDICTS.map((v) => String(results.filter((r) => r.verdict === v).length).padStart(v.length + 1)).join('')}`);
// How long points take (they mostly wait: timeouts after a fault, restarts), to choose --parallel.
const ms = results.map((r) => r.ms).sort((a, b) => a - b);
const at = (q: number) => ((ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0) / 1000).toFixed(1);
if (ms.length) console.log(`\npoint wall time: median ${at(0.5)} s, 90% ${at(0.9)} s, longest ${at(1)} s`);
if (results.length < chosen.length) console.log(`\nstopped by --minutes ${opt.minutes}: ${results.length} of ${chosen.length} points run`);
console.log(`\ntime ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(results.length / ((performance.now() - t0) / 1000)).toFixed(2)} points/s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB${workerRss ? ` (each of ${workers} workers at most ${(workerRss / 1024).toFixed(0)} MiB)` : ''}`);
console.log(bad.length ? `${bad.length} points failed` : '0 silent corruptions, 0 units claimed bootable that are not, 0 untyped failures, 0 hangs');
process.exit(bad.length ? 1 : 0);
