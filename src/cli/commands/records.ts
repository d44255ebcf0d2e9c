/** `unbrick records`: read, check and export the tamper-evident service log. */
import { choiceOpt, intOpt, OUT_OPTION, requireString, stringList, stringOpt, writeOutOpt, type CommandGroup, type CommandContext } from '../framework.ts';
import { traceAttachment } from '../../devices/wire-trace.ts';
import { dataDir } from '../../core/paths.ts';
import { usageError } from '../../core/errors.ts';
import { ServiceLog } from '../../records/service-log.ts';
import { reportHtml, unitReport } from '../../records/report.ts';
import { unitMatches } from '../../records/unit-identity.ts';
import { EXPORT_TARGETS, exportRecords, unitReleases, type ExportTarget } from '../../records/fleet-export.ts';
import { countFindings, formatLocalTime, outcomeWords } from '../../api/format.ts';

/** The findings a job recorded in its details (severity is what the outcome words count). */
const recordedFindings = (details: unknown): { severity: string }[] => {
  const f = (details as { findings?: unknown } | undefined)?.findings;
  return Array.isArray(f) ? f.filter((x): x is { severity: string } => !!x && typeof x === 'object' && typeof (x as { severity?: unknown }).severity === 'string') : [];
};

const dirOption = { 'data-dir': { type: 'string' as const, value: 'DIR', description: 'the data directory holding records/ (default: the app data directory)' } };
/** `--unit ID`: any identity records/unit-identity.ts matches a unit by. */
const unitOption = (role: string) => ({ unit: { type: 'string' as const, value: 'ID', description: `${role}: chip UID, serial, USB serial, image hash (8+ hex digits) or unit key` } });
const logOf = (ctx: CommandContext) => ServiceLog.inDir(stringOpt(ctx, 'data-dir') ?? dataDir());

export const recordsGroup: CommandGroup = {
  name: 'records',
  summary: 'read, verify and export the service log',
  defaultCommand: 'list',
  commands: [
    {
      name: 'verify',
      summary: 'check every entry, link and the head of the service log (exit 1 when tampered)',
      options: dirOption,
      async run(ctx) {
        const log = logOf(ctx);
        const v = log.verify();
        const human = v.ok
          ? [`Service log intact: ${v.entries.length} entries (${log.path}). Head ${v.head}.`, ...v.problems.map((p) => `note: ${p.message}`)]
          : [`Service log FAILED its integrity check (${log.path}):`, ...v.problems.map((p) => `  line ${p.line}: ${p.message} [${p.code}]`)];
        return { exitCode: v.ok ? 0 : 1, data: { path: log.path, ok: v.ok, entries: v.entries.length, head: v.head, problems: v.problems }, human };
      },
    },
    {
      name: 'list',
      summary: 'print the recorded actions (newest last)',
      options: {
        ...dirOption,
        ...unitOption("one unit's whole history"),
        limit: { type: 'string', value: 'N', description: 'only the last N entries' },
      },
      async run(ctx) {
        const v = logOf(ctx).verify();
        const unit = stringOpt(ctx, 'unit');
        let entries = unit ? v.entries.filter((e) => unitMatches(e.unit, unit)) : v.entries;
        const limit = intOpt(ctx, 'limit');
        if (limit !== undefined) entries = entries.slice(-limit);
        return {
          data: { ok: v.ok, entries },
          human: [
            // Local time with its zone; the outcome in words (a diagnosis with a critical finding is not "succeeded").
            ...entries.map((e) => `${String(e.seq).padStart(5)} ${formatLocalTime(e.time)} ${e.unit.id} ${e.action} ${outcomeWords(e.outcome, countFindings(recordedFindings(e.details))).word}: ${e.summary}`),
            v.ok ? `(${entries.length} shown; log intact)` : 'WARNING: the service log failed its integrity check; run `unbrick records verify`.',
          ],
        };
      },
    },
    {
      name: 'export',
      summary: 'per unit and release, what was done and how it ended, for a fleet system (aws-jobs, adu, mender, memfault, csv)',
      description: 'Shapes and what each system can take: docs/fleet.md. Only a release imported from that system (bundle create --from) carries the identifiers aws-jobs, adu and mender need; the others are listed as skipped.',
      options: {
        ...dirOption,
        to: { type: 'string', value: 'aws-jobs|adu|mender|memfault|csv', description: 'the system whose terms to use' },
        since: { type: 'string', value: 'DATE', description: 'only records from this UTC date or time on (2026-12-07, 2026-12-07T08:00:00Z)' },
        ...unitOption('only this unit'),
        'software-type': { type: 'string', value: 'NAME', description: "Memfault software_type of the unit's firmware (default main)" },
        ...OUT_OPTION,
      },
      async run(ctx) {
        const to = requireString(ctx, 'to');
        if (!(EXPORT_TARGETS as readonly string[]).includes(to)) throw usageError('usage.bad-target', `--to must be one of ${EXPORT_TARGETS.join(', ')}, not "${to}".`);
        const sinceText = stringOpt(ctx, 'since');
        const since = sinceText === undefined ? undefined : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(sinceText) ? `${sinceText}T00:00:00Z` : sinceText);
        if (since !== undefined && Number.isNaN(since)) throw usageError('usage.bad-date', `--since must be a date (2026-12-07) or UTC time (2026-12-07T08:00:00Z), not "${sinceText}".`);
        const unit = stringOpt(ctx, 'unit');
        const v = logOf(ctx).verify();
        const groups = unitReleases(v.entries, { ...(since !== undefined ? { since } : {}), ...(unit ? { unit: (e) => unitMatches(e.unit, unit) } : {}) });
        const softwareType = stringOpt(ctx, 'software-type');
        const r = exportRecords(groups, to as ExportTarget, softwareType ? { softwareType } : {});
        const out = writeOutOpt(ctx, r.text);
        const warn = v.ok ? [] : ['WARNING: the service log failed its integrity check; run `unbrick records verify`.'];
        return {
          exitCode: v.ok ? 0 : 1,
          data: { to, count: r.count, skipped: r.skipped, intact: v.ok, ...(out ? { out } : { text: r.text }) },
          human: out ? [`Wrote ${out}: ${r.count} unit/release outcome(s) for ${to}${r.skipped.length ? `; ${r.skipped.length} skipped (not from ${to})` : ''}.`, ...warn] : [r.text.trimEnd(), ...warn],
        };
      },
    },
    {
      name: 'report',
      summary: "write one unit's service report (HTML or JSON)",
      options: {
        ...dirOption,
        ...unitOption('the unit'),
        format: { type: 'string', value: 'html|json', description: 'report format', default: 'html' },
        ...OUT_OPTION,
        'attach-trace': { type: 'string', multiple: true, value: 'FILE', description: 'attach a wire trace recorded with --trace (raw and decoded)' },
      },
      async run(ctx) {
        const unit = requireString(ctx, 'unit');
        const traces = stringList(ctx, 'attach-trace').map((p) => traceAttachment(p));
        const format = choiceOpt(ctx, 'format', ['html', 'json'], 'html');
        const log = logOf(ctx);
        const report = unitReport(unit, log.path, log.verify(), new Date(), traces);
        const text = format === 'json' ? JSON.stringify(report, null, 2) + '\n' : reportHtml(report);
        const out = writeOutOpt(ctx, text);
        return {
          data: { unit, entries: report.entries.length, intact: report.log.intact, ...(out ? { out } : { report }) },
          human: out ? [`Wrote ${out}: ${report.entries.length} entries for ${unit}; log ${report.log.intact ? 'intact' : 'FAILED its integrity check'}.`] : [text],
        };
      },
    },
  ],
};
