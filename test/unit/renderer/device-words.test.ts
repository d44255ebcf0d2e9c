/** The device page's words (renderer/src/device-words.ts): one next step, reasons for what does not apply, the condition a stop leaves, one progress across phases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionAfterStop, notApplicable, overallFraction, recommended } from '../../../renderer/src/device-words.ts';
import type { Diagnosis, JobSnapshot } from '../../../src/api/contract.ts';

const diag = (findings: Diagnosis['findings']): Diagnosis => ({ at: '2026-12-07T12:00:00.000Z', findings });

test('the worst finding decides the one recommended step, as the workflow for this kind of unit', () => {
  const stm = diag([
    { severity: 'warning', code: 'stm32.bootloader-wrp', text: 'wrp', action: 'Full unbrick lifts the protection…' },
    { severity: 'critical', code: 'slot.empty', text: 'Slot 0 holds no image.', action: 'Run Full unbrick (or Recover once MCUboot runs) to write the golden application.' },
  ]);
  assert.equal(recommended('stm32-rom', stm, false)?.workflow, 'unbrick');
  const smp = diag([{ severity: 'critical', code: 'slot.no-valid-image', text: 'x', action: 'Run Recover to write the golden application.' }]);
  assert.equal(recommended('mcuboot-serial', smp, false)?.workflow, 'recover');
  // No diagnosis, or one older than the last write: read first.
  assert.equal(recommended('mcuboot-serial', undefined, false)?.workflow, 'diagnose');
  assert.equal(recommended('mcuboot-serial', smp, true)?.workflow, 'diagnose');
  assert.equal(recommended('zephyr-smp', diag([{ severity: 'ok', code: 'slot.valid', text: 'fine' }]), false), undefined);
  assert.equal(recommended('unknown', undefined, false)?.workflow, 'detect');
});

test('actions that do not apply say why', () => {
  assert.match(notApplicable('unbrick', 'zephyr-smp')!, /STM32 ROM bootloader/);
  assert.match(notApplicable('recover', 'zephyr-smp')!, /Offline update/);
  assert.equal(notApplicable('recover', 'mcuboot-serial'), undefined);
  assert.equal(notApplicable('detect', 'unknown'), undefined);
  assert.equal(notApplicable('diagnose', 'stm32-rom'), undefined);
});

const job = (steps: [string, JobSnapshot['steps'][number]['state']][], progress?: JobSnapshot['progress']): JobSnapshot => ({
  id: 'j',
  revision: 1,
  workflow: 'unbrick',
  deviceId: 'd',
  state: 'cancelled',
  steps: steps.map(([id, state]) => ({ id, title: id, state })),
  resumable: true,
  startedAt: 'x',
  log: [],
  ...(progress ? { progress } : {}),
});

test('a stop part-way states the unit condition: what step, what is half-written, protection off', () => {
  const j = job(
    [
      ['connect', 'done'],
      ['readout-unprotect', 'skipped'],
      ['lift-wrp', 'done'],
      ['write', 'cancelled'],
      ['verify', 'pending'],
      ['protect', 'pending'],
    ],
    { phase: 'Writing', done: 17920, total: 41165 },
  );
  const c = conditionAfterStop(j);
  assert.equal(c.stoppedIn, 'write (at 17.5 KiB of 40.2 KiB)');
  assert.ok(c.condition.some((x) => /Write protection is OFF/.test(x)));
  assert.ok(c.condition.some((x) => /half-written/.test(x)));
  assert.ok(!c.condition.some((x) => /Readout protection was removed/.test(x)), 'a skipped unprotect erased nothing');
});

test('one progress across phases: finished steps count whole, the running one by its bytes', () => {
  const running = job([['connect', 'done'], ['readout-unprotect', 'skipped'], ['lift-wrp', 'done'], ['write', 'running'], ['verify', 'pending'], ['protect', 'pending'], ['reset', 'pending'], ['answers', 'pending']], { phase: 'Writing', done: 50, total: 100 });
  const f = overallFraction(running);
  assert.ok(f > 0.3 && f < 0.45, String(f));
  assert.equal(overallFraction({ ...running, steps: running.steps.map((s) => ({ ...s, state: 'done' })) }), 1);
});
