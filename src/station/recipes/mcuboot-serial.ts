/**
 * Provisioning recipe for units in MCUboot serial recovery (SMP over the
 * console UART): identify (bootloader, slots) -> upload every SMP payload ->
 * check the hash the unit lists against the bundle's image hash -> restart ->
 * check that the unit answers again -> record.
 *
 * Identity: MCUboot serial recovery does not report a chip UID. The unit is
 * named by its on-board USB-serial adapter's serial number when it has one
 * (boards with their own USB-UART chip), else only by its port.
 * Per-unit data needs an SMP settings or file-system group, which MCUboot
 * serial recovery does not offer: a batch with a data list is refused up front.
 */
import { checkError, deviceError, usageError } from '../../core/errors.ts';
import type { BundleMetadata } from '../../formats/bundle/metadata.ts';
import type { SmpClient } from '../../smp/client.ts';
import * as imageGroup from '../../smp/groups/image.ts';
import * as osGroup from '../../smp/groups/os.ts';
import { uploadImage } from '../../smp/upload.ts';
import type { DeviceHandle } from '../../workflows/devices.ts';
import { openSmp } from '../../workflows/smp-link.ts';
import type { Recipe } from '../station.ts';

export interface McubootRecipeOptions {
  metadata: BundleMetadata;
  payloads: Map<string, Uint8Array>;
  /** Whether the batch hands out per-unit data (refused: no channel for it). */
  withData?: boolean;
  connect?: (handle: unknown, signal: AbortSignal) => Promise<{ client: SmpClient; close(): Promise<void> }>;
  /** The unit's stable name, if the port can tell (default: a DeviceHandle's adapter serial). */
  identity?: (handle: unknown) => string | undefined;
  /** Wait between tries while the unit restarts (ms). */
  restartPollMs?: number;
}

export function checkMcubootBundle(md: BundleMetadata, withData: boolean): void {
  if (md.kind !== 'provisioning') throw usageError('station.not-provisioning', `A station runs provisioning bundles; this one is a "${md.kind}" bundle.`);
  const raw = md.payloads.filter((p) => p.target.kind !== 'smp');
  if (raw.length)
    throw usageError('station.recipe-unavailable', `Payloads ${raw.map((p) => p.name).join(', ')} go to flash addresses, which MCUboot serial recovery cannot write.`);
  if (!md.payloads.length) throw usageError('station.recipe-unavailable', 'The bundle has no images to write.');
  if (md.provisioning?.optionBytes && (md.provisioning.optionBytes.rdpLevel !== 0 || md.provisioning.optionBytes.wrp.length))
    throw usageError('station.policy-unsupported', 'Option bytes cannot be set through MCUboot serial recovery; provision these units through their ROM bootloader.');
  if (withData)
    throw usageError('station.no-data-channel', 'MCUboot serial recovery offers no settings or file-system group, so per-unit data cannot be written to these units. Run without --data.');
}

const adapterSerial = (handle: unknown): string | undefined => (handle as DeviceHandle | undefined)?.identity?.find((i) => i.name === 'adapter serial')?.value;

export function mcubootSerialRecipe(o: McubootRecipeOptions): Recipe {
  checkMcubootBundle(o.metadata, !!o.withData);
  const images = o.metadata.payloads.map((p) => {
    const bytes = o.payloads.get(p.name);
    if (!bytes || p.target.kind !== 'smp') throw usageError('station.payload-missing', `Payload ${p.name} is missing from the bundle.`);
    return { name: p.name, image: p.target.image, bytes, imageHash: p.imageHash, version: p.version };
  });
  const connect = o.connect ?? (async (handle: unknown) => openSmp(handle as DeviceHandle));
  const identity = o.identity ?? adapterSerial;
  const pollMs = o.restartPollMs ?? 500;
  return async (ctx) => {
    let link = await ctx.step('connect', () => connect(ctx.port.handle, ctx.signal));
    try {
      const boot = await ctx.step('identify', async () => {
        const info = await osGroup.bootloaderInfo(link.client).catch(() => undefined);
        const slots = await imageGroup.list(link.client);
        return { info, slots };
      });
      const name = identity(ctx.port.handle);
      if (name) ctx.identify({ serial: name, target: 'mcuboot' });
      ctx.note({ target: 'mcuboot', versions: { bootloader: boot.info?.bootloader ?? 'MCUboot' } });
      for (const img of images) {
        const r = await ctx.step(`write ${img.name}`, () => uploadImage(link.client, img.bytes, { image: img.image, signal: ctx.signal }));
        if (img.imageHash && r.hash !== img.imageHash)
          throw checkError('station.bundle-changed', `Image ${img.name} hashes to ${r.hash.slice(0, 16)}…, not the bundle's ${img.imageHash.slice(0, 16)}…; refusing it.`);
      }
      await ctx.step('verify', async () => {
        const listed = await imageGroup.list(link.client);
        for (const img of images) {
          const s = listed.find((x) => x.image === img.image && x.slot === 0);
          if (!s || (img.imageHash && s.hash !== img.imageHash))
            throw checkError('station.hash-mismatch', `After the upload the unit lists ${s ? `hash ${s.hash.slice(0, 16)}…` : 'no image'} for image ${img.image}, not ${img.name}. Re-run the unit.`);
        }
      });
      ctx.note({
        hashes: Object.fromEntries(images.map((i) => [i.name, i.imageHash ?? ''])),
        versions: Object.fromEntries(images.map((i) => [`image${i.image}`, i.version ?? ''])),
      });
      await ctx.step('restart', () => osGroup.reset(link.client));
      await link.close().catch(() => {});
      await ctx.step('final check', async () => {
        // MCUboot answers again after its reset delay and boot checks.
        for (let i = 0; i < 10; i++) {
          await new Promise((r) => setTimeout(r, pollMs));
          if (ctx.signal.aborted) throw ctx.signal.reason;
          try {
            link = await connect(ctx.port.handle, ctx.signal);
            const listed = await imageGroup.list(link.client);
            if (images.every((img) => listed.some((s) => s.image === img.image && s.slot === 0 && (!img.imageHash || s.hash === img.imageHash)))) return;
          } catch {
            /* still restarting */
          }
          await link.close().catch(() => {});
        }
        throw deviceError('station.no-answer', 'The unit did not answer with its new images after the restart. Check it, then re-run it.');
      });
      return `Provisioned: ${images.map((i) => `${i.name} ${i.version ?? ''}`.trim()).join(', ')}.`;
    } finally {
      await link.close().catch(() => {});
    }
  };
}

/** Runs whichever recipe fits the unit: `probe` says what answers on the port. */
export function byUnitKind(recipes: Partial<Record<'stm32' | 'mcuboot', Recipe>>, probe: (handle: unknown, signal: AbortSignal) => Promise<'stm32' | 'mcuboot' | undefined>): Recipe {
  return async (ctx) => {
    const kind = await ctx.step('detect', () => probe(ctx.port.handle, ctx.signal));
    const recipe = kind ? recipes[kind] : undefined;
    if (!recipe)
      throw deviceError('station.unit-unknown-kind', kind ? `This unit offers ${kind === 'stm32' ? 'the STM32 ROM bootloader' : 'MCUboot serial recovery'}, which this batch's bundle does not provision.` : 'Nothing on this port answers as an STM32 ROM bootloader or MCUboot serial recovery.');
    return recipe(ctx);
  };
}
