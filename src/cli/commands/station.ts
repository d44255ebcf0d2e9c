/** `unbrick station`: the factory provisioning station (run a batch, control it, report on it). */
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { dataDir } from '../../core/paths.ts';
import { canonicalJson } from '../../core/canonical-json.ts';
import { ServiceLog, verifyLogText, type ServiceEntry, type VerifyResult } from '../../records/service-log.ts';
import { batchCsv, batchHtml, batchReport } from '../../station/batch-report.ts';
import { openStationRun, requestControl } from '../../station/setup.ts';
import { StationDb } from '../../station/shared-db.ts';
import type { StationSnapshot } from '../../station/station.ts';
import { defaultOperator } from '../../app/app-core.ts';
import { choiceOpt, intOpt, OUT_OPTION, requireString, stringOpt, TRACE_OPTIONS, writeOutOpt, type CommandContext, type CommandGroup } from '../framework.ts';
import { LINE_OPTIONS, linePolicyOpts, parallelOpt, portsOpt } from '../station-options.ts';

const dirOption = { 'data-dir': { type: 'string' as const, value: 'DIR', description: 'the data directory (trust store, service log, batches); default: the app data directory' } };
const dataDirOf = (ctx: CommandContext) => stringOpt(ctx, 'data-dir') ?? dataDir();

/** One line per change a person on the line needs to see. */
function describeChanges(prev: StationSnapshot | undefined, s: StationSnapshot): string[] {
  const out: string[] = [];
  if (!prev || prev.mode !== s.mode) out.push(s.mode === 'running' ? `LINE RUNNING (batch ${s.batch})` : `LINE ${s.mode === 'stopped' ? 'STOPPED' : 'PAUSED'}: ${s.reason ?? ''}`);
  for (const p of s.ports) {
    const before = prev?.ports.find((x) => x.id === p.id);
    if (before?.state === p.state && before.unit === p.unit) continue;
    if (p.state === 'running' && before?.state !== 'running') out.push(`${p.id}: running`);
    else if (p.state === 'pass') out.push(`${p.id}: PASS ${p.unit ?? ''}`);
    else if (p.state === 'fail') out.push(`${p.id}: FAIL ${p.unit ?? ''}: ${p.reason ?? ''}`);
    else if (p.state === 'disabled') out.push(`${p.id}: DISABLED: ${p.reason ?? ''}`);
  }
  return out;
}

/** Checks each station's chain in records read back from the line database. */
function verifyStations(entries: (ServiceEntry & { station?: string })[], byStation: Map<string, ServiceEntry[]>): VerifyResult {
  const problems: VerifyResult['problems'] = [];
  for (const [station, list] of byStation) {
    const v = verifyLogText(list.map((e) => canonicalJson(e) + '\n').join(''));
    for (const p of v.problems) if (p.code !== 'log.head-missing') problems.push({ ...p, message: `station ${station}: ${p.message}` });
  }
  return { ok: problems.length === 0, entries, head: '', problems };
}

export const stationGroup: CommandGroup = {
  name: 'station',
  summary: 'factory provisioning station: run a batch unattended, approve or resume it, report on it',
  commands: [
    {
      name: 'run',
      summary: 'provision every unit that appears on the ports with a provisioning bundle (Ctrl-C stops)',
      description:
        'Units are identified by their chip UID; each takes one entry of the per-unit data list (--data), once, even across crashes and stations (--db). ' +
        'Every attempt is recorded in the service log. The line pauses after the pilot lot (--pilot) until `unbrick station approve`, and stops itself when ' +
        'more than --threshold of the last --window units fail, until `unbrick station resume`. Bundles writing flash addresses provision STM32 units through their ROM bootloader; ' +
        'bundles of SMP images provision units in MCUboot serial recovery or running a Zephyr SMP application; a bundle with both provisions each unit by what its port answers. ' +
        'Per-unit data goes to --data-address on STM32 units, and through the application\'s settings (--data-setting) or file system (--data-file) on SMP units, after their image is in.',
      options: {
        ...dirOption,
        bundle: { type: 'string', value: 'FILE', description: 'the signed provisioning bundle (.ubundle)' },
        ...LINE_OPTIONS,
        'data-field': { type: 'string', value: 'NAME', description: 'write this entry field (hex) as raw bytes instead of the entry as JSON' },
        'data-setting': { type: 'string', value: 'KEY|FIELD=KEY,…', description: 'SMP units: settings key for the entry, or one key per field (serial=app/serial,mac=app/mac); saved, and checked after a restart' },
        'data-file': { type: 'string', value: 'PATH', description: 'SMP units: file for the entry (e.g. /lfs1/unit.json), used when the settings group is not set or not offered' },
        db: { type: 'string', value: 'URL', description: 'line database (PostgreSQL connection string; also UNBRICK_STATION_DB): shared data pool and records' },
        pool: { type: 'string', value: 'NAME', description: 'name of the shared data pool in the line database (default: the data file name)' },
        station: { type: 'string', value: 'NAME', description: 'this station\'s name on the line (default: the host name)' },
        operator: { type: 'string', value: 'WHO', description: 'who runs the line (default: user@host)' },
        'max-units': { type: 'string', value: 'N', description: 'stop after N units have finished (scripted runs)' },
        ...TRACE_OPTIONS,
      },
      async run(ctx) {
        const dir = dataDirOf(ctx);
        const parallel = parallelOpt(ctx);
        const maxUnits = intOpt(ctx, 'max-units');
        const run = await openStationRun(
          {
            bundle: requireString(ctx, 'bundle'),
            dataDir: dir,
            station: stringOpt(ctx, 'station') ?? hostname(),
            operator: stringOpt(ctx, 'operator') ?? defaultOperator(),
            ports: portsOpt(ctx),
            parallel,
            ...(stringOpt(ctx, 'batch') ? { batch: stringOpt(ctx, 'batch')! } : {}),
            ...linePolicyOpts(ctx),
            ...(stringOpt(ctx, 'data') ? { data: stringOpt(ctx, 'data')! } : {}),
            ...((stringOpt(ctx, 'db') ?? process.env.UNBRICK_STATION_DB) ? { db: (stringOpt(ctx, 'db') ?? process.env.UNBRICK_STATION_DB)! } : {}),
            ...(stringOpt(ctx, 'pool') ? { pool: stringOpt(ctx, 'pool')! } : {}),
            ...(intOpt(ctx, 'data-address') !== undefined ? { dataAddress: intOpt(ctx, 'data-address')! } : {}),
            ...(stringOpt(ctx, 'data-field') ? { dataField: stringOpt(ctx, 'data-field')! } : {}),
            ...(stringOpt(ctx, 'data-setting') ? { dataSetting: stringOpt(ctx, 'data-setting')! } : {}),
            ...(stringOpt(ctx, 'data-file') ? { dataFile: stringOpt(ctx, 'data-file')! } : {}),
            ...(ctx.values['allow-unprotect'] ? { allowUnprotect: true } : {}),
            ...(intOpt(ctx, 'uid-address') !== undefined ? { uidAddress: intOpt(ctx, 'uid-address')! } : {}),
            say: (l) => ctx.warn(l),
          },
          ctx.signal,
        );
        let prev: StationSnapshot | undefined;
        const show = (s: StationSnapshot) => {
          for (const line of describeChanges(prev, s)) ctx.warn(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
          prev = s;
        };
        ctx.warn(`Station ${run.station.snapshot().station}: batch ${run.batch} (${run.metadata.product.name} ${run.metadata.version}), ${parallel} at once. Ctrl-C stops.`);
        show(run.station.snapshot());
        const unsubscribe = run.station.onChange(show);
        // At the station's own keyboard: "approve" / "resume" typed in, besides the commands from another terminal.
        const keyboard = process.stdin.isTTY ? createInterface({ input: process.stdin }) : undefined;
        keyboard?.on('line', (l) => {
          const c = l.trim().toLowerCase();
          if (c === 'approve' || c === 'a') run.station.approvePilot();
          else if (c === 'resume' || c === 'r') run.station.resume();
        });
        if (keyboard) ctx.warn('Type "approve" after reviewing a pilot lot, "resume" after a stop.');
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) return resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
          if (maxUnits !== undefined) {
            const check = () => {
              const s = run.station.snapshot();
              if (s.passed + s.failed >= maxUnits && s.running === 0) resolve();
            };
            run.station.onChange(check);
            check();
          }
        });
        unsubscribe();
        keyboard?.close();
        await run.stop();
        const s = run.station.snapshot();
        const pool = run.pool ? await run.pool.status().catch(() => undefined) : undefined;
        return {
          exitCode: s.failed > 0 ? 1 : 0,
          data: { batch: run.batch, batchDir: run.batchDir, mode: s.mode, reason: s.reason, started: s.started, passed: s.passed, failed: s.failed, ports: s.ports, pool, sync: run.sync?.status },
          human: [
            `Batch ${run.batch}: ${s.passed} passed, ${s.failed} failed (${s.started} started).${s.mode !== 'running' ? ` Line ${s.mode}: ${s.reason ?? ''}` : ''}`,
            ...(pool ? [`Per-unit data: ${pool.committed} used, ${pool.reserved} reserved, ${pool.free} left of ${pool.total}.`] : []),
            ...(run.sync ? [`Line database: ${run.sync.status.online ? 'in sync' : `OFFLINE (${run.sync.status.pending} records to send)`}.`] : []),
            `Report: unbrick station report --batch ${run.batch}`,
          ],
        };
      },
    },
    ...(['approve', 'resume'] as const).map((what) => ({
      name: what,
      summary: what === 'approve' ? 'approve the pilot lot of a running batch so the line continues' : 'restart a line that stopped itself (after finding why)',
      options: { ...dirOption, batch: { type: 'string' as const, value: 'NAME', description: 'the batch' } },
      async run(ctx: CommandContext) {
        const batch = requireString(ctx, 'batch');
        const path = requestControl(dataDirOf(ctx), batch, what);
        return { data: { batch, requested: what, path }, human: [`Asked the station running batch ${batch} to ${what}.`] };
      },
    })),
    {
      name: 'report',
      summary: 'write a batch report (CSV, JSON or HTML) from the unit records',
      description: 'From this station\'s service log, or with --db from the line database (every station\'s records).',
      options: {
        ...dirOption,
        batch: { type: 'string', value: 'NAME', description: 'only this batch (default: every station record)' },
        format: { type: 'string', value: 'csv|json|html', description: 'report format', default: 'html' },
        ...OUT_OPTION,
        db: { type: 'string', value: 'URL', description: 'read the records of every station from the line database' },
      },
      async run(ctx) {
        const format = choiceOpt(ctx, 'format', ['csv', 'json', 'html'], 'html');
        const batch = stringOpt(ctx, 'batch');
        let verified: VerifyResult;
        let source: string;
        const url = stringOpt(ctx, 'db');
        if (url) {
          const db = await StationDb.connect(url, { station: 'report' });
          try {
            const rows = await db.query<{ station: string; entry: ServiceEntry }>('SELECT station, entry FROM station_unit_records ORDER BY station, seq');
            const byStation = new Map<string, ServiceEntry[]>();
            for (const r of rows) byStation.set(r.station, [...(byStation.get(r.station) ?? []), r.entry]);
            verified = verifyStations(
              rows.map((r) => r.entry),
              byStation,
            );
            source = `line database (${byStation.size} stations)`;
          } finally {
            await db.close();
          }
        } else {
          const log = ServiceLog.inDir(dataDirOf(ctx));
          verified = log.verify();
          source = log.path;
        }
        const report = batchReport(verified, source, batch !== undefined ? { batch } : {});
        const text = format === 'csv' ? batchCsv(report) : format === 'json' ? JSON.stringify(report, null, 2) + '\n' : batchHtml(report);
        const out = writeOutOpt(ctx, text);
        const t = report.totals;
        return {
          exitCode: report.log.intact ? 0 : 1,
          data: { ...(batch ? { batch } : {}), totals: t, failures: report.failures, intact: report.log.intact, ...(out ? { out } : { report }) },
          human: out
            ? [`Wrote ${out}: ${t.units} units, ${t.passed} passed, ${t.failed} failed, ${t.attempts} attempts; records ${report.log.intact ? 'intact' : 'FAILED their integrity check'}.`]
            : [text],
        };
      },
    },
  ],
};
