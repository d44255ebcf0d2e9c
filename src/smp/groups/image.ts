/** Image management group (1): state read/write (list, test, confirm), erase, slot info. */
import { deviceError, inputError, UnbrickError } from '../../core/errors.ts';
import type { SmpClient } from '../client.ts';
import { GROUP, smpRequest } from '../messages.ts';

export const IMAGE_GROUP = GROUP.image;

export interface SlotState {
  image: number;
  slot: number;
  version: string;
  /** Image hash TLV, hex. */
  hash: string;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

/** Both answer shapes: MCUboot lists only the true flags, Zephyr lists all of them. */
export function parseImageList(body: Record<string, unknown>): SlotState[] {
  const images = Array.isArray(body.images) ? body.images : [];
  return images.map((raw) => {
    const e = (raw ?? {}) as Record<string, unknown>;
    return {
      image: typeof e.image === 'number' ? e.image : 0,
      slot: typeof e.slot === 'number' ? e.slot : 0,
      version: typeof e.version === 'string' ? e.version : '',
      hash: e.hash instanceof Uint8Array ? Buffer.from(e.hash).toString('hex') : '',
      bootable: e.bootable === true,
      pending: e.pending === true,
      confirmed: e.confirmed === true,
      active: e.active === true,
      permanent: e.permanent === true,
    };
  });
}

export async function list(c: SmpClient): Promise<SlotState[]> {
  return parseImageList(await c.request(smpRequest('imageList')));
}

function hashBytes(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw inputError('smp.bad-hash', `An image hash is 64 hex digits (SHA-256); got "${hex}".`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export interface StateRequest {
  hash?: string;
  confirm: boolean;
}

/**
 * Marks an image for a test boot (reverted unless confirmed) or, with confirm, permanently.
 * A refusal is explained from the device's image list when the answer alone does not say
 * why (see `explainRefusal`).
 */
export async function setState(c: SmpClient, opts: StateRequest): Promise<SlotState[]> {
  const body = { ...(opts.hash ? { hash: hashBytes(opts.hash) } : {}), confirm: opts.confirm };
  const what = opts.confirm ? 'image confirm' : 'image test';
  try {
    return parseImageList(await c.request({ ...smpRequest('imageState', body), what, timeoutMs: 5000 }));
  } catch (e) {
    // Only a device's own refusal (an rc or err map), not a lost answer or an unsupported command.
    if (!(e instanceof UnbrickError) || e.kind !== 'device' || typeof e.details?.rc !== 'number' || e.code === 'smp.unsupported') throw e;
    let slots: SlotState[];
    try {
      slots = await list(c);
    } catch {
      throw e;
    }
    throw explainRefusal(slots, opts, e) ?? e;
  }
}

const short = (hash: string) => `${hash.slice(0, 8)}…`;
const imageName = (s: SlotState) => `${s.version} (slot ${s.slot}${s.image ? `, image ${s.image}` : ''}, hash ${short(s.hash)})`;

/**
 * Why a test or confirm was refused, from the image list read after the
 * refusal. SMP v1 answers carry only a generic rc: the real Zephyr 3.4 peer
 * (../shared/peers) answers an unknown hash and a test of the running image
 * both with rc 1 (EUNKNOWN; in v2 image errors 8 and 33), and a request while
 * another image is pending with rc 6; MCUboot serial recovery answers an
 * unknown hash with rc 5. Undefined when the list does not tell.
 */
export function explainRefusal(slots: SlotState[], opts: StateRequest, cause: UnbrickError): UnbrickError | undefined {
  const what = opts.confirm ? 'confirm' : 'test';
  const details = { ...cause.details, deviceError: cause.code };
  const target = opts.hash ? slots.find((s) => s.hash === opts.hash!.toLowerCase()) : slots.find((s) => s.active);
  if (opts.hash && !target) {
    const held = slots.length ? `it holds ${slots.map(imageName).join(', ')}` : 'it lists no image';
    return deviceError('smp.image-not-found', `Image ${what} refused: no image with hash ${short(opts.hash)} is on the device (${held}).`, details);
  }
  if (!opts.confirm && target?.active)
    return deviceError('smp.image-running', `Image test refused: ${imageName(target)} is the running image; only an image in another slot can be set for a test boot. To keep the running image, confirm it.`, details);
  const pending = slots.find((s) => s.pending && (s !== target || s.permanent !== opts.confirm));
  if (pending) {
    const kind = pending.permanent ? 'a permanent swap' : 'a test boot';
    return deviceError('smp.image-pending', `Image ${what} refused: ${imageName(pending)} is already marked for ${kind}. The device takes no other test or confirm until a restart runs it.`, details);
  }
  return undefined;
}

/**
 * What a test or confirm the device accepted did not do, read from the image
 * list it answered with; undefined when the list shows the asked state. Not
 * applied is a failed check (exit 1): a device that answers "ok" but does not
 * show the state it was asked for must not read as a success. Seen on
 * the real MCUboot serial-recovery peer: it marks the secondary slot whatever
 * the hash, so a test of the primary image lists nothing pending, and a
 * confirm of an image already set for a test keeps it a test (a scheduled swap
 * is left as it is, bootutil boot_set_pending_multi).
 */
export interface StateNote {
  text: string;
  /** False when the device does not show the asked state: the command did not do what it was asked. */
  applied: boolean;
}

export function stateNote(slots: SlotState[], opts: StateRequest): StateNote | undefined {
  const notApplied = (text: string): StateNote => ({ text, applied: false });
  if (!slots.length) return notApplied('The device lists no image: there is nothing to test or confirm.');
  if (!opts.hash) {
    if (!opts.confirm || slots.some((s) => s.confirmed && (s.active || s.slot === 0))) return undefined;
    return notApplied('The device accepted the confirm, but lists no running image as confirmed.');
  }
  const target = slots.find((s) => s.hash === opts.hash!.toLowerCase());
  if (!target) return undefined;
  const other = slots.find((s) => s !== target && s.pending);
  if (other && !target.pending)
    return notApplied(`The device marked ${imageName(other)} for ${other.permanent ? 'a permanent swap' : 'a test boot'}, not ${imageName(target)}: MCUboot marks the secondary slot whatever the hash.`);
  if (opts.confirm) {
    if ((target.pending && target.permanent) || target.confirmed) return undefined;
    if (target.pending) return notApplied(`The device still lists ${imageName(target)} for a test boot only (pending, not permanent): a swap already scheduled is left as it was. Confirm the image once it runs.`);
    return notApplied(`The device accepted the confirm, but does not list ${imageName(target)} as confirmed or pending.`);
  }
  if (target.pending) return undefined;
  if (target.slot === 0 && target.confirmed)
    // The image boots as it is: nothing was left undone, this is only a note.
    return { text: `Nothing is marked for a test boot: ${imageName(target)} is already in the primary slot, which MCUboot boots as it is (serial recovery writes there).`, applied: true };
  return notApplied(`The device accepted the test, but does not list ${imageName(target)} as pending.`);
}

/** Erases an image slot (default: the secondary). Erasing a whole slot can take seconds. */
export async function erase(c: SmpClient, slot?: number): Promise<void> {
  await c.request({ ...smpRequest('imageErase', slot === undefined ? {} : { slot }), timeoutMs: 30000, retries: 1 });
}

export interface SlotInfo {
  image: number;
  slots: Array<{ slot: number; size: number; uploadImageId?: number }>;
  maxImageSize?: number;
}

export async function slotInfo(c: SmpClient): Promise<SlotInfo[]> {
  const b = await c.request(smpRequest('slotInfo'));
  const images = Array.isArray(b.images) ? b.images : [];
  return images.map((raw) => {
    const e = (raw ?? {}) as Record<string, unknown>;
    const slots = (Array.isArray(e.slots) ? e.slots : []).map((s) => {
      const x = (s ?? {}) as Record<string, unknown>;
      return { slot: Number(x.slot ?? 0), size: Number(x.size ?? 0), ...(typeof x.upload_image_id === 'number' ? { uploadImageId: x.upload_image_id } : {}) };
    });
    return { image: Number(e.image ?? 0), slots, ...(typeof e.max_image_size === 'number' ? { maxImageSize: e.max_image_size } : {}) };
  });
}
