/**
 * The contract's implementation: each method maps to the application core.
 * Electron's main process and the server both dispatch to these handlers and
 * forward the core's events, so both front ends behave the same.
 */
import type { AppCore } from './app-core.ts';
import { deviceError, usageError } from '../core/errors.ts';
import { unitReport, reportHtml } from '../records/report.ts';
import { API_VERSION, type EventName, type EventData, type LibraryEntryView, type RecordView } from '../api/contract.ts';
import { createDispatcher, type Handlers } from '../api/protocol.ts';
import type { ServiceEntry } from '../records/service-log.ts';
import { unitMatches } from '../records/unit-identity.ts';
import { BundleLibrary, type LibraryEntry, type LibraryKind } from '../trust/library.ts';
import { productKey } from '../formats/bundle/metadata.ts';
import { firmwareSource } from '../workflows/firmware.ts';
import { latestTraceAttachment, setTraceRecording, traceStatus } from './support-trace.ts';

// Imported (not read at run time) so the bundled Electron main carries it too.
import pkg from '../../package.json' with { type: 'json' };

function entryView(kind: LibraryKind, e: LibraryEntry): LibraryEntryView {
  return { id: e.id, kind, product: e.product.name, version: e.version, sequence: e.sequence, expires: e.expires, payloads: e.payloads.map((p) => ({ name: p.name, target: p.target, ...(p.version ? { version: p.version } : {}) })) };
}

function recordView(e: ServiceEntry): RecordView {
  return {
    seq: e.seq,
    time: e.time,
    unitId: String(e.unit?.id ?? '-'),
    action: String(e.action).slice(0, 60),
    operator: String(e.operator).slice(0, 200),
    outcome: ['succeeded', 'failed', 'cancelled', 'refused', 'info'].includes(e.outcome) ? e.outcome : 'info',
    summary: String(e.summary).slice(0, 4000),
    hash: e.hash,
  };
}

export function createHandlers(core: AppCore, mode: 'electron' | 'server'): Handlers {
  return {
    'app.info': () => ({ version: pkg.version, apiVersion: API_VERSION, mode, lab: core.lab !== undefined, dataDir: core.opts.dataDir }),
    'devices.list': () => ({ devices: core.devices.list() }),
    'devices.get': ({ deviceId }) => {
      const e = core.devices.get(deviceId);
      const detail = {
        device: core.devices.list().find((d) => d.id === deviceId)!,
        identity: [{ name: 'port', value: e.handle.port }, ...e.handle.identity, ...e.learned],
        ...(e.diagnosis ? { diagnosis: e.diagnosis } : {}),
        ...core.freshness(deviceId),
      };
      return detail;
    },
    'jobs.start': (p) => core.startJob(p.workflow, p.deviceId, p.options ?? {}, p.approved ? { approved: p.approved } : {}),
    'jobs.get': ({ jobId }) => core.snapshotOf(core.job(jobId)),
    'jobs.list': () => ({ jobs: core.listJobs() }),
    'jobs.cancel': ({ jobId }) => {
      const j = core.job(jobId);
      j.cancel();
      return core.snapshotOf(j);
    },
    'jobs.resume': ({ jobId }) => core.resumeJob(jobId),
    'jobs.confirm': ({ jobId, stepId, allow }) => {
      const j = core.job(jobId);
      j.answer(stepId, allow);
      return core.snapshotOf(j);
    },
    'records.list': ({ unitId, unit, limit }) => {
      const v = core.log.verify();
      let entries = unitId ? v.entries.filter((e) => e.unit?.id === unitId) : v.entries;
      if (unit) entries = entries.filter((e) => unitMatches(e.unit, unit));
      if (limit) entries = entries.slice(-limit);
      return {
        entries: entries.map(recordView),
        chain: { ok: v.ok, entries: v.entries.length, head: v.head, problems: v.problems.slice(0, 1000) },
      };
    },
    'records.report': ({ unitId, format, attachTrace }) => {
      const trace = attachTrace ? latestTraceAttachment() : undefined;
      if (attachTrace && !trace) throw usageError('support.no-trace', 'No wire trace was recorded in this session: turn on "Record a wire trace", repeat the problem, then export again.');
      const report = unitReport(unitId, core.log.path, core.log.verify(), new Date(), trace ? [trace] : []);
      const safe = unitId.replace(/[^A-Za-z0-9._-]+/g, '_');
      return format === 'json'
        ? { filename: `unbrick-report-${safe}.json`, mime: 'application/json', content: JSON.stringify(report, null, 2) }
        : { filename: `unbrick-report-${safe}.html`, mime: 'text/html', content: reportHtml(report) };
    },
    'support.trace': ({ enabled }) => (enabled === undefined ? traceStatus() : setTraceRecording(core.opts.dataDir, enabled)),
    'lab.list': () => ({
      units: (core.lab?.list() ?? []).map((u) => ({ id: u.spec.id, label: u.spec.label, story: u.spec.story, plugged: u.plugged, available: u.available })),
    }),
    'lab.plug': ({ unitId, plugged }) => {
      if (!core.lab) throw usageError('lab.off', 'The demo lab is not running (real hardware mode).');
      if (!core.lab.list().some((u) => u.spec.id === unitId)) throw deviceError('lab.unknown-unit', `The demo lab has no unit "${unitId}".`);
      core.lab.setPlugged(unitId, plugged);
      return { ok: true as const };
    },
    'library.list': async ({ deviceId, kind }) => {
      const src = deviceId ? await firmwareSource(core.devices.get(deviceId).handle, core.opts.dataDir) : { dir: core.opts.dataDir };
      const entries = new BundleLibrary(kind, { dir: src.dir })
        .entries()
        .filter((e) => !src.product || productKey(e.product) === productKey(src.product))
        .sort((a, b) => b.sequence - a.sequence)
        .map((e) => entryView(kind, e));
      return { entries };
    },
    'library.importBegin': ({ filename, size }) => ({ uploadId: core.uploads.begin(filename, size) }),
    'library.importChunk': ({ uploadId, offset, data }) => ({ received: core.uploads.chunk(uploadId, offset, new Uint8Array(Buffer.from(data, 'base64'))) }),
    'library.importEnd': async ({ uploadId }) => {
      const r = await core.uploads.end(uploadId);
      return { entry: entryView(r.kind, r.entry), alreadyPresent: r.alreadyPresent };
    },
    'library.check': async ({ kind, bundleId }) => {
      const lib = new BundleLibrary(kind, { dir: core.opts.dataDir });
      const s = await lib.status(lib.find(bundleId));
      return { ok: s.ok, ...(s.code ? { code: s.code } : {}), ...(s.message ? { message: s.message.slice(0, 4000) } : {}) };
    },
    'library.remove': ({ kind, bundleId }) => {
      new BundleLibrary(kind, { dir: core.opts.dataDir }).remove(bundleId);
      return { ok: true as const };
    },
    'library.importAbort': ({ uploadId }) => {
      core.uploads.abort(uploadId);
      return { ok: true as const };
    },

    // ---- factory station screen ----
    'station.status': () => core.station.status(),
    'station.start': (p) => {
      // The station takes its ports over: never while a technician's job is writing on one of them.
      const busy = core.devices.list().filter((d) => !d.simulated && d.busyJobId && (!p.ports?.length || p.ports.includes(d.port)));
      if (busy.length)
        throw deviceError('station.port-busy', `${busy.map((d) => d.port).join(', ')} ${busy.length > 1 ? 'are' : 'is'} busy with a job. Wait for it to finish or cancel it, then start the station.`, {
          ports: busy.map((d) => d.port),
        });
      return core.station.start(p);
    },
    'station.startDemo': (p) => core.station.startDemo(p),
    'station.stop': () => core.station.stop(),
    'station.approvePilot': () => core.station.approvePilot(),
    'station.resume': () => core.station.resume(),
    'station.enablePort': ({ port }) => core.station.enablePort(port),
    'station.demoNextUnits': () => core.station.demoNextUnits(),
  };
}

/** Connects a core to one front end: a dispatcher for its requests and a feed of its events. */
export function connectFrontEnd(core: AppCore, mode: 'electron' | 'server', send: <E extends EventName>(event: E, data: EventData<E>) => void) {
  const dispatch = createDispatcher(createHandlers(core, mode));
  const off = [
    core.on('devices', (devices) => send('devices.changed', { devices })),
    core.on('job', (job) => send('job.updated', { job })),
    core.on('record', (e) => send('records.appended', { seq: e.seq, unitId: String(e.unit?.id ?? '-') })),
    core.station.onChange((status) => send('station.changed', status)),
  ];
  return { dispatch: (raw: unknown) => dispatch(raw, undefined), close: () => off.forEach((f) => f()) };
}
