import { useEffect, useState } from 'react';
import type { ChainStatus, DeviceSummary, RecordView } from '../../src/api/contract.ts';
import type { Ui } from './App.tsx';

export function RecordsView({ ui, tick, devices }: { ui: Ui; tick: number; devices: DeviceSummary[] }) {
  const [entries, setEntries] = useState<RecordView[]>([]);
  const [chain, setChain] = useState<ChainStatus | undefined>();
  const [exported, setExported] = useState<string | undefined>();
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
    <section className="records" data-testid="records">
      <h2>Service records</h2>
      {chain && (
        <p className={chain.ok ? 'chain ok' : 'chain bad'} data-testid="chain">
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
      <div className="exports">
        {units.map((u) => (
          <div key={u} className="unit-export">
            <span>{devices.find((d) => d.id === u)?.label ?? u}</span>
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
      <table className="entries" data-testid="record-entries">
        <thead>
          <tr>
            <th>#</th>
            <th>When (UTC)</th>
            <th>Unit</th>
            <th>Action</th>
            <th>Outcome</th>
            <th>Who</th>
            <th>What</th>
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 && (
            <tr>
              <td colSpan={7}>Nothing recorded yet. Every workflow run is recorded here.</td>
            </tr>
          )}
          {entries
            .slice()
            .reverse()
            .map((e) => (
              <tr key={e.seq} className={e.outcome}>
                <td>{e.seq}</td>
                <td>{e.time.replace('T', ' ').slice(0, 19)}</td>
                <td>{e.unitId}</td>
                <td>{e.action}</td>
                <td>{e.outcome}</td>
                <td>{e.operator}</td>
                <td>{e.summary}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}
