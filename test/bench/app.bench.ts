/**
 * App figures: service-log appends per second (each fsync'd) and full-chain
 * verification time; a full unbrick and a recovery on the demo lab at
 * 115200 baud (wire-paced), with the write/upload rate the UI shows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog } from '../../src/records/service-log.ts';
import { AppCore } from '../../src/app/app-core.ts';
import { DemoLab } from '../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../src/sim/lab/units.ts';

async function serviceLog(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-bench-'));
  try {
    const log = ServiceLog.inDir(dir);
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      log.append({ unit: { id: `U${i % 10}` }, action: 'update', operator: 'bench', outcome: 'succeeded', summary: `entry ${i}`, details: { i, blob: 'x'.repeat(500) } });
    const appendMs = performance.now() - t0;
    const t1 = performance.now();
    const v = log.verify();
    const verifyMs = performance.now() - t1;
    console.log(`service log: ${n} appends in ${appendMs.toFixed(0)} ms = ${((n * 1000) / appendMs).toFixed(0)} appends/s (each fsync'd + head replaced atomically)`);
    console.log(`service log: verify ${v.entries.length} entries in ${verifyMs.toFixed(1)} ms (${v.ok ? 'intact' : 'NOT intact'})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function workflow(unit: string, workflow: 'unbrick' | 'recover'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-bench-'));
  const c = new AppCore({ dataDir: dir, lab: new DemoLab(LAB_UNITS.filter((u) => u.id === unit), { baud: 115200 }), autoDetect: false, operator: 'bench' });
  try {
    await c.job(c.startJob('detect', unit, {}).id).done();
    const job = c.job(c.startJob(workflow, unit, {}).id);
    const t0 = performance.now();
    const rates: number[] = [];
    while (!job.finished) {
      const s = job.snapshot();
      if (s.confirmation) job.answer(s.confirmation.stepId, true);
      if (s.progress?.rate && /Writing|Uploading/.test(s.progress.phase) && s.progress.done > s.progress.total / 2) rates.push(s.progress.rate);
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = job.snapshot();
    const rate = rates.at(-1);
    console.log(
      `${workflow} ${unit} at 115200 baud: ${s.state} in ${((performance.now() - t0) / 1000).toFixed(1)} s; write rate ${rate ? (rate / 1024).toFixed(1) : '?'} KiB/s (line ceiling 8N1 11.25 KiB/s, 8E1 10.2 KiB/s)`,
    );
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await serviceLog();
  await workflow('lab-mcuboot-erased', 'unbrick');
  await workflow('lab-corrupt-image', 'recover');
}
