import { useEffect, useRef, useState } from 'react';
import type { JobSnapshot } from '../../src/api/contract.ts';
import type { Ui } from './App.tsx';
import { formatBytes, formatEta, formatRate, WORKFLOW_WORDS } from './format.ts';
import { conditionAfterStop, overallFraction, timeOf } from './device-words.ts';
import { Modal } from './Modal.tsx';

const STATE_WORDS: Record<JobSnapshot['state'], string> = {
  running: 'Running',
  waiting: 'Waiting for you',
  succeeded: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  refused: 'Not started',
};

const STEP_ICONS: Record<JobSnapshot['steps'][number]['state'], string> = {
  pending: '○',
  running: '▶',
  done: '✔',
  skipped: '↷',
  failed: '✖',
  cancelled: '■',
};

/** Seconds since `from`, ticking once a second while `on`. */
function useElapsed(from: number | undefined, on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return from === undefined ? 0 : Math.max(0, (now - from) / 1000);
}

export function JobView({ ui, job, present }: { ui: Ui; job: JobSnapshot; present: boolean }) {
  const active = job.state === 'running' || job.state === 'waiting';
  const [askCancel, setAskCancel] = useState(false);
  const [typed, setTyped] = useState('');
  const stopped = job.state === 'cancelled' || job.state === 'failed';
  const cond = stopped ? conditionAfterStop(job) : undefined;
  const badResult = job.result?.findings?.some((f) => f.severity === 'critical');
  const p = job.progress;
  const word = job.confirmation?.stepId === 'readout-unprotect' ? 'ERASE' : undefined; // as the CLI asks
  return (
    <div className={`job ${job.state}`} data-testid="job" data-state={job.state} data-workflow={job.workflow}>
      <h3>
        {WORKFLOW_WORDS[job.workflow]?.title ?? job.workflow}: <span data-testid="job-state">{STATE_WORDS[job.state]}</span>{' '}
        <small className="muted">started {timeOf(job.startedAt)}</small>
      </h3>
      {stopped && !present && (
        <div className="interrupted" role="status" data-testid="job-interrupted">
          <strong>⚠ Cable lost</strong>
          {p && p.total > 1 ? ` at ${formatBytes(p.done)} of ${formatBytes(p.total)}` : ''} — plug it back in{job.resumable ? ', then Resume.' : '.'}
        </div>
      )}
      {active && <Progress job={job} />}
      <ol className="steps">
        {job.steps.map((s) => (
          <li key={s.id} className={`step ${s.state}`}>
            <span aria-hidden="true" className="step-icon">
              {STEP_ICONS[s.state]}
            </span>{' '}
            {s.title} <small>({s.state})</small>
            {s.detail && <div className="detail">{s.detail}</div>}
          </li>
        ))}
      </ol>
      {job.confirmation && (
        <Modal title={job.confirmation.title} onCancel={() => void answer(ui, job, false)} testId="confirm-dialog" tone="danger">
          <p>{job.confirmation.message}</p>
          {word && (
            <label className="typed">
              Type <strong>{word}</strong> to allow this:{' '}
              <input data-testid="confirm-word" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
            </label>
          )}
          <div className="buttons">
            <button data-testid="confirm-decline" data-safe onClick={() => void answer(ui, job, false)}>
              Do not do this
            </button>
            <button className="danger" data-testid="confirm-allow" disabled={!!word && typed.trim() !== word} onClick={() => void answer(ui, job, true)}>
              {job.confirmation.confirmLabel}
            </button>
          </div>
        </Modal>
      )}
      {job.error && (
        <div className={`outcome ${job.state === 'cancelled' ? 'warn' : 'bad'}`} data-testid="job-error">
          <strong>{job.state === 'cancelled' ? '■ Stopped' : job.state === 'refused' ? '✖ Not started' : '✖ Failed'}:</strong> {job.error.message}
          {cond && (
            <div className="condition" data-testid="job-condition">
              {cond.stoppedIn && <div>Stopped in: {cond.stoppedIn}.</div>}
              {cond.condition.map((c) => (
                <div key={c}>{c}</div>
              ))}
            </div>
          )}
        </div>
      )}
      {job.result && !job.error && (
        <div className={`outcome ${badResult ? 'bad' : 'ok'}`} data-testid="job-result">
          <strong>{badResult ? '✖ Finished, with bad news:' : '✔'}</strong> {job.result.summary}
        </div>
      )}
      <div className="buttons">
        {job.resumable && (
          <>
            <button data-testid="job-resume" className="primary" disabled={!present} onClick={() => ui.client.call('jobs.resume', { jobId: job.id }).catch(ui.fail)}>
              Resume from where it stopped
            </button>
            {!present && <span className="reason">Plug the unit back in first.</span>}
          </>
        )}
        {active && (
          <button data-testid="job-cancel" onClick={() => setAskCancel(true)}>
            Cancel…
          </button>
        )}
      </div>
      {askCancel && active && (
        <Modal title={`Stop ${WORKFLOW_WORDS[job.workflow]?.title ?? job.workflow}?`} onCancel={() => setAskCancel(false)} testId="cancel-dialog" tone="danger">
          <p>
            It is in step “{job.steps.find((s) => s.state === 'running')?.title ?? '—'}”. If you stop now: {conditionAfterStop({ ...job, steps: job.steps.map((s) => (s.state === 'running' ? { ...s, state: 'cancelled' } : s)) }).condition.join(' ') || 'nothing more is changed.'}
          </p>
          {job.workflow !== 'detect' && job.workflow !== 'diagnose' && <p>You can resume it later from where it stopped.</p>}
          <div className="buttons">
            <button data-safe data-testid="cancel-keep" onClick={() => setAskCancel(false)}>
              Keep going
            </button>
            <button
              className="danger"
              data-testid="cancel-confirm"
              onClick={() => {
                setAskCancel(false);
                ui.client.call('jobs.cancel', { jobId: job.id }).catch(ui.fail);
              }}
            >
              Stop now
            </button>
          </div>
        </Modal>
      )}
      <details className="log">
        <summary>Log ({job.log.length} lines)</summary>
        <pre>{job.log.map((l) => `${timeOf(l.time)} ${l.level.padEnd(5)} ${l.message}`).join('\n')}</pre>
      </details>
    </div>
  );
}

function answer(ui: Ui, job: JobSnapshot, allow: boolean) {
  return ui.client.call('jobs.confirm', { jobId: job.id, stepId: job.confirmation!.stepId, allow }).catch(ui.fail);
}

/**
 * One bar for the whole job (all its phases) with an ETA, the phase's own
 * figures, and a rate over the bytes actually sent in this run (a resume's
 * skipped bytes are not counted). A wait (no byte count) shows a moving
 * indicator and the time it has been waiting.
 */
function Progress({ job }: { job: JobSnapshot }) {
  const p = job.progress;
  const running = job.steps.find((s) => s.state === 'running');
  // Where this run started (a resume starts a new one), and the first bytes figure seen in this phase.
  const run = useRef<{ key: string; t: number; f: number } | undefined>(undefined);
  const phase = useRef<{ key: string; t: number; done: number } | undefined>(undefined);
  const runKey = `${job.id}:${job.log.filter((l) => l.message.startsWith('Resuming')).length}`;
  const f = overallFraction(job);
  if (!run.current || run.current.key !== runKey) run.current = { key: runKey, t: Date.now(), f };
  const phaseKey = `${runKey}:${running?.id}:${p?.phase}`;
  if (p && (!phase.current || phase.current.key !== phaseKey || p.done < phase.current.done)) phase.current = { key: phaseKey, t: Date.now(), done: p.done };
  const stepStart = useRef<{ key: string; t: number } | undefined>(undefined);
  const stepKey = `${runKey}:${running?.id}`;
  if (!stepStart.current || stepStart.current.key !== stepKey) stepStart.current = { key: stepKey, t: Date.now() };
  const waiting = !p || p.total <= 1;
  const elapsedStep = useElapsed(stepStart.current.t, true);
  const elapsedRun = (Date.now() - run.current.t) / 1000;
  const sentSecs = phase.current && p ? (Date.now() - phase.current.t) / 1000 : 0;
  const sent = phase.current && p ? p.done - phase.current.done : 0;
  const rate = sentSecs >= 1 && sent > 0 ? sent / sentSecs : undefined;
  const gained = f - run.current.f;
  const eta = elapsedRun >= 2 && gained > 0.01 ? (elapsedRun * (1 - f)) / gained : undefined;
  const pct = Math.round(f * 100);
  return (
    <div className="progress" data-testid="progress">
      <div className="overall">
        <span className="phase" data-testid="phase">
          {job.state === 'waiting' ? 'Waiting for your answer' : (p?.phase ?? running?.title ?? 'Working')}
        </span>
        <span className="pct">{pct}% overall</span>
      </div>
      <progress max={1} value={f} aria-label={`Overall progress ${pct}%`} data-testid="overall-progress" />
      {waiting ? (
        <div className="figures waiting" data-testid="wait">
          <span className="spinner" aria-hidden="true" /> Waiting… {Math.round(elapsedStep)} s
        </div>
      ) : (
        <div className="figures">
          {formatBytes(p.done)} of {formatBytes(p.total)} in this phase · <span data-testid="rate">{formatRate(rate)}</span> sent ·{' '}
          {eta === undefined ? (
            <span data-testid="eta">estimating the time left</span>
          ) : (
            <>
              about <span data-testid="eta">{eta < 1 ? 'a moment' : formatEta(eta)}</span> left in all
            </>
          )}
        </div>
      )}
    </div>
  );
}
