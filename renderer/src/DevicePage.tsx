import { useEffect, useState } from 'react';
import type { DeviceDetail, DeviceSummary, Diagnosis, JobSnapshot, LibraryEntryView, WorkflowName, WorkflowOptions } from '../../src/api/contract.ts';
import { WORKFLOWS } from '../../src/api/contract.ts';
import type { Ui } from './App.tsx';
import { KIND_WORDS, WORKFLOW_WORDS } from './format.ts';
import { JobView } from './JobView.tsx';

export function DevicePage({
  ui,
  device,
  jobs,
  start,
}: {
  ui: Ui;
  device: DeviceSummary;
  jobs: JobSnapshot[];
  start: (w: WorkflowName, deviceId: string, options?: WorkflowOptions[WorkflowName]) => Promise<void>;
}) {
  const [detail, setDetail] = useState<DeviceDetail | undefined>();
  const [asking, setAsking] = useState<WorkflowName | undefined>();
  const [bundle, setBundle] = useState<string>('');
  const latest = jobs.at(-1);

  // Re-read the detail whenever the summary or a job of this device changes.
  useEffect(() => {
    ui.client.call('devices.get', { deviceId: device.id }).then(setDetail, ui.fail);
  }, [ui, device, latest?.state]);

  const busy = !!device.busyJobId;
  return (
    <section className="device-page" data-testid="device-page">
      <h2>{device.label}</h2>
      <p className="what" data-testid="device-kind">
        {device.kind === 'identifying' || device.kind === 'unknown' ? `${KIND_WORDS[device.kind]}: ${device.summary}` : device.summary}
      </p>
      {detail && (
        <table className="identity">
          <tbody>
            {detail.identity.map((i) => (
              <tr key={i.name}>
                <th>{i.name}</th>
                <td>{i.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions">
        {WORKFLOWS.map((w) => (
          <button key={w} data-testid={`start-${w}`} disabled={busy} className={WORKFLOW_WORDS[w]!.destructive ? 'danger' : ''} onClick={() => setAsking(w)}>
            {WORKFLOW_WORDS[w]!.title}
          </button>
        ))}
      </div>
      {asking && (
        <div className="dialog" role="dialog" aria-label={`Start ${WORKFLOW_WORDS[asking]!.title}`} data-testid="start-dialog">
          <h3>{WORKFLOW_WORDS[asking]!.title}</h3>
          <p>{WORKFLOW_WORDS[asking]!.what}</p>
          {(asking === 'recover' || asking === 'unbrick' || asking === 'update') && <BundleChoice ui={ui} deviceId={device.id} workflow={asking} value={bundle} onChange={setBundle} />}
          <div className="buttons">
            <button
              data-testid="start-confirm"
              className={WORKFLOW_WORDS[asking]!.destructive ? 'danger' : 'primary'}
              onClick={() => {
                const w = asking;
                setAsking(undefined);
                void start(w, device.id, bundleOption(w, bundle));
              }}
            >
              Start {WORKFLOW_WORDS[asking]!.title.toLowerCase()}
            </button>
            <button onClick={() => setAsking(undefined)}>Cancel</button>
          </div>
        </div>
      )}
      {latest && <JobView ui={ui} job={latest} />}
      {detail?.diagnosis && <DiagnosisView diagnosis={detail.diagnosis} />}
    </section>
  );
}

/** The chosen library entry as the workflow's option ('' = the newest for the unit's product). */
function bundleOption(w: WorkflowName, id: string): WorkflowOptions[WorkflowName] {
  if (!id) return {};
  return w === 'recover' ? { goldenId: id } : { bundleId: id };
}

/** Which verified bundle the workflow writes: the newest for this unit's product unless the user picks another. */
function BundleChoice({ ui, deviceId, workflow, value, onChange }: { ui: Ui; deviceId: string; workflow: 'recover' | 'unbrick' | 'update'; value: string; onChange: (id: string) => void }) {
  const kind = workflow === 'update' ? 'update' : 'golden';
  const [entries, setEntries] = useState<LibraryEntryView[] | undefined>();
  useEffect(() => {
    onChange('');
    ui.client.call('library.list', { deviceId, kind }).then((r) => setEntries(r.entries), ui.fail);
  }, [ui, deviceId, kind, onChange]);
  if (!entries) return <p className="muted">Reading the {kind} library…</p>;
  if (!entries.length)
    return (
      <p className="warning" data-testid="bundle-none">
        The {kind} library holds no bundle for this unit. Import the product's {kind} bundle first (<code>unbrick {kind === 'golden' ? 'golden' : 'updates'} import FILE</code>).
      </p>
    );
  const shown = entries.find((e) => e.id === value) ?? entries[0]!;
  return (
    <div className="bundle-choice">
      <label>
        {kind === 'golden' ? 'Golden bundle' : 'Update bundle'}{' '}
        <select data-testid="bundle-select" value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">Newest: {entries[0]!.product} {entries[0]!.version}</option>
          {entries.map((e) => (
            <option key={e.id} value={e.id}>
              {e.product} {e.version} (sequence {e.sequence}, {e.id.slice(0, 12)})
            </option>
          ))}
        </select>
      </label>
      <p className="muted" data-testid="bundle-detail">
        {shown.payloads.map((p) => `${p.name}${p.version ? ` ${p.version.replace(/\+0$/, '')}` : ''} → ${p.target}`).join('; ')}. Expires {shown.expires.slice(0, 10)}. Its signatures are checked again when the workflow starts.
      </p>
    </div>
  );
}

function DiagnosisView({ diagnosis }: { diagnosis: Diagnosis }) {
  return (
    <div className="diagnosis" data-testid="diagnosis">
      <h3>Findings</h3>
      <ul className="findings">
        {diagnosis.findings.map((f, i) => (
          <li key={i} className={`finding ${f.severity}`} data-testid="finding">
            <strong>{f.severity}</strong> {f.text}
            {f.action && <div className="next">What to do: {f.action}</div>}
          </li>
        ))}
      </ul>
      {diagnosis.slots && (
        <table className="slots" data-testid="slots">
          <thead>
            <tr>
              <th>Image</th>
              <th>Slot</th>
              <th>State</th>
              <th>Version</th>
              <th>Flags</th>
              <th>Hash</th>
              <th>Golden</th>
            </tr>
          </thead>
          <tbody>
            {diagnosis.slots.map((s) => (
              <tr key={`${s.image}-${s.slot}`} className={`slot ${s.state}`}>
                <td>{s.image}</td>
                <td>{s.slot}</td>
                <td>{s.state}</td>
                <td>{s.version ?? '—'}</td>
                <td>{s.flags.join(', ') || '—'}</td>
                <td>
                  <code>{s.hash ? `${s.hash.slice(0, 16)}…` : '—'}</code>
                </td>
                <td>{s.golden ?? 'no match'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {diagnosis.chip && (
        <div className="chip" data-testid="chip">
          <h3>
            {diagnosis.chip.name} <small>(product {diagnosis.chip.productId})</small>
          </h3>
          <p className={`rdp rdp-${diagnosis.chip.rdp}`}>Readout protection: level {diagnosis.chip.rdp}</p>
          <div className="sectors" aria-label="Flash sectors (write-protected ones marked)">
            {diagnosis.chip.sectors.map((s) => (
              <span key={s.index} className={s.writeProtected ? 'sector wrp' : 'sector'} title={s.label ?? `sector ${s.index}`}>
                {s.index}
              </span>
            ))}
          </div>
          <table className="option-bytes">
            <tbody>
              {diagnosis.chip.optionBytes.map((o) => (
                <tr key={o.name}>
                  <th>{o.name}</th>
                  <td>
                    <code>{o.value}</code>
                  </td>
                  <td>{o.meaning}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
