import { useEffect, useMemo, useRef, useState } from 'react';
import type { DeviceDetail, DeviceSummary, Diagnosis, JobSnapshot, LibraryEntryView, WorkflowName, WorkflowOptions } from '../../src/api/contract.ts';
import { WORKFLOWS } from '../../src/api/contract.ts';
import { flashMapFromDiagnosis, HOLDS_WORDS, renderFlashMap, withBundle, type FlashMapModel } from '../../src/api/flash-map.ts';
import type { Ui } from './App.tsx';
import { KIND_WORDS, WORKFLOW_WORDS } from './format.ts';
import { HEALTH, notApplicable, recommended, SEVERITY_WORDS, timeOf, writes } from './device-words.ts';
import { JobView } from './JobView.tsx';
import { Modal } from './Modal.tsx';
import { Table } from './Table.tsx';

export type StartFn = (w: WorkflowName, deviceId: string, options?: WorkflowOptions[WorkflowName], approved?: string[]) => Promise<void>;

export function DevicePage({ ui, device, present, chosen, jobs, start }: { ui: Ui; device: DeviceSummary; present: boolean; chosen: number; jobs: JobSnapshot[]; start: StartFn }) {
  const [detail, setDetail] = useState<DeviceDetail | undefined>();
  const [asking, setAsking] = useState<WorkflowName | undefined>();
  const heading = useRef<HTMLHeadingElement>(null);
  const mine = jobs.filter((j) => !j.automatic);
  // The user's latest job stays pinned (an automatic detect after a replug never hides it).
  const pinned = mine.at(-1);
  const auto = jobs.filter((j) => j.automatic && (j.state === 'running' || j.state === 'waiting')).at(-1);
  const lastWrite = [...mine].reverse().find((j) => writes(j.workflow) && j.state !== 'refused');

  // Re-read the detail whenever the summary or a job of this device changes (not while it is unplugged: keep what was read).
  const jobKey = jobs.map((j) => `${j.id}:${j.state}`).join(',');
  // Findings read before the cable was pulled stay on the page, greyed, until the unit is diagnosed again.
  const [earlier, setEarlier] = useState<Diagnosis | undefined>();
  useEffect(() => {
    if (!present) return;
    ui.client.call('devices.get', { deviceId: device.id }).then((d) => {
      setDetail(d);
      if (d.diagnosis) setEarlier(d.diagnosis);
    }, ui.fail);
  }, [ui, device, present, jobKey]);

  // Choosing a device puts focus on its page: its actions are the next Tab stops.
  useEffect(() => {
    if (document.activeElement?.closest('.sidebar')) heading.current?.focus();
  }, [chosen]);

  const diagnosis = detail?.diagnosis ?? earlier;
  const diagnosisStale = !!diagnosis && (!detail?.diagnosis || !!detail.refreshing || (!!lastWrite && diagnosis.at < lastWrite.startedAt));
  const identityStale = !!detail && (!!detail.refreshing || (!!lastWrite && (!detail.identityAt || detail.identityAt < lastWrite.startedAt)));
  const busy = !!device.busyJobId || !present;
  // While the user's job runs there is no next step to recommend: the job card is the page's focus.
  const userJobActive = !!pinned && (pinned.state === 'running' || pinned.state === 'waiting');
  const rec = userJobActive ? undefined : recommended(device.kind, diagnosis, diagnosisStale);
  const interrupted = pinned && pinned.resumable ? pinned : undefined;
  const health = HEALTH[device.health ?? 'none'];

  const run = (w: WorkflowName) => {
    if (writes(w)) setAsking(w);
    else void start(w, device.id); // read-only: one click
  };
  const reasonBusy = !present ? 'The unit is unplugged.' : device.busyJobId ? (auto ? 'Reading the unit…' : 'A job is running on this unit.') : undefined;

  return (
    <section className="device-page" data-testid="device-page">
      <h2 ref={heading} tabIndex={-1}>
        {device.label}{' '}
        <span className={`health-badge health-${device.health ?? 'none'}`} data-testid="device-health">
          <span aria-hidden="true">{health.icon}</span> {health.word}
        </span>
        {!present && (
          <span className="unplugged-badge" data-testid="unplugged">
            ⏏ Unplugged
          </span>
        )}
      </h2>
      <p className="what" data-testid="device-kind">
        {device.kind === 'identifying' || device.kind === 'unknown' ? `${KIND_WORDS[device.kind]}: ${device.summary}` : device.summary}
      </p>

      {interrupted && (
        <div className="resume-offer" data-testid="resume-offer" role="status">
          <strong>⚠ {WORKFLOW_WORDS[interrupted.workflow]?.title} was interrupted.</strong>{' '}
          {present ? 'The unit is back: continue from where it stopped.' : 'Plug the unit back in to continue from where it stopped.'}{' '}
          <button className="primary" data-testid="resume-first" disabled={!present} onClick={() => ui.client.call('jobs.resume', { jobId: interrupted.id }).catch(ui.fail)}>
            Resume {WORKFLOW_WORDS[interrupted.workflow]?.title}
          </button>
        </div>
      )}

      <div className="actions" data-testid="actions">
        {rec && !interrupted && (
          <div className="recommended" data-testid="recommended">
            <button data-testid={`start-${rec.workflow}`} className="primary big" disabled={busy} onClick={() => run(rec.workflow)}>
              {WORKFLOW_WORDS[rec.workflow]!.title}
              {writes(rec.workflow) ? '…' : ''}
            </button>
            <span className="why">
              <strong>Recommended.</strong> {rec.why}
            </span>
          </div>
        )}
        <ul className="other-actions">
          {WORKFLOWS.filter((w) => w !== rec?.workflow || !!interrupted).map((w) => {
            const na = notApplicable(w, device.kind);
            return (
              <li key={w}>
                <button data-testid={`start-${w}`} disabled={busy || !!na} onClick={() => run(w)} aria-describedby={na ? `na-${w}` : undefined}>
                  {WORKFLOW_WORDS[w]!.title}
                  {writes(w) ? '…' : ''}
                </button>
                {na && (
                  <span className="reason" id={`na-${w}`}>
                    {na}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
        {reasonBusy && <p className="reason">{reasonBusy}</p>}
      </div>

      {asking && (
        <PlanDialog
          ui={ui}
          device={device}
          diagnosis={diagnosisStale ? undefined : diagnosis}
          running={identityStale ? undefined : detail?.identity.find((i) => i.name === 'running')?.value}
          workflow={asking}
          onCancel={() => setAsking(undefined)}
          onStart={(options, approved) => {
            setAsking(undefined);
            void start(asking, device.id, options, approved);
          }}
        />
      )}

      {pinned && <JobView ui={ui} job={pinned} present={present} />}
      {(auto || detail?.refreshing) && (
        <p className="refreshing" role="status" data-testid="refreshing">
          <span className="spinner" aria-hidden="true" /> {lastWrite && detail?.refreshing ? 'Reading identity and findings again after the write…' : `${WORKFLOW_WORDS[auto?.workflow ?? 'detect']?.title ?? ''}: reading the unit…`}
        </p>
      )}

      {detail && (
        <div className={identityStale ? 'stale' : ''} data-testid="identity" data-stale={identityStale}>
          <h3>
            Identity <small className="stamp">read {timeOf(detail.identityAt)}{identityStale ? ' — older than the last write' : ''}</small>
          </h3>
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
        </div>
      )}
      {diagnosis && <DiagnosisView diagnosis={diagnosis} stale={diagnosisStale} kind={device.kind} title={device.label} />}
    </section>
  );
}

/** Sector/page index runs as "0-11, 16-239". */
function runs(list: number[]): string {
  const s = [...new Set(list)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/**
 * The one plan, confirmed once: what will be erased, written (from → to) and
 * protected again, the bundle drawn against the unit's flash, and a typed word
 * where the chip is erased whole. The steps it covers are sent as approved, so
 * the job does not ask again; without a current diagnosis the plan is partial
 * and the job asks before each destructive step.
 */
function PlanDialog({
  ui,
  device,
  diagnosis,
  workflow,
  running,
  onCancel,
  onStart,
}: {
  ui: Ui;
  device: DeviceSummary;
  diagnosis: Diagnosis | undefined;
  /** The version the unit said it runs (detect), for "from → to" when it was not diagnosed. */
  running: string | undefined;
  workflow: WorkflowName;
  onCancel: () => void;
  onStart: (options: WorkflowOptions[WorkflowName], approved: string[] | undefined) => void;
}) {
  const kind = workflow === 'update' ? 'update' : 'golden';
  const [entries, setEntries] = useState<LibraryEntryView[] | undefined>();
  const [chosen, setChosen] = useState('');
  const [typed, setTyped] = useState('');
  useEffect(() => {
    ui.client.call('library.list', { deviceId: device.id, kind }).then((r) => setEntries(r.entries), ui.fail);
  }, [ui, device.id, kind]);
  const entry = entries?.find((e) => e.id === chosen) ?? entries?.[0];
  const base = useMemo(() => (diagnosis ? flashMapFromDiagnosis(diagnosis, device.kind, device.label) : undefined), [diagnosis, device.kind, device.label]);
  // Full unbrick writes the address payloads through the ROM bootloader; Recover and Update the SMP image.
  const map: FlashMapModel | undefined = base && entry ? withBundle(base, entry, workflow === 'unbrick' ? 'address' : 'smp') : base;
  const chip = diagnosis?.chip;
  const unitWord = chip && chip.sectors.length > 64 ? 'pages' : 'sectors';
  const rdp1 = workflow === 'unbrick' && chip?.rdp === '1';
  const word = rdp1 ? 'ERASE' : undefined; // the CLI's word for the same step (removing readout protection erases the chip)

  const erase: string[] = [];
  const write: string[] = [];
  const protect: string[] = [];
  let approved: string[] | undefined;
  if (map?.bundle) {
    for (const p of map.bundle.payloads) write.push(`${p.name}: ${p.from && p.version && p.from !== p.version ? `${p.from} → ${p.version}` : (p.version ?? '')} at 0x${p.address.toString(16).toUpperCase().padStart(8, '0')}`);
  } else if (entry)
    for (const p of entry.payloads) {
      if (workflow !== 'unbrick' && !p.target.startsWith('smp:')) continue;
      if (workflow === 'unbrick' && p.target.startsWith('smp:')) continue;
      const to = p.version?.replace(/\+0$/, '') ?? '';
      const from = workflow === 'update' ? running?.replace(/\+0$/, '') : undefined;
      write.push(`${p.name}: ${from && from !== to ? `${from} → ${to}` : to} (${p.target.replace(/^smp:image(\d+)$/, workflow === 'update' ? 'slot 1 of image $1' : 'slot 0 of image $1')})`);
    }
  if (workflow === 'unbrick') {
    const touched = (map?.bundle?.payloads ?? []).flatMap((p) => (chip?.sectors ?? []).filter((s) => s.address !== undefined && s.size !== undefined && s.address < p.address + p.size && s.address + s.size! > p.address));
    if (rdp1) erase.push('The WHOLE chip: removing readout protection (level 1 → 0) erases all flash — bootloader, application and any data on the unit.');
    else if (touched.length) erase.push(`${unitWord} ${runs(touched.map((s) => s.index))} (what the bundle writes over).`);
    else erase.push(`The ${unitWord} the bundle writes over (the unit's layout was not read: the job asks before erasing).`);
    const locked = (chip?.sectors ?? []).filter((s) => s.writeProtected).map((s) => s.index);
    const bootSectors = (chip?.sectors ?? []).filter((s) => s.label === 'MCUboot').map((s) => s.index);
    if (locked.length) erase.push(`Write protection is lifted on ${unitWord} ${runs(locked)} (the bootloader lifts all at once).`);
    protect.push(bootSectors.length || locked.length ? `${unitWord} ${runs([...bootSectors, ...locked])} write-protected again at the end.` : 'The bootloader region write-protected again at the end.');
    if (chip && chip.rdp !== 'unknown' && diagnosis) approved = [...(rdp1 ? ['readout-unprotect'] : []), 'lift-wrp', 'write'];
  } else if (workflow === 'recover') {
    const s0 = map?.regions.find((r) => r.name === 'slot 0');
    erase.push(`Slot 0 (now: ${s0 ? `${HOLDS_WORDS[s0.holds]}${s0.version ? ` ${s0.version}` : ''}` : 'not read'}).`);
    protect.push('Nothing to protect over serial recovery; MCUboot restarts the unit into the new image.');
    if (diagnosis) approved = ['upload'];
  } else if (workflow === 'update') {
    const s1 = map?.regions.find((r) => r.name === 'slot 1');
    erase.push(`Slot 1 (now: ${s1 ? `${HOLDS_WORDS[s1.holds]}${s1.version ? ` ${s1.version}` : ''}` : 'not read'}); slot 0 keeps the running image until the new one proves itself.`);
    protect.push('Test boot, then confirmed once it runs; if it does not start, MCUboot goes back to the current image by itself.');
    if (diagnosis) approved = ['upload'];
  }
  const canStart = !!entries?.length && (!word || typed.trim() === word);
  const mapHtml = useMemo(() => (map ? renderFlashMap(map, { idPrefix: `plan-${device.id}` }) : ''), [map, device.id]);
  return (
    <Modal title={`${WORKFLOW_WORDS[workflow]!.title}: the plan`} onCancel={onCancel} testId="start-dialog" tone="danger">
      <p className="muted">{WORKFLOW_WORDS[workflow]!.what}</p>
      {!entries ? (
        <p className="muted">Reading the {kind} library…</p>
      ) : !entries.length ? (
        <p className="warning" data-testid="bundle-none">
          ⚠ The {kind} library holds no bundle for this unit. Import the product's {kind} bundle first (Bundles, or <code>unbrick {kind === 'golden' ? 'golden' : 'updates'} import FILE</code>).
        </p>
      ) : (
        <label className="bundle-choice">
          {kind === 'golden' ? 'Golden bundle' : 'Update bundle'}{' '}
          <select data-testid="bundle-select" value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">Newest: {entries[0]!.product} {entries[0]!.version.replace(/\+0$/, '')}</option>
            {entries.map((e) => (
              <option key={e.id} value={e.id}>
                {e.product} {e.version.replace(/\+0$/, '')} (sequence {e.sequence}, {e.id.slice(0, 12)})
              </option>
            ))}
          </select>
        </label>
      )}
      <dl className="plan" data-testid="plan">
        <dt>Erases</dt>
        {erase.map((x) => (
          <dd key={x}>{x}</dd>
        ))}
        <dt>Writes</dt>
        {write.length ? write.map((x) => <dd key={x} data-testid="plan-write">{x}</dd>) : <dd>—</dd>}
        <dt>Afterwards</dt>
        {protect.map((x) => (
          <dd key={x}>{x}</dd>
        ))}
      </dl>
      {entry && (
        <p className="muted" data-testid="bundle-detail">
          From {entry.product} {entry.version.replace(/\+0$/, '')}, expires {entry.expires.slice(0, 10)}. Its signatures are checked again when the job starts.
        </p>
      )}
      {mapHtml && <div className="map-host" dangerouslySetInnerHTML={{ __html: mapHtml }} />}
      {!approved && <p className="muted">The unit's current state was not read (or is older than the last write): the job asks before each destructive step.</p>}
      {word && (
        <label className="typed">
          Type <strong>{word}</strong> to allow erasing the whole chip:{' '}
          <input data-testid="plan-word" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
        </label>
      )}
      <div className="buttons">
        <button data-safe data-testid="start-cancel" onClick={onCancel}>
          Cancel
        </button>
        <button data-testid="start-confirm" className="danger" disabled={!canStart} onClick={() => onStart(chosen ? (workflow === 'recover' ? { goldenId: chosen } : { bundleId: chosen }) : {}, approved)}>
          Start {WORKFLOW_WORDS[workflow]!.title.toLowerCase()}
        </button>
      </div>
    </Modal>
  );
}

function DiagnosisView({ diagnosis, stale, kind, title }: { diagnosis: Diagnosis; stale: boolean; kind: DeviceSummary['kind']; title: string }) {
  const map = useMemo(() => flashMapFromDiagnosis(diagnosis, kind, title), [diagnosis, kind, title]);
  const html = useMemo(() => (map ? renderFlashMap(map, { idPrefix: 'unit' }) : ''), [map]);
  return (
    <div className={`diagnosis ${stale ? 'stale' : ''}`} data-testid="diagnosis" data-stale={stale}>
      <h3>
        Findings <small className="stamp">read {timeOf(diagnosis.at)}{stale ? ' — older than the last write, shown for reference' : ''}</small>
      </h3>
      <ul className="findings">
        {diagnosis.findings.map((f, i) => (
          <li key={i} className={`finding ${f.severity}`} data-testid="finding" data-severity={f.severity}>
            <strong>
              <span aria-hidden="true">{SEVERITY_WORDS[f.severity].icon}</span> {SEVERITY_WORDS[f.severity].word}
            </strong>{' '}
            {f.text}
            {f.action && <div className="next">What to do: {f.action}</div>}
          </li>
        ))}
      </ul>
      {html && (
        <div className="map-block">
          <h3>
            Flash map{diagnosis.layoutSource ? <small className="stamp"> layout from the {diagnosis.layoutSource}</small> : null}
          </h3>
          <div className="map-host" dangerouslySetInnerHTML={{ __html: html }} />
        </div>
      )}
      {diagnosis.slots && diagnosis.slots.length > 0 && (
        <Table className="slots" testId="slots" columns={['Image', 'Slot', 'State', 'Version', 'Flags', 'Hash', 'Golden']}>
          {diagnosis.slots.map((s) => (
            <tr key={`${s.image}-${s.slot}`} className={`slot slot-${s.state}`}>
              <td>{s.image}</td>
              <td>{s.slot}</td>
              <td>{s.state}</td>
              <td>{s.version?.replace(/\+0$/, '') ?? '—'}</td>
              <td>{s.flags.join(', ') || '—'}</td>
              <td>
                <code>{s.hash ? `${s.hash.slice(0, 16)}…` : '—'}</code>
              </td>
              <td>{s.golden ?? 'no match'}</td>
            </tr>
          ))}
        </Table>
      )}
      {diagnosis.chip && (
        <div className="chip" data-testid="chip">
          <h3>
            {diagnosis.chip.name} <small>(product {diagnosis.chip.productId})</small>
          </h3>
          <p className={`rdp rdp-${diagnosis.chip.rdp}`}>
            {diagnosis.chip.rdp === '0' ? '✔' : '⚠'} Readout protection: level {diagnosis.chip.rdp}
            {diagnosis.chip.rdp !== '0' ? ' — flash contents cannot be read' : ''}
          </p>
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
