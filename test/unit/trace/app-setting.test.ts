import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { createHandlers } from '../../../src/app/handlers.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';

test('the app setting records a wire trace of a job on a lab unit; a support report attaches it, raw and decoded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-apptrace-'));
  const core = new AppCore({ dataDir: dir, lab: new DemoLab(), operator: 'tester@bench', autoDetect: false });
  const h = createHandlers(core, 'server');
  t.after(async () => {
    await h['support.trace']({ enabled: false }, undefined as never);
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.deepEqual(await h['support.trace']({}, undefined as never), { recording: false });
  await assert.rejects(
    Promise.resolve().then(() => h['records.report']({ unitId: 'UB-LAB-0002', format: 'json', attachTrace: true }, undefined as never)),
    (e: Error & { code?: string }) => e.code === 'support.no-trace',
    'asking for a trace that was never recorded is refused, not silently left out',
  );

  const on = await h['support.trace']({ enabled: true }, undefined as never);
  assert.equal(on.recording, true);
  assert.ok(on.path && existsSync(on.path));
  const jobs: JobSnapshot[] = [];
  core.on('job', (j) => jobs.push(j));
  const started = core.startJob('detect', 'lab-corrupt-image', {});
  const end = Date.now() + 20_000;
  while (!jobs.some((j) => j.id === started.id && j.endedAt !== undefined)) {
    if (Date.now() > end) assert.fail('the job did not finish');
    await new Promise((r) => setTimeout(r, 10));
  }
  const off = await h['support.trace']({ enabled: false }, undefined as never);
  assert.deepEqual(off, { recording: false, path: on.path });

  const json = await h['records.report']({ unitId: 'UB-LAB-0002', format: 'json', attachTrace: true }, undefined as never);
  const report = JSON.parse(json.content) as { traces: { name: string; text: string; view: string[] }[] };
  assert.equal(report.traces.length, 1);
  assert.match(report.traces[0]!.text, /"kind":"data"/);
  const view = report.traces[0]!.view.join('\n');
  assert.match(view, /link opened: .* \(smp\)/);
  assert.match(view, /= SMP write OS\/echo seq \d+ \{d: "unbrick"\}/, 'the detect probe is decoded');
  assert.match(view, /= SMP (write|read)-rsp /);
  const html = await h['records.report']({ unitId: 'UB-LAB-0002', format: 'html', attachTrace: true }, undefined as never);
  assert.match(html.content, /<h2>Wire trace: trace-.*\.jsonl<\/h2>/);
});
