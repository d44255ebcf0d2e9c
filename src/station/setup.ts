/**
 * Assembles a running station from its configuration: the verified
 * provisioning bundle, the recipe, the per-unit data pool (local journal, or
 * the line database when one is named), the service log and its sync, the
 * batch state, and the port watcher. The CLI, the server and the app share it.
 *
 * Operator decisions reach a running station through files in the batch's
 * `control/` folder (`approve`, `resume`), written by `unbrick station
 * approve|resume` from another terminal or by the app.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sha256Hex } from '../crypto/hash.ts';
import { ioError, usageError } from '../core/errors.ts';
import { defined } from '../core/defined.ts';
import { readPayloads } from '../formats/bundle/payloads.ts';
import type { BundleMetadata } from '../formats/bundle/metadata.ts';
import { ServiceLog } from '../records/service-log.ts';
import { checkBundle } from '../trust/check.ts';
import { PortWatcher, type PortLister } from '../devices/ports.ts';
import type { DataPool } from './data-pool.ts';
import { parseEntries, requireFields } from './data-source.ts';
import { LocalDataPool } from './local-pool.ts';
import { RecordSync } from './record-sync.ts';
import { stm32RomRecipe } from './recipes/stm32-rom.ts';
import { smpUnitRecipe } from './recipes/smp-unit.ts';
import { byUnitKind, probeUnitKind, type UnitKind } from './recipes/by-unit-kind.ts';
import { parseSettingTargets, requiredFields, type SmpDataTarget } from './recipes/smp-data.ts';
import { StationDb } from './shared-db.ts';
import { Station, type Recipe, type StationPort } from './station.ts';

export interface StationConfig {
  bundle: string;
  dataDir: string;
  station: string;
  operator: string;
  /** 'auto': every USB serial adapter; otherwise exactly these paths. */
  ports: 'auto' | string[];
  parallel: number;
  batch?: string;
  pilot?: number;
  window?: number;
  threshold?: number;
  data?: string;
  db?: string;
  pool?: string;
  dataAddress?: number;
  dataField?: string;
  /** SMP units: settings key for the whole entry, or FIELD=KEY pairs (see smp-data.ts). */
  dataSetting?: string;
  /** SMP units: file path for the entry, when the settings group is not configured or not offered. */
  dataFile?: string;
  allowUnprotect?: boolean;
  uidAddress?: number;
  pollMs?: number;
  /** The service log to record in (the app's own, so its screens see each record); default: the one in dataDir. */
  log?: ServiceLog;
  /** Port lister (tests); default: the OS list. */
  list?: PortLister;
  say?: (line: string) => void;
}

export interface StationRun {
  station: Station;
  batch: string;
  batchDir: string;
  metadata: BundleMetadata;
  pool?: DataPool;
  sync?: RecordSync;
  stop(): Promise<void>;
}

export const batchesDir = (dataDir: string) => join(dataDir, 'station', 'batches');
/** Local pool journals, one per data list (by name): shared by every batch that uses the list. */
export const poolsDir = (dataDir: string) => join(dataDir, 'station', 'pools');
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'batch';

export function defaultBatchName(md: BundleMetadata, now = new Date()): string {
  return safeName(`${md.product.name}-${md.version}-${now.toISOString().slice(0, 10)}`);
}

/** Asks a running station (any process) to approve its pilot lot or resume after a stop. */
export function requestControl(dataDir: string, batch: string, what: 'approve' | 'resume'): string {
  const dir = join(batchesDir(dataDir), safeName(batch));
  if (!existsSync(join(dir, 'batch.json'))) throw usageError('station.no-batch', `No station batch "${batch}" in ${batchesDir(dataDir)}.`);
  mkdirSync(join(dir, 'control'), { recursive: true });
  const path = join(dir, 'control', what);
  writeFileSync(path, new Date().toISOString());
  return path;
}

type RecipeConfig = Pick<StationConfig, 'data' | 'dataAddress' | 'dataField' | 'dataSetting' | 'dataFile' | 'allowUnprotect' | 'uidAddress'>;

/**
 * The per-unit data destination: the one the bundle signs, else the command
 * line's. A command-line option that contradicts the signed one is refused:
 * the reviewed recipe decides where serials and keys go, not the operator.
 */
export function withBundleData(md: BundleMetadata, cfg: RecipeConfig): RecipeConfig {
  const signed = md.provisioning?.data;
  if (!signed) return cfg;
  const pairs = [
    ['address', 'dataAddress', '--data-address'],
    ['field', 'dataField', '--data-field'],
    ['setting', 'dataSetting', '--data-setting'],
    ['file', 'dataFile', '--data-file'],
  ] as const;
  const out: RecipeConfig = { ...cfg };
  for (const [from, to, option] of pairs) {
    const v = signed[from];
    if (v === undefined) continue;
    if (cfg[to] !== undefined && cfg[to] !== v)
      throw usageError('station.data-conflict', `The bundle says per-unit data goes to ${from} ${typeof v === 'number' ? `0x${v.toString(16)}` : `"${v}"`}; ${option} says otherwise. The signed bundle decides: leave ${option} out.`);
    (out as Record<string, unknown>)[to] = v;
  }
  return out;
}

/** Where per-unit data goes on SMP units, from the configuration. */
export function smpDataTarget(cfg: RecipeConfig): SmpDataTarget | undefined {
  if (!cfg.dataSetting && !cfg.dataFile) return undefined;
  return {
    ...(cfg.dataSetting ? { settings: parseSettingTargets(cfg.dataSetting) } : {}),
    ...(cfg.dataFile ? { file: cfg.dataFile } : {}),
    ...(cfg.dataField !== undefined ? { rawField: cfg.dataField } : {}),
  };
}

/**
 * The recipe for the bundle's targets: flash addresses -> STM32 ROM bootloader;
 * SMP images -> MCUboot serial recovery or a Zephyr application. A bundle with
 * both provisions each unit by what its port answers (probed per unit): ROM
 * units get the address payloads and the option-byte policy, SMP units the images.
 * Per-unit data goes to a flash address on ROM units and to the application's
 * settings or file group on SMP units; a batch whose data has nowhere to go on
 * one kind of unit is refused before the line starts.
 */
export function recipeForBundle(md: BundleMetadata, payloads: Map<string, Uint8Array>, given: RecipeConfig, probe?: (handle: unknown, signal: AbortSignal) => Promise<UnitKind | undefined>): Recipe {
  const cfg = withBundleData(md, given);
  const smp = md.payloads.some((p) => p.target.kind === 'smp');
  const raw = md.payloads.some((p) => p.target.kind === 'address');
  const mixed = smp && raw;
  const recipes: Partial<Record<UnitKind, Recipe>> = {};
  if (smp) {
    const data = smpDataTarget(cfg);
    recipes.smp = smpUnitRecipe({ metadata: md, payloads, withData: !!cfg.data, mixed, ...(data ? { data } : {}) });
  }
  if (raw) {
    if (cfg.data && cfg.dataAddress === undefined)
      throw usageError('station.data-address', `--data needs a flash address for the per-unit data on STM32 units: the bundle's provisioning.data.address, or --data-address${mixed ? ' (SMP units use a settings key or a file: provisioning.data.setting / .file, or --data-setting / --data-file)' : ''}.`);
    recipes.stm32 = stm32RomRecipe({
      metadata: md,
      payloads,
      mixed,
      ...(cfg.allowUnprotect ? { allowUnprotect: true } : {}),
      ...defined({ dataAddress: cfg.dataAddress, dataField: cfg.dataField }),
      ...(cfg.uidAddress !== undefined ? { uidAddress: () => cfg.uidAddress! } : {}),
    });
  }
  if (!mixed) return (recipes.smp ?? recipes.stm32)!;
  return byUnitKind(recipes, probe ?? probeUnitKind);
}

export async function openStationRun(cfg: StationConfig, signal?: AbortSignal): Promise<StationRun> {
  const say = cfg.say ?? (() => {});
  const checked = await checkBundle(cfg.bundle, { dir: cfg.dataDir, signal, log: say });
  const md = checked.report.metadata;
  const payloads = await readPayloads(cfg.bundle, md);
  const recipe = recipeForBundle(md, payloads, cfg);
  const batch = safeName(cfg.batch ?? defaultBatchName(md));
  const batchDir = join(batchesDir(cfg.dataDir), batch);
  mkdirSync(batchDir, { recursive: true });
  const bundleBytes = readFileSync(cfg.bundle);
  const inputs = [{ name: basename(cfg.bundle), sha256: sha256Hex(bundleBytes), size: bundleBytes.length }];

  const closers: (() => Promise<void>)[] = [];
  let db: StationDb | undefined;
  let pool: DataPool | undefined;
  let sync: RecordSync | undefined;
  try {
    if (cfg.db) {
      // The shared data pool needs the database now; records alone can wait for the network.
      if (cfg.data) db = await StationDb.connect(cfg.db, { station: cfg.station });
      else {
        db = StationDb.lazy(cfg.db, { station: cfg.station });
        await db.ensureSchema().catch((e: Error) => say(`The line database is not reachable (${e.message}); recording locally and syncing when it is.`));
      }
      const d = db;
      closers.push(() => d.close());
    }
    if (cfg.data) {
      let text: string;
      try {
        text = readFileSync(cfg.data, 'utf8');
      } catch (e) {
        throw ioError('station.data-unreadable', `Cannot read the per-unit data list ${cfg.data}: ${(e as Error).message}`, undefined, e);
      }
      const entries = parseEntries(cfg.data, text);
      // Fields the SMP targets need must be in every entry: a missing one found on the line would strand a reserved entry.
      const target = smpDataTarget(cfg);
      const need = target ? requiredFields(target) : [];
      requireFields(entries, need, cfg.data);
      // The pool outlives batches: the next batch using the same list continues where this one stopped.
      const poolName = safeName(cfg.pool ?? basename(cfg.data));
      if (db) pool = await db.dataPool(poolName, entries);
      else pool = LocalDataPool.open({ entries, journalPath: join(poolsDir(cfg.dataDir), `${poolName}.journal`), station: cfg.station });
      const p = pool;
      closers.push(() => p.close());
    }
    const log = cfg.log ?? ServiceLog.inDir(cfg.dataDir);
    if (db) {
      sync = new RecordSync(db, log);
      sync.start();
      const s = sync;
      closers.unshift(async () => {
        await s.stop();
        await s.syncNow();
      });
    }
    const station = Station.open({
      dir: batchDir,
      log,
      recipe,
      batch,
      station: cfg.station,
      operator: cfg.operator,
      parallel: cfg.parallel,
      policy: { pilot: cfg.pilot ?? 0, ...(cfg.window ? { window: cfg.window } : {}), ...(cfg.threshold !== undefined ? { threshold: cfg.threshold } : {}) },
      ...(pool ? { pool } : {}),
      inputs,
    });
    const wanted = cfg.ports === 'auto' ? undefined : new Set(cfg.ports);
    const watcher = new PortWatcher(
      (handles) => {
        const ports: StationPort[] = handles.filter((h) => !wanted || wanted.has(h.port ?? '')).map((h) => ({ id: h.port ?? h.id, label: h.label, handle: h }));
        station.updatePorts(ports);
      },
      { ...(cfg.list ? { list: cfg.list } : {}), intervalMs: cfg.pollMs ?? 1000, ...(wanted ? { extraPaths: [...wanted] } : {}) },
    );
    watcher.start();
    const controlDir = join(batchDir, 'control');
    const control = setInterval(() => {
      if (!existsSync(controlDir)) return;
      for (const name of readdirSync(controlDir)) {
        try {
          unlinkSync(join(controlDir, name));
        } catch {
          continue;
        }
        if (name === 'approve') station.approvePilot();
        else if (name === 'resume') station.resume();
      }
    }, cfg.pollMs ?? 1000);
    return {
      station,
      batch,
      batchDir,
      metadata: md,
      ...(pool ? { pool } : {}),
      ...(sync ? { sync } : {}),
      async stop() {
        watcher.stop();
        clearInterval(control);
        await station.stop();
        for (const c of closers) await c().catch(() => {});
      },
    };
  } catch (e) {
    for (const c of closers) await c().catch(() => {});
    throw e;
  }
}
