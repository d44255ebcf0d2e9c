/**
 * VM bench: time to write and verify 448 KiB on the simulated STM32F405 DfuSe bootloader (datasheet flash
 * timings) over a real Linux USB stack, with Unbrick's client and with Debian's dfu-util, in the same VM
 * boot (two vCPUs), alternating, best of three each. Prints both times and the ratio Unbrick / dfu-util (goal <= 1.0).
 * Needs QEMU (see test/vm/); says why and prints no figures when it cannot run.
 */
import { runUsbVmStage, SKIP_ENV, vmUnavailableReason } from '../vm/vm.ts';

export async function run(): Promise<void> {
  if (process.env[SKIP_ENV] === '1') {
    console.log(`usb-vm: skipped (${SKIP_ENV}=1)`);
    return;
  }
  const why = vmUnavailableReason();
  if (why) {
    console.log(`usb-vm: cannot run: ${why}`);
    process.exitCode = 1;
    return;
  }
  // Two vCPUs: on real hardware the device is its own chip, not a process competing with the host tool
  // for one CPU (with one vCPU the device program's share skews the comparison). UNBRICK_VM_CPUS overrides.
  const stage = await runUsbVmStage('bench', { timeoutMs: 600_000, cpus: 2 });
  const r = stage.results;
  const failed = r?.checks.filter((c) => !c.ok) ?? [];
  if (!r || !r.done || failed.length || typeof r.figures.ratio !== 'number') {
    console.log(`usb-vm: the bench did not complete${failed.length ? `: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}` : ''}\n${stage.diagnostics}`);
    process.exitCode = 1;
    return;
  }
  for (const c of r.checks) console.log(`  ${c.name}: ${c.detail}`);
  const s = (ms: number | string) => `${(Number(ms) / 1000).toFixed(2)} s`;
  console.log(`usb-vm: write + verify ${Number(r.figures.bytes) / 1024} KiB over USB (VM, TCG, F405 flash timings)`);
  console.log(`  Unbrick  ${s(r.figures.unbrickMs!)}`);
  console.log(`  dfu-util ${s(r.figures.dfuUtilMs!)}`);
  console.log(`  ratio Unbrick/dfu-util = ${r.figures.ratio} (best of each; goal <= 1.0)`);
  console.log(`  per-round ratios ${r.figures.roundRatios}, median ${r.figures.medianRoundRatio}`);
}
