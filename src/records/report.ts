/**
 * Per-unit service reports for support staff: every recorded action on one
 * unit, with the log's integrity verdict, as JSON (for tools) and as a single
 * self-contained HTML page (no scripts, prints cleanly).
 */
import type { ServiceEntry, VerifyResult } from './service-log.ts';
import { unitMatches } from './unit-identity.ts';
import { escapeHtml } from '../core/html.ts';

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

export function reportHtml(r: UnitReport): string {
  const rows = r.entries
    .map(
      (e) => `<tr class="${esc(e.outcome)}"><td>${esc(e.seq)}</td><td>${esc(e.time)}</td><td>${esc(e.action)}</td><td>${esc(e.outcome)}</td><td>${esc(e.operator)}</td><td>${esc(e.summary)}${
        e.inputs?.length ? `<div class="inputs">${e.inputs.map((i) => `${esc(i.name)}: <code>${esc(i.sha256)}</code>`).join('<br>')}</div>` : ''
      }${provenanceHtml(e.details?.provenance)}</td><td><code>${esc(e.hash.slice(0, 16))}…</code></td></tr>`,
    )
    .join('\n');
  const ident = Object.entries(r.identity)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('');
  const integrity = r.log.intact
    ? `<p class="ok">Service log intact: ${r.log.entries} entries, every hash and link checked. Head <code>${esc(r.log.head)}</code>.</p>`
    : `<div class="bad"><p>The service log failed its integrity check. Entries below may have been changed or removed.</p><ul>${r.log.problems
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
pre{font-size:11px;white-space:pre;overflow:auto}tr.failed td{background:#fdecea}tr.refused td{background:#fff4e5}code{font-size:12px}.inputs{color:#555;font-size:12px}
</style></head><body>
<h1>Service report: ${esc(r.unitId)}</h1>
<p>Generated ${esc(r.generatedAt)} by Unbrick from <code>${esc(r.log.path)}</code>.</p>
${integrity}
<h2>Unit</h2><table>${ident || '<tr><td>No identity recorded.</td></tr>'}</table>
<h2>History (${r.entries.length} entries)</h2>
<table><thead><tr><th>#</th><th>When (UTC)</th><th>Action</th><th>Outcome</th><th>Who</th><th>What</th><th>Hash</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">Nothing recorded for this unit.</td></tr>'}
</tbody></table>
${(r.traces ?? []).map((t) => `<h2>Wire trace: ${esc(t.name)}</h2>\n<pre>${esc(t.view.join('\n'))}</pre>`).join('\n')}
</body></html>
`;
}
