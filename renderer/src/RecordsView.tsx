import { Fragment, useEffect, useMemo, useState } from 'react';
import type { ChainStatus, DeviceSummary, RecordView } from '../../src/api/contract.ts';
import { countFindings, formatLocalTime, formatVersionChange, outcomeWords, versionsOf } from '../../src/api/format.ts';
import type { Ui } from './App.tsx';
import { Table } from './Table.tsx';
import './pages.css';

/** A text icon beside every outcome word, so the state never rests on colour alone. */
const TONE_ICON: Record<string, string> = { good: '✓', bad: '✗', warn: '!', neutral: '•' };
const SEVERITY_WORDS: Record<string, string> = { critical: 'Critical', warning: 'Warning', info: 'Note', ok: 'OK' };

function outcomeOf(e: RecordView) {
  return outcomeWords(e.outcome, e.findings ? countFindings(e.findings) : undefined);
}

/** Everything a search may match in one entry, lower-cased once. */
function haystack(e: RecordView): string {
  return [e.seq, e.unitId, ...(e.unitNames ?? []), e.action, e.outcome, outcomeOf(e).word, e.operator, e.summary, ...(e.findings ?? []).map((f) => `${f.code} ${f.text}`), ...(e.inputs ?? []).map((i) => `${i.name} ${i.sha256}`)]
    .join(' ')
    .toLowerCase();
}

/** Date on one line, time and zone on the next: a narrow column still reads at a glance. */
function LocalTime({ iso }: { iso: string }) {
  const t = formatLocalTime(iso);
  const [date, ...rest] = t.split(' ');
  return (
    <time dateTime={iso}>
      <span>{date}</span> <span>{rest.join(' ')}</span>
    </time>
  );
}

function FactValue({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object') return <>{String(value)}</>;
  if (Array.isArray(value)) return <>{value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')}</>;
  return (
    <>
      {Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join('; ')}
    </>
  );
}

/** One opened record: what it found, what it wrote (versions before → after), what it used, and its facts. */
function RecordDetail({ e }: { e: RecordView }) {
  const v = versionsOf(e.details);
  const facts = e.details && typeof e.details === 'object' && !Array.isArray(e.details) ? Object.entries(e.details as Record<string, unknown>) : [];
  return (
    <div className="record-detail" data-testid={`record-detail-${e.seq}`}>
      <p>
        <b>{e.summary}</b>
      </p>
      {v && (
        <p data-testid="record-versions">
          Versions: <b>{formatVersionChange(v.before, v.after)}</b>
        </p>
      )}
      {e.findings && e.findings.length > 0 && (
        <>
          <h4>Findings</h4>
          <ul className="record-findings">
            {e.findings.map((f, i) => (
              <li key={i} className={`sev-${f.severity}`}>
                <span className="sev-word">{SEVERITY_WORDS[f.severity] ?? f.severity}:</span> {f.text} <small>({f.code})</small>
              </li>
            ))}
          </ul>
        </>
      )}
      {e.inputs && e.inputs.length > 0 && (
        <>
          <h4>Used</h4>
          <ul className="record-inputs">
            {e.inputs.map((i, k) => (
              <li key={k}>
                {i.name} <code>{i.sha256.slice(0, 16)}…</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {(facts.length > 0 || e.unitNames) && (
        <dl className="record-facts">
          {e.unitNames && (
            <>
              <dt>Unit also known as</dt>
              <dd>{e.unitNames.join(', ')}</dd>
            </>
          )}
          {facts.map(([k, val]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>
                <FactValue value={val} />
              </dd>
            </Fragment>
          ))}
        </dl>
      )}
      <p className="record-hash">
        Entry {e.seq}, recorded by {e.operator}. Hash <code>{e.hash}</code>
      </p>
    </div>
  );
}

export function RecordsView({ ui, tick, devices }: { ui: Ui; tick: number; devices: DeviceSummary[] }) {
  const [entries, setEntries] = useState<RecordView[]>([]);
  const [chain, setChain] = useState<ChainStatus | undefined>();
  const [exported, setExported] = useState<string | undefined>();
  const [unit, setUnit] = useState('');
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState<Set<number>>(new Set());
  // The "record a wire trace" setting: while on, every byte exchanged with devices is recorded for support.
  const [trace, setTrace] = useState<{ recording: boolean; path?: string }>({ recording: false });
  useEffect(() => {
    ui.client.call('support.trace', {}).then(setTrace, ui.fail);
  }, [ui]);
  const toggleTrace = (enabled: boolean) => ui.client.call('support.trace', { enabled }).then(setTrace, ui.fail);

  useEffect(() => {
    ui.client.call('records.list', { limit: 500 }).then((r) => {
      setEntries(r.entries);
      setChain(r.chain);
    }, ui.fail);
  }, [ui, tick]);

  const units = [...new Set(entries.map((e) => e.unitId))].filter((u) => u !== '-');
  const unitLabel = (u: string) => devices.find((d) => d.id === u)?.label ?? u;
  const shown = useMemo(() => {
    // The words as typed, as one phrase (case and spacing aside): "no valid image" finds that finding, not every entry with "no" in it.
    const q = query.trim().toLowerCase().replace(/\s+/g, ' ');
    return entries
      .filter((e) => !unit || e.unitId === unit)
      .filter((e) => !q || haystack(e).replace(/\s+/g, ' ').includes(q))
      .slice()
      .reverse();
  }, [entries, unit, query]);
  const toggle = (seq: number) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(seq)) n.delete(seq);
      else n.add(seq);
      return n;
    });

  const exportReport = (unitId: string, format: 'json' | 'html') =>
    ui.client.call('records.report', { unitId, format, ...(trace.path ? { attachTrace: true } : {}) }).then((r) => {
      const url = URL.createObjectURL(new Blob([r.content], { type: r.mime }));
      const a = document.createElement('a');
      a.href = url;
      a.download = r.filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExported(r.filename);
    }, ui.fail);

  return (
    <section className="records page" data-testid="records">
      <h2>Service records</h2>
      {chain && (
        <p className={chain.ok ? 'chain ok' : 'chain bad'} data-testid="chain">
          <span aria-hidden="true">{chain.ok ? '✓ ' : '✗ '}</span>
          {chain.ok
            ? `Log intact: ${chain.entries} ${chain.entries === 1 ? 'entry' : 'entries'}, every link checked.`
            : `The service log failed its integrity check (${chain.problems.length} problems). Keep the file and contact support.`}
        </p>
      )}
      {chain && !chain.ok && (
        <ul className="problems">
          {chain.problems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      )}
      <label className="trace-setting">
        <input type="checkbox" data-testid="trace-toggle" checked={trace.recording} onChange={(e) => void toggleTrace(e.target.checked)} /> Record a wire trace (every byte
        exchanged with devices, for support)
        {trace.path && <small data-testid="trace-path"> {trace.recording ? 'recording to' : 'last trace:'} {trace.path}; exported reports attach it.</small>}
      </label>
      <div className="records-filter" role="search">
        <label>
          Unit{' '}
          <select data-testid="records-unit" value={unit} onChange={(e) => setUnit(e.target.value)}>
            <option value="">All units ({units.length})</option>
            {units.map((u) => (
              <option key={u} value={u}>
                {unitLabel(u)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search{' '}
          <input type="search" data-testid="records-search" value={query} placeholder="serial, action, finding, hash…" onChange={(e) => setQuery(e.target.value)} />
        </label>
        <span className="count" data-testid="records-count" aria-live="polite">
          Showing {shown.length} of {entries.length}
        </span>
      </div>
      <div className="exports">
        {units
          .filter((u) => !unit || u === unit)
          .map((u) => (
            <div key={u} className="unit-export">
              <span>{unitLabel(u)}</span>
              <button data-testid={`export-json-${u}`} onClick={() => void exportReport(u, 'json')}>
                Export report (JSON)
              </button>
              <button data-testid={`export-html-${u}`} onClick={() => void exportReport(u, 'html')}>
                Export report (HTML)
              </button>
            </div>
          ))}
        {exported && <p data-testid="exported">Saved {exported}.</p>}
      </div>
      <Table
        className="entries"
        testId="record-entries"
        columns={[
          { label: 'When (local time)', className: 'c-when' },
          { label: 'Unit', className: 'c-unit' },
          { label: 'Action', className: 'c-action' },
          { label: 'Outcome', className: 'c-outcome' },
          'What',
          { label: 'Open', srOnly: true, className: 'c-open' },
        ]}
      >
        {entries.length === 0 && (
          <tr>
            <td colSpan={6}>Nothing recorded yet. Every workflow run is recorded here.</td>
          </tr>
        )}
        {entries.length > 0 && shown.length === 0 && (
          <tr>
            <td colSpan={6}>No record matches. Clear the search or choose All units.</td>
          </tr>
        )}
        {shown.map((e) => {
          const o = outcomeOf(e);
          const isOpen = open.has(e.seq);
          return (
            <Fragment key={e.seq}>
              <tr className={`tone-${o.tone}`} data-testid={`record-${e.seq}`} data-outcome={o.tone}>
                <td>
                  <LocalTime iso={e.time} />
                </td>
                <td>{unitLabel(e.unitId)}</td>
                <td>{e.action}</td>
                <td className="outcome-cell" data-icon={TONE_ICON[o.tone]}>
                  {o.word}
                </td>
                <td>{e.summary}</td>
                <td>
                  <button aria-expanded={isOpen} aria-label={`${isOpen ? 'Close' : 'Open'} record ${e.seq}`} data-testid={`record-open-${e.seq}`} onClick={() => toggle(e.seq)}>
                    {isOpen ? 'Close' : 'Open'}
                  </button>
                </td>
              </tr>
              {isOpen && (
                <tr className="detail-row">
                  <td colSpan={6}>
                    <RecordDetail e={e} />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </Table>
    </section>
  );
}
