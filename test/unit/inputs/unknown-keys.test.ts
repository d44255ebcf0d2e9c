/**
 * Every structured input refuses an unknown key, naming its path and, for a
 * near miss, the key it most likely meant (issue 14: one test per input kind).
 * The --device-id case through the real CLI is in test/unit/bundle/device-id.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { refusal } from '../../helpers/errors.ts';
import { parseRequest } from '../../../src/api/protocol.ts';
import { readJsonOption } from '../../../src/cli/json-input.ts';
import { DeviceIdentitySchema } from '../../../src/formats/bundle/device-identity.ts';
import { readSpec } from '../../../src/formats/bundle/create.ts';
import { ProtectPolicySchema } from '../../../src/stm32/option-bytes/protect-policy.ts';
import { parseCsvEntries, parseJsonEntries, requireFields } from '../../../src/station/data-source.ts';
import { Station } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { TrustStore, storePath } from '../../../src/trust/store.ts';
import { loadRollbackState, rollbackPath } from '../../../src/trust/rollback-state.ts';
import { BundleLibrary, libraryDir } from '../../../src/trust/library.ts';
import { readTrace } from '../../../src/devices/wire-trace.ts';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-inputs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
};

test('--device-id (inline JSON or file)', (t) => {
  const e = refusal(() => readJsonOption('{"hardwareRev":"Z"}', DeviceIdentitySchema, { option: 'device-id', code: 'bundle.bad-device-id', example: '{}' }));
  assert.equal(e.code, 'bundle.bad-device-id');
  assert.deepEqual([e.details?.path, e.details?.suggestion], ['hardwareRev', 'hardwareRevision']);
  const file = write(join(tmp(t), 'dev.json'), '{"vendorID":"x"}');
  assert.match(refusal(() => readJsonOption(file, DeviceIdentitySchema, { option: 'device-id', code: 'bundle.bad-device-id', example: '{}' })).message, /dev\.json: unknown field "vendorID" \(did you mean "vendorId"\?\)/);
});

test('stm32 protect --policy', () => {
  const e = refusal(() => readJsonOption('{"wrpPage":"0-3"}', ProtectPolicySchema, { option: 'policy', code: 'stm32.bad-policy', example: '{}' }));
  assert.equal(e.code, 'stm32.bad-policy');
  assert.equal(e.details?.suggestion, 'wrpPages');
  assert.match(refusal(() => readJsonOption('{"rdp":2}', ProtectPolicySchema, { option: 'policy', code: 'stm32.bad-policy', example: '{}' })).message, /rdp must be 0 or 1 \(level 2 is only reachable through "ob set"/);
});

test('bundle create spec', (t) => {
  const spec = {
    kind: 'update',
    product: { vendorId: 'v', classId: 'c', name: 'n', hardwareRevision: ['A'] },
    version: '1.0.0',
    sequence: 1,
    validDays: 30,
    payloads: [],
  };
  const path = write(join(tmp(t), 'spec.json'), JSON.stringify(spec));
  const e = refusal(() => readSpec(path));
  assert.equal(e.code, 'bundle.spec-invalid');
  assert.deepEqual([e.details?.path, e.details?.suggestion], ['product.hardwareRevision', 'product.hardwareRevisions']);
  const target = write(join(tmp(t), 'spec2.json'), JSON.stringify({ ...spec, product: { ...spec.product, hardwareRevision: undefined, hardwareRevisions: ['A'] }, payloads: [{ file: 'a.bin', role: 'bootloader', target: { kind: 'address', adress: 0 } }] }));
  assert.equal(refusal(() => readSpec(target)).details?.suggestion, 'payloads[0].target.address');
});

test('trust create-root spec (through the CLI)', (t) => {
  const dir = tmp(t);
  const spec = write(join(dir, 'root-spec.json'), JSON.stringify({ vendorId: 'v', vendorName: 'Acme', rootKeys: [], releaseTreshold: 1 }));
  const r = spawnSync(process.execPath, ['bin/unbrick.js', 'trust', 'create-root', spec, '--key', join(dir, 'none.pem'), '-o', join(dir, 'root.json'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { error: string; details: { suggestion: string } };
  assert.deepEqual([out.error, out.details.suggestion], ['trust.spec-invalid', 'releaseThreshold']);
});

test('station batch.json (resumed state)', (t) => {
  const dir = tmp(t);
  const batch = {
    format: 'unbrick-station-batch',
    version: 1,
    batch: 'B1',
    station: 'st1',
    createdAt: '2026-01-01T00:00:00.000Z',
    line: { mode: 'running', started: 3, pased: 2, failed: 1, pilotApproved: false, recent: [], ports: {} },
    running: {},
  };
  write(join(dir, 'batch', 'batch.json'), JSON.stringify(batch));
  // The state is read before the recipe is used: no recipe is needed to show the refusal.
  const e = refusal(() => Station.open({ dir: join(dir, 'batch'), log: ServiceLog.inDir(dir), recipe: undefined as never, batch: 'B1', station: 'st1', operator: 'op' }));
  assert.equal(e.code, 'station.batch-unreadable');
  assert.deepEqual([e.details?.path, e.details?.suggestion], ['line.pased', 'line.passed']);
  assert.match(e.message, /keep it for support; to go on, start a new batch directory/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'batch', 'batch.json'), 'utf8')).line.pased, 2, 'the damaged state is left as it was');
});

test('per-unit data: JSON entries and the fields a CSV must have', () => {
  const e = refusal(() => parseJsonEntries('[{"serial":"S1","mac":"01"},{"serail":"S2","mac":"02"}]'));
  assert.equal(e.code, 'station.data-bad-json');
  assert.deepEqual([e.details?.path, e.details?.suggestion], ['[1].serail', '[1].serial']);
  assert.equal(refusal(() => parseJsonEntries('{"entires":[]}')).details?.suggestion, 'entries');
  const csv = parseCsvEntries('serial,mac_addr\nS1,01\n');
  const f = refusal(() => requireFields(csv, ['serial', 'mac_adr'], 'units.csv'));
  assert.equal(f.code, 'station.data-field');
  assert.deepEqual(f.details?.suggestion, ['mac_addr']);
});

test('trust store on disk', (t) => {
  const dir = tmp(t);
  TrustStore.init(dir);
  const file = JSON.parse(readFileSync(storePath(dir), 'utf8')) as Record<string, unknown>;
  writeFileSync(storePath(dir), JSON.stringify({ ...file, revocation: [] }));
  const e = refusal(() => TrustStore.load(dir));
  assert.equal(e.code, 'trust.store-corrupt');
  assert.match(e.message, /unknown field "revocation" \(did you mean "revocations"\?\).*Restore it from a backup or re-create it/);
});

test('anti-rollback state on disk', (t) => {
  const dir = tmp(t);
  write(rollbackPath(dir), JSON.stringify({ format: 1, products: { 'v/c': { name: 'n', highestSeq: 9, targets: {}, acceptedAt: '2026-01-01T00:00:00Z' } } }));
  const e = refusal(() => loadRollbackState(dir));
  assert.equal(e.code, 'trust.state-corrupt');
  assert.equal(e.details?.suggestion, 'products.v/c.highestSequence');
  assert.match(e.message, /Refusing to guess/);
});

test('library index on disk', (t) => {
  const dir = tmp(t);
  write(join(libraryDir('golden', dir), 'index.json'), JSON.stringify({ format: 1, entires: [] }));
  const e = refusal(() => new BundleLibrary('golden', { dir }).entries());
  assert.equal(e.code, 'golden.index-corrupt');
  assert.equal(e.details?.field, 'entires');
  assert.match(e.message, /did you mean "entries"\?.*re-import the bundles/);
});

test('contract messages (IPC and the WebSocket)', () => {
  const e = refusal(() => parseRequest({ type: 'request', id: 1, method: 'lab.plug', params: { unitId: 'a', pluged: true } }));
  assert.equal(e.code, 'api.invalid-message');
  assert.deepEqual([e.details?.path, e.details?.suggestion], ['params.pluged', 'params.plugged']);
});

test('wire trace files', () => {
  const header = JSON.stringify({ kind: 'header', format: 'unbrick-wire-trace', version: 1, started: '2026-01-01T00:00:00.000Z', tool: 't' });
  const e = refusal(() => readTrace(`${header}\n{"kind":"open","t":0,"link":1,"protocol":"smp","descripton":"x"}\n`, 'a.trace'));
  assert.equal(e.code, 'trace.invalid');
  assert.equal(e.details?.suggestion, 'description');
});

test('service log entries', (t) => {
  const dir = tmp(t);
  const log = ServiceLog.inDir(dir);
  log.append({ unit: { id: 'U1' }, action: 'detect', operator: 'op', outcome: 'info', summary: 's' });
  const text = readFileSync(log.path, 'utf8').replace('"outcome":', '"outcom":"x","outcome":');
  writeFileSync(log.path, text);
  const v = log.verify();
  assert.equal(v.ok, false);
  const p = v.problems.find((x) => x.code === 'log.unreadable-entry');
  assert.match(p?.message ?? '', /unknown field "outcom" \(did you mean "outcome"\?\)/);
});

test('per-unit data journal (station state)', (t) => {
  const dir = tmp(t);
  const journal = write(join(dir, 'pool.journal'), '{"op":"reserve","entry":"S1","unit":"u1","time":"2026-01-01T00:00:00Z","statoin":"st1"}\n');
  const e = refusal(() => LocalDataPool.open({ entries: parseCsvEntries('serial\nS1\n'), journalPath: journal }));
  assert.equal(e.code, 'station.journal-damaged');
  assert.match(e.message, /line 1 .*unknown field "statoin" \(did you mean "station"\?\)/);
  assert.match(readFileSync(journal, 'utf8'), /statoin/, 'the journal is left as it was, for support');
});
