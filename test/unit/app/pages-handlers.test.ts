/**
 * The contract methods behind the Records and Bundles screens: records carry
 * their findings and facts; library.list without a device lists the demo
 * lab's bundles too (marked lab); vendor roots are inspected (fingerprints of
 * the keys that signed them), added only with a confirmed fingerprint, listed
 * and removed. Results are checked against the contract's own schemas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { createHandlers } from '../../../src/app/handlers.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { methods } from '../../../src/api/contract.ts';
import { parseAs } from '../../../src/core/schema.ts';
import { makeVendor } from '../bundle/fixture.ts';

test('records, lab bundles and vendor roots through the contract', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-pages-'));
  const core = new AppCore({ dataDir: dir, lab: new DemoLab(), operator: 'tester@bench', autoDetect: false });
  const h = createHandlers(core, 'server');
  t.after(async () => {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = async <M extends keyof typeof methods>(m: M, p: unknown) =>
    parseAs(methods[m].result as never, await (h[m] as (p: unknown, c: never) => unknown)(parseAs(methods[m].params as never, p, { what: `${m} params` }), undefined as never), { what: `${m} result` }) as unknown;

  core.log.append({
    unit: { id: 'UB-1', chipUid: 'aabbccdd' },
    action: 'diagnose',
    operator: 'a@b',
    outcome: 'succeeded',
    summary: '1 critical finding',
    details: { jobId: 'j1', steps: [], findings: [{ severity: 'critical', code: 'slot0.empty', text: 'Slot 0 holds no valid image' }], runningBefore: '1.2.0' },
  });
  // An entry with deeply nested facts (another tool's, or an old format) does not fail the list: its facts are cut.
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < 12; i++) deep = { deeper: deep };
  core.log.append({ unit: { id: 'UB-2' }, action: 'detect', operator: 'a@b', outcome: 'info', summary: 'deep', details: { deep: deep as never } });
  const recs = (await call('records.list', {})) as { entries: { findings?: unknown[]; unitNames?: string[]; details?: Record<string, unknown> }[] };
  assert.deepEqual(recs.entries[0]!.findings, [{ severity: 'critical', code: 'slot0.empty', text: 'Slot 0 holds no valid image' }]);
  assert.deepEqual(recs.entries[0]!.unitNames, ['aabbccdd']);
  assert.deepEqual(recs.entries[0]!.details, { runningBefore: '1.2.0' }, 'job id and steps stay out of the facts');

  const golden = (await call('library.list', { kind: 'golden' })) as { entries: { lab?: boolean }[] };
  assert.ok(golden.entries.length >= 1 && golden.entries.every((e) => e.lab === true), 'the lab golden bundle is listed, marked lab');

  const before = (await call('trust.list', {})) as { storeExists: boolean; roots: { lab?: boolean }[] };
  assert.equal(before.storeExists, false);
  assert.ok(before.roots.length >= 1 && before.roots.every((r) => r.lab), 'the lab root is listed as lab');

  const vendor = makeVendor();
  const content = Buffer.from(vendor.rootBytes).toString('base64');
  const fp = vendor.rootKeys[0]!.fingerprint;
  const seen = (await call('trust.inspectRoot', { content })) as { signers: string[]; alreadyTrusted: boolean; vendorName: string };
  assert.deepEqual(seen.signers, [fp]);
  assert.equal(seen.alreadyTrusted, false);
  await assert.rejects(
    Promise.resolve().then(() => call('trust.addRoot', { content, fingerprint: 'ffffffffffffffff' })),
    (e: Error & { code?: string }) => e.code === 'trust.fingerprint-mismatch',
  );
  const added = (await call('trust.addRoot', { content, fingerprint: fp.slice(0, 16) })) as { vendorId: string; fingerprint: string };
  assert.equal(added.fingerprint, fp);
  const after = (await call('trust.list', {})) as { storeExists: boolean; roots: { vendorId: string; lab?: boolean }[] };
  assert.equal(after.storeExists, true);
  assert.ok(after.roots.some((r) => r.vendorId === added.vendorId && !r.lab));
  await call('trust.removeRoot', { vendorId: added.vendorId });
  const gone = (await call('trust.list', {})) as { roots: { vendorId: string; lab?: boolean }[] };
  assert.ok(!gone.roots.some((r) => r.vendorId === added.vendorId && !r.lab));
  await assert.rejects(
    Promise.resolve().then(() => call('trust.removeRoot', { vendorId: added.vendorId })),
    (e: Error & { code?: string }) => e.code === 'trust.vendor-unknown',
  );
});
