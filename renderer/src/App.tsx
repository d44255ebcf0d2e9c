import { useCallback, useEffect, useMemo, useState } from 'react';
import type { DeviceDetail, DeviceSummary, JobSnapshot, Result, Params, WorkflowName, WorkflowOptions } from '../../src/api/contract.ts';
import { ApiError, type ApiClient } from '../../src/api/protocol.ts';
import type { Connection } from './api.ts';
import { DevicePage } from './DevicePage.tsx';
import { HEALTH, writes } from './device-words.ts';
import { WORKFLOW_WORDS } from './format.ts';
import { RecordsView } from './RecordsView.tsx';
import { StationScreen } from './StationScreen.tsx';
import { LibraryView } from './LibraryView.tsx';

export interface Ui {
  client: ApiClient;
  /** Shows an error in plain words; returns nothing so callers can `.catch(ui.fail)`. */
  fail(err: unknown): void;
}

export function errorWords(err: unknown): { message: string; code: string } {
  if (err instanceof ApiError) return { message: err.info.message, code: err.info.code };
  return { message: err instanceof Error ? err.message : String(err), code: 'ui.error' };
}

/** Keeps the newest snapshot of each job: an event can overtake the reply that started the job. */
function mergeJob(jobs: Record<string, JobSnapshot>, job: JobSnapshot): Record<string, JobSnapshot> {
  const old = jobs[job.id];
  return old && old.revision > job.revision ? jobs : { ...jobs, [job.id]: job };
}

export function App({ connection }: { connection: Connection }) {
  const { client } = connection;
  const [status, setStatus] = useState<'connecting' | 'open' | 'lost'>('connecting');
  const [devices, setDevices] = useState<DeviceSummary[]>([]);
  const [jobs, setJobs] = useState<Record<string, JobSnapshot>>({});
  const [selected, setSelected] = useState<string | undefined>();
  const [view, setView] = useState<'device' | 'records' | 'station' | 'library'>('device');
  const [error, setError] = useState<{ message: string; code: string } | undefined>();
  const [recordsTick, setRecordsTick] = useState(0);
  const [lab, setLab] = useState(false);
  // The last summary of every unit seen: a unit whose cable was pulled keeps its page (and its job) in view.
  const [seen, setSeen] = useState<Record<string, DeviceSummary>>({});
  useEffect(() => setSeen((s) => ({ ...s, ...Object.fromEntries(devices.map((d) => [d.id, d])) })), [devices]);

  const ui: Ui = useMemo(() => ({ client, fail: (err: unknown) => setError(errorWords(err)) }), [client]);

  useEffect(() => {
    connection.onStatus(setStatus);
    const offs = [
      client.on('devices.changed', ({ devices }) => setDevices(devices)),
      client.on('job.updated', ({ job }) => setJobs((j) => mergeJob(j, job))),
      client.on('records.appended', () => setRecordsTick((t) => t + 1)),
    ];
    client.call('devices.list', {}).then(({ devices }) => setDevices(devices), ui.fail);
    client.call('jobs.list', {}).then(({ jobs }) => setJobs((cur) => jobs.reduce(mergeJob, cur)), ui.fail);
    client.call('app.info', {}).then((info) => setLab(info.lab), ui.fail);
    // A station started with the app (unbrick serve --station-bundle): the operator sees its screen first.
    client.call('station.status', {}).then((s) => s.run && setView('station'), ui.fail);
    return () => offs.forEach((off) => off());
  }, [client, connection, ui]);

  // Closing the window while a job writes to a device could leave it half-written: ask first.
  const writing = Object.values(jobs).some((j) => (j.state === 'running' || j.state === 'waiting') && writes(j.workflow));
  useEffect(() => {
    if (!writing) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = 'A device is being written. Closing now can leave it unable to start.';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [writing]);

  const present = devices.find((d) => d.id === selected);
  const device = present ?? (selected ? seen[selected] : undefined);
  const start = useCallback(
    (workflow: WorkflowName, deviceId: string, options: WorkflowOptions[WorkflowName] = {}, approved?: string[]) =>
      client
        .call('jobs.start', { workflow, deviceId, options, ...(approved ? { approved } : {}) } as Params<'jobs.start'>)
        .then((job) => setJobs((j) => mergeJob(j, job)), ui.fail),
    [client, ui],
  );
  const [chosenTick, setChosenTick] = useState(0);
  const choose = (id: string) => {
    setSelected(id);
    setChosenTick((t) => t + 1);
    setView('device');
  };
  // The header tray: the user's running jobs and interrupted ones (the latest job of a unit, stopped part-way, resumable).
  const all = Object.values(jobs).filter((j) => !j.automatic);
  const latestOf = (id: string) => all.filter((j) => j.deviceId === id).at(-1);
  const tray = all.filter((j) => j.state === 'running' || j.state === 'waiting' || (j.resumable && latestOf(j.deviceId)?.id === j.id));

  return (
    <div className="app">
      <header className="top">
        <h1>Unbrick</h1>
        <nav>
          <button className={view === 'device' ? 'tab active' : 'tab'} onClick={() => setView('device')}>
            Devices
          </button>
          <button className={view === 'records' ? 'tab active' : 'tab'} data-testid="nav-records" onClick={() => setView('records')}>
            Service records
          </button>
          <button className={view === 'library' ? 'tab active' : 'tab'} data-testid="nav-library" onClick={() => setView('library')}>
            Bundles
          </button>
          <button className={view === 'station' ? 'tab active' : 'tab'} data-testid="nav-station" onClick={() => setView('station')}>
            Station
          </button>
        </nav>
        {tray.length > 0 && (
          <ul className="tray" data-testid="job-tray" aria-label="Running and interrupted jobs">
            {tray.map((j) => {
              const unplugged = !devices.some((d) => d.id === j.deviceId);
              const active = j.state === 'running' || j.state === 'waiting';
              return (
                <li key={j.id}>
                  <button className={`tray-job ${active ? 'active' : 'interrupted'}`} data-testid={`tray-${j.deviceId}`} data-state={j.state} onClick={() => choose(j.deviceId)}>
                    <span aria-hidden="true">{active ? (j.state === 'waiting' ? '?' : '▶') : '⚠'}</span> {WORKFLOW_WORDS[j.workflow]?.title}: {seen[j.deviceId]?.label.replace(/\s*\(.*\)$/, '') ?? j.deviceId} —{' '}
                    {active ? (j.state === 'waiting' ? 'waiting for you' : 'running') : unplugged ? 'interrupted, cable out' : 'interrupted, can resume'}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
        <span className={`conn ${status}`} data-testid="connection">
          {status === 'open' ? 'Connected' : status === 'connecting' ? 'Connecting…' : 'Connection lost'}
        </span>
      </header>
      {status === 'lost' && (
        <div className="banner error" role="alert">
          The connection to Unbrick was lost. If you ran <code>unbrick serve</code>, start it again and open the new URL it prints.
        </div>
      )}
      {error && (
        <div className="banner error" role="alert" data-testid="error">
          <span>{error.message}</span> <small>({error.code})</small>
          <button onClick={() => setError(undefined)}>Dismiss</button>
        </div>
      )}
      {view === 'station' ? (
        <div className="body">
          <main className="main station-main">
            <StationScreen ui={ui} />
          </main>
        </div>
      ) : (
        <div className="body">
          <aside className="sidebar">
            <h2>Devices</h2>
            {lab && <p className="hint">Demo lab: simulated units (no hardware attached).</p>}
            <ul className="devices" data-testid="device-list">
              {devices.length === 0 && <li className="empty">No devices. Plug in a unit's serial adapter.</li>}
              {devices.map((d) => {
                const h = HEALTH[d.health ?? 'none'];
                return (
                  <li key={d.id}>
                    <button
                      data-testid={`device-${d.id}`}
                      data-kind={d.kind}
                      className={`device ${d.id === selected ? 'selected' : ''} health-${d.health ?? 'none'}`}
                      aria-current={d.id === selected ? 'true' : undefined}
                      onClick={() => choose(d.id)}
                    >
                      <span className="label">{d.label}</span>
                      <span className="health-word" data-testid="health-word">
                        <span aria-hidden="true" className="health-icon">
                          {h.icon}
                        </span>{' '}
                        {h.word}
                      </span>
                      <span className="kind">{d.summary}</span>
                      <span className="port">
                        {d.port}
                        {d.busyJobId ? ' · busy' : ''}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
            {lab && <LabPanel ui={ui} devices={devices} />}
          </aside>
          <main className="main">
            {view === 'records' ? (
              <RecordsView ui={ui} tick={recordsTick} devices={devices} />
            ) : view === 'library' ? (
              <LibraryView ui={ui} lab={lab} />
            ) : device ? (
              <DevicePage key={device.id} ui={ui} device={device} present={!!present} chosen={chosenTick} jobs={Object.values(jobs).filter((j) => j.deviceId === device.id)} start={start} />
            ) : (
              <div className="placeholder">
                <p>Pick a device on the left to see what it is and what can be done with it.</p>
              </div>
            )}
          </main>
        </div>
      )}
    </div>
  );
}

function LabPanel({ ui, devices }: { ui: Ui; devices: DeviceSummary[] }) {
  const [units, setUnits] = useState<Result<'lab.list'>['units']>([]);
  // The device list changes when a cable is plugged or pulled: re-read the lab then.
  useEffect(() => {
    ui.client.call('lab.list', {}).then((r) => setUnits(r.units), ui.fail);
  }, [ui, devices]);
  return (
    <div className="lab" data-testid="lab-panel">
      <h3>Demo lab cables</h3>
      {units.map((u) => (
        <div key={u.id} className="cable" title={u.story}>
          <button
            data-testid={`plug-${u.id}`}
            data-plugged={u.plugged}
            onClick={() => ui.client.call('lab.plug', { unitId: u.id, plugged: !u.plugged }).catch(ui.fail)}
          >
            {u.plugged ? 'Unplug' : 'Plug in'}
          </button>{' '}
          {u.label}
          {!u.available && <small className="missing"> (simulator not in this build)</small>}
        </div>
      ))}
    </div>
  );
}

export type { DeviceDetail };
