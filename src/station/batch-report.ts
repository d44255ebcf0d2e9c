/**
 * Batch reports from the station's unit records: one row per attempt (a
 * re-run unit shows every attempt; its last one is its result), totals, and
 * the failure reasons by frequency. As JSON (for tools), CSV (for
 * spreadsheets and ERP imports) and one self-contained HTML page (no scripts,
 * prints cleanly). The report quotes the service log's head hash and its
 * integrity verdict, so a printed report anchors the log.
 */
import type { VerifyResult } from '../records/service-log.ts';
import { escapeHtml } from '../core/html.ts';
import { unitRows, type UnitRow } from './unit-record.ts';

export interface BatchReport {
  format: 'unbrick-batch-report';
  version: 1;
  batch?: string;
  generatedAt: string;
  log: { path: string; intact: boolean; head: string; problems: VerifyResult['problems'] };
  totals: {
    /** Distinct units. */
    units: number;
    passed: number;
    failed: number;
    attempts: number;
    /** Units that failed at least once and passed in the end. */
    passedOnRerun: number;
  };
  /** Failure codes among the units' final results, most frequent first. */
  failures: { code: string; units: number; example: string }[];
  rows: UnitRow[];
}

export function batchReport(verified: VerifyResult, logPath: string, opts: { batch?: string; now?: Date } = {}): BatchReport {
  const rows = unitRows(verified.entries, opts.batch);
  const finals = rows.filter((r) => r.final);
  const failures = new Map<string, { units: number; example: string }>();
  for (const r of finals) {
    if (r.ok) continue;
    const code = r.code ?? 'unknown';
    const f = failures.get(code) ?? { units: 0, example: r.reason };
    f.units++;
    failures.set(code, f);
  }
  const everFailed = new Set(rows.filter((r) => !r.ok).map((r) => r.unit));
  return {
    format: 'unbrick-batch-report',
    version: 1,
    ...(opts.batch !== undefined ? { batch: opts.batch } : {}),
    generatedAt: (opts.now ?? new Date()).toISOString(),
    log: { path: logPath, intact: verified.ok, head: verified.head, problems: verified.problems },
    totals: {
      units: finals.length,
      passed: finals.filter((r) => r.ok).length,
      failed: finals.filter((r) => !r.ok).length,
      attempts: rows.length,
      passedOnRerun: finals.filter((r) => r.ok && everFailed.has(r.unit)).length,
    },
    failures: [...failures.entries()].map(([code, f]) => ({ code, ...f })).sort((a, b) => b.units - a.units || a.code.localeCompare(b.code)),
    rows,
  };
}

const pairs = (m: Record<string, string> | undefined) =>
  Object.entries(m ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

export const CSV_COLUMNS = [
  'time',
  'batch',
  'station',
  'port',
  'operator',
  'unit',
  'chip_uid',
  'serial',
  'target',
  'chip',
  'result',
  'code',
  'reason',
  'versions',
  'hashes',
  'option_bytes',
  'data_entry',
  'duration_ms',
  'steps',
  'attempt',
  'final',
  'log_seq',
  'log_hash',
] as const;

function csvRow(r: UnitRow): string[] {
  return [
    r.time,
    r.batch,
    r.station,
    r.port,
    r.operator,
    r.unit,
    r.chipUid ?? '',
    r.serial ?? '',
    r.target ?? '',
    r.chip ?? '',
    r.ok ? 'pass' : 'fail',
    r.code ?? '',
    r.reason,
    pairs(r.versions),
    pairs(r.hashes),
    pairs(r.optionBytes),
    r.dataEntry ?? '',
    String(r.totalMs),
    (r.steps ?? []).map((s) => `${s.name}:${s.ok ? 'ok' : 'failed'}:${s.ms}`).join('; '),
    String(r.attempt),
    r.final ? 'yes' : 'no',
    String(r.seq),
    r.hash,
  ];
}

/**
 * One CSV cell (RFC 4180). Text a spreadsheet would run as a formula (leading
 * = + - @, tab or CR; OWASP "CSV injection") gets a leading apostrophe, unless it is a plain number.
 */
export function csvCell(v: string): string {
  let s = v;
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function batchCsv(r: BatchReport): string {
  return [CSV_COLUMNS.join(','), ...r.rows.map((row) => csvRow(row).map(csvCell).join(','))].map((l) => l + '\r\n').join('');
}

const esc = escapeHtml;

export function batchHtml(r: BatchReport): string {
  const t = r.totals;
  const integrity = r.log.intact
    ? `<p class="ok">Service log intact; head <code>${esc(r.log.head)}</code>.</p>`
    : `<div class="bad"><p>The service log failed its integrity check: rows below may have been changed or removed.</p><ul>${r.log.problems
        .map((p) => `<li>${esc(p.message)} <small>(${esc(p.code)})</small></li>`)
        .join('')}</ul></div>`;
  const failures = r.failures.length
    ? `<h2>Failures</h2><table><thead><tr><th>Code</th><th>Units</th><th>Example</th></tr></thead><tbody>${r.failures
        .map((f) => `<tr><td><code>${esc(f.code)}</code></td><td>${f.units}</td><td>${esc(f.example)}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const kv = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {})
      .map(([k, v]) => `${esc(k)}: <code>${esc(v)}</code>`)
      .join('<br>');
  const rows = r.rows
    .map(
      (x) =>
        `<tr class="${x.ok ? 'pass' : 'fail'}${x.final ? '' : ' superseded'}"><td>${esc(x.time)}</td><td>${esc(x.station)}<br><small>${esc(x.port)}</small></td><td>${esc(x.operator)}</td><td><code>${esc(
          x.chipUid ?? x.unit,
        )}</code>${x.attempt > 1 ? ` <small>(attempt ${x.attempt})</small>` : ''}</td><td>${esc(x.serial ?? '')}</td><td>${esc([x.target, x.chip].filter(Boolean).join(' '))}</td><td><b>${
          x.ok ? 'PASS' : 'FAIL'
        }</b>${x.ok ? '' : `<br>${esc(x.reason)}${x.code ? ` <small>(${esc(x.code)})</small>` : ''}`}</td><td>${kv(x.versions)}</td><td class="h">${kv(x.hashes)}</td><td>${kv(x.optionBytes)}</td><td>${esc(
          x.dataEntry ?? '',
        )}</td><td>${(x.totalMs / 1000).toFixed(1)} s</td></tr>`,
    )
    .join('\n');
  const title = `Batch report${r.batch ? `: ${r.batch}` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:3px 5px;text-align:left;vertical-align:top}
.ok{color:#155724;background:#d4edda;padding:.5em}.bad{color:#721c24;background:#f8d7da;padding:.5em}
tr.fail td{background:#fdecea}tr.superseded td{color:#777}code{font-size:11px}td.h code{word-break:break-all}
.totals span{display:inline-block;margin-right:2em;font-size:16px}
</style></head><body>
<h1>${esc(title)}</h1>
<p>Generated ${esc(r.generatedAt)} by Unbrick from <code>${esc(r.log.path)}</code>.</p>
${integrity}
<p class="totals"><span>Units: <b>${t.units}</b></span><span>Passed: <b>${t.passed}</b></span><span>Failed: <b>${t.failed}</b></span><span>Attempts: <b>${t.attempts}</b></span><span>Passed on re-run: <b>${t.passedOnRerun}</b></span></p>
${failures}
<h2>Units</h2>
<table><thead><tr><th>When (UTC)</th><th>Station / port</th><th>Operator</th><th>Unit</th><th>Serial</th><th>Target</th><th>Result</th><th>Versions</th><th>Hashes</th><th>Option bytes</th><th>Data entry</th><th>Duration</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="12">No units recorded.</td></tr>'}
</tbody></table>
</body></html>
`;
}
