/**
 * `unbrick records export`: a day's service records (installs of imported
 * Mender, AWS and ADU releases and a plain bundle: succeeded after a retry,
 * rolled back, refused, cancelled, already installed, and one from the day
 * before) exported in each system's terms, each output checked against the
 * shape that system documents (docs/fleet.md), with the strict schema
 * mechanism so an extra or misspelt field fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arr, literal, num, obj, oneOf, opt, parseAs, record, str } from '../../../src/core/schema.ts';
import { ServiceLog, type EntryInput } from '../../../src/records/service-log.ts';

const mender = { system: 'mender', identifiers: { artifact_name: 'gw-fw-1.4.0', 'provides:rootfs-image.version': '1.4.0' }, targets: ['gw-revA'], proof: { method: 'mender-signature' } };
const aws = { system: 'aws-iot-ota', identifiers: { 'file:0': 'app.bin', jobId: 'ota-1-5-0', thingName: 'gw-thing' }, targets: [], proof: { method: 'aws-code-signing' } };
const adu = { system: 'azure-device-update', identifiers: { name: 'Gateway', provider: 'Acme', version: '1.6.0' }, targets: ['manufacturer=acme,model=gw'], proof: { method: 'hashes-only' } };

function entry(serial: string, outcome: EntryInput['outcome'], summary: string, prov?: object, details: Record<string, unknown> = {}): EntryInput {
  return {
    unit: { id: `chip-${serial}`, serial, chipUid: `c0ffee${serial.slice(-2)}`, hardwareRevision: 'A' },
    action: 'update',
    operator: 'tech@acme',
    outcome,
    summary,
    inputs: [{ name: 'Acme Gateway bundle', sha256: 'a'.repeat(64) }],
    details: { jobId: 'j', ...(prov ? { provenance: prov } : {}), ...details } as EntryInput['details'],
  };
}

function day(dir: string): void {
  const log = ServiceLog.inDir(dir);
  const at = (iso: string) => ({ now: () => new Date(iso) });
  log.append(entry('GW-0001', 'succeeded', 'Updated to 1.3.0 (yesterday).', mender, { version: '1.3.0' }), at('2026-12-06T15:00:00Z'));
  log.append(entry('GW-0001', 'failed', 'The cable was pulled.', mender, { version: '1.4.0', error: { code: 'io.link-lost', kind: 'io' } }), at('2026-12-07T08:00:00Z'));
  log.append(entry('GW-0001', 'succeeded', 'Updated to 1.4.0: it booted and is confirmed.', mender, { version: '1.4.0', confirmed: true }), at('2026-12-07T08:05:00Z'));
  log.append(entry('GW-0002', 'failed', 'Rolled back: the unit runs 1.2.0, not 1.4.0.', mender, { version: '1.4.0', reverted: true }), at('2026-12-07T09:00:00Z'));
  log.append(entry('GW-0003', 'succeeded', 'Updated to 1.5.0: it booted and is confirmed.', aws, { version: '1.5.0' }), at('2026-12-07T10:00:00Z'));
  log.append(entry('GW-0004', 'refused', 'Battery at 3.1 V, below the 3.4 V the release requires.', aws, { version: '1.5.0' }), at('2026-12-07T10:30:00Z'));
  log.append(entry('GW-0005', 'cancelled', 'Cancelled by the technician.', adu, { version: '1.6.0' }), at('2026-12-07T11:00:00Z'));
  log.append(entry('GW-0006', 'succeeded', 'Updated to 1.6.0: it booted and is confirmed.', adu, { version: '1.6.0' }), at('2026-12-07T11:30:00Z'));
  log.append(entry('GW-0007', 'succeeded', 'Updated to 1.2.9: it booted and is confirmed.', undefined, { version: '1.2.9' }), at('2026-12-07T12:00:00Z'));
  log.append({ unit: { id: 'x' }, action: 'detect', operator: 'tech@acme', outcome: 'succeeded', summary: 'Detected.' }, at('2026-12-07T12:10:00Z'));
}

function cli(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/unbrick.js', 'records', 'export', '--data-dir', dir, ...args, '--json'], { encoding: 'utf8' });
  return { status: r.status, json: JSON.parse(r.stdout) as { text?: string; count: number; skipped: { unit: string; reason: string }[]; error?: string } };
}

// The units an export leaves out, each with its reason (every system's export carries them).
const Skipped = arr(obj({ unit: str(), release: str(), reason: str() }));

// AWS IoT Jobs data plane UpdateJobExecution: status one of the device-settable values; statusDetails a string map,
// keys [a-zA-Z0-9:_-]+, values up to 1024 characters (API reference, iot-jobs-data UpdateJobExecution).
const AwsExport = obj({
  system: literal('aws-iot-jobs'),
  api: literal('UpdateJobExecution'),
  updates: arr(
    obj({
      thingName: str({ max: 128, pattern: /^[a-zA-Z0-9:_-]+$/ }),
      jobId: str({ max: 64, pattern: /^[a-zA-Z0-9_-]+$/ }),
      request: str({ pattern: /^POST \/things\/[a-zA-Z0-9:_-]+\/jobs\/[a-zA-Z0-9_-]+$/ }),
      body: obj({ status: oneOf(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const), statusDetails: record(str({ min: 1, max: 1024 }), { max: 10, key: str({ pattern: /^[a-zA-Z0-9:_-]+$/ }) }) }),
    }),
  ),
  skipped: Skipped,
});
// Device Update agent reported properties (deviceUpdate component, agent: state, installedUpdateId, lastInstallResult).
const AduExport = obj({
  system: literal('azure-device-update'),
  shape: str(),
  devices: arr(
    obj({
      deviceId: str(),
      updateId: obj({ provider: str(), name: str(), version: str() }),
      reported: obj({
        deviceUpdate: obj({
          __t: literal('c'),
          agent: obj({
            state: num({ int: true, min: 0, max: 255 }),
            installedUpdateId: opt(str()),
            lastInstallResult: obj({ resultCode: num({ int: true }), extendedResultCode: num({ int: true }), resultDetails: str({ max: 1024 }) }),
          }),
        }),
      }),
    }),
  ),
  skipped: Skipped,
});
// Mender device deployment status: DeviceStatus enum of the deployments device API.
const MenderExport = obj({
  system: literal('mender'),
  api: str(),
  statuses: arr(
    obj({
      device: str(),
      artifact_name: str(),
      request: literal('PUT /api/devices/v1/deployments/device/deployments/{deployment_id}/status'),
      body: obj({ status: oneOf(['success', 'failure', 'already-installed', 'aborted', 'downloading', 'installing', 'rebooting', 'pending', 'noartifact', 'decommissioned'] as const), substate: opt(str({ max: 200 })) }),
      finished: str(),
      attempts: num({ int: true, min: 1 }),
      unbrick_record: str(),
    }),
  ),
  skipped: Skipped,
});

test("records export: a day's records in AWS IoT Jobs, Device Update, Mender, Memfault and CSV terms, each in its documented shape", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-export-'));
  try {
    day(dir);
    const since = ['--since', '2026-12-07'];

    const a = parseAs(AwsExport, JSON.parse(cli(dir, '--to', 'aws-jobs', ...since).json.text!), { what: 'aws export' });
    assert.deepEqual(
      a.updates.map((u) => [u.thingName, u.jobId, u.body.status, u.body.statusDetails.unbrickOutcome]),
      [
        ['GW-0003', 'ota-1-5-0', 'SUCCEEDED', 'installed'],
        ['GW-0004', 'ota-1-5-0', 'REJECTED', 'refused'],
      ],
    );
    assert.equal(a.skipped.length, 5, 'mender, adu and plain-bundle installs are not AWS jobs');

    const d = parseAs(AduExport, JSON.parse(cli(dir, '--to', 'adu', ...since).json.text!), { what: 'adu export' });
    assert.deepEqual(
      d.devices.map((x) => [x.deviceId, x.reported.deviceUpdate.agent.state, x.reported.deviceUpdate.agent.lastInstallResult.resultCode, x.reported.deviceUpdate.agent.installedUpdateId]),
      [
        ['GW-0005', 255, -1, undefined],
        ['GW-0006', 0, 700, '{"provider":"Acme","name":"Gateway","version":"1.6.0"}'],
      ],
    );

    const m = parseAs(MenderExport, JSON.parse(cli(dir, '--to', 'mender', ...since).json.text!), { what: 'mender export' });
    assert.deepEqual(
      m.statuses.map((x) => [x.device, x.artifact_name, x.body.status, x.attempts]),
      [
        ['GW-0001', 'gw-fw-1.4.0', 'success', 2],
        ['GW-0002', 'gw-fw-1.4.0', 'failure', 1],
      ],
    );
    // Without --since, yesterday's install of the same artifact on GW-0001 is the first of three attempts.
    assert.equal((JSON.parse(cli(dir, '--to', 'mender').json.text!) as { statuses: { attempts: number }[] }).statuses[0]!.attempts, 3);

    const mf = cli(dir, '--to', 'memfault', ...since, '--software-type', 'gw-app').json.text!.trim().split('\r\n');
    assert.equal(mf[0], 'device_serial,hardware_version,software_type,software_version,unbrick_outcome,captured_date,attempts,release,details');
    assert.equal(mf.length, 8);
    assert.match(mf[2]!, /^GW-0002,A,gw-app,1\.4\.0,rolled-back,2026-12-07T09:00:00\.000Z,1,mender:gw-fw-1\.4\.0,/);

    const out = join(dir, 'day.csv');
    const c = cli(dir, '--to', 'csv', ...since, '--out', out);
    assert.equal(c.status, 0);
    const rows = readFileSync(out, 'utf8').trim().split('\r\n');
    assert.equal(rows[0], 'unit,serial,chip_uid,action,source_system,release,version,outcome,attempts,first_time,last_time,operator,summary,record_seq,record_hash');
    assert.equal(rows.length, 8);
    assert.match(rows.at(-1)!, /^chip-GW-0007,GW-0007,c0ffee07,update,unbrick,Acme Gateway bundle,1\.2\.9,installed,1,/);

    // One unit, by serial.
    assert.equal(parseAs(MenderExport, JSON.parse(cli(dir, '--to', 'mender', '--unit', 'GW-0002').json.text!), { what: 'mender export' }).statuses.length, 1);
    assert.equal(cli(dir, '--to', 'jira').json.error, 'usage.bad-target');
    assert.equal(cli(dir, '--to', 'csv', '--since', 'yesterday').json.error, 'usage.bad-date');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
