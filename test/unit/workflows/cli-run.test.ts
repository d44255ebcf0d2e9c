/**
 * `unbrick run` from the command line: against an STM32 bootloader simulator
 * on a real pseudo-terminal (serialport opens it at 8E1, as a USB adapter),
 * and against a demo-lab unit; destructive steps are declined without --yes.
 */
import { test } from 'node:test';
import { Lab, makeBundle, makeVendor } from '../bundle/fixture.ts';
import { TrustStore } from '../../../src/trust/store.ts';
import { BundleLibrary } from '../../../src/trust/library.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStm32PtySim } from '../../../src/sim/stm32/index.ts';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/unbrick.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('run diagnose on a pty-hosted STM32: identifies the chip and reads its protection', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-run-'));
  const sim = startStm32PtySim({ chip: 'f405', baud: 115200, timeScale: 0.1 });
  t.after(() => {
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const r = await cli(['run', 'diagnose', '--port', sim.path, '--data-dir', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.device.kind, 'stm32-rom');
  assert.equal(out.job.state, 'succeeded');
  assert.equal(out.diagnosis.chip.productId, '0x413');
  // No golden bundle gives this product's flash layout yet: protection is read, slots are not guessed at.
  const codes = (o: { job: { result: { findings: { code: string }[] } } }) => o.job.result.findings.map((f) => f.code);
  assert.deepEqual(codes(out), ['stm32.rdp-0', 'layout.unknown']);

  // With the product's golden bundle (carrying its layout) in the library, MCUboot and the slots are looked for.
  const files = new Lab();
  t.after(() => files.cleanup());
  const vendor = makeVendor();
  TrustStore.init(dir).addRoot(vendor.rootBytes, vendor.rootKeys[0]!.fingerprint);
  const boot = files.file('boot.bin', new Uint8Array(4096).fill(0x42));
  const golden = await makeBundle(files, 'g.ubundle', [vendor.releaseKeys[0]!], {
    kind: 'golden',
    payloads: [{ file: boot, name: 'boot.bin', role: 'bootloader', target: { kind: 'address', address: 0x0800_0000 }, version: '2.0.0' }],
    extensions: { partitions: { mcuboot: { address: 0x0800_0000, size: 0x1_0000 }, slot0: { address: 0x0802_0000, size: 0x2_0000 }, slot1: { address: 0x0804_0000, size: 0x2_0000 } } },
  });
  await new BundleLibrary('golden', { dir }).import(golden);
  const again = JSON.parse((await cli(['run', 'diagnose', '--port', sim.path, '--data-dir', dir, '--json'])).stdout);
  // A factory-fresh chip: no bootloader in the product's MCUboot sectors, empty slots.
  assert.deepEqual(codes(again), ['stm32.rdp-0', 'mcuboot.missing', 'stm32.bootloader-unprotected', 'slot.empty', 'slot.empty']);
  assert.deepEqual(
    again.diagnosis.chip.sectors.filter((x: { label?: string }) => x.label).map((x: { index: number; label: string }) => `${x.index}:${x.label}`),
    ['0:MCUboot', '1:MCUboot', '2:MCUboot', '3:MCUboot', '5:slot 0', '6:slot 1'],
  );
  const rec = await cli(['records', 'list', '--data-dir', dir, '--json']);
  assert.deepEqual(
    JSON.parse(rec.stdout).entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`),
    ['diagnose:succeeded', 'diagnose:succeeded'],
  );
});

test('run unbrick without --yes and without a terminal declines the destructive step and changes nothing', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await cli(['run', 'unbrick', '--lab', 'lab-mcuboot-erased', '--data-dir', dir]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /Lift write protection on pages 0-11\? Declined: run again with --yes/);
  assert.match(r.stdout, /Cancelled: You declined the step; nothing was changed by it\./);
  const bad = await cli(['run', 'diagnose', '--data-dir', dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port PATH .* or --lab UNIT/);
});

test('run update on the lab\'s low-battery unit is refused with the reading and the limit; on the boot-loop unit it reports the loop', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const low = await cli(['run', 'update', '--lab', 'lab-low-battery', '--yes', '--data-dir', dir]);
  assert.equal(low.code, 1, low.stderr);
  assert.match(low.stdout, /^Failed: This unit does not meet what Unbrick demo gateway 1\.3\.0 requires, so nothing was sent to it: battery \(power\/battery_mv\) reads 3310 mV; it must be at least 3500 mV\./m);
  assert.doesNotMatch(low.stderr, /Uploading image/);
  const loop = JSON.parse((await cli(['run', 'update', '--lab', 'lab-boot-loop', '--yes', '--data-dir', dir, '--json'])).stdout);
  assert.equal(loop.job.state, 'failed');
  assert.equal(loop.job.error.code, 'update.boot-loop');
  assert.match(loop.job.error.message, /boot-looping: it restarted 7 times/);
  assert.equal(loop.job.result.summary, 'Boot-looping: the unit restarted 7 times after its test boot of 1.3.0; not confirmed.');
  const rec = JSON.parse((await cli(['records', 'list', '--data-dir', dir, '--json'])).stdout);
  assert.deepEqual(
    rec.entries.map((e: { action: string; outcome: string; details: { error?: { code: string } } }) => `${e.action}:${e.outcome}:${e.details.error?.code}`),
    ['update:failed:update.precondition-failed', 'update:failed:update.boot-loop'],
  );
});
