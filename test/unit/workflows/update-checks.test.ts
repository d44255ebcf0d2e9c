/**
 * The update's safeguards on the demo lab's two new units, through the app
 * core as the app and the CLI run them: the low-battery unit is refused in
 * the 'checks' step before a single image byte is sent (slot 1 stays erased,
 * nothing is asked, nothing is uploaded), and the unit whose new image
 * restarts again and again is reported as boot-looping, not as a rollback,
 * and left unconfirmed by Unbrick with the anti-rollback floor untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drive, labCore } from './lab-jobs.ts';
import type { SmpBoard } from '../../../src/sim/lab/smp-board.ts';
import { LAB_BOOT_LOOPS, LAB_LOW_BATTERY_MV } from '../../../src/sim/lab/smp-board.ts';
import { LAB_UPDATE_MIN_BATTERY_MV } from '../../../src/sim/lab/vendor.ts';
import type { ZephyrDevice } from '../../../src/sim/zephyr/index.ts';
import { loadRollbackState } from '../../../src/trust/rollback-state.ts';

const steps = (s: { steps: { id: string; state: string }[] }) => s.steps.map((x) => `${x.id}:${x.state}`);

test('low battery: the update is refused in its checks step with the reading and the limit, before any byte is sent', { timeout: 60_000 }, async (t) => {
  const id = 'lab-low-battery';
  const { c, lab } = await labCore(t, id);
  const job = c.job(c.startJob('update', id, {}).id);
  let asked = false;
  await drive(job, () => {
    asked ||= !!job.snapshot().confirmation;
    return false;
  });
  const s = job.snapshot();
  assert.equal(s.state, 'failed');
  assert.equal(s.error!.code, 'update.precondition-failed');
  assert.equal(s.error!.kind, 'check');
  assert.match(s.error!.message, new RegExp(`battery \\(power/battery_mv\\) reads ${LAB_LOW_BATTERY_MV} mV; it must be at least ${LAB_UPDATE_MIN_BATTERY_MV} mV`));
  assert.match(s.error!.message, /nothing was sent to it/);
  assert.equal(s.resumable, false);
  assert.deepEqual(steps(s), ['image:done', 'checks:failed', 'upload:pending', 'test:pending', 'wait:pending', 'confirm:pending']);
  assert.equal(asked, false, 'refused before the user is asked to install');
  // Zero bytes uploaded: the job sent none, and the unit's slot 1 is still erased flash.
  const state = job.def.state as { transfer?: unknown; uploaded?: boolean };
  assert.equal(state.transfer, undefined);
  assert.equal(state.uploaded, undefined);
  const dev = (lab.simulator(id) as SmpBoard).dev as ZephyrDevice;
  assert.equal(dev.flash.isErased(dev.slots.secondary.offset, dev.slots.secondary.size), true);
  assert.equal(s.result!.summary, 'Nothing was installed.');
  const rec = c.log.verify().entries.filter((e) => e.action === 'update');
  assert.deepEqual(
    rec.map((e) => [e.outcome, (e.details as { error?: { code: string } }).error?.code]),
    [['failed', 'update.precondition-failed']],
  );
});

test('boot loop: a unit that restarts again and again on its test boot is reported as boot-looping, not confirmed', { timeout: 90_000 }, async (t) => {
  const id = 'lab-boot-loop';
  const { c, lab } = await labCore(t, id);
  const job = c.job(c.startJob('update', id, {}).id);
  await drive(job);
  const s = job.snapshot();
  assert.equal(s.state, 'failed', s.error?.message);
  assert.equal(s.error!.code, 'update.boot-loop', s.error!.message);
  assert.equal(s.error!.kind, 'check');
  // Unbrick's own restart plus the loop's.
  assert.match(s.error!.message, new RegExp(`boot-looping: it restarted ${LAB_BOOT_LOOPS + 1} times after Unbrick restarted it once into 1\\.3\\.0`));
  assert.match(s.error!.message, /confirmed itself/);
  assert.deepEqual(steps(s), ['image:done', 'checks:done', 'upload:skipped', 'test:done', 'wait:failed', 'confirm:pending']);
  assert.equal(s.result!.summary, `Boot-looping: the unit restarted ${LAB_BOOT_LOOPS + 1} times after its test boot of 1.3.0; not confirmed.`);
  const state = job.def.state as { confirmed?: boolean; restarts?: number; bootLoop?: boolean };
  assert.equal(state.confirmed, undefined);
  assert.equal(state.bootLoop, true);
  const dev = (lab.simulator(id) as SmpBoard).dev as ZephyrDevice;
  assert.ok(dev.stats.resets >= LAB_BOOT_LOOPS + 1);
  // Not recorded as installed: this laptop's anti-rollback floor stays where it was.
  assert.deepEqual(Object.values(loadRollbackState(await lab.libraryDir()).products), []);
  const rec = c.log.verify().entries.filter((e) => e.action === 'update');
  assert.equal(rec.length, 1);
  const details = rec[0]!.details as { error?: { code: string }; bootLoop?: boolean; restartsAfterTestBoot?: number; preconditions?: { check: string; ok: boolean }[] };
  assert.equal(details.error?.code, 'update.boot-loop');
  assert.equal(details.bootLoop, true);
  assert.equal(details.restartsAfterTestBoot, LAB_BOOT_LOOPS + 1);
  // The preconditions as read before the test boot are part of the record.
  assert.deepEqual(details.preconditions?.map((p) => [p.check, p.ok]), [['battery (power/battery_mv)', true], ['room in slot 1', true]]);
});
