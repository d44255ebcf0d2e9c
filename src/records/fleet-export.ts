/**
 * `unbrick records export --to SYSTEM`: what the service log says was done to
 * each unit with each release, and how it ended, in the terms of the fleet
 * system that will ingest it (docs/fleet.md cites each shape):
 *  - aws-jobs: AWS IoT Jobs `UpdateJobExecution` requests (POST
 *    /things/{thingName}/jobs/{jobId}, body {status, statusDetails});
 *  - adu: the Device Update agent's reported `deviceUpdate.agent` properties
 *    (state, installedUpdateId, lastInstallResult {resultCode, extendedResultCode, resultDetails});
 *  - mender: device deployment status updates (PUT
 *    /api/devices/v1/deployments/device/deployments/{id}/status, body {status, substate});
 *  - memfault: no documented ingestion of an install outcome, so CSV with
 *    Memfault's device identifiers (device_serial, hardware_version,
 *    software_type, software_version);
 *  - csv: plain columns.
 * Pure: entries in, text out; the CLI reads the log and writes the file.
 */
import type { ServiceEntry } from './service-log.ts';
import { unitFacts } from './unit-identity.ts';

export const EXPORT_TARGETS = ['aws-jobs', 'adu', 'mender', 'memfault', 'csv'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** Workflows that write a release to a unit. */
const INSTALLING = new Set(['update', 'recover', 'unbrick']);

export type Ending = 'installed' | 'already-installed' | 'rolled-back' | 'failed' | 'refused' | 'cancelled';

interface RecordProvenance {
  system: string;
  identifiers: Record<string, string>;
}

/** One unit and one release: every attempt, and how the last one ended. */
export interface UnitRelease {
  unit: { id: string; serial?: string; chipUid?: string; hardwareRevision?: string };
  action: string;
  release: string;
  version?: string;
  provenance?: RecordProvenance;
  ending: Ending;
  attempts: number;
  firstTime: string;
  lastTime: string;
  operator: string;
  summary: string;
  /** The last entry's place in the tamper-evident log. */
  record: { seq: number; hash: string };
}

function provenanceOf(e: ServiceEntry): RecordProvenance | undefined {
  const p = e.details?.provenance as { system?: unknown; identifiers?: unknown } | undefined;
  if (!p || typeof p.system !== 'string' || !p.identifiers || typeof p.identifiers !== 'object') return undefined;
  const identifiers: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.identifiers as Record<string, unknown>)) if (typeof v === 'string') identifiers[k] = v;
  return { system: p.system, identifiers };
}

/** The identifier each system knows a release by (the signed metadata keeps keys sorted, so it is named, not taken first). */
function releaseId(p: RecordProvenance): string {
  const id = p.identifiers;
  if (p.system === 'mender') return id.artifact_name ?? '?';
  if (p.system === 'aws-iot-ota') return id.jobId ?? id.streamname ?? '?';
  if (p.system === 'azure-device-update') return [id.provider, id.name, id.version].join('/');
  return Object.values(id)[0] ?? '?';
}

function endingOf(e: ServiceEntry): Ending {
  const d = e.details ?? {};
  if (e.outcome === 'refused') return 'refused';
  if (e.outcome === 'cancelled') return 'cancelled';
  if (d.reverted === true) return 'rolled-back';
  if (e.outcome === 'failed') return 'failed';
  if (e.outcome === 'succeeded' && d.version === undefined && !e.inputs?.length) return 'already-installed';
  return e.outcome === 'succeeded' ? 'installed' : 'failed';
}

/** Groups installing entries by unit and release (entries in log order; the last attempt decides). */
export function unitReleases(entries: ServiceEntry[], opts: { since?: number; unit?: (e: ServiceEntry) => boolean } = {}): UnitRelease[] {
  const groups = new Map<string, UnitRelease>();
  for (const e of entries) {
    if (!INSTALLING.has(e.action) || e.outcome === 'info') continue;
    if (opts.since !== undefined && Date.parse(e.time) < opts.since) continue;
    if (opts.unit && !opts.unit(e)) continue;
    const facts = unitFacts(e.unit);
    const prov = provenanceOf(e);
    const version = typeof e.details?.version === 'string' ? e.details.version : undefined;
    const release = prov ? `${prov.system}:${releaseId(prov)}` : (e.inputs?.[0]?.name ?? (version ? `version ${version}` : 'unknown release'));
    const key = `${facts.id}\u0000${e.action}\u0000${release}`;
    const hw = e.unit.hardwareRevision;
    const g: UnitRelease = {
      unit: { id: facts.id, ...(facts.serial ? { serial: facts.serial } : {}), ...(facts.chipUid ? { chipUid: facts.chipUid } : {}), ...(typeof hw === 'string' ? { hardwareRevision: hw } : {}) },
      action: e.action,
      release,
      ...(version ? { version } : {}),
      ...(prov ? { provenance: prov } : {}),
      ending: endingOf(e),
      attempts: (groups.get(key)?.attempts ?? 0) + 1,
      firstTime: groups.get(key)?.firstTime ?? e.time,
      lastTime: e.time,
      operator: e.operator,
      summary: e.summary,
      record: { seq: e.seq, hash: e.hash },
    };
    groups.delete(key); // keep the order of last attempts
    groups.set(key, g);
  }
  return [...groups.values()];
}

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
/** AWS thingName pattern [a-zA-Z0-9:_-]+ (max 128). */
const thingSafe = (s: string) => s.replace(/[^a-zA-Z0-9:_-]/g, '_').slice(0, 128);

export interface ExportResult {
  text: string;
  /** Groups this system cannot take (a release it did not issue, or without the identifier it addresses). */
  skipped: { unit: string; release: string; reason: string }[];
  count: number;
}

const AWS_STATUS: Record<Ending, 'SUCCEEDED' | 'FAILED' | 'REJECTED'> = {
  installed: 'SUCCEEDED',
  'already-installed': 'SUCCEEDED',
  'rolled-back': 'FAILED',
  failed: 'FAILED',
  cancelled: 'FAILED',
  refused: 'REJECTED',
};
/** Mender device deployment status values (deployments device API DeviceStatus). */
const MENDER_STATUS: Record<Ending, 'success' | 'failure' | 'already-installed'> = {
  installed: 'success',
  'already-installed': 'already-installed',
  'rolled-back': 'failure',
  failed: 'failure',
  cancelled: 'failure',
  refused: 'failure',
};
/** Device Update agent: state 0 Idle / 255 Failed; resultCode 700 ADUC_Result_Apply_Success, 603 already installed, 0 failure, -1 cancelled. */
const ADU_RESULT: Record<Ending, { state: 0 | 255; resultCode: number }> = {
  installed: { state: 0, resultCode: 700 },
  'already-installed': { state: 0, resultCode: 603 },
  'rolled-back': { state: 255, resultCode: 0 },
  failed: { state: 255, resultCode: 0 },
  refused: { state: 255, resultCode: 0 },
  cancelled: { state: 255, resultCode: -1 },
};

function csvCell(v: string | number | undefined): string {
  let s = v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`; // a spreadsheet must not run a cell as a formula
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
const csv = (header: string[], rows: (string | number | undefined)[][]) => [header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n';

const details = (g: UnitRelease): string => clip(`Unbrick ${g.action} by ${g.operator}: ${g.summary} (service record ${g.record.seq}, ${g.record.hash.slice(0, 16)})`, 1024);

export function exportRecords(groups: UnitRelease[], to: ExportTarget, opts: { softwareType?: string } = {}): ExportResult {
  const skipped: ExportResult['skipped'] = [];
  const fromSystem = (system: string, need: string | undefined, what: string) =>
    groups.filter((g) => {
      if (g.provenance?.system !== system) {
        skipped.push({ unit: g.unit.id, release: g.release, reason: `not a release imported from ${system}` });
        return false;
      }
      if (need && !g.provenance.identifiers[need]) {
        skipped.push({ unit: g.unit.id, release: g.release, reason: `the release carries no ${what}` });
        return false;
      }
      return true;
    });

  if (to === 'aws-jobs') {
    const rows = fromSystem('aws-iot-ota', 'jobId', 'AWS IoT job id').map((g) => {
      const thingName = thingSafe(g.unit.serial ?? g.provenance!.identifiers.thingName ?? g.unit.id);
      const jobId = g.provenance!.identifiers.jobId!;
      return {
        thingName,
        jobId,
        request: `POST /things/${thingName}/jobs/${jobId}`,
        body: {
          status: AWS_STATUS[g.ending],
          statusDetails: {
            unbrickOutcome: g.ending,
            ...(g.version ? { version: clip(g.version, 1024) } : {}),
            attempts: String(g.attempts),
            finishedAt: g.lastTime,
            reason: details(g),
          },
        },
      };
    });
    return { text: JSON.stringify({ system: 'aws-iot-jobs', api: 'UpdateJobExecution', updates: rows, skipped }, null, 2) + '\n', skipped, count: rows.length };
  }
  if (to === 'adu') {
    const rows = fromSystem('azure-device-update', 'provider', 'Device Update updateId').map((g) => {
      const id = g.provenance!.identifiers;
      const r = ADU_RESULT[g.ending];
      const installed = r.state === 0;
      return {
        deviceId: g.unit.serial ?? g.unit.id,
        updateId: { provider: id.provider, name: id.name, version: id.version },
        reported: {
          deviceUpdate: {
            __t: 'c',
            agent: {
              state: r.state,
              ...(installed ? { installedUpdateId: JSON.stringify({ provider: id.provider, name: id.name, version: id.version }) } : {}),
              lastInstallResult: { resultCode: r.resultCode, extendedResultCode: 0, resultDetails: details(g) },
            },
          },
        },
      };
    });
    return { text: JSON.stringify({ system: 'azure-device-update', shape: 'deviceUpdate.agent reported properties', devices: rows, skipped }, null, 2) + '\n', skipped, count: rows.length };
  }
  if (to === 'mender') {
    const rows = fromSystem('mender', 'artifact_name', 'Mender artifact name').map((g) => ({
      device: g.unit.serial ?? g.unit.id,
      artifact_name: g.provenance!.identifiers.artifact_name,
      // The deployment id is the Mender server's, not in the artifact: whoever reports fills it in.
      request: 'PUT /api/devices/v1/deployments/device/deployments/{deployment_id}/status',
      body: { status: MENDER_STATUS[g.ending], substate: clip(`${g.ending}: ${g.summary}`, 200) },
      finished: g.lastTime,
      attempts: g.attempts,
      unbrick_record: `${g.record.seq}:${g.record.hash}`,
    }));
    return { text: JSON.stringify({ system: 'mender', api: 'device deployment status', statuses: rows, skipped }, null, 2) + '\n', skipped, count: rows.length };
  }
  if (to === 'memfault') {
    const rows = groups.map((g) => [
      g.unit.serial ?? g.unit.id,
      g.unit.hardwareRevision,
      opts.softwareType ?? 'main',
      g.version,
      g.ending,
      g.lastTime,
      g.attempts,
      g.release,
      details(g),
    ]);
    return {
      text: csv(['device_serial', 'hardware_version', 'software_type', 'software_version', 'unbrick_outcome', 'captured_date', 'attempts', 'release', 'details'], rows),
      skipped,
      count: rows.length,
    };
  }
  const rows = groups.map((g) => [
    g.unit.id,
    g.unit.serial,
    g.unit.chipUid,
    g.action,
    g.provenance?.system ?? 'unbrick',
    g.release,
    g.version,
    g.ending,
    g.attempts,
    g.firstTime,
    g.lastTime,
    g.operator,
    g.summary,
    g.record.seq,
    g.record.hash,
  ]);
  return {
    text: csv(['unit', 'serial', 'chip_uid', 'action', 'source_system', 'release', 'version', 'outcome', 'attempts', 'first_time', 'last_time', 'operator', 'summary', 'record_seq', 'record_hash'], rows),
    skipped,
    count: rows.length,
  };
}
