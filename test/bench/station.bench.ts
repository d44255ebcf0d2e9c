/**
 * Station throughput: N simulated STM32 units (ROM bootloader on paced ptys at 115200 baud, 8E1
 * timing, hosted in a child process) provisioned at once, against one unit alone. Prints the total
 * throughput as a fraction of N x the single-unit figure (goal >= 0.9 on 2 cores) and the
 * station process's CPU use during the parallel run.
 *   npm run bench -- station        (STATION_BENCH_UNITS=16, STATION_BENCH_KIB=16 by default)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station } from '../../src/station/station.ts';
import { LocalDataPool } from '../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../src/station/data-source.ts';
import { ServiceLog } from '../../src/records/service-log.ts';
import { unitRows } from '../../src/station/unit-record.ts';
import { openSerial } from '../../src/transport/serial.ts';
import { hostSims, simPort, stm32TestRecipe, testImage, type SimUnitHandle } from '../integration/station/stm32-units.ts';

const BAUD = 115200;


const handle = (path: string, uid: string): SimUnitHandle => {
  const h: SimUnitHandle = {
    sim: undefined as never,
    uid,
    async open() {
      h.link = await openSerial({ path, baudRate: BAUD, parity: 'none' });
      return h.link;
    },
    close() {},
  };
  return h;
};

async function provision(units: { path: string; uid: string }[], app: Uint8Array): Promise<{ ms: number; cpuMs: number; ok: number; failed: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-bench-station-'));
  try {
    const csv = 'serial\n' + units.map((_, i) => `SN-${i}`).join('\n') + '\n';
    const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal') });
    const log = ServiceLog.inDir(dir);
    const st = Station.open({ dir, log, recipe: stm32TestRecipe(app, { replyMs: 1000, writeAckMs: 2000 }), batch: 'bench', station: 'bench', operator: 'bench', parallel: units.length, pool });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    st.updatePorts(units.map((u, i) => simPort(`p${i}`, handle(u.path, u.uid))));
    await st.idle();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await pool.close();
    const rows = unitRows(log.verify().entries);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ok: rows.filter((r) => r.ok).length, failed: rows.filter((r) => !r.ok).map((r) => `${r.port}: ${r.reason}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const n = Number(process.env.STATION_BENCH_UNITS ?? 16);
  const kib = Number(process.env.STATION_BENCH_KIB ?? 16);
  const app = testImage(kib * 1024, 42);
  const { child, units } = await hostSims(n + 1, BAUD);
  try {
    // Best of two runs each: the cores are shared with whatever else runs on the machine.
    const best = (a: Awaited<ReturnType<typeof provision>>, b: Awaited<ReturnType<typeof provision>>) => (a.ms <= b.ms ? a : b);
    const one = best(await provision(units.slice(0, 1), app), await provision(units.slice(0, 1), app));
    const all = best(await provision(units.slice(1), app), await provision(units.slice(1), app));
    if (one.failed.length || all.failed.length) console.log('failures:', [...one.failed, ...all.failed].join('\n  '));
    const ratio = (all.ok / all.ms) / (n * (one.ok / one.ms));
    console.log(`STM32 ROM bootloader units at ${BAUD} baud (8E1 timing), ${kib} KiB image + per-unit data, write + read-back verify`);
    console.log(`1 unit alone:      ${(one.ms / 1000).toFixed(2)} s (best of 2)`);
    console.log(`${n} units at once:  ${(all.ms / 1000).toFixed(2)} s (best of 2), ${all.ok}/${n} passed`);
    console.log(`total throughput = ${ratio.toFixed(3)} x (${n} x single-unit)   (goal >= 0.9)`);
    console.log(`machine load average during the run: ${loadavg()[0]!.toFixed(1)} (other processes share the cores: the ratio drops when they are busy)`);
    console.log(`station CPU during the ${n}-unit run: ${(all.cpuMs / 1000).toFixed(2)} s CPU over ${(all.ms / 1000).toFixed(2)} s = ${((100 * all.cpuMs) / all.ms).toFixed(1)}% of one core (simulators run in another process)`);
  } finally {
    child.kill('SIGTERM');
  }
}
