/**
 * The contract's implementation: each method maps to the application core.
 * Electron's main process and the server both dispatch to these handlers and
 * forward the core's events, so both front ends behave the same.
 */
import type { AppCore } from './app-core.ts';
import { deviceError, usageError } from '../core/errors.ts';
import { unitReport, reportHtml } from '../records/report.ts';
import { API_VERSION, type EventName, type EventData, type LibraryEntryView, type RecordView, type TrustRootView } from '../api/contract.ts';
import { TrustStore, type VendorChain } from '../trust/store.ts';
import { roleRing } from '../trust/root.ts';
import { checkSignatures } from '../formats/bundle/dsse.ts';
import { createDispatcher, type Handlers } from '../api/protocol.ts';
import type { ServiceEntry } from '../records/service-log.ts';
import { unitFacts, unitMatches } from '../records/unit-identity.ts';
import type { Json } from '../core/schema.ts';
import { BundleLibrary, type LibraryEntry, type LibraryKind } from '../trust/library.ts';
import { productKey } from '../formats/bundle/metadata.ts';
import { firmwareSource } from '../workflows/firmware.ts';
import { latestTraceAttachment, setTraceRecording, traceStatus } from './support-trace.ts';

// Imported (not read at run time) so the bundled Electron main carries it too.
import pkg from '../../package.json' with { type: 'json' };

function entryView(kind: LibraryKind, e: LibraryEntry): LibraryEntryView {
  const p = e.provenance;
  return {
    id: e.id,
    kind,
    product: e.product.name,
    version: e.version,
    sequence: e.sequence,
    expires: e.expires,
    payloads: e.payloads.map((x) => ({ name: x.name, target: x.target, ...(x.version ? { version: x.version } : {}) })),
    ...(p
      ? {
          provenance: {
            system: p.system,
            identifiers: p.identifiers,
            proof: (p.proof.method === 'hashes-only' ? 'sizes and hashes (unsigned source), vouched for by the vendor release key' : `${p.proof.algorithm ?? p.proof.method}, ${p.proof.subject ?? 'key'} ${p.proof.fingerprint?.slice(0, 16) ?? ''}`).slice(0, 800),
          },
        }
      : {}),
  };
}

function trustRootView(c: VendorChain, lab: boolean): TrustRootView {
  const m = c.roots.at(-1)!.meta;
  return { vendorId: m.vendorId, vendorName: m.vendorName, version: m.version, expires: m.expires, fingerprint: c.confirmedKeyid, addedAt: c.addedAt, ...(lab ? { lab: true } : {}) };
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
    ...recordExtras(e),
  };
}

/** The parts of an entry the records screen opens: findings, inputs, the unit's other names, the facts. */
function recordExtras(e: ServiceEntry): Partial<RecordView> {
  const { jobId: _j, steps: _s, findings, ...facts } = (e.details ?? {}) as Record<string, Json>;
  const SEV = ['ok', 'info', 'warning', 'critical'];
  const found = Array.isArray(findings)
    ? findings
        .filter((f): f is { severity: string; code: string; text: string } => !!f && typeof f === 'object' && !Array.isArray(f) && SEV.includes(String(f.severity)))
        .slice(0, 200)
        .map((f) => ({ severity: f.severity as RecordFinding['severity'], code: String(f.code).slice(0, 200), text: String(f.text).slice(0, 4000) }))
    : undefined;
  const u = unitFacts(e.unit);
  const names = [u.chipUid, u.serial, u.usbSerial].filter((x): x is string => !!x && x !== u.id).map((x) => x.slice(0, 200));
  const inputs = (e.inputs ?? []).slice(0, 64).map((i) => ({ name: String(i.name).slice(0, 300), sha256: String(i.sha256).slice(0, 128), ...(typeof i.size === 'number' ? { size: i.size } : {}) }));
  return {
    ...(found ? { findings: found } : {}),
    ...(inputs.length ? { inputs } : {}),
    ...(names.length ? { unitNames: names } : {}),
    ...(Object.keys(facts).length ? { details: bounded(facts, 0) as Json } : {}),
  };
}

/** Facts as the contract carries them (json() takes 8 levels): deeper parts, long lists and long texts are cut, so one odd entry never fails the whole list. */
function bounded(v: Json, depth: number): Json {
  if (typeof v === 'string') return v.length > 2000 ? `${v.slice(0, 2000)}…` : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 6) return '…';
  if (Array.isArray(v)) return v.slice(0, 100).map((x) => bounded(x, depth + 1));
  return Object.fromEntries(Object.entries(v).slice(0, 100).map(([k, x]) => [k, bounded(x, depth + 1)]));
}
type RecordFinding = NonNullable<RecordView['findings']>[number];

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
      const labDir = core.lab ? await core.lab.libraryDir() : undefined;
      const entries = new BundleLibrary(kind, { dir: src.dir })
        .entries()
        .filter((e) => !src.product || productKey(e.product) === productKey(src.product))
        .sort((a, b) => b.sequence - a.sequence)
        .map((e) => ({ ...entryView(kind, e), ...(src.dir === labDir ? { lab: true } : {}) }));
      // Without a device: everything a workflow may write, so the demo lab's own bundles are listed too (marked lab).
      if (!deviceId && labDir && labDir !== src.dir)
        entries.push(
          ...new BundleLibrary(kind, { dir: labDir })
            .entries()
            .sort((a, b) => b.sequence - a.sequence)
            .map((e) => ({ ...entryView(kind, e), lab: true })),
        );
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
    'trust.list': async () => {
      const roots: TrustRootView[] = [];
      const add = (dir: string, lab: boolean) => {
        if (!TrustStore.exists(dir)) return false;
        for (const c of TrustStore.load(dir).vendors()) roots.push(trustRootView(c, lab));
        return true;
      };
      const storeExists = add(core.opts.dataDir, false);
      if (core.lab) add(await core.lab.libraryDir(), true);
      return { storeExists, roots };
    },
    'trust.inspectRoot': ({ content }) => {
      const root = TrustStore.inspectRoot(new Uint8Array(Buffer.from(content, 'base64')));
      const signers = checkSignatures(root.envelope, roleRing(root, 'root'))
        .checks.filter((c) => c.status === 'valid')
        .map((c) => c.keyid);
      const m = root.meta;
      const trusted = TrustStore.exists(core.opts.dataDir) && !!TrustStore.load(core.opts.dataDir).chain(m.vendorId);
      return { vendorId: m.vendorId, vendorName: m.vendorName, version: m.version, expires: m.expires, signers: signers.slice(0, 64), alreadyTrusted: trusted };
    },
    'trust.addRoot': ({ content, fingerprint }) => {
      // The first root added makes the store, as `unbrick trust init` would.
      const store = TrustStore.exists(core.opts.dataDir) ? TrustStore.load(core.opts.dataDir) : TrustStore.init(core.opts.dataDir);
      const root = store.addRoot(new Uint8Array(Buffer.from(content, 'base64')), fingerprint);
      return trustRootView(store.chain(root.meta.vendorId)!, false);
    },
    'trust.removeRoot': ({ vendorId }) => {
      TrustStore.load(core.opts.dataDir).removeVendor(vendorId);
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
