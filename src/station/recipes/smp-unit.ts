/**
 * Provisioning recipe for units that speak SMP on their console UART: a unit
 * in MCUboot serial recovery (fresh from assembly, no application yet) or a
 * running Zephyr application with the SMP server.
 *
 *   identify -> write every SMP image of the bundle
 *     (recovery: straight into the primary slot; application: into the
 *     secondary slot, confirmed for good, swapped in by MCUboot at restart)
 *   -> verify -> restart -> the application answers with the new images
 *   -> per-unit data through the application's settings or file group
 *      (write, read back, save) -> restart -> the data is still there -> record.
 *
 * Serial recovery has no settings or file group: the data waits until the
 * unit has restarted into its application. A unit whose application offers
 * neither configured channel fails before any entry is taken from the pool.
 *
 * Identity: SMP reports no chip UID. A unit is named by its on-board USB-serial
 * adapter's serial number (boards with their own USB-UART chip); per-unit
 * data needs that name, so the entry goes to the same unit on a re-run.
 */
import { checkError, deviceError, usageError, UnbrickError } from '../../core/errors.ts';
import type { BundleMetadata } from '../../formats/bundle/metadata.ts';
import type { SmpClient } from '../../smp/client.ts';
import * as imageGroup from '../../smp/groups/image.ts';
import * as osGroup from '../../smp/groups/os.ts';
import { uploadImage } from '../../smp/upload.ts';
import type { DeviceHandle } from '../../devices/registry.ts';
import { IDENTITY } from '../../devices/identity.ts';
import { openSmp } from '../../devices/smp-link.ts';
import type { Recipe, UnitContext } from '../station.ts';
import { checkUnitData, findDataChannels, NOTHING_WRITTEN, writeUnitData, type SmpDataTarget } from './smp-data.ts';
import { BOOT_LOOP_RESTARTS, checkPreconditions, readRestarts } from '../../workflows/preconditions.ts';

export interface SmpUnitRecipeOptions {
  metadata: BundleMetadata;
  payloads: Map<string, Uint8Array>;
  /** Where per-unit data goes on these units; required when the batch has a data list. */
  data?: SmpDataTarget;
  /** Whether the batch hands out per-unit data (checked up front against `data`). */
  withData?: boolean;
  /** The bundle also carries flash-address payloads and option bytes for ROM units: leave them to that recipe. */
  mixed?: boolean;
  connect?: (handle: unknown, signal: AbortSignal) => Promise<{ client: SmpClient; close(): Promise<void> }>;
  /** The unit's stable name, if the port can tell (default: a DeviceHandle's adapter serial). */
  identity?: (handle: unknown) => string | undefined;
  /** Wait between tries while the unit restarts (ms). */
  restartPollMs?: number;
}

/** Refuses, before the line starts, what SMP units cannot be given. */
export function checkSmpBundle(md: BundleMetadata, o: { withData?: boolean; data?: SmpDataTarget; mixed?: boolean } = {}): void {
  if (md.kind !== 'provisioning') throw usageError('station.not-provisioning', `A station runs provisioning bundles; this one is a "${md.kind}" bundle.`);
  const raw = md.payloads.filter((p) => p.target.kind !== 'smp');
  if (raw.length && !o.mixed)
    throw usageError('station.recipe-unavailable', `Payloads ${raw.map((p) => p.name).join(', ')} go to flash addresses, which MCUboot serial recovery cannot write.`);
  if (!md.payloads.some((p) => p.target.kind === 'smp')) throw usageError('station.recipe-unavailable', 'The bundle has no SMP images to write.');
  // In a mixed bundle the option-byte policy is for the ROM units.
  if (!o.mixed && md.provisioning?.optionBytes && (md.provisioning.optionBytes.rdpLevel !== 0 || md.provisioning.optionBytes.wrp.length))
    throw usageError('station.policy-unsupported', 'Option bytes cannot be set through SMP; provision these units through their ROM bootloader.');
  if (o.withData && !o.data?.settings?.length && !o.data?.file)
    throw usageError(
      'station.no-data-channel',
      'Per-unit data reaches SMP units through their application\'s settings or file-system group: name a settings key (--data-setting) or a file path (--data-file). MCUboot serial recovery itself has neither.',
    );
}

const adapterSerial = (handle: unknown): string | undefined => (handle as DeviceHandle | undefined)?.identity?.find((i) => i.name === IDENTITY.usbSerial)?.value;

type Link = { client: SmpClient; close(): Promise<void> };

export function smpUnitRecipe(o: SmpUnitRecipeOptions): Recipe {
  checkSmpBundle(o.metadata, o);
  const images = o.metadata.payloads
    .filter((p) => p.target.kind === 'smp')
    .map((p) => {
      const bytes = o.payloads.get(p.name);
      if (!bytes || p.target.kind !== 'smp') throw usageError('station.payload-missing', `Payload ${p.name} is missing from the bundle.`);
      return { name: p.name, image: p.target.image, bytes, imageHash: p.imageHash, version: p.version };
    });
  const connect = o.connect ?? (async (handle: unknown) => openSmp(handle as DeviceHandle));
  const identity = o.identity ?? adapterSerial;
  const pollMs = o.restartPollMs ?? 500;
  const holds = (slots: imageGroup.SlotState[]) => images.every((img) => slots.some((s) => s.image === img.image && s.slot === 0 && (!img.imageHash || s.hash === img.imageHash)));

  const counter = o.metadata.preconditions?.restarts;
  /**
   * Resets the unit and reconnects until it answers as its application with the images in place.
   * When the bundle names the firmware's restart counter and the application runs, a unit that
   * restarted again and again meanwhile fails as boot-looping, as in the Offline update.
   */
  async function restart(ctx: UnitContext, link: Link, app: boolean): Promise<Link> {
    const before = counter && app ? await readRestarts(link.client, counter) : undefined;
    await osGroup.reset(link.client);
    await link.close().catch(() => {});
    let last: unknown;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, pollMs));
      if (ctx.signal.aborted) throw ctx.signal.reason;
      let next: Link | undefined;
      let ready = false;
      try {
        next = await connect(ctx.port.handle, ctx.signal);
        ready = holds(await imageGroup.list(next.client));
        last = undefined;
      } catch (e) {
        last = e; // still restarting
      }
      if (ready) {
        // Outside the retry: a boot loop is the answer, not a reason to ask again.
        if (before !== undefined) await bootLoopCheck(next!, before);
        return next!;
      }
      await next?.close().catch(() => {});
    }
    throw deviceError('station.no-answer', `The unit did not answer with its new images after the restart${last instanceof Error ? ` (${last.message})` : ''}. Check it, then re-run it.`);
  }

  async function bootLoopCheck(next: Link, before: number): Promise<void> {
    const restarts = (await readRestarts(next.client, counter!)) - before;
    if (restarts >= BOOT_LOOP_RESTARTS) {
      await next.close().catch(() => {});
      throw checkError(
        'update.boot-loop',
        `The unit is boot-looping: it restarted ${restarts} times after the station restarted it once into ${images.map((i) => `${i.name} ${i.version ?? ''}`.trim()).join(', ')}. Set it aside, diagnose it, and report release ${o.metadata.version} with this record.`,
        { restarts },
      );
    }
  }

  /** The application answers OS information; MCUboot serial recovery does not. */
  const runsApp = async (c: SmpClient) =>
    osGroup.info(c, 's').then(
      () => true,
      (e: unknown) => {
        if (e instanceof UnbrickError && e.code === 'smp.unsupported') return false;
        throw e;
      },
    );

  return async (ctx) => {
    let link: Link = await ctx.step('connect', () => connect(ctx.port.handle, ctx.signal));
    try {
      const found = await ctx.step('identify', async () => {
        const info = await osGroup.bootloaderInfo(link.client).catch(() => undefined);
        const app = await runsApp(link.client);
        const slots = await imageGroup.list(link.client);
        return { info, app, slots };
      });
      const name = identity(ctx.port.handle);
      if (name) ctx.identify({ serial: name, target: 'mcuboot' });
      ctx.note({ target: 'mcuboot', versions: { bootloader: found.info?.bootloader ?? 'MCUboot', ...(found.app ? { before: found.slots.find((s) => s.active)?.version ?? '' } : {}) } });

      // A re-run finds the images already in place (the crash came later): nothing to write.
      if (!holds(found.slots)) {
        // The bundle's preconditions, read as the Offline update reads them, before the first byte is sent.
        const pre = o.metadata.preconditions;
        if (pre)
          await ctx.step('preconditions', () =>
            checkPreconditions(link.client, pre, {
              targets: images.map((i) => ({ image: i.image, slot: found.app ? 1 : 0, imageBytes: i.bytes.length })),
              release: `${o.metadata.product.name} ${o.metadata.version}`,
            }),
          );
        for (const img of images) {
          const r = await ctx.step(`write ${img.name}`, () => uploadImage(link.client, img.bytes, { image: img.image, signal: ctx.signal }));
          if (img.imageHash && r.hash !== img.imageHash)
            throw checkError('station.bundle-changed', `Image ${img.name} hashes to ${r.hash.slice(0, 16)}…, not the bundle's ${img.imageHash.slice(0, 16)}…; refusing it.`);
          // The application writes the secondary slot: confirm it for good, MCUboot swaps it in at restart.
          if (found.app) await ctx.step(`confirm ${img.name}`, () => imageGroup.setState(link.client, { hash: r.hash, confirm: true }));
        }
        await ctx.step('verify', async () => {
          const listed = await imageGroup.list(link.client);
          for (const img of images) {
            const s = listed.find((x) => x.image === img.image && x.slot === (found.app ? 1 : 0));
            if (!s || (img.imageHash && s.hash !== img.imageHash))
              throw checkError('station.hash-mismatch', `After the upload the unit lists ${s ? `hash ${s.hash.slice(0, 16)}…` : 'no image'} for image ${img.image}, not ${img.name}. Re-run the unit.`);
          }
        });
      }
      ctx.note({
        hashes: Object.fromEntries(images.map((i) => [i.name, i.imageHash ?? ''])),
        versions: Object.fromEntries(images.map((i) => [`image${i.image}`, i.version ?? ''])),
      });
      link = await ctx.step('restart', () => restart(ctx, link, found.app));

      if (ctx.hasData) {
        const target = o.data;
        if (!target) throw usageError('station.no-data-channel', 'The batch has per-unit data but no settings key or file path for SMP units.');
        const channels = await ctx.step('find data channel', async () => {
          if (!(await runsApp(link.client)))
            throw deviceError('station.no-data-channel', 'After the restart the unit is still in MCUboot serial recovery, which has no settings or file group, so its per-unit data cannot be written. Check that its application starts.');
          return findDataChannels(link.client, target);
        });
        if (!channels.length) {
          const wanted = [target.settings?.length ? 'the settings group' : '', target.file ? 'the file-system group' : ''].filter(Boolean).join(' or ');
          throw deviceError('station.no-data-channel', `This unit's application does not offer ${wanted}, so its per-unit data cannot be written; no entry was used. Use firmware built with it (CONFIG_MCUMGR_GRP_SETTINGS with a handler for the key, or CONFIG_MCUMGR_GRP_FS).`);
        }
        if (!name) throw deviceError('station.unit-unknown', 'This unit has no serial number on its USB-serial adapter, so per-unit data cannot be tied to it.');
        const d = await ctx.takeData();
        let channel;
        try {
          channel = await ctx.step('per-unit data', () => writeUnitData(link.client, channels, target, d.entry.fields, ctx.signal));
        } catch (e) {
          // The unit refused the very first write: the entry never reached it and goes back to the pool.
          if (e instanceof UnbrickError && e.code === NOTHING_WRITTEN) await ctx.releaseData();
          throw e;
        }
        // Not noted as the unit's serial: that names the unit (its adapter); the record carries the entry id.
        link = await ctx.step('restart (data check)', () => restart(ctx, link, true));
        await ctx.step('final check', () => checkUnitData(link.client, channel, target, d.entry.fields));
        return `Provisioned: ${images.map((i) => `${i.name} ${i.version ?? ''}`.trim()).join(', ')}; per-unit data ${d.entry.id} in ${channel === 'settings' ? 'settings' : target.file}.`;
      }
      await ctx.step('final check', async () => {
        if (!holds(await imageGroup.list(link.client))) throw deviceError('station.no-answer', 'The unit no longer lists its new images. Check it, then re-run it.');
      });
      return `Provisioned: ${images.map((i) => `${i.name} ${i.version ?? ''}`.trim()).join(', ')}.`;
    } finally {
      await link.close().catch(() => {});
    }
  };
}
