/**
 * The USB VM stage (`npm run test:vm`, run by .ci/run): boots a QEMU guest whose kernel has a real USB
 * stack (dummy_hcd), puts the simulated STM32 DfuSe bootloader on it through FunctionFS, and checks that
 * Debian's dfu-util and Unbrick's client (node-usb) both drive it correctly. See test/vm/ and
 * ../shared/usb-vm.md.
 *
 * It never passes silently: if the VM cannot run here the stage fails and says why, unless
 * UNBRICK_SKIP_USB_VM=1 asks for an announced skip.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TEST_CHECKS } from '../../vm/checks.ts';
import { runUsbVmStage, SKIP_ENV, vmUnavailableReason, type StageRun } from '../../vm/vm.ts';

const skip = process.env[SKIP_ENV] === '1';
if (skip) console.log(`USB VM stage SKIPPED because ${SKIP_ENV}=1: dfu-util and Unbrick were NOT checked against a real USB stack.`);

test('USB VM stage: dfu-util and Unbrick against the simulated DfuSe device on a real USB stack', { skip: skip && `${SKIP_ENV}=1`, timeout: 540_000 }, async (t) => {
  const why = vmUnavailableReason();
  assert.equal(why, null, `The USB VM stage cannot run on this machine: ${why}\nInstall what is missing (see .ci/run), or set ${SKIP_ENV}=1 to skip it on purpose.`);

  const verbose = process.env.UNBRICK_VM_VERBOSE === '1';
  const run: StageRun = await runUsbVmStage('test', { ...(verbose ? { onConsole: (l: string) => console.log(`  vm| ${l}`) } : {}) });
  const { results } = run;
  console.log(`  VM stage: ${(run.vm.wallMs / 1000).toFixed(0)} s wall, logs in ${run.resultsDir}`);
  assert.ok(results, `The guest wrote no results.\n${run.diagnostics}`);
  for (const c of results.checks) console.log(`  guest: ${c.ok ? 'PASS' : 'FAIL'} ${c.name} (${(c.ms / 1000).toFixed(1)} s): ${c.detail}`);

  for (const name of Object.values(TEST_CHECKS)) {
    await t.test(name, () => {
      const c = results.checks.find((x) => x.name === name);
      assert.ok(c, `The guest never ran this check.\n${run.diagnostics}`);
      assert.ok(c.ok, `${c.detail}\n${run.diagnostics}`);
    });
  }
  await t.test('the guest suite ran to its end and nothing else failed', () => {
    assert.ok(results.done, `The guest suite stopped before its end.\n${run.diagnostics}`);
    const failed = results.checks.filter((c) => !c.ok);
    assert.deepEqual(failed, [], run.diagnostics);
    assert.equal(run.vm.runExitCode, 0, `The guest run exited ${run.vm.runExitCode}.\n${run.diagnostics}`);
  });
});
