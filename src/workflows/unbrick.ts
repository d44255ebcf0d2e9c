/**
 * Full unbrick through the STM32 ROM bootloader, for a unit whose MCUboot is
 * gone: readout-unprotect if needed (explicit confirmation: it erases the
 * chip), lift write protection over the sectors to rewrite (confirmation),
 * write every flash region of the product's golden bundle (MCUboot and the
 * application; confirmation), verify, restore the protection policy, and reset.
 * The protection policy restored: the sectors holding the bootloader, plus any
 * sector that was write-protected before and had to be lifted (a unit never
 * leaves less protected than it came).
 *
 * Resumable: the write keeps a checkpoint (sectors erased, blocks the
 * bootloader acknowledged); after a cancel or a lost link, resume reconnects
 * and continues from the next block. A block that may have been programmed
 * already is read back before it is written (L4-class flash refuses a second
 * program); one holding anything else gets its page erased and rewritten;
 * verify reads everything back.
 */
import { deviceError, UnbrickError } from '../core/errors.ts';
import * as imageGroup from '../smp/groups/image.ts';
import { openSmp } from '../devices/smp-link.ts';
import { identifySmp } from '../devices/probes.ts';
import { eraseUnits, unitsCovering, type ChipInfo } from '../stm32/chips/index.ts';
import { formatRuns } from '../stm32/option-bytes/index.ts';
import { erasePages, probeReadout, protectPages, readMemory, readOptionBytes, readoutUnprotect, verifyImage, writeImage, writeUnprotect } from '../stm32/operations.ts';
import type { Stm32Session } from '../stm32/session.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import { linkPerRun, namedSteps, type DeviceLearned, type JobDefinition, type StepContext, type StepFn, unitHandle, type WorkflowRun } from './job.ts';
import { openStm32, type Stm32Link } from '../devices/stm32-link.ts';
import { firmwareSource, goldenForStm32, recordInputs, type GoldenSet } from './firmware.ts';

const BLOCK = 256;
const TRANSIENT = new Set(['stm32.timeout', 'stm32.garbled', 'stm32.nack', 'stm32.write-failed']);

export interface UnbrickState {
  golden?: GoldenSet;
  rdpRemoved?: boolean;
  wrpLifted?: number[];
  /** Checkpoint: sectors already erased, and how many blocks of the plan are written. */
  erased: number[];
  blocksDone: number;
  verified?: 'checksum' | 'read-back';
  protectedAgain?: number[];
  /** What the chip erases and protects by (for the summary). */
  units?: 'pages' | 'sectors';
  /** What the unit listed over SMP after it started (its running image), when it answered. */
  answered?: { kind: 'zephyr-smp' | 'mcuboot-serial'; version: string };
  /** What the device list should say once the job ends (the unit restarted, and what answered). */
  learned?: DeviceLearned;
}

/** What every step of one unbrick job works with. */
interface UnbrickRun extends WorkflowRun<Stm32Link> {
  bundleId: string | undefined;
}
type Ctx = StepContext<UnbrickState>;

const session = async (run: UnbrickRun, ctx: Ctx): Promise<Stm32Session> => (await run.link.get(ctx.signal)).session;
/** What the chip erases and protects by: sectors (F2/F4/F7) or pages (uniform flash, as the L4's). */
const unitWord = (chip: ChipInfo) => (chip.flash.layout === 'sectors' ? 'sectors' : 'pages');

interface Block {
  address: number;
  data: Uint8Array;
  /** Where the block sits in the golden set: region index and offset (for runs without copies). */
  region: number;
  offset: number;
}

/** The write plan: every 256-byte block of the golden regions that is not erased flash (0xFF). */
function plan(g: GoldenSet): Block[] {
  const blocks: Block[] = [];
  g.regions.forEach((p, region) => {
    for (let offset = 0; offset < p.data.length; offset += BLOCK) {
      const data = p.data.subarray(offset, offset + BLOCK);
      if (!data.every((b) => b === 0xff)) blocks.push({ address: p.address + offset, data, region, offset });
    }
  });
  return blocks;
}

/** The plan's blocks merged into runs of adjacent blocks: views into the regions, linear in image size. */
function programmedRuns(g: GoldenSet): { address: number; data: Uint8Array }[] {
  const runs: { region: number; start: number; end: number }[] = [];
  for (const b of plan(g)) {
    const last = runs.at(-1);
    if (last && last.region === b.region && last.end === b.offset) last.end = b.offset + b.data.length;
    else runs.push({ region: b.region, start: b.offset, end: b.offset + b.data.length });
  }
  return runs.map((r) => {
    const p = g.regions[r.region]!;
    return { address: p.address + r.start, data: p.data.subarray(r.start, r.end) };
  });
}

/** Erase units the golden regions cover, in order. */
const regionUnits = (chip: ChipInfo, g: GoldenSet): number[] =>
  [...new Set(g.regions.flatMap((p) => unitsCovering(chip, p.address, p.data.length).map((u) => u.index)))].sort((a, b) => a - b);

/**
 * Writes one block, resyncing and retrying after line noise (a lost or garbled
 * byte). A block that may already have been programmed (its acknowledgement was
 * lost, or an earlier run stopped on it) is read back first: flash takes a
 * block once, and L4-class chips refuse to program a double word that is not
 * erased. Returns 'dirty' when the block holds something else than erased
 * flash or its data: only an erase of its page fixes that.
 */
async function writeBlock(s: Stm32Session, b: Block, mayBeWritten: boolean, signal: AbortSignal): Promise<'written' | 'dirty'> {
  for (let attempt = 0; ; attempt++) {
    if (mayBeWritten) {
      const now = await readMemory(s, b.address, b.data.length, { signal });
      if (Buffer.compare(now, b.data) === 0) return 'written';
      if (!now.every((x) => x === 0xff)) return 'dirty';
    }
    try {
      await s.client.writeMemory(b.address, b.data);
      return 'written';
    } catch (e) {
      if (attempt >= 3 || !(e instanceof UnbrickError && TRANSIENT.has(e.code))) throw e;
      await s.client.resync();
      mayBeWritten = true;
    }
  }
}

async function connect(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  const g = await goldenForStm32(await firmwareSource(unitHandle(run), run.dataDir), s.info.pid, run.bundleId);
  ctx.state.golden = g;
  ctx.state.units = unitWord(s.chip);
  ctx.log(`${s.chip.name}; golden bundle ${g.origin.product} ${g.origin.version} [${g.origin.bundleId.slice(0, 12)}]: ${g.regions.map((r) => r.name).join(', ')}.`);
}

async function removeReadoutProtection(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  if ((await probeReadout(s)) === 0) return { skipped: 'Readout protection is off.' };
  await ctx.confirm({
    title: 'Erase the whole chip to remove readout protection?',
    message:
      'Readout protection is at level 1. Removing it erases ALL flash on the unit (bootloader, application and any data on it). The golden bootloader and application are written back afterwards; data stored on the unit is lost.',
    confirmLabel: 'Erase chip and remove protection',
  });
  const meter = ctx.progress('Mass erase (readout unprotect)', 1);
  await readoutUnprotect(s, { signal: ctx.signal });
  meter.update(1);
  ctx.state.rdpRemoved = true;
  ctx.state.erased = []; // everything is erased now, but the erase plan re-erases safely
}

async function liftWriteProtection(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  const ob = await readOptionBytes(s, { signal: ctx.signal });
  const hit = regionUnits(s.chip, ctx.state.golden!).filter((i) => ob.wrpPages.includes(i));
  const unit = unitWord(s.chip);
  if (!hit.length) return { skipped: `None of the ${unit} to rewrite is write-protected.` };
  await ctx.confirm({
    title: `Lift write protection on ${unit} ${formatRuns(hit)}?`,
    message: `${unit === 'pages' ? 'Pages' : 'Sectors'} ${formatRuns(hit)} are write-protected, so nothing can be written there. The bootloader lifts write protection on every ${unit.slice(0, -1)} at once (${formatRuns(ob.wrpPages)} now); Unbrick protects all of them again at the end, with the bootloader's ${unit}.`,
    confirmLabel: 'Lift write protection',
  });
  await writeUnprotect(s);
  ctx.state.wrpLifted = ob.wrpPages; // write-unprotect clears every unit's protection, not just these
}

async function write(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  const g = ctx.state.golden!;
  const units = regionUnits(s.chip, g);
  const todo = units.filter((i) => !ctx.state.erased.includes(i));
  if (ctx.state.blocksDone === 0 && todo.length === units.length)
    await ctx.confirm({
      title: `Erase ${unitWord(s.chip)} ${formatRuns(units)} and write the golden images?`,
      message: `Writes ${g.regions.map((r) => `${r.name} (${r.data.length} bytes) at 0x${r.address.toString(16)}`).join(', ')}, from golden bundle ${g.origin.product} ${g.origin.version}. What those ${unitWord(s.chip)} hold now is replaced.`,
      confirmLabel: 'Erase and write',
    });
  await eraseCheckpointed(s, ctx, todo);
  await writeCheckpointed(s, ctx, plan(g));
}

/** Erases unit by unit, keeping each done in the checkpoint. */
async function eraseCheckpointed(s: Stm32Session, ctx: Ctx, todo: number[]) {
  if (!todo.length) return;
  const m = ctx.progress('Erasing', todo.length);
  for (const [n, i] of todo.entries()) {
    await erasePages(s, [i], { signal: ctx.signal });
    ctx.state.erased.push(i);
    m.update(n + 1);
  }
}

/** Writes the plan from the checkpoint on, keeping each block the bootloader acknowledged. */
async function writeCheckpointed(s: Stm32Session, ctx: Ctx, blocks: Block[]) {
  const total = blocks.reduce((n, b) => n + b.data.length, 0);
  const resumedAt = ctx.state.blocksDone;
  let done = blocks.slice(0, resumedAt).reduce((n, b) => n + b.data.length, 0);
  if (resumedAt > 0) ctx.log(`Resuming the write at block ${resumedAt} of ${blocks.length} (${done} bytes already written).`);
  const meter = ctx.progress('Writing', total);
  meter.update(done);
  const rewound = new Map<number, number>();
  for (let i = resumedAt; i < blocks.length; i++) {
    if (ctx.signal.aborted) return;
    const b = blocks[i]!;
    // The block a stopped run was writing may be partly programmed.
    if ((await writeBlock(s, b, i === resumedAt && i > 0, ctx.signal)) === 'dirty') {
      const first = await rewritePage(s, ctx, blocks, i, rewound);
      done -= blocks.slice(first, i).reduce((n, x) => n + x.data.length, 0);
      i = first - 1;
      continue;
    }
    ctx.state.blocksDone = i + 1;
    done += b.data.length;
    meter.update(done);
  }
}

/** Erases the page (or sector) under block `i` and returns the first block in it, to write again from there. */
async function rewritePage(s: Stm32Session, ctx: Ctx, blocks: Block[], i: number, rewound: Map<number, number>): Promise<number> {
  const unit = unitsCovering(s.chip, blocks[i]!.address, 1)[0]!;
  const times = (rewound.get(unit.index) ?? 0) + 1;
  if (times > 3) throw deviceError('unbrick.write-failed', `${unitWord(s.chip) === 'pages' ? 'Page' : 'Sector'} ${unit.index} does not take the image after three erases. Check the cable, then resume; if it repeats, the chip's flash is failing.`);
  rewound.set(unit.index, times);
  ctx.log(`Block ${i} at 0x${blocks[i]!.address.toString(16)} holds other data (a write cut short): erasing ${unitWord(s.chip).slice(0, -1)} ${unit.index} and writing it again.`, 'warn');
  await erasePages(s, [unit.index], { signal: ctx.signal });
  let first = i;
  while (first > 0 && blocks[first - 1]!.address >= unit.address) first--;
  ctx.state.blocksDone = first;
  return first;
}

async function verify(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  const g = ctx.state.golden!;
  // Verify what was programmed (the plan's blocks, merged into runs); the padding between them
  // is erased flash, which the erase before the write guaranteed.
  const runs = programmedRuns(g);
  const meter = ctx.progress('Verifying', runs.reduce((n, r) => n + r.data.length, 0));
  let done = 0;
  const bad: number[] = [];
  for (const r of runs) {
    try {
      ctx.state.verified = await verifyImage(s, [r], { signal: ctx.signal, onProgress: (p) => p.phase === 'Reading' && meter.update(done + p.done) });
    } catch (e) {
      if (!(e instanceof UnbrickError && e.code === 'stm32.verify-failed')) throw e;
      bad.push(...((e.details?.units as number[] | undefined) ?? []));
    }
    meter.update((done += r.data.length));
  }
  if (bad.length) await rewriteUnits(s, ctx, bad);
  ctx.log(`Verified by ${ctx.state.verified}.`);
}

/**
 * A block garbled on the line can pass the bootloader's XOR check and program
 * junk; flash cannot be fixed without an erase: rewrite the units concerned
 * (erase, write, verify).
 */
async function rewriteUnits(s: Stm32Session, ctx: Ctx, bad: number[]) {
  const g = ctx.state.golden!;
  ctx.log(`${unitWord(s.chip) === 'pages' ? 'Pages' : 'Sectors'} ${formatRuns(bad)} do not hold the image: rewriting them.`, 'warn');
  const units = eraseUnits(s.chip).filter((u) => bad.includes(u.index));
  const segments = g.regions.flatMap((p) =>
    units.flatMap((u) => {
      const from = Math.max(p.address, u.address);
      const to = Math.min(p.address + p.data.length, u.address + u.size);
      return from < to ? [{ address: from, data: p.data.subarray(from - p.address, to - p.address) }] : [];
    }),
  );
  const r = await writeImage(s, segments, { signal: ctx.signal, skipProtectionCheck: true });
  ctx.state.verified = r.verify === 'none' ? 'read-back' : r.verify;
}

async function restoreProtection(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  const g = ctx.state.golden!;
  const boot = unitsCovering(s.chip, g.bootloader.address, g.bootloader.data.length).map((u) => u.index);
  const want = [...new Set([...boot, ...(ctx.state.wrpLifted ?? [])])].sort((a, b) => a - b);
  const back = await protectPages(s, want);
  ctx.state.protectedAgain = back.wrpPages;
  ctx.log(`Write protection restored on ${unitWord(s.chip)} ${formatRuns(back.wrpPages)}.`);
}

async function startUnit(run: UnbrickRun, ctx: Ctx) {
  const s = await session(run, ctx);
  await s.client.go(ctx.state.golden!.bootloader.address);
  ctx.log('Jumped to MCUboot.');
  await run.link.drop();
  ctx.state.learned = { kind: 'unknown', summary: 'Restarted after a full unbrick.' };
}

async function checkAnswers(run: UnbrickRun, ctx: Ctx) {
  const app = ctx.state.golden!.regions.find((r) => r.imageHash);
  if (!app) return { skipped: 'The golden bundle holds no MCUboot image to look for.' };
  // MCUboot checks the image and starts the application on the same UART; give it a few tries, the first
  // soon (a small image is checked in milliseconds), then 750 ms apart (a 448 KiB one takes a while).
  const waits = [100, 250, 500, 750, 750, 750, 750, 750, 750];
  for (const wait of waits) {
    if (ctx.signal.aborted) break;
    await new Promise((r) => setTimeout(r, wait));
    const smp = await openSmp(unitHandle(run)).catch(() => undefined);
    if (!smp) continue;
    try {
      const listed = await smp.guard(ctx.signal, () => imageGroup.list(smp.client));
      const s0 = listed.find((x) => x.image === 0 && x.slot === 0 && x.hash === app.imageHash);
      if (!s0) throw deviceError('unbrick.wrong-image', `The unit answers but does not list the golden image in slot 0. Run Diagnose.`);
      const now = await identifySmp(smp.client);
      const kind = now.kind === 'zephyr-smp' ? 'zephyr-smp' : 'mcuboot-serial';
      ctx.state.answered = { kind, version: s0.version };
      ctx.state.learned = { kind, summary: now.summary };
      ctx.log(`The unit answers: ${kind === 'zephyr-smp' ? `its application ${s0.version} runs` : 'MCUboot is in serial recovery'}, with the golden image in slot 0.`);
      return;
    } catch (e) {
      if (e instanceof UnbrickError && e.code === 'unbrick.wrong-image') throw e;
    } finally {
      await smp.close().catch(() => {});
    }
  }
  // Units whose application talks on another port (USB) or whose boot pin stays high are silent here: not a failure.
  ctx.log('The unit did not answer over SMP on this port. If its application uses another port (USB), or its BOOT0 pin is held high, power-cycle it and run Detect.', 'warn');
  return { skipped: 'The unit did not answer over SMP on this port.' };
}

function precheck(run: UnbrickRun): string | undefined {
  const e = run.registry.get(run.deviceId);
  if (e.kind === 'stm32-rom') return undefined;
  return e.kind === 'identifying'
    ? 'The device is still being identified. Wait a moment, then start again.'
    : `Full unbrick works through the STM32 ROM bootloader, but this device answers as: ${e.summary}. Hold BOOT0 high (or use the adapter's bootloader wiring), reset the unit, run Detect, then try again.`;
}

function record(s: UnbrickState) {
  const g = s.golden;
  return {
    ...(g ? { inputs: recordInputs(g.origin, g.regions.map((r) => ({ name: `${r.name} @ 0x${r.address.toString(16)}`, sha256: r.sha256, bytes: r.data.length }))) } : {}),
    facts: {
      ...(s.rdpRemoved ? { readoutProtectionRemoved: true } : {}),
      ...(s.wrpLifted ? { writeProtectionLifted: s.wrpLifted } : {}),
      ...(s.protectedAgain ? { writeProtectedAfter: s.protectedAgain } : {}),
      ...(s.verified ? { verifiedBy: s.verified } : {}),
      ...(s.answered ? { answeredAfter: s.answered } : {}),
    },
  };
}

function result(s: UnbrickState) {
  const g = s.golden;
  if (!g || !s.verified) return { summary: `Stopped before the images were verified (${s.blocksDone} blocks written). Resume to continue.` };
  const answered = s.answered ? `; the unit answers: ${s.answered.kind === 'zephyr-smp' ? `its application ${s.answered.version} runs` : 'MCUboot is in serial recovery'}` : '';
  return {
    summary: `Golden bundle ${g.origin.product} ${g.origin.version} written and verified (${s.verified})${s.protectedAgain ? `; ${s.units ?? 'sectors'} ${formatRuns(s.protectedAgain)} protected again` : ''}${s.rdpRemoved ? '; readout protection was removed' : ''}${answered}.`,
    findings: [],
  };
}

/** The full unbrick's steps in order: protection comes off before the write and goes back on after the verify. */
const UNBRICK_STEPS: [id: string, title: string, fn: StepFn<UnbrickRun, UnbrickState>][] = [
  ['connect', 'Connect and find the golden images', connect],
  ['readout-unprotect', 'Remove readout protection (if set)', removeReadoutProtection],
  ['lift-wrp', 'Lift write protection over the flash to rewrite', liftWriteProtection],
  ['write', 'Write MCUboot and the golden application', write],
  ['verify', 'Verify what was written', verify],
  ['protect', 'Restore the protection policy', restoreProtection],
  ['reset', 'Start the unit', startUnit],
  ['answers', 'Check the unit answers', checkAnswers],
];

export function unbrickJob(registry: DeviceRegistry, deviceId: string, dataDir: string, options: { bundleId?: string } = {}): JobDefinition<UnbrickState> {
  // The bootloader resyncs on a new connection: after a cancel or a cut cable, the resumed run reconnects.
  const run: UnbrickRun = { registry, deviceId, dataDir, bundleId: options.bundleId, link: linkPerRun((signal) => openStm32(registry.get(deviceId).handle, signal)) };
  return {
    workflow: 'unbrick',
    deviceId,
    state: { erased: [], blocksDone: 0 },
    precheck: () => precheck(run),
    steps: run.link.wrap(namedSteps(run, UNBRICK_STEPS)),
    record,
    result,
    // The device list hears of the restart when the job ends (the app applies it), not from inside a step.
    learned: (s) => s.learned,
  };
}
