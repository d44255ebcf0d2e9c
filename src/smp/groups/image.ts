/** Image management group (1): state read/write (list, test, confirm), erase, slot info. */
import { inputError } from '../../core/errors.ts';
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

/** Marks an image for a test boot (reverted unless confirmed) or, with confirm, permanently. */
export async function setState(c: SmpClient, opts: { hash?: string; confirm: boolean }): Promise<SlotState[]> {
  const body = { ...(opts.hash ? { hash: hashBytes(opts.hash) } : {}), confirm: opts.confirm };
  const what = opts.confirm ? 'image confirm' : 'image test';
  return parseImageList(await c.request({ ...smpRequest('imageState', body), what, timeoutMs: 5000 }));
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
