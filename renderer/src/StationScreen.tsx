/**
 * The factory station screen: one big tile per port (PASS / FAIL / RUNNING /
 * IDLE, as a word and an icon as well as a colour), the batch counters, and the
 * operator's controls (approve the pilot lot, resume a stopped line, enable a
 * disabled port).
 *
 * Rendering stays cheap with many ports: status events are kept in a ref and
 * rendered at most once per animation frame, and each tile re-renders only
 * when what it shows changed (progress to the percent, time to the second).
 */
import { memo, useEffect, useRef, useState } from 'react';
import type { StationPort, StationRunView, StationStatus } from '../../src/api/contract.ts';
import type { ApiClient } from '../../src/api/protocol.ts';
import type { Ui } from './App.tsx';
import './pages.css';
import './station.css';

/** The newest station status, applied at most once per animation frame. */
export function useStationStatus(client: ApiClient, onError: (e: unknown) => void): StationStatus | undefined {
  const [status, setStatus] = useState<StationStatus>();
  const latest = useRef<StationStatus | undefined>(undefined);
  const frame = useRef(0);
  useEffect(() => {
    const take = (s: StationStatus) => {
      if (latest.current && latest.current.revision > s.revision) return; // an older reply overtaken by an event
      latest.current = s;
      if (frame.current) return;
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        setStatus(latest.current);
      });
    };
    const off = client.on('station.changed', take);
    client.call('station.status', {}).then(take, onError);
    return () => {
      off();
      if (frame.current) cancelAnimationFrame(frame.current);
      frame.current = 0;
    };
  }, [client, onError]);
  return status;
}

export function StationScreen({ ui }: { ui: Ui }) {
  const status = useStationStatus(ui.client, ui.fail);
  if (!status) return <div className="placeholder">Reading the station…</div>;
  return status.run ? <RunningStation ui={ui} run={status.run} /> : <StartStation ui={ui} status={status} />;
}

const MODE_WORDS: Record<StationRunView['mode'], string> = { running: 'LINE RUNNING', 'pilot-review': 'LINE PAUSED', stopped: 'LINE STOPPED' };

function RunningStation({ ui, run }: { ui: Ui; run: StationRunView }) {
  const [confirmStop, setConfirmStop] = useState(false);
  const call = (p: Promise<unknown>) => void p.catch(ui.fail);
  const finished = run.ports.some((p) => p.state === 'pass' || p.state === 'fail' || p.state === 'disabled');
  const fixture = run.fixtureFaults ?? 0;
  const done = run.passed + run.failed;
  // Yield: units that passed of the units tested (a fixture fault tested none); units per hour over the time the station has run.
  const tested = done - fixture;
  const yieldPct = tested > 0 ? Math.round((100 * run.passed) / tested) : undefined;
  const hours = (run.elapsedMs ?? 0) / 3_600_000;
  const perHour = done && hours > 0 ? Math.round(done / hours) : undefined;
  const dense = run.ports.length > 8;
  return (
    <div className={dense ? 'station dense' : 'station'} data-testid="station" data-mode={run.mode}>
      <div className="station-head">
        <div>
          <h2>
            {run.product} {run.version} <small>batch {run.batch}</small>
          </h2>
          <div className="hint">
            Station {run.station} · {run.parallel} at once · bundle {run.bundle}
            {run.demo && ' · demo line of simulated units (records in a temporary folder)'}
          </div>
        </div>
        <span className={`mode mode-${run.mode}`} data-testid="station-mode">
          {MODE_WORDS[run.mode]}
        </span>
      </div>
      <div className="counters" data-testid="station-counters" aria-live="off">
        <Counter label="Passed" value={run.passed} kind="pass" testId="count-passed" />
        <Counter label="Failed" value={run.failed} kind="fail" testId="count-failed" />
        <Counter label="Running" value={run.running} kind="running" testId="count-running" />
        <Counter label="Started" value={run.started} kind="idle" testId="count-started" />
        <Counter label="Yield (passed of units tested)" value={yieldPct === undefined ? '—' : `${yieldPct}%`} kind="idle" testId="count-yield" />
        {fixture > 0 && <Counter label="Fixture faults (in Failed)" value={fixture} kind="fixture" testId="count-fixture" />}
        <Counter label="Units per hour" value={perHour ?? '—'} kind="idle" testId="count-per-hour" />
        {run.pool && <Counter label="Per-unit data left" value={run.pool.free} kind="idle" testId="count-data" />}
      </div>
      {run.mode === 'pilot-review' && (
        <div className="line-banner paused" role="alert" data-testid="pilot-banner">
          <strong>Paused for review.</strong> <span>{run.reason}</span>
          <button className="primary big" data-testid="approve-pilot" onClick={() => call(ui.client.call('station.approvePilot', {}))}>
            Approve pilot lot and continue
          </button>
        </div>
      )}
      {run.mode === 'stopped' && (
        <div className="line-banner stopped" role="alert" data-testid="stopped-banner">
          <strong>The line stopped itself.</strong> <span>{run.reason}</span>
          <button className="danger big" data-testid="resume-line" onClick={() => call(ui.client.call('station.resume', {}))}>
            Resume the line
          </button>
        </div>
      )}
      {/* Many ports: smaller tiles, so a 16-port fixture fits one screen. */}
      <div className={run.ports.length > 8 ? 'tiles compact' : 'tiles'} data-testid="tiles">
        {run.ports.length === 0 && <p className="empty">No ports yet. Plug in the fixture's USB serial adapters.</p>}
        {run.ports.map((p, i) => (
          <PortTile key={p.id} port={p} socket={i + 1} onEnable={(id) => call(ui.client.call('station.enablePort', { port: id }))} />
        ))}
      </div>
      <div className="actions">
        {run.demo && finished && (
          <button data-testid="demo-next" onClick={() => call(ui.client.call('station.demoNextUnits', {}))}>
            Pull the finished units, plug in fresh ones
          </button>
        )}
        {!confirmStop ? (
          <button data-testid="stop-station" onClick={() => setConfirmStop(true)}>
            Stop the station…
          </button>
        ) : (
          <span className="dialog danger">
            Units still running are aborted and recorded as stopped.{' '}
            <button className="danger" data-testid="stop-confirm" onClick={() => call(ui.client.call('station.stop', {}).finally(() => setConfirmStop(false)))}>
              Stop now
            </button>{' '}
            <button onClick={() => setConfirmStop(false)}>Keep running</button>
          </span>
        )}
      </div>
      <details className="engineer">
        <summary>For the engineer</summary>
        <p className="hint">
          Records: service log in {run.dataDir}. Batch report: <code>unbrick station report --data-dir {run.dataDir} --batch {run.batch}</code>
        </p>
      </details>
    </div>
  );
}

function Counter({ label, value, kind, testId }: { label: string; value: number | string; kind: string; testId: string }) {
  return (
    <div className={`counter ${kind}`}>
      <span className="value" data-testid={testId}>
        {value}
      </span>
      <span className="label">{label}</span>
    </div>
  );
}

const TILE_WORDS: Record<StationPort['state'] | 'fixture', { word: string; icon: string }> = {
  idle: { word: 'IDLE', icon: '○' },
  running: { word: 'RUNNING', icon: '▶' },
  pass: { word: 'PASS', icon: '✓' },
  fail: { word: 'FAIL', icon: '✗' },
  disabled: { word: 'OFF', icon: '⊘' },
  fixture: { word: 'FIXTURE', icon: '⚠' },
};

/**
 * What an operator does about a failed unit, by its error code: short words,
 * no command-line advice (that is for the engineer, behind the tile's details).
 */
const UNIT_FAULT_WORDS: Record<string, string> = {
  'station.unit-protected': 'Locked unit: wrong lot?',
  'stm32.verify-failed': 'Flash did not verify.',
  'station.unplugged': 'Pulled before it finished.',
  'station.stopped': 'Stopped with the station.',
};

/** The engineer's text without command-line advice meant for another audience ("Re-run … with --allow-unprotect"). */
function engineerText(reason: string | undefined): string {
  if (!reason) return '';
  return reason
    .split(/(?<=\.)\s+/)
    .filter((sentence) => !/(^|\s)--[a-z]/.test(sentence))
    .join(' ');
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));
const percent = (x: number | undefined) => (x === undefined ? undefined : Math.floor(x * 100));

/** Re-render a tile only when what it shows changed. */
function sameTile(a: { port: StationPort; socket: number }, b: { port: StationPort; socket: number }): boolean {
  const p = a.port;
  const q = b.port;
  return (
    a.socket === b.socket &&
    p.id === q.id &&
    p.state === q.state &&
    p.present === q.present &&
    p.unit === q.unit &&
    p.serial === q.serial &&
    p.chip === q.chip &&
    p.step === q.step &&
    p.reason === q.reason &&
    p.code === q.code &&
    p.fixtureFault === q.fixtureFault &&
    seconds(p.elapsedMs) === seconds(q.elapsedMs) &&
    percent(p.progress) === percent(q.progress)
  );
}

/**
 * One socket of the fixture. The operator reads the number, a word and an
 * icon, and one line saying what to do; a fault of the fixture (no unit
 * answered: adapter, cable, socket) says the unit is fine, so a good unit is
 * never scrapped for it. The engineer's detail (port path, error text, code)
 * is behind "Details".
 */
const PortTile = memo(function PortTile({ port: p, socket, onEnable }: { port: StationPort; socket: number; onEnable: (id: string) => void }) {
  const fixture = !!p.fixtureFault;
  const w = TILE_WORDS[fixture && p.state === 'fail' ? 'fixture' : p.state];
  const pct = percent(p.progress);
  const name = `Socket ${socket}`;
  let todo: string | undefined;
  if (p.state === 'idle') todo = p.present ? 'Waiting for the line' : 'Plug in the next unit';
  else if (p.state === 'pass') todo = 'Pull the unit and plug in the next one';
  else if (p.state === 'fail' && fixture) todo = `${name}: fixture fault — unit is fine, call the engineer`;
  else if (p.state === 'fail') todo = `${UNIT_FAULT_WORDS[p.code ?? ''] ?? 'The unit failed.'} Set it aside.`;
  else if (p.state === 'disabled') todo = `${name} is switched off after repeated fixture faults — unit is fine, call the engineer`;
  const detail = engineerText(p.reason);
  return (
    <div
      className={`tile tile-${p.state}${fixture ? ' tile-fixture' : ''}`}
      data-testid={`tile-${p.id}`}
      data-state={p.state}
      data-socket={socket}
      data-fault={fixture ? 'fixture' : p.state === 'fail' ? 'unit' : undefined}
      role="group"
      aria-label={`${name}: ${w.word}`}
    >
      <div className="tile-top">
        <span className="tile-socket">{name.toUpperCase()}</span>
        <span className="tile-word" data-testid="tile-word">
          <span aria-hidden="true">{w.icon}</span> {w.word}
        </span>
      </div>
      <div className="tile-unit" data-testid="tile-unit">
        {p.serial && <strong>{p.serial}</strong>}
        {!p.serial && (p.state === 'idle' || p.state === 'pass') && <span className="none">{p.present ? 'Unit plugged in' : 'No unit'}</span>}
      </div>
      {p.state === 'running' && (
        <div className="tile-run">
          <div>
            {p.step ?? 'starting'} · {seconds(p.elapsedMs) ?? 0} s{pct !== undefined ? ` · about ${pct}%` : ''}
          </div>
          <progress max={100} value={pct ?? undefined} aria-label={`${name} progress`} />
        </div>
      )}
      {todo && (
        <div className={p.state === 'fail' || p.state === 'disabled' ? 'tile-reason' : 'tile-note'} data-testid={p.state === 'fail' || p.state === 'disabled' ? 'tile-todo' : 'tile-note'}>
          {todo}
        </div>
      )}
      {p.state === 'disabled' && (
        <button className="primary" data-testid={`enable-${p.id}`} onClick={() => onEnable(p.id)}>
          Switch {name.toLowerCase()} back on
        </button>
      )}
      <details className="tile-details">
        <summary>Details</summary>
        <div className="tile-engineer" data-testid="tile-reason">
          <div>
            Port <code>{p.id}</code>
            {p.label ? ` (${p.label})` : ''}
          </div>
          {p.unit && !p.unit.startsWith('port:') && <div className="uid">UID {p.unit}</div>}
          {p.chip && <div className="chip">{p.chip}</div>}
          {detail && <div>{detail}</div>}
          {p.code && <div>({p.code})</div>}
        </div>
      </details>
    </div>
  );
}, sameTile);

function StartStation({ ui, status }: { ui: Ui; status: StationStatus }) {
  const [bundle, setBundle] = useState('');
  const [ports, setPorts] = useState('auto');
  const [parallel, setParallel] = useState('4');
  const [pilot, setPilot] = useState('');
  const [data, setData] = useState('');
  const [dataAddress, setDataAddress] = useState('');
  const [busy, setBusy] = useState(false);
  const int = (s: string) => (/^0x[0-9a-f]+$/i.test(s.trim()) ? parseInt(s.trim(), 16) : /^\d+$/.test(s.trim()) ? parseInt(s.trim(), 10) : undefined);
  const run = (p: Promise<unknown>) => {
    setBusy(true);
    p.catch(ui.fail).finally(() => setBusy(false));
  };
  const start = () => {
    const list = ports.trim() === 'auto' ? [] : ports.split(',').map((s) => s.trim()).filter(Boolean);
    run(
      ui.client.call('station.start', {
        bundle: bundle.trim(),
        parallel: int(parallel) ?? 1,
        ...(list.length ? { ports: list } : {}),
        ...(int(pilot) !== undefined ? { pilot: int(pilot)! } : {}),
        ...(data.trim() ? { data: data.trim() } : {}),
        ...(int(dataAddress) !== undefined ? { dataAddress: int(dataAddress)! } : {}),
      }),
    );
  };
  return (
    <div className="station start" data-testid="station-start">
      <h2>Factory station</h2>
      <p className="what">
        Provisions every unit plugged into the station's ports with a signed provisioning bundle, records each one, and shows pass or fail per port. Usually
        started with the line: <code>unbrick serve --station-bundle FILE</code>.
      </p>
      {status.error && (
        <div className="banner error" role="alert" data-testid="station-error">
          The station did not start: {status.error.message} <small>({status.error.code})</small>
        </div>
      )}
      <div className="form">
        <label>
          Provisioning bundle (path on this machine) <input value={bundle} onChange={(e) => setBundle(e.target.value)} data-testid="station-bundle" size={60} />
        </label>
        <label>
          Ports (auto, or comma-separated paths) <input value={ports} onChange={(e) => setPorts(e.target.value)} size={40} />
        </label>
        <label>
          Units at once <input value={parallel} onChange={(e) => setParallel(e.target.value)} size={4} />
        </label>
        <label>
          Pilot lot (pause after N units) <input value={pilot} onChange={(e) => setPilot(e.target.value)} size={4} />
        </label>
        <label>
          Per-unit data list (CSV or JSON) <input value={data} onChange={(e) => setData(e.target.value)} size={60} />
        </label>
        <label>
          Per-unit data flash address <input value={dataAddress} onChange={(e) => setDataAddress(e.target.value)} size={12} placeholder="0x08008000" />
        </label>
      </div>
      <div className="actions">
        <button className="primary" disabled={busy || !bundle.trim()} onClick={start} data-testid="station-start-button">
          Start the station
        </button>
        {status.demoAvailable && (
          <button disabled={busy} onClick={() => run(ui.client.call('station.startDemo', {}))} data-testid="station-demo">
            Start the demo factory line (simulated units)
          </button>
        )}
      </div>
    </div>
  );
}
