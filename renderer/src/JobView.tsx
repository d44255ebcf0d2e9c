import type { JobSnapshot } from '../../src/api/contract.ts';
import type { Ui } from './App.tsx';
import { formatBytes, formatEta, formatRate, WORKFLOW_WORDS } from './format.ts';

const STATE_WORDS: Record<JobSnapshot['state'], string> = {
  running: 'Running',
  waiting: 'Waiting for you',
  succeeded: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  refused: 'Not started',
};

export function JobView({ ui, job }: { ui: Ui; job: JobSnapshot }) {
  const active = job.state === 'running' || job.state === 'waiting';
  const p = job.progress;
  return (
    <div className={`job ${job.state}`} data-testid="job" data-state={job.state}>
      <h3>
        {WORKFLOW_WORDS[job.workflow]?.title ?? job.workflow}: <span data-testid="job-state">{STATE_WORDS[job.state]}</span>
      </h3>
      <ol className="steps">
        {job.steps.map((s) => (
          <li key={s.id} className={`step ${s.state}`}>
            {s.title} <small>({s.state})</small>
            {s.detail && <div className="detail">{s.detail}</div>}
          </li>
        ))}
      </ol>
      {p && active && (
        <div className="progress" data-testid="progress">
          <div>{p.phase}</div>
          <progress max={p.total} value={p.done} />
          <div className="figures">
            {formatBytes(p.done)} of {formatBytes(p.total)} · <span data-testid="rate">{formatRate(p.rate)}</span> · about{' '}
            <span data-testid="eta">{formatEta(p.eta)}</span> left
          </div>
        </div>
      )}
      {job.confirmation && (
        <div className="dialog danger" role="alertdialog" data-testid="confirm-dialog">
          <h4>{job.confirmation.title}</h4>
          <p>{job.confirmation.message}</p>
          <div className="buttons">
            <button
              className="danger"
              data-testid="confirm-allow"
              onClick={() => ui.client.call('jobs.confirm', { jobId: job.id, stepId: job.confirmation!.stepId, allow: true }).catch(ui.fail)}
            >
              {job.confirmation.confirmLabel}
            </button>
            <button
              data-testid="confirm-decline"
              onClick={() => ui.client.call('jobs.confirm', { jobId: job.id, stepId: job.confirmation!.stepId, allow: false }).catch(ui.fail)}
            >
              Do not do this
            </button>
          </div>
        </div>
      )}
      {job.error && (
        <div className={`outcome ${job.state}`} data-testid="job-error">
          {job.error.message}
        </div>
      )}
      {job.result && !job.error && (
        <div className="outcome ok" data-testid="job-result">
          {job.result.summary}
        </div>
      )}
      <div className="buttons">
        {active && (
          <button data-testid="job-cancel" onClick={() => ui.client.call('jobs.cancel', { jobId: job.id }).catch(ui.fail)}>
            Cancel
          </button>
        )}
        {job.resumable && (
          <button data-testid="job-resume" className="primary" onClick={() => ui.client.call('jobs.resume', { jobId: job.id }).catch(ui.fail)}>
            Resume from where it stopped
          </button>
        )}
      </div>
      <details className="log">
        <summary>Log ({job.log.length} lines)</summary>
        <pre>{job.log.map((l) => `${l.time.slice(11, 19)} ${l.level.padEnd(5)} ${l.message}`).join('\n')}</pre>
      </details>
    </div>
  );
}
