/**
 * Recover through MCUboot serial recovery: push the golden image (from a
 * verified golden bundle of the library) to slot 0, check the hash the device then lists, reset, and check that the unit
 * answers again with the golden image in place. A cancelled or failed upload
 * is resumed by uploading again (the image is rewritten from its start; the
 * slot held no valid image before, so nothing is lost meanwhile).
 */
import { checkError, deviceError } from '../core/errors.ts';
import * as imageGroup from '../smp/groups/image.ts';
import * as osGroup from '../smp/groups/os.ts';
import { uploadImage } from '../smp/upload.ts';
import type { LinkReport } from '../smp/link-learner.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import { linkPerRun, namedSteps, type DeviceLearned, type JobDefinition, type StepContext, type StepFn, unitHandle, type WorkflowRun } from './job.ts';
import { openSmp, type SmpLink } from '../devices/smp-link.ts';
import type { SmpClient } from '../smp/client.ts';
import { identifySmp } from '../devices/probes.ts';
import { firmwareSource, goldenForSmp, recordInputs, type BundleOrigin } from './firmware.ts';

export interface RecoverState {
  goldenId?: string;
  golden?: { name: string; version: string; imageHash: string; sha256: string; bytes: number; bundle: BundleOrigin };
  /** The user allowed the write (kept across a resume). */
  allowed?: boolean;
  /**
   * Bytes the device acknowledged of an upload that did not finish: a resumed
   * upload asks it to continue from there (a device that lost its upload
   * state, e.g. after a reset, answers 0 and it starts over).
   */
  acknowledged?: number;
  uploaded?: { seconds: number; restarts: number; bytesSent: number; link: LinkReport };
  listedHash?: string;
  cameBack?: string;
  /** After the restart the application runs (not held in recovery). */
  runsApp?: boolean;
  /** What answered after the restart, for the device list once the job ends. */
  learned?: DeviceLearned;
}

/** What every step of one recover job works with. */
interface RecoverRun extends WorkflowRun<SmpLink> {
  /** The golden image's bytes, found (and verified) by the first step of each run. */
  image?: Uint8Array;
}
type Ctx = StepContext<RecoverState>;

const client = async (run: RecoverRun, ctx: Ctx): Promise<SmpClient> => (await run.link.get(ctx.signal)).client;

async function findGolden(run: RecoverRun, ctx: Ctx) {
  // Re-verified on every run (a resumed one too): the bytes sent are the bundle's signed bytes.
  const g = await goldenForSmp(await firmwareSource(unitHandle(run), run.dataDir), ctx.state.goldenId);
  run.image = g.image;
  ctx.state.goldenId = g.origin.bundleId;
  ctx.state.golden = { name: g.name, version: g.version, imageHash: g.imageHash, sha256: g.sha256, bytes: g.image.length, bundle: g.origin };
  ctx.log(`Golden image ${g.name} ${g.version} from bundle ${g.origin.product} ${g.origin.version} [${g.origin.bundleId.slice(0, 12)}], ${g.image.length} bytes, hash ${g.imageHash.slice(0, 16)}….`);
}

async function upload(run: RecoverRun, ctx: Ctx) {
  const g = ctx.state.golden!;
  if (!ctx.state.allowed)
    await ctx.confirm({
      title: `Write ${g.name} to slot 0?`,
      message: `Uploads the golden application ${g.version} (${g.bytes} bytes) through MCUboot serial recovery. Whatever slot 0 holds now is replaced.`,
      confirmLabel: 'Write the golden image',
    });
  ctx.state.allowed = true; // a resumed upload does not ask again
  const smp = await run.link.get(ctx.signal);
  const meter = ctx.progress('Uploading image', g.bytes);
  const from = ctx.state.acknowledged;
  if (from) ctx.log(`Continuing the upload from byte ${from}, where the device allows it.`);
  const onProgress = (p: { done: number }) => {
    meter.update(p.done);
    // Once every byte is in, a failure is no longer about the transfer: a new run sends it all again.
    ctx.state.acknowledged = p.done < g.bytes ? p.done : undefined;
  };
  const r = await smp.guard(ctx.signal, (signal) => uploadImage(smp.client, run.image!, { signal, onProgress, ...(from ? { resumeFrom: from } : {}) }));
  ctx.state.acknowledged = undefined;
  ctx.state.uploaded = { seconds: r.seconds, restarts: r.restarts, bytesSent: r.bytesSent, link: r.link };
  ctx.log(`Uploaded ${r.bytes} bytes in ${r.seconds.toFixed(1)} s.`);
}

async function checkHash(run: RecoverRun, ctx: Ctx) {
  const listed = await imageGroup.list(await client(run, ctx));
  const s0 = listed.find((s) => s.image === 0 && s.slot === 0);
  ctx.state.listedHash = s0?.hash;
  if (!s0 || s0.hash !== ctx.state.golden!.imageHash)
    throw checkError(
      'recover.hash-mismatch',
      `After the upload the device lists ${s0 ? `hash ${s0.hash.slice(0, 16)}…` : 'no image'} in slot 0, not the golden image's ${ctx.state.golden!.imageHash.slice(0, 16)}…. Run Recover again; if it repeats, the unit's flash may be failing.`,
    );
  ctx.log('The device lists the golden image hash in slot 0.');
}

async function restart(run: RecoverRun, ctx: Ctx) {
  await osGroup.reset(await client(run, ctx));
  await run.link.drop();
}

async function answersAgain(run: RecoverRun, ctx: Ctx) {
  // MCUboot answers after its reset delay (~250 ms) and boot checks; give it a few tries.
  for (let i = 0; i < 10 && !ctx.signal.aborted; i++) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const c = await client(run, ctx);
      const listed = await imageGroup.list(c);
      const s0 = listed.find((s) => s.image === 0 && s.slot === 0);
      if (s0?.hash === ctx.state.golden!.imageHash) {
        // MCUboot boots the image unless the unit is held in recovery (button, or built to stay): say which.
        const now = await identifySmp(c);
        ctx.state.cameBack = s0.version;
        ctx.state.runsApp = now.kind === 'zephyr-smp';
        ctx.state.learned = { kind: now.kind, summary: now.summary };
        ctx.log(`The unit answers with image ${s0.version} in slot 0${ctx.state.runsApp ? ', and its application runs' : ', still in serial recovery'}.`);
        return;
      }
    } catch {
      await run.link.drop();
    }
  }
  throw deviceError('recover.no-answer', 'The unit did not answer after its restart. Check power and the cable, then run Detect.');
}

function precheck(run: RecoverRun): string | undefined {
  const e = run.registry.get(run.deviceId);
  if (e.kind === 'mcuboot-serial') return undefined;
  if (e.kind === 'stm32-rom') return 'This unit answers with the STM32 ROM bootloader, not MCUboot: use Full unbrick.';
  if (e.kind === 'zephyr-smp') return 'This unit runs its application; Recover is for units in MCUboot serial recovery. Use Offline update to change its image.';
  return `Recover needs a unit in MCUboot serial recovery; this one is: ${e.summary}. Hold its recovery button while resetting it, then run Detect.`;
}

function record(s: RecoverState) {
  const g = s.golden;
  return {
    ...(g ? { inputs: recordInputs(g.bundle, [g]) } : {}),
    facts: {
      ...(g ? { imageHash: g.imageHash } : {}),
      ...(s.listedHash ? { listedHash: s.listedHash } : {}),
      // What the upload engine learned about this unit's link (frame size, window, pacing, frames lost).
      ...(s.uploaded ? { uploadLink: { ...s.uploaded.link } } : {}),
      ...(s.cameBack ? { slot0After: s.cameBack, runsApplication: !!s.runsApp } : {}),
    },
  };
}

function result(s: RecoverState) {
  if (s.cameBack)
    return {
      summary: `Recovered: golden image ${s.golden!.version} written, hash checked, and the unit answers again after its restart${s.runsApp ? ': its application runs' : ' (still in serial recovery: release its recovery button and restart it to run the application)'}.`,
    };
  return { summary: s.uploaded ? 'The image was uploaded but the recovery did not finish.' : 'Nothing was written.' };
}

/** The recovery's steps in order. */
const RECOVER_STEPS: [id: string, title: string, fn: StepFn<RecoverRun, RecoverState>][] = [
  ['golden', 'Find the golden image', findGolden],
  ['upload', 'Upload the golden image to slot 0', upload],
  ['check', 'Check the hash the device lists', checkHash],
  ['reset', 'Restart the unit', restart],
  ['back', 'Check the unit answers again', answersAgain],
];

export function recoverJob(registry: DeviceRegistry, deviceId: string, dataDir: string, options: { goldenId?: string }): JobDefinition<RecoverState> {
  const run: RecoverRun = { registry, deviceId, dataDir, link: linkPerRun(() => openSmp(registry.get(deviceId).handle)) };
  return {
    workflow: 'recover',
    deviceId,
    state: options.goldenId ? { goldenId: options.goldenId } : {},
    precheck: () => precheck(run),
    steps: run.link.wrap(namedSteps(run, RECOVER_STEPS)),
    record,
    result,
    learned: (s) => s.learned,
  };
}
