/**
 * Start-up of the built `unbrick` (dist/cli, rebuilt first from the current sources), as whole processes,
 * medians of interleaved runs in the same run as `node -e 0`:
 *  - `unbrick version` and `unbrick --help`: goal <= 2x `node -e 0`;
 *  - `unbrick smp info` against `unbrick sim zephyr` on its pty: goal <= 0.6 s;
 *  - `unbrick image verify` of a 448 KiB image (signed here with `unbrick image sign` and the MCUboot dev key
 *    in ../shared/peers): goal <= 0.5 s.
 * STARTUP_BENCH_RUNS sets the number of runs per command (default 15).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'unbrick.js');
const KEY = fileURLToPath(new URL('../../../shared/peers/mcuboot-dev-root-ec-p256.pem', import.meta.url));
const RUNS = Number(process.env.STARTUP_BENCH_RUNS ?? 15);

/** CPU seconds (user + system) of the children this process has waited for: /proc/self/stat cutime + cstime (Linux). */
function childCpu(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return NaN;
  }
}

interface Sample {
  wall: number;
  cpu: number;
}

/** One whole process: wall-clock and CPU seconds; a failing exit fails the benchmark (a fast error proves nothing). */
function timed(args: string[]): Sample {
  const c0 = childCpu();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: childCpu() - c0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Medians (wall and CPU) of each command, the commands taking turns so load changes hit them alike. */
function medians(commands: Record<string, string[]>): Record<string, Sample> {
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const [, args] of Object.entries(commands)) timed(args); // warm the file cache
  for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(commands)) samples[k]!.push(timed(args));
  return Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) }]));
}

async function startZephyrSim(): Promise<{ path: string; stop(): void }> {
  const proc = spawn(process.execPath, [CLI, 'sim', 'zephyr'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const first = await createInterface({ input: proc.stdout! })[Symbol.asyncIterator]().next();
  if (first.done) throw new Error('unbrick sim zephyr exited before printing its pty');
  return { path: String(first.value).trim(), stop: () => proc.kill('SIGINT') };
}

export async function run(): Promise<void> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js'), 'cli'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the CLI failed');
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-startup-'));
  const sim = await startZephyrSim();
  try {
    // 448 KiB slot image: header, payload, TLVs, padded with the boot trailer to exactly 0x70000 bytes.
    const app = join(dir, 'app.bin');
    const image = join(dir, 'app.signed.bin');
    writeFileSync(app, randomBytes(0x6fb00));
    timed([CLI, 'image', 'sign', app, image, '-k', KEY, '-v', '1.2.3', '--pad-header', '-S', '0x70000', '--pad']);

    const m = medians({
      node: ['-e', '0'],
      version: [CLI, 'version'],
      help: [CLI, '--help'],
      smpInfo: [CLI, 'smp', 'info', '--port', sim.path],
      verify: [CLI, 'image', 'verify', image, '--key', KEY],
    });
    const ms = (s: number) => `${(s * 1000).toFixed(0).padStart(5)} ms`;
    const line = (label: string, x: Sample, verdict: string) => console.log(`  ${label.padEnd(24)} ${ms(x.wall)} wall ${ms(x.cpu)} CPU  ${verdict}`);
    const goal = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    console.log(`built CLI start-up, whole processes, medians of ${RUNS} runs (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs)`);
    line('node -e 0', m.node!, '');
    for (const [label, k] of [['unbrick version', 'version'], ['unbrick --help', 'help']] as const) {
      const r = m[k]!.wall / m.node!.wall;
      line(label, m[k]!, `ratio ${r.toFixed(2)}x node -e 0 (goal <= 2x) ${goal(r <= 2)}`);
    }
    line('unbrick smp info (sim)', m.smpInfo!, `ratio ${(m.smpInfo!.wall / 0.6).toFixed(2)} of the 0.6 s goal ${goal(m.smpInfo!.wall <= 0.6)}`);
    line('unbrick image verify', m.verify!, `ratio ${(m.verify!.wall / 0.5).toFixed(2)} of the 0.5 s goal (448 KiB, ECDSA P-256) ${goal(m.verify!.wall <= 0.5)}`);
    console.log('  (wall time includes waiting for a CPU: on a loaded machine compare the CPU column and the ratio to node -e 0)');
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
