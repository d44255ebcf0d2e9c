/**
 * Per-unit service reports for support staff: every recorded action on one
 * unit, with the log's integrity verdict, as JSON (for tools) and as a single
 * self-contained HTML page (no scripts, prints cleanly).
 */
import type { ServiceEntry, VerifyResult } from './service-log.ts';
import { unitMatches } from './unit-identity.ts';
import { escapeHtml } from '../core/html.ts';
import { renderFlashMap, type FlashMapModel } from '../api/flash-map.ts';
import { countFindings, formatLocalTime, formatOsInfo, formatVersionChange, outcomeWords, versionsOf } from '../api/format.ts';

export interface UnitReport {
  format: 'unbrick-unit-report';
  version: 1;
  unitId: string;
  generatedAt: string;
  /** Identity fields as last recorded (serial, chip UID, bootloader, …). */
  identity: Record<string, string>;
  log: { path: string; intact: boolean; head: string; entries: number; problems: VerifyResult['problems'] };
  entries: ServiceEntry[];
  /** Wire traces attached for support: the file, its raw text (what tools re-read) and the decoded view. */
  traces?: TraceAttachment[];
}

export interface TraceAttachment {
  name: string;
  /** The trace file as recorded (JSON lines). */
  text: string;
  /** Its decoded view (`unbrick trace show`). */
  view: string[];
}

export function unitReport(unitId: string, logPath: string, verified: VerifyResult, now = new Date(), traces: TraceAttachment[] = []): UnitReport {
  // The unit's whole history: every entry that names it by key, chip UID, serial or image hash.
  const entries = verified.entries.filter((e) => unitMatches(e.unit, unitId));
  const identity: Record<string, string> = {};
  for (const e of entries) for (const [k, v] of Object.entries(e.unit ?? {})) if (v !== undefined) identity[k] = Array.isArray(v) ? v.join(', ') : v;
  return {
    format: 'unbrick-unit-report',
    version: 1,
    unitId,
    generatedAt: now.toISOString(),
    identity,
    log: { path: logPath, intact: verified.ok, head: verified.head, entries: verified.entries.length, problems: verified.problems },
    entries,
    ...(traces.length ? { traces } : {}),
  };
}

const esc = escapeHtml;

/** An imported fleet release's origin (details.provenance, docs/fleet.md), on one line. */
function provenanceHtml(p: unknown): string {
  const v = p as { system?: unknown; identifiers?: Record<string, unknown>; proof?: { method?: unknown; fingerprint?: unknown } } | undefined;
  if (!v || typeof v.system !== 'string') return '';
  const ids = Object.entries(v.identifiers ?? {})
    .filter(([, x]) => typeof x === 'string')
    .map(([k, x]) => `${esc(k)} ${esc(x)}`)
    .join(', ');
  const proof = v.proof && typeof v.proof.method === 'string' ? `; proved by ${esc(v.proof.method)}${typeof v.proof.fingerprint === 'string' ? ` ${esc(v.proof.fingerprint.slice(0, 16))}…` : ''}` : '';
  return `<div class="inputs">Release from ${esc(v.system)}: ${ids}${proof}</div>`;
}

export interface ReportHtmlOptions {
  /** The zone times are written in (minutes east of UTC); default: this machine's zone at each time. */
  offsetMinutesEast?: number;
  /**
   * The unit's flash map as inline SVG (the pure flash-map renderer's output),
   * when one is drawn for it. Without it the report says no map was drawn.
   */
  flashMapSvg?: string;
}

type RecordedFinding = { severity: string; code?: string; text: string };

/**
 * The map the latest diagnosis recorded (`details.flashMap`, see workflows/diagnose.ts), drawn with its time,
 * so a report made without the unit still shows it. A recorded map that does not draw is left out, not fatal.
 */
function recordedMap(entries: ServiceEntry[], when: (iso: string) => string): string | undefined {
  const e = [...entries].reverse().find((x) => x.action === 'diagnose' && isMapModel(x.details?.flashMap));
  if (!e) return undefined;
  try {
    return `<p>As read by the diagnosis of ${esc(when(e.time))}.</p>${renderFlashMap(e.details!.flashMap as unknown as FlashMapModel, { idPrefix: `fm${e.seq}` })}`;
  } catch {
    return undefined;
  }
}

function isMapModel(v: unknown): boolean {
  const m = v as Partial<FlashMapModel> | undefined;
  return !!m && typeof m === 'object' && typeof m.base === 'number' && typeof m.size === 'number' && m.size > 0 && Array.isArray(m.regions) && Array.isArray(m.sectors);
}

function findingsOf(e: ServiceEntry): RecordedFinding[] {
  const f = (e.details as { findings?: unknown } | undefined)?.findings;
  return Array.isArray(f) ? f.filter((x): x is RecordedFinding => !!x && typeof x === 'object' && typeof (x as RecordedFinding).text === 'string') : [];
}

const SEVERITY_WORDS: Record<string, string> = { critical: 'CRITICAL', warning: 'Warning', info: 'Note', ok: 'OK' };

/**
 * The report as one self-contained HTML page. Times are local with their zone
 * named (a reader in another office is never left guessing), no path on the
 * technician's computer is printed (the JSON report keeps it for tools), and
 * each action shows its outcome in words, its findings and the versions it
 * saw before and after.
 */
export function reportHtml(r: UnitReport, opts: ReportHtmlOptions = {}): string {
  const when = (iso: string) => formatLocalTime(iso, opts.offsetMinutesEast !== undefined ? { offsetMinutesEast: opts.offsetMinutesEast } : {});
  const rows = r.entries
    .map((e) => {
      const found = findingsOf(e);
      const o = outcomeWords(e.outcome, countFindings(found));
      const v = versionsOf(e.details);
      return `<tr class="${esc(o.tone)}"><td>${esc(e.seq)}</td><td>${esc(when(e.time))}</td><td>${esc(e.action)}</td><td><b>${esc(o.word)}</b></td><td>${esc(e.operator)}</td><td>${esc(e.summary)}${
        found.length ? `<ul class="findings">${found.map((f) => `<li><b>${esc(SEVERITY_WORDS[f.severity] ?? f.severity)}:</b> ${esc(f.text)}</li>`).join('')}</ul>` : ''
      }${e.inputs?.length ? `<div class="inputs">${e.inputs.map((i) => `${esc(i.name)}: <code>${esc(i.sha256)}</code>`).join('<br>')}</div>` : ''}${provenanceHtml(e.details?.provenance)}</td><td>${
        v ? esc(formatVersionChange(v.before, v.after)) : '—'
      }</td><td><code>${esc(e.hash.slice(0, 16))}…</code></td></tr>`;
    })
    .join('\n');
  const ident = Object.entries(r.identity)
    .filter(([k]) => k !== 'port')
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(k === 'os' ? formatOsInfo(v) : v)}</td></tr>`)
    .join('');
  // The latest diagnosis is the unit's state as last read: its findings open the report.
  const lastDiagnosis = [...r.entries].reverse().find((e) => e.action === 'diagnose' && findingsOf(e).length);
  const lastWrite = [...r.entries].reverse().find((e) => versionsOf(e.details));
  const state = lastDiagnosis
    ? `<h2>Findings (diagnosis of ${esc(when(lastDiagnosis.time))})</h2><ul class="findings">${findingsOf(lastDiagnosis)
        .map((f) => `<li class="${esc(f.severity)}"><b>${esc(SEVERITY_WORDS[f.severity] ?? f.severity)}:</b> ${esc(f.text)}</li>`)
        .join('')}</ul>${lastWrite && lastWrite.seq > lastDiagnosis.seq ? `<p class="note">A job wrote to the unit after this diagnosis (entry ${esc(lastWrite.seq)}); these findings may be out of date.</p>` : ''}`
    : '<h2>Findings</h2><p>No diagnosis recorded for this unit.</p>';
  const versions = lastWrite ? `<p>Versions: <b>${esc(formatVersionChange(versionsOf(lastWrite.details)!.before, versionsOf(lastWrite.details)!.after))}</b> (${esc(lastWrite.action)}, ${esc(when(lastWrite.time))}).</p>` : '';
  const map = `<h2>Flash map</h2>\n<div class="flash-map" data-slot="flash-map">${opts.flashMapSvg ?? recordedMap(r.entries, when) ?? '<p>No flash map was drawn for this unit in this report.</p>'}</div>`;
  const integrity = r.log.intact
    ? `<p class="ok">Service log intact: ${r.log.entries} entries, every hash and link checked. Head <code>${esc(r.log.head)}</code>.</p>`
    : `<div class="bad"><p><b>Warning:</b> the service log failed its integrity check. Entries below may have been changed or removed.</p><ul>${r.log.problems
        .map((p) => `<li>${esc(p.message)} <small>(${esc(p.code)})</small></li>`)
        .join('')}</ul></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Service report: ${esc(r.unitId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
.ok{color:#155724;background:#d4edda;padding:.5em}.bad{color:#721c24;background:#f8d7da;padding:.5em}
pre{font-size:11px;white-space:pre;overflow:auto}tr.bad td{background:#fdecea}tr.warn td{background:#fff4e5}code{font-size:12px}.inputs{color:#555;font-size:12px}
ul.findings{margin:.3em 0;padding-left:1.2em}li.critical{color:#721c24}.note{color:#555}
</style></head><body>
<h1>Service report: ${esc(r.unitId)}</h1>
<p>Generated ${esc(when(r.generatedAt))} by Unbrick from this computer's service log.</p>
${integrity}
<h2>Unit</h2><table>${ident || '<tr><td>No identity recorded.</td></tr>'}</table>
${state}
${versions}
${map}
<h2>History (${r.entries.length} entries)</h2>
<table><thead><tr><th>#</th><th>When</th><th>Action</th><th>Outcome</th><th>Who</th><th>What</th><th>Versions</th><th>Hash</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8">Nothing recorded for this unit.</td></tr>'}
</tbody></table>
${(r.traces ?? []).map((t) => `<h2>Wire trace: ${esc(t.name)}</h2>\n<pre>${esc(t.view.join('\n'))}</pre>`).join('\n')}
</body></html>
`;
}
