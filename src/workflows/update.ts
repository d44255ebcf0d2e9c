/**
 * Offline update of a unit running its application (Zephyr SMP): upload the
 * new image to slot 1, mark it for a test boot, restart, wait for the unit to
 * come back, and confirm the new image once it runs (or report that MCUboot
 * reverted it). The image comes from a verified bundle of the update library,
 * checked again (signatures, expiry, anti-rollback, no downgrade from what the
 * unit runs) right before it is sent; once the unit runs it confirmed, the
 * bundle's sequence becomes this laptop's anti-rollback floor. The bundle's
 * preconditions (battery, settings, room in the slot) are read before the
 * first byte is sent, and when it names the firmware's restart counter, a
 * unit that restarted again and again after its test boot is reported as
 * boot-looping (update.boot-loop), not confirmed.
 */
import { checkError, deviceError, UnbrickError } from '../core/errors.ts';
import * as imageGroup from '../smp/groups/image.ts';
import * as osGroup from '../smp/groups/os.ts';
import { uploadImage } from '../smp/upload.ts';
import type { LinkReport } from '../smp/link-learner.ts';
import type { SmpClient } from '../smp/client.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import { linkPerRun, namedSteps, type JobDefinition, type StepContext, unitHandle, type WorkflowRun, type StepFn } from './job.ts';
import { openSmp, type SmpLink } from '../devices/smp-link.ts';
import { firmwareSource, recordInputs, updateForSmp, type BundleOrigin } from './firmware.ts';
import { BundleLibrary } from '../trust/library.ts';
import { compareVersions } from '../formats/bundle/metadata.ts';
import type { Json } from '../core/schema.ts';
import type { Preconditions } from '../formats/bundle/preconditions.ts';
import { BOOT_LOOP_RESTARTS, checkPreconditions, readRestarts, type PreconditionReading } from './preconditions.ts';

export interface UpdateState {
  bundleId?: string;
  confirm: boolean;
  target?: { name: string; version: string; imageHash: string; sha256: string; bytes: number; bundle: BundleOrigin; preconditions?: Preconditions };
  /** The bundle's preconditions as read on the unit before anything was sent. */
  checks?: PreconditionReading[];
  /** The firmware's restart counter right before Unbrick restarted the unit into the test boot. */
  restartsBefore?: number;
  /** Restarts counted from the test-boot restart to the unit answering again (1 is Unbrick's own). */
  restarts?: number;
  bootLoop?: boolean;
  /** The version the unit ran before the update (for the report). */
  before?: string;
  allowed?: boolean;
  uploaded?: boolean;
  /** The last upload run: time, image bytes put on the wire (resends included) and restarts from 0. */
  transfer?: { seconds: number; bytesSent: number; restarts: number; link: LinkReport };
  /** The unit already ran the new image as a test boot, never confirmed (an earlier update was interrupted). */
  testBooting?: boolean;
  running?: string;
  reverted?: boolean;
  /** The new image runs already confirmed, by itself (the application confirms at start). */
  selfConfirmed?: boolean;
  confirmed?: boolean;
}

/** What every step of one update job works with. */
export interface UpdateRun extends WorkflowRun<SmpLink> {
  /** The image bytes, picked (and verified) by the first step of each run. */
  image?: Uint8Array;
}
type Ctx = StepContext<UpdateState>;

const client = async (run: UpdateRun, ctx: Ctx): Promise<SmpClient> => (await run.link.get(ctx.signal)).client;

async function pickImage(run: UpdateRun, ctx: Ctx) {
  const src = await firmwareSource(unitHandle(run), run.dataDir);
  const u = await updateForSmp(src, ctx.state.bundleId);
  ctx.state.bundleId = u.origin.bundleId;
  const listed = await imageGroup.list(await client(run, ctx));
  const active = listed.find((s) => s.active);
  if (active?.hash === u.imageHash && active.confirmed) return { skipped: `The unit already runs ${u.version}, confirmed.` };
  // MCUboot may be built without downgrade prevention: refuse an older image here (the bundle check covers this laptop's floor).
  const running = /^\d+\.\d+\.\d+/.exec(active?.version ?? '')?.[0];
  if (running && compareVersions(u.version, running) < 0)
    throw checkError('update.downgrade', `The unit runs ${running}, newer than the update's ${u.version}. Unbrick does not install an older release; use the newest update bundle.`);
  ctx.state.before = active?.version;
  run.image = u.image;
  ctx.state.target = { name: u.name, version: u.version, imageHash: u.imageHash, sha256: u.sha256, bytes: u.image.length, bundle: u.origin, ...(u.preconditions ? { preconditions: u.preconditions } : {}) };
  // An earlier, interrupted update may have left this very image in slot 1, or even running as a
  // test boot that was never confirmed: no need to send it again (nor to restart a unit that runs it).
  if (active?.hash === u.imageHash) ctx.state.testBooting = ctx.state.uploaded = true;
  else if (listed.some((s) => s.slot === 1 && s.hash === u.imageHash)) ctx.state.uploaded = true;
  else {
    const other = listed.find((s) => s.slot === 1 && (s.pending || s.confirmed) && !s.active);
    if (other)
      throw checkError(
        'update.slot-busy',
        `Slot 1 holds image ${other.version}, marked ${other.pending ? 'pending' : 'confirmed'}: the unit refuses a new upload until it has booted or dropped it. Restart the unit once, then run the update again.`,
      );
  }
  const already = ctx.state.testBooting ? ' as a test boot, not confirmed' : ctx.state.uploaded ? `; slot 1 already holds ${u.version}` : '';
  ctx.log(`Update ${u.name}; the unit runs ${active?.version ?? 'an unknown image'}${already}.`);
}

/** The bundle's preconditions, read over SMP before the first byte is sent (and before the user is asked). */
async function checkUnit(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target;
  if (!t) return { skipped: 'Nothing to install.' };
  if (!t.preconditions) return { skipped: 'The update bundle declares no preconditions.' };
  const report = await checkPreconditions(await client(run, ctx), t.preconditions, { targets: [{ image: 0, slot: 1, imageBytes: t.bytes }], release: `${t.bundle.product} ${t.version}` });
  ctx.state.checks = report.readings;
  for (const r of report.readings) ctx.log(`${r.check}: ${r.reading} (must be ${r.limit}).`);
  if (report.restarts !== undefined) ctx.log(`The unit has counted ${report.restarts} restarts so far.`);
}

/** Compares the restart counter with its value before the test-boot restart (when the bundle names one). */
async function checkRestarts(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target!;
  const r = t.preconditions?.restarts;
  if (!r || ctx.state.restartsBefore === undefined) return;
  const now = await readRestarts(await client(run, ctx), r);
  ctx.state.restarts = now - ctx.state.restartsBefore;
  ctx.log(`The unit restarted ${ctx.state.restarts} time${ctx.state.restarts === 1 ? '' : 's'} since Unbrick restarted it into the test boot.`);
  if (ctx.state.restarts >= BOOT_LOOP_RESTARTS) {
    ctx.state.bootLoop = true;
    throw bootLoopError(ctx.state);
  }
}

const bootLoopError = (s: UpdateState) => {
  const t = s.target!;
  const where = s.reverted ? `; MCUboot then went back to ${s.running}` : ` and now runs ${t.version}${s.selfConfirmed ? ', which confirmed itself, so MCUboot will not go back to the previous image by itself' : ', not confirmed: the next restart goes back to the previous image'}`;
  return checkError(
    'update.boot-loop',
    `The unit is boot-looping: it restarted ${s.restarts} times after Unbrick restarted it once into ${t.version} for its test boot${where}. Unbrick did not confirm ${t.version}. Keep the unit out of service, diagnose it, and report release ${t.version} with this record.`,
    { restarts: s.restarts, version: t.version, running: s.running, reverted: s.reverted ?? false },
  );
};

async function upload(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target;
  if (!t) return { skipped: 'Nothing to upload.' };
  const held = ctx.state.testBooting ? `The unit already runs ${t.version} as a test boot.` : `Slot 1 already holds ${t.version}.`;
  if (ctx.state.uploaded && !ctx.state.allowed) {
    await ctx.confirm({
      title: `Install ${t.version} on this unit?`,
      message: ctx.state.testBooting
        ? `The unit runs ${t.name} as a test boot that was never confirmed (an earlier update was interrupted). Confirming makes it permanent; without it, the next restart goes back to the previous image.`
        : `Slot 1 already holds ${t.name}. The unit restarts into it for a test boot and it is confirmed once it runs. If it does not start, MCUboot goes back to the current image by itself.`,
      confirmLabel: `Install ${t.version}`,
    });
    ctx.state.allowed = true;
    return { skipped: held };
  }
  if (ctx.state.uploaded) return { skipped: held };
  if (!ctx.state.allowed)
    await ctx.confirm({
      title: `Install ${t.version} on this unit?`,
      message: `Uploads ${t.name} (${t.bytes} bytes) to slot 1, restarts the unit into it for a test boot and confirms it once it runs. If it does not start, MCUboot goes back to the current image by itself.`,
      confirmLabel: `Install ${t.version}`,
    });
  ctx.state.allowed = true;
  const meter = ctx.progress('Uploading image', t.bytes);
  const smp = await run.link.get(ctx.signal);
  // A unit that kept an interrupted upload of this image (same length and SHA-256) answers where it is: it continues from there.
  const r = await smp.guard(ctx.signal, (signal) => uploadImage(smp.client, run.image!, { signal, onProgress: (p) => meter.update(p.done) }));
  ctx.state.transfer = { seconds: r.seconds, bytesSent: r.bytesSent, restarts: r.restarts, link: r.link };
  ctx.log(`Uploaded ${r.bytes} bytes in ${r.seconds.toFixed(1)} s (${r.bytesSent} sent).`);
  ctx.state.uploaded = true;
}

/** Marks the new image for a test boot (unless it is already marked, or already running) and restarts the unit into it. */
async function restartIntoTest(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target!;
  const c = await client(run, ctx);
  const listed = await imageGroup.list(c);
  if (listed.some((s) => s.hash === t.imageHash && s.active)) {
    // A resumed job whose restart went through although its answer was lost: the unit already test-boots it.
    ctx.log(`The unit already runs ${t.version} as a test boot.`);
    return;
  }
  if (!listed.some((s) => s.slot === 1 && s.hash === t.imageHash))
    throw checkError('update.image-gone', `Slot 1 no longer holds ${t.version} (the unit dropped it). Run the update again: it uploads the image again.`);
  if (!listed.some((s) => s.hash === t.imageHash && s.pending)) {
    const after = await imageGroup.setState(c, { hash: t.imageHash, confirm: false });
    if (!after.some((s) => s.hash === t.imageHash && s.pending)) throw checkError('update.not-pending', 'The unit did not mark the new image for a test boot.');
  } else ctx.log(`${t.version} is already marked for a test boot.`);
  if (t.preconditions?.restarts) ctx.state.restartsBefore = await readRestarts(c, t.preconditions.restarts);
  try {
    // Sent once: a repeated reset reaching the unit after it test-booted the image would make MCUboot revert it.
    await osGroup.reset(c, false, { retries: 0 });
  } catch (e) {
    if (!(e instanceof UnbrickError && e.code === 'smp.timeout')) throw e;
    ctx.log('The unit did not acknowledge the restart; it may be restarting anyway. Waiting for it.', 'warn');
  }
  await run.link.drop();
}

/**
 * Polls until the unit answers from its restart: it runs the new image, or
 * MCUboot reverted to the previous one. A unit that still lists the new
 * image as pending has not restarted yet (it may answer for a while after
 * accepting the reset).
 */
async function waitForBoot(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target!;
  // The swap takes a while (MCUboot moves every sector of both slots): poll until it answers.
  const deadline = Date.now() + 60_000;
  const meter = ctx.progress('Waiting for the unit to restart', 1);
  let notRestarted: string | undefined;
  while (Date.now() < deadline && !ctx.signal.aborted) {
    await new Promise((r) => setTimeout(r, 700));
    try {
      const listed = await imageGroup.list(await client(run, ctx));
      const active = listed.find((s) => s.active);
      if (!active) continue;
      if (active.hash !== t.imageHash && listed.some((s) => s.hash === t.imageHash && s.pending)) {
        notRestarted = active.version;
        continue;
      }
      ctx.state.running = active.version;
      ctx.state.reverted = active.hash !== t.imageHash;
      ctx.state.selfConfirmed = !ctx.state.reverted && active.confirmed;
      meter.update(1);
      return;
    } catch {
      await run.link.drop();
    }
  }
  if (notRestarted)
    throw deviceError('update.no-restart', `The unit has not restarted: it still runs ${notRestarted}, with ${t.version} waiting for its test boot. Restart it (power it off and on), then resume.`);
  throw deviceError('update.no-answer', 'The unit did not answer within a minute of its restart. Check power and the cable; if it stays silent, diagnose it.');
}

const revertedError = (s: UpdateState) =>
  checkError(
    'update.reverted',
    `The unit rolled back: it runs ${s.running} instead of ${s.target!.version}. The new image did not start or was not accepted, or the unit lost power before it could be confirmed; the unit is on its previous image. Run the update again to retry (slot 1 keeps ${s.target!.version}, so nothing is uploaded again); if it rolls back again, keep the unit on ${s.running} and report the release.`,
  );

async function testBoot(run: UpdateRun, ctx: Ctx) {
  if (!ctx.state.target) return { skipped: 'Nothing to test.' };
  await restartIntoTest(run, ctx);
}

async function waitStep(run: UpdateRun, ctx: Ctx) {
  if (!ctx.state.target) return { skipped: 'Nothing to wait for.' };
  await waitForBoot(run, ctx);
  await checkRestarts(run, ctx);
}

async function confirmImage(run: UpdateRun, ctx: Ctx) {
  const t = ctx.state.target;
  if (!t) return { skipped: 'Nothing to confirm.' };
  if (ctx.state.bootLoop) throw bootLoopError(ctx.state);
  if (ctx.state.reverted) throw revertedError(ctx.state);
  if (!ctx.state.confirm) return { skipped: 'Left as a test boot (not confirmed), as asked: the next restart goes back to the previous image.' };
  const active = (await imageGroup.list(await client(run, ctx))).find((x) => x.active);
  if (active?.hash !== t.imageHash) {
    // Only after an interruption (a resume): the unit restarted before the image was confirmed
    // (power cycled, cable replugged), and MCUboot went back to the previous image. Test it again.
    ctx.log(`The unit restarted before ${t.version} was confirmed, so MCUboot went back to ${active?.version ?? 'its previous image'}. Testing ${t.version} again.`, 'warn');
    await restartIntoTest(run, ctx);
    await waitForBoot(run, ctx);
    await checkRestarts(run, ctx);
    if (ctx.state.reverted) throw revertedError(ctx.state);
  }
  const after = await imageGroup.setState(await client(run, ctx), { confirm: true });
  if (!after.some((s) => s.hash === t.imageHash && s.active && s.confirmed)) throw checkError('update.not-confirmed', 'The unit did not confirm the new image.');
  ctx.state.confirmed = true;
  // The unit runs it: this laptop now refuses older update bundles for the product.
  const lib = new BundleLibrary('update', { dir: (await firmwareSource(unitHandle(run), run.dataDir)).dir });
  await lib.recordInstalled(lib.find(t.bundle.bundleId));
  ctx.log(`Anti-rollback floor raised to ${t.bundle.product} sequence ${t.bundle.sequence}.`);
}

/**
 * The update's steps in order. The bundle's preconditions are read in
 * 'checks', between 'image' (which picks the image and reads what the unit
 * runs) and 'upload': before the first byte is sent.
 */
export const UPDATE_STEPS: [id: string, title: string, fn: StepFn<UpdateRun, UpdateState>][] = [
  ['image', 'Pick the update image', pickImage],
  ['checks', 'Check the unit meets the release\'s preconditions', checkUnit],
  ['upload', 'Upload the new image to slot 1', upload],
  ['test', 'Mark it for a test boot and restart', testBoot],
  ['wait', 'Wait for the unit to boot', waitStep],
  ['confirm', 'Confirm the new image', confirmImage],
];

function precheck(run: UpdateRun): string | undefined {
  const e = run.registry.get(run.deviceId);
  if (e.kind === 'zephyr-smp') return undefined;
  if (e.kind === 'mcuboot-serial') return 'This unit is in MCUboot serial recovery, not running its application: use Recover.';
  if (e.kind === 'stm32-rom') return 'This unit answers with the STM32 ROM bootloader: use Full unbrick.';
  return `Offline update needs a unit running its application with SMP; this one is: ${e.summary}. Run Detect first.`;
}

function record(s: UpdateState) {
  const t = s.target;
  return {
    ...(t ? { inputs: recordInputs(t.bundle, [t]) } : {}),
    facts: {
      ...(t ? { imageHash: t.imageHash, version: t.version } : {}),
      // An imported fleet release: its system, identifiers and proof, so the outcome can be reported back (records export).
      ...(t?.bundle.provenance ? { provenance: t.bundle.provenance as unknown as Json } : {}),
      ...(s.before ? { runningBefore: s.before } : {}),
      ...(s.running ? { runningAfter: s.running } : {}),
      ...(s.reverted !== undefined ? { reverted: s.reverted } : {}),
      ...(s.checks ? { preconditions: s.checks.map((c) => ({ ...c })) } : {}),
      ...(s.restarts !== undefined ? { restartsAfterTestBoot: s.restarts } : {}),
      ...(s.bootLoop ? { bootLoop: true } : {}),
      ...(s.confirmed ? { confirmed: true } : {}),
      // What the upload engine learned about this unit's link (frame size, window, pacing, frames lost).
      ...(s.transfer ? { uploadLink: { ...s.transfer.link } } : {}),
    },
  };
}

function result(s: UpdateState) {
  const t = s.target;
  if (!t) return { summary: 'The unit already runs this image; nothing was changed.' };
  if (s.bootLoop) return { summary: `Boot-looping: the unit restarted ${s.restarts} times after its test boot of ${t.version}; not confirmed.` };
  if (s.reverted) return { summary: `Rolled back: the unit runs ${s.running}, not ${t.version}.` };
  if (s.confirmed) return { summary: `Updated to ${t.version}: it booted and is confirmed.` };
  if (s.running === t.version) return { summary: `Running ${t.version} as a test boot (not confirmed).` };
  return { summary: s.uploaded ? `Uploaded ${t.version}; the update did not finish.` : 'Nothing was installed.' };
}

export function updateJob(registry: DeviceRegistry, deviceId: string, dataDir: string, options: { bundleId?: string; confirm?: boolean }): JobDefinition<UpdateState> {
  const run: UpdateRun = { registry, deviceId, dataDir, link: linkPerRun(() => openSmp(registry.get(deviceId).handle)) };
  return {
    workflow: 'update',
    deviceId,
    state: { confirm: options.confirm ?? true, ...(options.bundleId ? { bundleId: options.bundleId } : {}) },
    precheck: () => precheck(run),
    steps: run.link.wrap(namedSteps(run, UPDATE_STEPS)),
    record,
    result,
    learned: (s) => (s.confirmed && s.target ? { summary: `Zephyr application ${s.target.version} (SMP)` } : undefined),
  };
}
