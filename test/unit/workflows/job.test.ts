import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, type JobDefinition, type Step } from '../../../src/workflows/job.ts';
import { deviceError, checkError } from '../../../src/core/errors.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';
import { JobSnapshotSchema } from '../../../src/api/contract.ts';

interface UploadState {
  total: number;
  /** Checkpoint: bytes the "device" acknowledged. */
  offset: number;
  /** Fail once when reaching this offset (a cable glitch). */
  failAt?: number;
  writes: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upload-shaped step: moves in chunks, keeps its checkpoint, honours the signal. */
const uploadStep: Step<UploadState> = {
  id: 'upload',
  title: 'Upload image',
  async run(ctx) {
    const meter = ctx.progress('Uploading', ctx.state.total);
    while (ctx.state.offset < ctx.state.total) {
      if (ctx.signal.aborted) return;
      if (ctx.state.failAt !== undefined && ctx.state.offset >= ctx.state.failAt) {
        ctx.state.failAt = undefined;
        throw deviceError('smp.timeout', 'The device stopped answering during the upload. Check the cable, then resume.');
      }
      await sleep(2);
      ctx.state.writes.push(ctx.state.offset);
      ctx.state.offset += 1024;
      meter.update(ctx.state.offset);
    }
  },
};

function def(state: UploadState, extra: Partial<JobDefinition<UploadState>> = {}): JobDefinition<UploadState> {
  return {
    workflow: 'update',
    deviceId: 'dev-1',
    state,
    steps: [{ id: 'check', title: 'Check bundle', run: async () => {} }, uploadStep, { id: 'reset', title: 'Reset', run: async () => ({ skipped: 'not needed' }) }],
    result: (s) => ({ summary: `Uploaded ${s.offset} bytes.` }),
    ...extra,
  };
}

function collect(): { snaps: JobSnapshot[]; emit: (j: Job<UploadState>) => void } {
  const snaps: JobSnapshot[] = [];
  return { snaps, emit: (j) => snaps.push(j.snapshot()) };
}

test('a job runs its steps in order, reports progress with rate and ETA, and succeeds', async () => {
  const { snaps, emit } = collect();
  const job = new Job(def({ total: 16 * 1024, offset: 0, writes: [] }), emit);
  await job.start();
  const last = job.snapshot();
  assert.equal(last.state, 'succeeded');
  assert.deepEqual(
    last.steps.map((s) => s.state),
    ['done', 'done', 'skipped'],
  );
  assert.equal(last.result?.summary, 'Uploaded 16384 bytes.');
  const withProgress = snaps.filter((s) => s.progress);
  assert.ok(withProgress.length >= 2, 'progress was reported');
  const p = withProgress.at(-1)!.progress!;
  assert.equal(p.total, 16384);
  assert.ok(p.rate! > 0);
  // Every snapshot is valid under the contract the UI parses with.
  for (const s of snaps) JobSnapshotSchema.parse(s);
});

test('a failed job resumes from its checkpoint without redoing acknowledged work', async () => {
  const state: UploadState = { total: 8 * 1024, offset: 0, failAt: 4 * 1024, writes: [] };
  const job = new Job(def(state), () => {});
  await job.start();
  let s = job.snapshot();
  assert.equal(s.state, 'failed');
  assert.equal(s.error?.code, 'smp.timeout');
  assert.equal(s.resumable, true);
  assert.deepEqual(
    s.steps.map((x) => x.state),
    ['done', 'failed', 'pending'],
  );
  await job.resume();
  s = job.snapshot();
  assert.equal(s.state, 'succeeded');
  // Each offset was written exactly once across both runs.
  assert.deepEqual(
    state.writes,
    Array.from({ length: 8 }, (_, i) => i * 1024),
  );
});

test('cancel stops a running job promptly; it can then resume', async () => {
  const state: UploadState = { total: 400 * 1024, offset: 0, writes: [] };
  const job = new Job(def(state), () => {});
  const run = job.start();
  await sleep(30);
  job.cancel();
  await run;
  const s = job.snapshot();
  assert.equal(s.state, 'cancelled');
  assert.equal(s.error?.kind, 'cancelled');
  assert.ok(state.offset > 0 && state.offset < state.total, `stopped midway at ${state.offset}`);
  assert.equal(s.resumable, true);
  const at = state.offset;
  await job.resume();
  assert.equal(job.snapshot().state, 'succeeded');
  assert.equal(state.writes.filter((w) => w < at).length, at / 1024, 'nothing before the checkpoint was written twice');
});

test('a pre-check refuses with its reason and runs no step', async () => {
  let ran = false;
  const job = new Job(
    def({ total: 1024, offset: 0, writes: [] }, {
      precheck: () => 'The bundle is signed by a key this station does not trust.',
      steps: [
        {
          id: 'x',
          title: 'x',
          run: async () => {
            ran = true;
          },
        },
      ],
    }),
    () => {},
  );
  await job.start();
  const s = job.snapshot();
  assert.equal(s.state, 'refused');
  assert.equal(s.error?.code, 'job.precheck-failed');
  assert.match(s.error!.message, /does not trust/);
  assert.equal(ran, false);
  assert.equal(s.resumable, false);
});

test('a destructive step waits for confirmation; declining changes nothing', async () => {
  let erased = 0;
  const destructive = (): JobDefinition<{ n: number }> => ({
    workflow: 'unbrick',
    deviceId: 'd',
    state: { n: 0 },
    steps: [
      {
        id: 'erase',
        title: 'Remove readout protection',
        async run(ctx) {
          await ctx.confirm({ title: 'Erase the chip?', message: 'Removing readout protection erases all flash.', confirmLabel: 'Erase and unprotect' });
          erased++;
        },
      },
    ],
    result: () => ({ summary: 'ok' }),
  });

  /** A job on the destructive definition: started, given time to reach its question, then `act`; its final state. */
  const ended = async (act: (job: Job<{ n: number }>) => void, onChange: (job: Job<{ n: number }>) => void = () => {}) => {
    const job = new Job(destructive(), onChange);
    const run = job.start();
    await sleep(5);
    act(job);
    await run;
    return job.snapshot().state;
  };

  const snaps: JobSnapshot[] = [];
  const declined = (job: Job<{ n: number }>) => {
    assert.equal(job.snapshot().state, 'waiting');
    assert.equal(job.snapshot().confirmation?.stepId, 'erase');
    assert.throws(() => job.answer('other-step', true), /not waiting/);
    job.answer('erase', false);
  };
  assert.equal(await ended(declined, (j) => snaps.push(j.snapshot())), 'cancelled');
  assert.equal(erased, 0);

  assert.equal(await ended((job) => job.answer('erase', true)), 'succeeded');
  assert.equal(erased, 1);

  // Cancel while waiting also releases the wait.
  assert.equal(await ended((job) => job.cancel()), 'cancelled');
  assert.equal(erased, 1);
});

test('a check failure is final (not resumable); resume of a finished job is refused', async () => {
  const job = new Job(
    def({ total: 1024, offset: 0, writes: [] }, {
      steps: [
        {
          id: 'verify',
          title: 'Verify',
          run: async () => {
            throw checkError('bundle.bad-signature', 'The bundle signature is invalid.');
          },
        },
      ],
    }),
    () => {},
  );
  await job.start();
  assert.equal(job.snapshot().state, 'failed');
  assert.equal(job.snapshot().resumable, false);
  assert.throws(() => job.resume(), (e: unknown) => (e as { code?: string }).code === 'job.not-resumable');
});
