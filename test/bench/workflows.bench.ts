/**
 * Every workflow at the seed's scale (demo lab: STM32L4, 448 KiB slots) with
 * application images of 16, 64 and ~440 KiB (a 448 KiB slot holds at most
 * 444 KiB of image beside MCUboot's trailer and swap room; the unbrick writes the
 * image padded to the full 448 KiB slot).
 *
 * 1. CPU: process CPU milliseconds per KiB moved, per workflow and size, on an
 *    unpaced lab (baud 0), so no step worse than linear in image size hides
 *    behind line time. The lab runs in-process, so the figure includes the
 *    simulators' own CPU. Goal: largest/smallest within 1.5x.
 *    The station row provisions one in-process STM32L4 unit with the seed
 *    layout (24 KiB MCUboot + the application in slot 0, written and read back).
 * 2. Full unbrick's wall time on a lab paced like a 115200-baud 8E1 UART,
 *    against the line time of the bytes it moved both ways (counted on the
 *    cable). Goal <= 1.1x.
 *
 * WORKFLOWS_BENCH_KIB=16,64 limits the sizes (a quick look).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../src/app/app-core.ts';
import { DemoLab } from '../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../src/sim/lab/units.ts';
import type { Job } from '../../src/workflows/job.ts';
import type { WorkflowName } from '../../src/api/contract.ts';
import type { ByteTransport } from '../../src/transport/types.ts';
import { Station } from '../../src/station/station.ts';
import { LocalDataPool } from '../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../src/station/data-source.ts';
import { ServiceLog } from '../../src/records/service-log.ts';
import { unitRows } from '../../src/station/unit-record.ts';
import { inProcessUnit, simPort, testImage } from '../integration/station/stm32-units.ts';
import { NO_PROTECTION, seedScaleRecipe } from '../integration/station/recipe-fixture.ts';

const SIZES_KIB = (process.env.WORKFLOWS_BENCH_KIB ?? '16,64,440').split(',').map(Number);
const BAUD = 115200;
const FRAME_BITS_8E1 = 11;

/** A lab that counts the bytes each cable carries (host to unit, unit to host). */
class CountingLab extends DemoLab {
  sent = 0;
  received = 0;
  override async open(unitId: string, framing?: Parameters<DemoLab['open']>[1]): Promise<ByteTransport> {
    const t = await super.open(unitId, framing);
    return {
      description: t.description,
      write: (d) => {
        this.sent += d.length;
        return t.write(d);
      },
      onData: (l) => t.onData((d) => l(((this.received += d.length), d))),
      onClose: (l) => t.onClose(l),
      close: () => t.close(),
    };
  }
}

interface Bench {
  c: AppCore;
  lab: CountingLab;
  close(): Promise<void>;
}

async function bench(payloadKib: number, baud: number, unit: string, emptySecondary = false): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-wf-bench-'));
  const lab = new CountingLab(
    LAB_UNITS.filter((u) => u.id === unit),
    { baud, payloadBytes: payloadKib * 1024, ...(emptySecondary ? { smpBoards: { [unit]: { emptySecondary: true } } } : {}) },
  );
  const c = new AppCore({ dataDir: dir, lab, operator: 'bench', autoDetect: false });
  // Lab start-up (bundles signed, units built) is not part of any workflow: done before measuring.
  await lab.libraryDir();
  await runJob(c, 'detect', unit);
  return {
    c,
    lab,
    async close() {
      await c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a job to its end, allowing every confirmation; CPU and wall milliseconds. */
async function runJob(c: AppCore, workflow: WorkflowName, unit: string): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const job = c.job(c.startJob(workflow, unit, workflow === 'update' ? { confirm: true } : {}).id) as Job<unknown>;
  while (!job.finished) {
    const s = job.snapshot();
    if (s.confirmation) job.answer(s.confirmation.stepId, true);
    await new Promise((r) => setTimeout(r, 1));
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = job.snapshot();
  if (s.state !== 'succeeded') throw new Error(`${workflow} on ${unit} ended ${s.state}: ${s.error?.message}`);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

/** Station: one STM32L4 unit provisioned (MCUboot + application, written and read back, unit data); CPU ms. */
async function stationJob(payloadKib: number): Promise<{ cpuMs: number; wallMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-wf-bench-station-'));
  const { recipe } = seedScaleRecipe(testImage(payloadKib * 1024, 2), NO_PROTECTION);
  const pool = LocalDataPool.open({ entries: parseCsvEntries('serial\nS-1\n'), journalPath: join(dir, 'pool.journal') });
  const unit = inProcessUnit('l476', 500);
  try {
    const log = ServiceLog.inDir(dir);
    const st = Station.open({ dir, log, recipe, batch: 'bench', station: 'bench', operator: 'bench', parallel: 1, pool });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    st.updatePorts([simPort('p0', unit)]);
    await st.idle();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const rows = unitRows(log.verify().entries, 'bench');
    if (rows.length !== 1 || !rows[0]!.ok) throw new Error(`station run failed: ${rows[0]?.reason ?? 'no record'}`);
    return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
  } finally {
    unit.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each workflow: the unit it runs on, and the KiB it moves at a given application payload. */
const WORKFLOWS: { name: string; workflow: WorkflowName | 'station'; unit: string; emptySecondary?: boolean; kib(payloadKib: number): number }[] = [
  { name: 'detect (STM32)', workflow: 'detect', unit: 'lab-mcuboot-erased', kib: (k) => k },
  { name: 'diagnose (STM32, reads slot 0)', workflow: 'diagnose', unit: 'lab-mcuboot-erased', kib: (k) => k },
  { name: 'diagnose (SMP)', workflow: 'diagnose', unit: 'lab-healthy-pending', kib: (k) => k },
  { name: 'recover', workflow: 'recover', unit: 'lab-recovery-empty', kib: (k) => k },
  { name: 'update', workflow: 'update', unit: 'lab-healthy-pending', emptySecondary: true, kib: (k) => k },
  // MCUboot (24 KiB) and the application are written and read back.
  { name: 'full unbrick', workflow: 'unbrick', unit: 'lab-mcuboot-erased', kib: (k) => k + 24 },
  // One STM32L4 unit: MCUboot (24 KiB) and the application written and read back, plus its data block.
  { name: 'station (1 STM32L4 unit)', workflow: 'station', unit: 'in-process l476', kib: (k) => k + 24 },
];

export async function run(): Promise<void> {
  console.log(`host: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} (shared machine: other engineers' work runs meanwhile)`);
  console.log(`sizes: application payload ${SIZES_KIB.join(', ')} KiB`);
  console.log('\nCPU per KiB (unpaced lab, app + in-process simulators):');
  for (const w of WORKFLOWS) {
    const cpu: number[] = [];
    const cells: string[] = [];
    for (const k of SIZES_KIB) {
      let r: { cpuMs: number };
      if (w.workflow === 'station') r = await stationJob(k);
      else {
        const b = await bench(k, 0, w.unit, w.emptySecondary);
        try {
          r = await runJob(b.c, w.workflow, w.unit);
        } finally {
          await b.close();
        }
      }
      cpu.push(r.cpuMs);
      cells.push(`${k} KiB: ${r.cpuMs.toFixed(0)} ms = ${(r.cpuMs / w.kib(k)).toFixed(2)} ms/KiB`);
    }
    const kib = SIZES_KIB.map((k) => w.kib(k));
    const ratio = cpu.at(-1)! / kib.at(-1)! / (cpu[0]! / kib[0]!);
    // Fixed costs (connecting, bundle checks) flatter the large sizes: the cost of each extra KiB
    // between the two larger sizes against the two smaller ones shows a step worse than linear.
    const slope = (i: number) => (cpu[i + 1]! - cpu[i]!) / (kib[i + 1]! - kib[i]!);
    const marginal = cpu.length >= 3 ? ` | extra KiB ${slope(0).toFixed(2)} then ${slope(cpu.length - 2).toFixed(2)} ms` : '';
    console.log(`  ${w.name.padEnd(32)} ${cells.join(' | ')} | per KiB largest/smallest ${ratio.toFixed(2)}x (goal <= 1.5x)${marginal}`);
  }

  console.log(`\nFull unbrick, wall time against line time (lab paced at ${BAUD} baud 8E1):`);
  for (const k of SIZES_KIB) {
    const b = await bench(k, BAUD, 'lab-mcuboot-erased');
    try {
      b.lab.sent = b.lab.received = 0;
      const r = await runJob(b.c, 'unbrick', 'lab-mcuboot-erased');
      const bytes = b.lab.sent + b.lab.received;
      const lineMs = (bytes * FRAME_BITS_8E1 * 1000) / BAUD;
      console.log(
        `  ${String(k).padStart(3)} KiB: ${(r.wallMs / 1000).toFixed(1)} s wall, ${bytes} bytes on the line (${b.lab.sent} out, ${b.lab.received} back) = ${(lineMs / 1000).toFixed(1)} s line time: ${(r.wallMs / lineMs).toFixed(3)}x (goal <= 1.1x)`,
      );
    } finally {
      await b.close();
    }
  }
}
