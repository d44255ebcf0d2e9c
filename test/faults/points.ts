/**
 * Fault points: a workflow (Full unbrick, Recover, Offline update) on a demo
 * lab unit, with a fault at its k-th flash step (a sector erase, a write, a
 * swap step at boot, an option-byte write): power lost before the step, in
 * the middle of it (a torn write or erase), or just after it (before the
 * answer left); the cable pulled while the unit keeps its own power; or a
 * reset. Then the unit is plugged back and the job resumed, as a technician
 * would, until it ends. What counts:
 *
 * - silent corruption: the job says it succeeded but the flash does not hold
 *   what it wrote (bootloader bytes, a valid image of the right version);
 * - claimed bootable but not: the same, for the image the unit boots;
 * - untyped: a failure without an UnbrickError code (the contract's `internal`);
 * - hang: a run of the job stops making progress (steps, progress, log) for 2 minutes.
 *
 * A clean failure (typed, after all resumes) is allowed: the tool said so.
 * Units run in-process with the line's timing off (baud 0) and the flash's
 * (see NO_FLASH_TIME); the lab's libraries are made once and shared.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../src/app/app-core.ts';
import { DemoLab } from '../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../src/sim/lab/units.ts';
import { createLabLibraries, type LabLibraries } from '../../src/sim/lab/vendor.ts';
import { LAB_PRODUCT, labBootloaderImage, labSigningKey } from '../../src/sim/lab/product.ts';
import type { NorFlash } from '../../src/sim/flash.ts';
import { decodeImage, verifyImage, versionString } from '../../src/formats/mcuboot/index.ts';
import type { Job } from '../../src/workflows/job.ts';
import type { WorkflowName } from '../../src/api/contract.ts';

export type FaultKind = 'power-before' | 'power-torn' | 'power-after' | 'cable' | 'reset';
export const FAULT_KINDS: readonly FaultKind[] = ['power-before', 'power-torn', 'power-after', 'cable', 'reset'];

export type Verdict = 'ok' | 'clean-failure' | 'silent-corruption' | 'claimed-bootable' | 'untyped' | 'hang' | 'not-reached';

/** Flash the unit's simulator holds: where the steps are counted and the result is read back. */
interface UnitFlash {
  flash: NorFlash;
  /** Slot 0 (or the STM32's slot-0 partition) as [offset, size] in that flash. */
  slot0: [number, number];
  slot1?: [number, number];
  /** Bootloader partition to compare with the lab's MCUboot (STM32 units). */
  bootloader?: [number, number];
}

export interface Scenario {
  name: string;
  unit: string;
  workflow: WorkflowName;
  /** The version the unit must boot after a success. */
  expect: string;
}

export const SCENARIOS: Scenario[] = [
  { name: 'unbrick stm32', unit: 'lab-mcuboot-erased', workflow: 'unbrick', expect: '1.2.0' },
  { name: 'recover empty', unit: 'lab-recovery-empty', workflow: 'recover', expect: '1.2.0' },
  { name: 'recover corrupt', unit: 'lab-corrupt-image', workflow: 'recover', expect: '1.2.0' },
  { name: 'update', unit: 'lab-healthy-pending', workflow: 'update', expect: '1.3.0' },
];

/** The lab's signed libraries, made once for every point (making them is the slow part of a lab). */
let shared: Promise<LabLibraries> | undefined;
export const sharedLibraries = () => (shared ??= createLabLibraries());
export async function closeSharedLibraries(): Promise<void> {
  (await shared)?.close();
  shared = undefined;
}

/**
 * Flash takes no simulated time on the point's unit (SMP units' flash profile
 * 'none', the STM32 chip's time scale 0): a point checks what the flash holds
 * after a fault, not how long the flash took, and the datasheet timings made
 * one update point wait ~30 s for its 222-sector swap.
 */
const NO_FLASH_TIME = (unit: string) => ({ smpBoards: { [unit]: { flash: 'none' as const } }, stm32Boards: { [unit]: { timeScale: 0 } } });

class SharedLibraryLab extends DemoLab {
  override async libraryDir(): Promise<string> {
    return (await sharedLibraries()).dir;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the simulators' flash is reached through the lab's board objects */
function unitFlash(sim: any): UnitFlash {
  if (sim?.sim?.chip?.flash) {
    const at = (a: number) => a - LAB_PRODUCT.flashStart;
    const p = LAB_PRODUCT.partitions;
    return { flash: sim.sim.chip.flash, slot0: [at(p.slot0.address), p.slot0.size], bootloader: [at(p.mcuboot.address), p.mcuboot.size] };
  }
  // A recovery unit is MCUboot (the flash Recover writes) plus the application it starts (a copy of slot 0).
  const dev = sim.dev.recovery ?? sim.dev;
  const s = Array.isArray(dev.slots) ? dev.slots[0] : dev.slots;
  return { flash: dev.flash, slot0: [s.primary.offset, s.primary.size], slot1: [s.secondary.offset, s.secondary.size] };
}

/** The function the unit's cable delivers received bytes to. */
function unitInput(sim: any): { obj: any; key: string } | undefined {
  if (sim?.sim?.feed) return { obj: sim.sim, key: 'feed' };
  if (sim?.dev?.input) return { obj: sim.dev, key: 'input' };
  return undefined;
}

/** Option-byte writes of the STM32 chip count as flash steps too. */
function optionTarget(sim: any): { writeOptions(offset: number, data: Uint8Array): void } | undefined {
  return sim?.sim?.chip;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The image version a slot holds if it is a valid lab image, else undefined. */
function slotVersion(flash: NorFlash, [off, size]: [number, number]): string | undefined {
  const bytes = flash.read(off, size);
  const d = decodeImage(bytes);
  if (!d.image) return undefined;
  const r = verifyImage(bytes, { keys: [labSigningKey()] });
  return r.valid ? versionString(d.image.header.version).replace(/\+0$/, '') : undefined;
}

/** What the unit holds now: does it boot `expect`? */
export function unitState(f: UnitFlash, expect: string): { boots: boolean; why: string } {
  if (f.bootloader) {
    const boot = labBootloaderImage();
    const got = f.flash.read(f.bootloader[0], boot.length);
    if (!got.every((b, i) => b === boot[i])) return { boots: false, why: 'the bootloader partition does not hold MCUboot' };
  }
  const v0 = slotVersion(f.flash, f.slot0);
  const v1 = f.slot1 ? slotVersion(f.flash, f.slot1) : undefined;
  // An update leaves 1.3.0 in slot 1 for a test boot, or swapped into slot 0 already.
  if (v0 === expect || v1 === expect) return { boots: true, why: `slot 0 ${v0 ?? 'invalid'}, slot 1 ${v1 ?? 'invalid'}` };
  return { boots: false, why: `slot 0 ${v0 ?? 'invalid'}, slot 1 ${v1 ?? 'invalid'}` };
}

/** Where a point sits: the k-th flash step, or the k-th byte the unit receives on its cable. */
export type PointAxis = 'flash' | 'byte';

export interface PointResult {
  scenario: string;
  kind: FaultKind;
  axis: PointAxis;
  step: number;
  verdict: Verdict;
  detail: string;
  /** Flash steps and bytes received seen in all (the probe run uses them to enumerate points). */
  steps: number;
  bytes: number;
  runs: string[];
  /** Wall time the point took (ms). */
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Where each point's data directory goes: a RAM file system where there is
 * one (Linux /dev/shm), since the service log's fsync on every append and the
 * atomic writes were a fifth of a point's CPU and disk time on the shared
 * machine; the files and their writes are the same, only not forced to disk.
 */
const DATA_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/**
 * Drives the job to its end, allowing its confirmations. False when it made
 * no progress (steps, progress, log) for `stillMs`: a hang. A slow run on a
 * loaded machine keeps moving, so it is not one.
 */
async function driveToEnd(job: Job<unknown>, stillMs: number): Promise<boolean> {
  let seen = '';
  let since = performance.now();
  while (!job.finished) {
    const s = job.snapshot();
    if (s.confirmation) job.answer(s.confirmation.stepId, true);
    const now = JSON.stringify([s.steps.map((x) => x.state), s.progress, s.log.length]);
    if (now !== seen) {
      seen = now;
      since = performance.now();
    } else if (performance.now() - since > stillMs) return false;
    // Every 25 ms: each look copies the job's snapshot, and polling every 5 ms was ~3% of a point's CPU.
    await sleep(25);
  }
  return true;
}

/**
 * Runs one point. `step` 0 means no fault (the probe run that counts the
 * steps). A run with no progress for `stillMs` is a hang.
 */
export async function runPoint(sc: Scenario, kind: FaultKind, step: number, axis: PointAxis = 'flash', stillMs = 120_000): Promise<PointResult> {
  const dir = mkdtempSync(join(DATA_ROOT, 'unbrick-faults-'));
  const spec = LAB_UNITS.find((u) => u.id === sc.unit)!;
  const lab = new SharedLibraryLab([spec], { baud: 0, ...NO_FLASH_TIME(spec.id) });
  const c = new AppCore({ dataDir: dir, lab, operator: 'faults@lab', autoDetect: false });
  const t0 = performance.now();
  const res: PointResult = { scenario: sc.name, kind, axis, step, verdict: 'ok', detail: '', steps: 0, bytes: 0, runs: [], ms: 0 };
  let fired = false;
  let dead = false;
  try {
    await c.job(c.startJob('detect', sc.unit, {}).id).done();
    const sim = lab.simulator(sc.unit);
    const f = unitFlash(sim);
    const fire = () => {
      fired = true;
      if (kind === 'cable') lab.setPlugged(sc.unit, false, { ownPower: true });
      else if (kind === 'reset') {
        dead = true;
        setImmediate(() => {
          dead = false;
          sim?.powerCycle?.();
        });
      } else {
        dead = true;
        lab.setPlugged(sc.unit, false);
      }
    };
    /** Wraps one flash operation: counts it, and at the chosen step applies the fault around it. */
    const around = <A extends unknown[]>(op: (...a: A) => number | void, torn: (...a: A) => void) =>
      (...a: A): number => {
        if (dead) return 0;
        res.steps++;
        if (fired || axis !== 'flash' || res.steps !== step) return (op(...a) as number) ?? 0;
        if (kind === 'power-before' || kind === 'reset') return fire(), 0;
        if (kind === 'power-torn') return torn(...a), fire(), 0;
        const ms = op(...a);
        fire();
        return (ms as number) ?? 0;
      };
    const flash = f.flash;
    const program = flash.program.bind(flash);
    const erase = flash.eraseSector.bind(flash);
    flash.program = around(program, (off: number, bytes: Uint8Array) => void program(off, bytes.subarray(0, bytes.length >> 1)));
    flash.eraseSector = around(erase, (i: number) => {
      const s = flash.sectors[i];
      if (s) flash.data.fill(flash.erasedValue, s.offset, s.offset + (s.size >> 1));
    });
    const opt = optionTarget(sim);
    if (opt) {
      const write = opt.writeOptions.bind(opt);
      opt.writeOptions = around(write, (offset: number, data: Uint8Array) => write(offset, data.subarray(0, data.length >> 1)));
    }

    // Bytes on the cable into the unit (the STM32's UART, or the SMP unit's console): a byte-range point cuts there.
    const rx = unitInput(sim);
    if (rx) {
      const deliver = rx.obj[rx.key].bind(rx.obj) as (d: Uint8Array) => void;
      rx.obj[rx.key] = (d: Uint8Array) => {
        if (dead) return;
        const before = res.bytes;
        res.bytes += d.length;
        if (fired || axis !== 'byte' || res.bytes < step) return deliver(d);
        if (kind === 'power-after') deliver(d);
        else if (kind === 'power-torn') deliver(d.subarray(0, step - before));
        fire();
      };
    }

    const job = c.job(c.startJob(sc.workflow, sc.unit, {}).id);
    for (let run = 0; run < 5; run++) {
      // Each run (the first, and each resume) must keep moving to its end (the longest wait a client documents is a 40 s mass erase).
      if (!(await driveToEnd(job, stillMs))) {
        res.verdict = 'hang';
        res.detail = `run ${run + 1} of the job made no progress for ${stillMs / 1000} s (before: ${res.runs.join(', ')})`;
        return res;
      }
      const s = job.snapshot();
      res.runs.push(s.state === 'failed' ? `failed:${s.error!.code}` : s.state);
      if (s.state === 'failed' && s.error!.code === 'internal') {
        res.verdict = 'untyped';
        res.detail = s.error!.message;
        return res;
      }
      if (s.state !== 'failed' || !s.resumable) break;
      // Plug the unit back in (it powers up again, unless it kept its own power) and resume.
      dead = false;
      const power = kind === 'cable' ? { ownPower: true } : {};
      lab.setPlugged(sc.unit, false, power); // a no-op when the fault already pulled it
      lab.setPlugged(sc.unit, true, power);
      await sleep(300);
      await c.job(c.startJob('detect', sc.unit, {}).id).done();
      c.resumeJob(job.id);
    }
    const end = job.snapshot();
    if (step > 0 && !fired) res.verdict = 'not-reached';
    if (end.state === 'succeeded') {
      // Read back what the unit holds after a power cycle (a swap MCUboot owes happens at that boot).
      dead = false;
      const st = unitState(f, sc.expect);
      if (!st.boots) {
        res.verdict = f.bootloader ? 'silent-corruption' : 'claimed-bootable';
        res.detail = `the job succeeded but ${st.why} (runs: ${res.runs.join(', ')})`;
      }
    } else if (res.verdict === 'ok') {
      res.verdict = 'clean-failure';
      res.detail = `${end.state}: ${end.error?.code ?? ''} (runs: ${res.runs.join(', ')})`;
    }
    return res;
  } catch (e) {
    res.verdict = 'untyped';
    res.detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return res;
  } finally {
    await c.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    res.ms = performance.now() - t0;
  }
}
