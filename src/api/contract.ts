/**
 * The one contract between the UI and the core: every method the UI may call
 * (with its parameters and result) and every event the core pushes. Electron
 * IPC and the server's WebSocket carry exactly these messages; both ends parse
 * each incoming message with these schemas before acting on it.
 *
 * Pure TypeScript (no Node imports): the renderer bundles it.
 */
import { arr, bool, type Infer, json, literal, num, obj, oneOf, opt, record, str, tagged } from '../core/schema.ts';

export const API_VERSION = 1;

const id = str({ min: 1, max: 128, pattern: /^[A-Za-z0-9._:\-/]+$/ });
const text = str({ max: 4000 });
const isoTime = str({ max: 40 });

// ---- shared shapes ------------------------------------------------------------------

export const ErrorInfoSchema = obj({
  code: str({ max: 200 }),
  kind: oneOf(['check', 'usage', 'input', 'device', 'io', 'cancelled']),
  message: text,
  details: opt(json()),
});
export type ErrorInfo = Infer<typeof ErrorInfoSchema>;

export const SEVERITIES = ['ok', 'info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const FindingSchema = obj({
  severity: oneOf(SEVERITIES),
  code: str({ max: 200 }),
  /** What is wrong (or right), in plain words. */
  text,
  /** What to do next, in plain words. */
  action: opt(text),
});
export type Finding = Infer<typeof FindingSchema>;

export const DEVICE_KINDS = ['identifying', 'mcuboot-serial', 'zephyr-smp', 'stm32-rom', 'unknown'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const DeviceSummarySchema = obj({
  id,
  /** Where it is attached: a serial port path, or "lab:NAME" for a simulated unit. */
  port: str({ max: 300 }),
  label: str({ max: 200 }),
  kind: oneOf(DEVICE_KINDS),
  /** What answered, in plain words ("MCUboot serial recovery", "nothing known"). */
  summary: text,
  simulated: bool(),
  /** Id of the job using the device, when one is running. */
  busyJobId: opt(id),
  /** Worst severity of the last diagnosis, when there was one. */
  health: opt(oneOf(SEVERITIES)),
});
export type DeviceSummary = Infer<typeof DeviceSummarySchema>;

export const SlotSchema = obj({
  slot: num({ int: true, min: 0, max: 15 }),
  image: num({ int: true, min: 0, max: 15 }),
  version: opt(str({ max: 40 })),
  hash: opt(str({ max: 128 })),
  state: oneOf(['empty', 'valid', 'invalid', 'unknown']),
  /** MCUboot image flags as words: active, confirmed, pending, permanent, bootable. */
  flags: arr(oneOf(['active', 'confirmed', 'pending', 'permanent', 'bootable']), { max: 5 }),
  /** Name of the golden image this slot matches, when it matches one. */
  golden: opt(str({ max: 200 })),
});
export type Slot = Infer<typeof SlotSchema>;

export const ChipSchema = obj({
  name: str({ max: 100 }),
  productId: str({ max: 10 }),
  uid: opt(str({ max: 64 })),
  bootloaderVersion: opt(str({ max: 10 })),
  flashKiB: opt(num({ int: true, min: 0 })),
  rdp: oneOf(['0', '1', '2', 'unknown']),
  /** Write-protection per flash sector or page group, as reported by the option bytes. */
  sectors: arr(
    obj({
      index: num({ int: true, min: 0 }),
      writeProtected: bool(),
      label: opt(str({ max: 60 })),
      /** Where the sector starts and how big it is (sectors differ in size on F2/F4/F7 parts): the flash map draws them to scale. */
      address: opt(num({ int: true, min: 0 })),
      size: opt(num({ int: true, min: 1 })),
    }),
    { max: 4096 },
  ),
  optionBytes: arr(obj({ name: str({ max: 40 }), value: str({ max: 40 }), meaning: text }), { max: 64 }),
});
export type Chip = Infer<typeof ChipSchema>;

/** A named region of the product's flash layout (bootloader, slot 0, slot 1, scratch, storage). */
export const FlashRegionViewSchema = obj({ name: str({ max: 60 }), address: num({ int: true, min: 0 }), size: num({ int: true, min: 1 }) });
export type FlashRegionView = Infer<typeof FlashRegionViewSchema>;

export const DiagnosisSchema = obj({
  at: isoTime,
  findings: arr(FindingSchema, { max: 200 }),
  slots: opt(arr(SlotSchema, { max: 16 })),
  chip: opt(ChipSchema),
  /** The product's flash layout, when a golden bundle gives it, and which bundle said so. */
  regions: opt(arr(FlashRegionViewSchema, { max: 16 })),
  layoutSource: opt(str({ max: 300 })),
});
export type Diagnosis = Infer<typeof DiagnosisSchema>;

export const DeviceDetailSchema = obj({
  device: DeviceSummarySchema,
  identity: arr(obj({ name: str({ max: 60 }), value: str({ max: 200 }) }), { max: 32 }),
  diagnosis: opt(DiagnosisSchema),
  /** When the identity was last read from the unit (absent: never since it was plugged in). */
  identityAt: opt(isoTime),
  /** A job wrote to the unit and the app is reading identity and diagnosis again: what is shown is older. */
  refreshing: opt(bool()),
});
export type DeviceDetail = Infer<typeof DeviceDetailSchema>;

export const ProgressSchema = obj({
  phase: str({ max: 200 }),
  done: num({ min: 0 }),
  total: num({ min: 0 }),
  rate: opt(num({ min: 0 })),
  eta: opt(num({ min: 0 })),
});
export type ProgressInfo = Infer<typeof ProgressSchema>;

export const WORKFLOWS = ['detect', 'diagnose', 'recover', 'unbrick', 'update'] as const;
export type WorkflowName = (typeof WORKFLOWS)[number];

export const JOB_STATES = ['running', 'waiting', 'succeeded', 'failed', 'cancelled', 'refused'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const STEP_STATES = ['pending', 'running', 'done', 'skipped', 'failed', 'cancelled'] as const;

export const LogLineSchema = obj({ time: isoTime, level: oneOf(['info', 'warn', 'error']), message: text });
export type LogLine = Infer<typeof LogLineSchema>;

export const JobSnapshotSchema = obj({
  id,
  /** Grows with every change: a client keeps the snapshot with the highest revision (events and replies may cross). */
  revision: num({ int: true, min: 0 }),
  workflow: oneOf(WORKFLOWS),
  deviceId: id,
  state: oneOf(JOB_STATES),
  steps: arr(obj({ id, title: str({ max: 200 }), state: oneOf(STEP_STATES), detail: opt(text) }), { max: 64 }),
  progress: opt(ProgressSchema),
  /** Set while the job waits for the user to allow a destructive step. */
  confirmation: opt(obj({ stepId: id, title: str({ max: 200 }), message: text, confirmLabel: str({ max: 60 }) })),
  error: opt(ErrorInfoSchema),
  result: opt(obj({ summary: text, findings: opt(arr(FindingSchema, { max: 200 })) })),
  /** True when a failed or cancelled job can continue from where it stopped. */
  resumable: bool(),
  startedAt: isoTime,
  endedAt: opt(isoTime),
  log: arr(LogLineSchema, { max: 500 }),
  /** Started by the app itself (detect on plug-in, re-reading a unit after a write), not by the user. */
  automatic: opt(bool()),
});
export type JobSnapshot = Infer<typeof JobSnapshotSchema>;

export const RecordViewSchema = obj({
  seq: num({ int: true, min: 0 }),
  time: isoTime,
  unitId: str({ max: 200 }),
  action: str({ max: 60 }),
  operator: str({ max: 200 }),
  outcome: oneOf(['succeeded', 'failed', 'cancelled', 'refused', 'info']),
  summary: text,
  hash: str({ max: 64 }),
  /** What a diagnosis (or any job) found, as recorded: the outcome words count the critical ones. */
  findings: opt(arr(obj({ severity: oneOf(SEVERITIES), code: str({ max: 200 }), text }), { max: 200 })),
  /** Files and images used (bundle, golden image), with their SHA-256. */
  inputs: opt(arr(obj({ name: str({ max: 300 }), sha256: str({ max: 128 }), size: opt(num({ int: true, min: 0 })) }), { max: 64 })),
  /** The unit's other names in this entry (chip UID, serial, USB serial), so a search finds it by any of them. */
  unitNames: opt(arr(str({ max: 200 }), { max: 8 })),
  /** The job's recorded facts (versions before and after, protection, link), for the opened record. */
  details: opt(json()),
});
export type RecordView = Infer<typeof RecordViewSchema>;

export const ChainStatusSchema = obj({
  ok: bool(),
  entries: num({ int: true, min: 0 }),
  head: str({ max: 64 }),
  problems: arr(obj({ line: num({ int: true, min: 0 }), code: str({ max: 100 }), message: text }), { max: 1000 }),
});
export type ChainStatus = Infer<typeof ChainStatusSchema>;

/** A trusted vendor root as the Bundles screen lists it. */
export const TrustRootSchema = obj({
  vendorId: str({ max: 64 }),
  vendorName: str({ max: 100 }),
  version: num({ int: true, min: 0 }),
  expires: isoTime,
  /** The root key fingerprint a person confirmed when the vendor was added. */
  fingerprint: str({ max: 128 }),
  addedAt: isoTime,
  lab: opt(bool()),
});
export type TrustRootView = Infer<typeof TrustRootSchema>;

// ---- workflow options -----------------------------------------------------------------

export const WorkflowOptionsSchemas = {
  detect: obj({}),
  diagnose: obj({}),
  recover: obj({ goldenId: opt(str({ max: 200 })) }),
  unbrick: obj({ bundleId: opt(str({ max: 200 })) }),
  update: obj({ bundleId: opt(str({ max: 200 })), confirm: opt(bool()) }),
} as const;
export type WorkflowOptions = { [W in WorkflowName]: Infer<(typeof WorkflowOptionsSchemas)[W]> };

/** A verified bundle in the golden or update library: what a workflow can write. */
export const LibraryEntrySchema = obj({
  id,
  kind: oneOf(['golden', 'update']),
  product: str({ max: 100 }),
  version: str({ max: 64 }),
  sequence: num({ int: true, min: 0 }),
  expires: isoTime,
  payloads: arr(obj({ name: str({ max: 100 }), target: str({ max: 40 }), version: opt(str({ max: 40 })) }), { max: 32 }),
  /** The demo lab's own bundle (signed under the lab-only root): demo units use it; it is not in this app's library. */
  lab: opt(bool()),
  /** An imported fleet release: the source system, its identifiers, and what proved it (docs/fleet.md). */
  provenance: opt(obj({ system: str({ max: 40 }), identifiers: record(str({ max: 512 }), { max: 32 }), proof: str({ max: 800 }) })),
});
export type LibraryEntryView = Infer<typeof LibraryEntrySchema>;

const startParams = <W extends WorkflowName>(w: W) =>
  obj({
    workflow: literal(w),
    deviceId: id,
    options: opt(WorkflowOptionsSchemas[w]),
    /**
     * Steps whose confirmation the user gave up front, in the one plan shown before starting
     * (e.g. ["readout-unprotect", "lift-wrp", "write"]): the job does not ask again for them.
     * A confirmation of any other step is still asked.
     */
    approved: opt(arr(id, { max: 16 })),
  });

// ---- factory station (shapes; its methods and events are the last block of each table) ------

export const STATION_PORT_STATES = ['idle', 'running', 'pass', 'fail', 'disabled'] as const;
export const STATION_MODES = ['running', 'pilot-review', 'stopped'] as const;
const portPath = str({ min: 1, max: 300 });
const filePath = str({ min: 1, max: 4000 });

export const StationPortSchema = obj({
  /** The port's path (its stable key). */
  id: portPath,
  label: opt(str({ max: 200 })),
  state: oneOf(STATION_PORT_STATES),
  /** A unit is plugged into this port now. */
  present: bool(),
  /** The unit running or last finished here: chip UID (or serial). */
  unit: opt(str({ max: 200 })),
  serial: opt(str({ max: 200 })),
  chip: opt(str({ max: 100 })),
  step: opt(str({ max: 100 })),
  elapsedMs: opt(num({ min: 0 })),
  /** 0..1, estimated from the step timings of the last unit that passed; absent until one has. */
  progress: opt(num({ min: 0, max: 1 })),
  /** Why the unit failed or the port is disabled, in plain words. */
  reason: opt(text),
  code: opt(str({ max: 200 })),
  /** The failure is the fixture's (no unit answered: adapter, cable or socket), not the unit's: the unit is not to be scrapped. */
  fixtureFault: opt(bool()),
});
export type StationPort = Infer<typeof StationPortSchema>;

export const StationRunSchema = obj({
  batch: str({ max: 200 }),
  station: str({ max: 200 }),
  product: str({ max: 200 }),
  version: str({ max: 60 }),
  /** The bundle's file name. */
  bundle: str({ max: 300 }),
  /** A demo line of simulated units (records go to a temporary folder). */
  demo: bool(),
  /** Where this station's service log and batch state are. */
  dataDir: str({ max: 4000 }),
  mode: oneOf(STATION_MODES),
  /** Why the line is paused or stopped, in plain words. */
  reason: opt(text),
  parallel: num({ int: true, min: 1 }),
  started: num({ int: true, min: 0 }),
  passed: num({ int: true, min: 0 }),
  failed: num({ int: true, min: 0 }),
  running: num({ int: true, min: 0 }),
  /** How long the station has run (for units per hour). */
  elapsedMs: opt(num({ min: 0 })),
  /** Of the failed, how many were faults of the fixture (no unit answered): not the units' yield. */
  fixtureFaults: opt(num({ int: true, min: 0 })),
  pool: opt(obj({ total: num({ int: true, min: 0 }), free: num({ int: true, min: 0 }), reserved: num({ int: true, min: 0 }), committed: num({ int: true, min: 0 }) })),
  ports: arr(StationPortSchema, { max: 256 }),
});
export type StationRunView = Infer<typeof StationRunSchema>;

export const StationStatusSchema = obj({
  /** Grows with every change: a client keeps the status with the highest revision. */
  revision: num({ int: true, min: 0 }),
  /** Absent when no station runs in this app. */
  run: opt(StationRunSchema),
  /** Why the last start failed or the station stopped by itself. */
  error: opt(ErrorInfoSchema),
  /** Whether `station.startDemo` is available (demo lab on, no station running). */
  demoAvailable: bool(),
});
export type StationStatus = Infer<typeof StationStatusSchema>;

export const StationStartSchema = obj({
  /** Provisioning bundle file, as a path on the machine running the station. */
  bundle: filePath,
  /** Port paths to watch; absent: every USB serial adapter. */
  ports: opt(arr(portPath, { max: 256 })),
  parallel: opt(num({ int: true, min: 1, max: 64 })),
  pilot: opt(num({ int: true, min: 0, max: 1_000_000 })),
  /** Failure-rate stop: over the last `window` units (default 20), more than `threshold` (0..1, default 0.2) failed. */
  window: opt(num({ int: true, min: 1, max: 10_000 })),
  threshold: opt(num({ min: 0, max: 1 })),
  /** Per-unit data list (CSV or JSON) on the station machine. */
  data: opt(filePath),
  dataAddress: opt(num({ int: true, min: 0, max: 0xffff_ffff })),
  uidAddress: opt(num({ int: true, min: 0, max: 0xffff_ffff })),
  batch: opt(str({ min: 1, max: 80 })),
  allowUnprotect: opt(bool()),
});
export type StationStart = Infer<typeof StationStartSchema>;

// ---- methods ------------------------------------------------------------------------------

const empty = obj({});
const ok = obj({ ok: literal(true) });

export const methods = {
  'app.info': {
    params: empty,
    result: obj({ version: str({ max: 40 }), apiVersion: num({ int: true }), mode: oneOf(['electron', 'server']), lab: bool(), dataDir: str({ max: 1000 }) }),
  },
  'devices.list': { params: empty, result: obj({ devices: arr(DeviceSummarySchema, { max: 256 }) }) },
  'devices.get': { params: obj({ deviceId: id }), result: DeviceDetailSchema },
  'jobs.start': {
    params: tagged('workflow', {
      detect: startParams('detect'),
      diagnose: startParams('diagnose'),
      recover: startParams('recover'),
      unbrick: startParams('unbrick'),
      update: startParams('update'),
    }),
    result: JobSnapshotSchema,
  },
  'jobs.get': { params: obj({ jobId: id }), result: JobSnapshotSchema },
  'jobs.list': { params: empty, result: obj({ jobs: arr(JobSnapshotSchema, { max: 1000 }) }) },
  'jobs.cancel': { params: obj({ jobId: id }), result: JobSnapshotSchema },
  'jobs.resume': { params: obj({ jobId: id }), result: JobSnapshotSchema },
  /** Answers a job's confirmation request: allow or decline the destructive step. */
  'jobs.confirm': { params: obj({ jobId: id, stepId: id, allow: bool() }), result: JobSnapshotSchema },
  'records.list': {
    params: obj({
      /** Entries filed under exactly this unit key. */
      unitId: opt(str({ max: 200 })),
      /** A unit's whole history: entries naming it by key, chip UID, USB serial, serial or image hash (8+ hex digits of it). */
      unit: opt(str({ max: 200 })),
      limit: opt(num({ int: true, min: 1, max: 10_000 })),
    }),
    result: obj({ entries: arr(RecordViewSchema, { max: 10_000 }), chain: ChainStatusSchema }),
  },
  'records.report': {
    /** attachTrace: include the latest wire trace recorded with the support.trace setting (raw and decoded). */
    params: obj({ unitId: str({ min: 1, max: 200 }), format: oneOf(['json', 'html']), attachTrace: opt(bool()) }),
    result: obj({ filename: str({ max: 200 }), mime: str({ max: 60 }), content: str({ max: 3 << 20 }) }),
  },
  /** The "record a wire trace" setting: every byte exchanged with devices, for support. Without `enabled`: the current state. */
  'support.trace': { params: obj({ enabled: opt(bool()) }), result: obj({ recording: bool(), path: opt(str({ max: 1000 })) }) },
  /** Demo lab only: its units, plugged or not, and whether this build can simulate each. */
  'lab.list': {
    params: empty,
    result: obj({ units: arr(obj({ id, label: str({ max: 200 }), story: text, plugged: bool(), available: bool() }), { max: 64 }) }),
  },
  /** Demo lab only: plug or unplug a simulated unit's cable. */
  'lab.plug': { params: obj({ unitId: id, plugged: bool() }), result: ok },
  /** The bundles a workflow on this device can write (its golden or update library; lab units have the lab's), newest first. Without a device: this app's libraries. */
  'library.list': { params: obj({ deviceId: opt(id), kind: oneOf(['golden', 'update']) }), result: obj({ entries: arr(LibraryEntrySchema, { max: 1000 }) }) },
  /** Adding a bundle file from the UI: announced, sent in chunks (base64, at most 1 MiB each, in order), then verified and imported into the library its metadata names. */
  'library.importBegin': { params: obj({ filename: str({ min: 1, max: 255 }), size: num({ int: true, min: 1 }) }), result: obj({ uploadId: id }) },
  'library.importChunk': { params: obj({ uploadId: id, offset: num({ int: true, min: 0 }), data: str({ max: 1_398_104 }) }), result: obj({ received: num({ int: true, min: 0 }) }) },
  'library.importEnd': { params: obj({ uploadId: id }), result: obj({ entry: LibraryEntrySchema, alreadyPresent: bool() }) },
  'library.importAbort': { params: obj({ uploadId: id }), result: ok },
  /** Re-hashes and fully re-verifies one entry of this app's libraries now (a key revoked since import, a changed file). */
  'library.check': { params: obj({ kind: oneOf(['golden', 'update']), bundleId: id }), result: obj({ ok: bool(), code: opt(str({ max: 200 })), message: opt(text) }) },
  /** Removes an entry from this app's golden or update library. */
  'library.remove': { params: obj({ kind: oneOf(['golden', 'update']), bundleId: id }), result: ok },
  /** The vendor roots this app trusts (bundles are checked against them); the demo lab's own root is listed as lab. */
  'trust.list': {
    params: empty,
    result: obj({ storeExists: bool(), roots: arr(TrustRootSchema, { max: 1000 }) }),
  },
  /** Reads a root file (base64) and says what a person must confirm before trusting it: its vendor and the fingerprints of the root keys that signed it. Changes nothing. */
  'trust.inspectRoot': {
    params: obj({ content: str({ min: 1, max: 1_398_104 }) }),
    result: obj({ vendorId: str({ max: 64 }), vendorName: str({ max: 100 }), version: num({ int: true, min: 0 }), expires: isoTime, signers: arr(str({ max: 128 }), { max: 64 }), alreadyTrusted: bool() }),
  },
  /** Trusts a vendor's first root, once the person confirmed the fingerprint of a root key that signed it (as `unbrick trust add-root --fingerprint`). */
  'trust.addRoot': { params: obj({ content: str({ min: 1, max: 1_398_104 }), fingerprint: str({ min: 16, max: 128 }) }), result: TrustRootSchema },
  /** Stops trusting a vendor: its bundles are refused from then on. */
  'trust.removeRoot': { params: obj({ vendorId: str({ min: 1, max: 64 }) }), result: ok },

  // ---- factory station screen (keep this block last) ----
  'station.status': { params: empty, result: StationStatusSchema },
  /** Starts provisioning with a bundle known to the station machine. */
  'station.start': { params: StationStartSchema, result: StationStatusSchema },
  /** Demo lab only: a small line of simulated blank units, a lab-signed bundle, and its faulty units. */
  'station.startDemo': {
    params: obj({ units: opt(num({ int: true, min: 1, max: 16 })), pilot: opt(num({ int: true, min: 0, max: 16 })), window: opt(num({ int: true, min: 1, max: 100 })), threshold: opt(num({ min: 0, max: 1 })), deadSocket: opt(bool()) }),
    result: StationStatusSchema,
  },
  /** Stops starting units; running ones are aborted and recorded as stopped. */
  'station.stop': { params: empty, result: StationStatusSchema },
  'station.approvePilot': { params: empty, result: StationStatusSchema },
  'station.resume': { params: empty, result: StationStatusSchema },
  'station.enablePort': { params: obj({ port: portPath }), result: StationStatusSchema },
  /** Demo line only: pull the finished units and plug fresh blank ones into those ports. */
  'station.demoNextUnits': { params: empty, result: StationStatusSchema },
} as const;

export type MethodName = keyof typeof methods;
export type Params<M extends MethodName> = Infer<(typeof methods)[M]['params']>;
export type Result<M extends MethodName> = Infer<(typeof methods)[M]['result']>;

// ---- events ---------------------------------------------------------------------------------

export const events = {
  'devices.changed': obj({ devices: arr(DeviceSummarySchema, { max: 256 }) }),
  'job.updated': obj({ job: JobSnapshotSchema }),
  'records.appended': obj({ seq: num({ int: true, min: 0 }), unitId: str({ max: 200 }) }),
  // ---- factory station screen (keep this block last) ----
  /** Coalesced: at most a few per second, and while units run at least every half second. */
  'station.changed': StationStatusSchema,
} as const;

export type EventName = keyof typeof events;
export type EventData<E extends EventName> = Infer<(typeof events)[E]>;

// ---- envelopes -------------------------------------------------------------------------------

/** UI -> core. */
export interface RequestMessage {
  type: 'request';
  id: number;
  method: string;
  params: unknown;
}

/** core -> UI. */
export type ResponseMessage =
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: ErrorInfo };
export interface EventMessage {
  type: 'event';
  event: string;
  data: unknown;
}
export type ServerMessage = ResponseMessage | EventMessage;

/** Largest message either side accepts (a report is the biggest thing sent). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
