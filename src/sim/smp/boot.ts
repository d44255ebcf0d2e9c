/**
 * What MCUboot keeps in flash between resets and what it does at boot, for
 * the simulated devices: the image trailer (magic, image_ok, copy_done,
 * swap_info) at the end of each slot, the swap type derived from both
 * trailers (bootutil_public.c boot_swap_type_multi table), setting an image
 * pending or confirmed, and the swap / revert at boot.
 *
 * Trailer offsets use BOOT_MAX_ALIGN 8: magic in the last 16 bytes, then
 * image_ok, copy_done, swap_info, swap_size in 8-byte fields below it.
 * The swap is modelled as swap-move, step by step, with a progress table kept
 * in the secondary slot's last sector, so a power loss at any point (between two
 * sectors or in the middle of one sector's copy) resumes at the next boot, as
 * MCUboot's swap status does. The last two sectors are never swapped: that is
 * the swap-move overhead (max_image_size = slot size - 2 sectors).
 */
import type { NorFlash } from '../flash.ts';
import type { ImageChecker } from './image-check.ts';

export const BOOT_MAGIC = Uint8Array.from([0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80]);

export interface SlotArea {
  offset: number;
  size: number;
}

export interface ImageSlots {
  primary: SlotArea;
  secondary: SlotArea;
}

export type SwapType = 'none' | 'test' | 'perm' | 'revert';
type Magic = 'good' | 'unset' | 'bad';
type Flag = 'set' | 'unset' | 'bad';

const FLAG_SET = 0x01;
const MAGIC_OFF = 16;
const IMAGE_OK_OFF = 24;
const COPY_DONE_OFF = 32;
const SWAP_INFO_OFF = 40;

export interface SwapState {
  magic: Magic;
  imageOk: Flag;
  copyDone: Flag;
}

function readMagic(flash: NorFlash, a: SlotArea): Magic {
  const m = flash.read(a.offset + a.size - MAGIC_OFF, 16);
  if (m.every((b, i) => b === BOOT_MAGIC[i])) return 'good';
  if (m.every((b) => b === flash.erasedValue)) return 'unset';
  return 'bad';
}

function readFlag(flash: NorFlash, a: SlotArea, off: number): Flag {
  const b = flash.read(a.offset + a.size - off, 1)[0]!;
  return b === flash.erasedValue ? 'unset' : b === FLAG_SET ? 'set' : 'bad';
}

export function readSwapState(flash: NorFlash, a: SlotArea): SwapState {
  return { magic: readMagic(flash, a), imageOk: readFlag(flash, a, IMAGE_OK_OFF), copyDone: readFlag(flash, a, COPY_DONE_OFF) };
}

/** boot_swap_type_multi: the first matching row of bootutil's table wins. */
export function swapType(flash: NorFlash, s: ImageSlots): SwapType {
  const p = readSwapState(flash, s.primary);
  const q = readSwapState(flash, s.secondary);
  if (q.magic === 'good' && q.imageOk === 'unset') return 'test';
  if (q.magic === 'good' && q.imageOk === 'set') return 'perm';
  if (p.magic === 'good' && p.imageOk === 'unset' && p.copyDone === 'set') return 'revert';
  return 'none';
}

/** Programs one trailer byte field (8-byte aligned write, like MCUboot with max align 8). */
function writeField(flash: NorFlash, a: SlotArea, off: number, value: number): number {
  const buf = new Uint8Array(8).fill(flash.erasedValue);
  buf[0] = value;
  return flash.program(a.offset + a.size - off, buf);
}

function writeMagic(flash: NorFlash, a: SlotArea): number {
  return flash.program(a.offset + a.size - MAGIC_OFF, BOOT_MAGIC);
}

/** Time in ms plus an outcome, so callers can delay their answer by the flash time. */
export interface FlashResult {
  ms: number;
  ok: boolean;
}

/**
 * boot_set_pending_multi: marks the secondary slot for a test (or permanent)
 * swap at the next boot. A swap already scheduled is left as it is; a
 * corrupt trailer makes MCUboot erase the slot.
 */
export function setPending(flash: NorFlash, s: ImageSlots, permanent: boolean): FlashResult {
  const st = readSwapState(flash, s.secondary);
  if (st.magic === 'good') return { ms: 0, ok: true };
  if (st.magic === 'bad') return { ms: eraseArea(flash, s.secondary), ok: false };
  let ms = writeMagic(flash, s.secondary);
  if (permanent) ms += writeField(flash, s.secondary, IMAGE_OK_OFF, FLAG_SET);
  ms += writeField(flash, s.secondary, SWAP_INFO_OFF, permanent ? 3 : 2);
  return { ms, ok: true };
}

/** boot_set_confirmed: makes the running (primary) image permanent. */
export function setConfirmed(flash: NorFlash, s: ImageSlots): FlashResult {
  const st = readSwapState(flash, s.primary);
  if (st.magic !== 'good' || st.imageOk !== 'unset') return { ms: 0, ok: true };
  return { ms: writeField(flash, s.primary, IMAGE_OK_OFF, FLAG_SET), ok: true };
}

export function eraseArea(flash: NorFlash, a: SlotArea): number {
  let ms = 0;
  for (const i of flash.sectorsCovering(a.offset, a.size)) ms += flash.eraseSector(i);
  return ms;
}

/** Erases every sector of the area that is not already erased (what progressive erase skips). */
export function eraseRange(flash: NorFlash, offset: number, length: number): number {
  let ms = 0;
  for (const i of flash.sectorsCovering(offset, length)) {
    const sec = flash.sectors[i]!;
    if (!flash.isErased(sec.offset, sec.size)) ms += flash.eraseSector(i);
    else ms += flash.timing.eraseMs(sec.size);
  }
  return ms;
}

/** The swap was cut by a power loss; `ms` is the flash time spent before it (the unit was busy that long). */
export class PowerLoss extends Error {
  constructor(readonly ms: number) {
    super('power lost during swap');
  }
}

export interface BootOutcome {
  /** The swap that ran (or resumed), if any. */
  swapped: SwapType;
  /** Primary slot holds a valid image to run. */
  bootable: boolean;
  reason?: string;
  ms: number;
}

// Within the secondary's last sector (never part of an image) while a swap runs: the swap type byte, then
// three copy flags per sector; the primary's trailer is rewritten before this status is erased.
const STATUS_TYPE_OFF = 0;
const SWAP_FLAGS_OFF = 8;

function lastSector(flash: NorFlash, a: SlotArea): { offset: number; size: number; index: number } {
  const index = flash.sectorAt(a.offset + a.size - 1);
  const s = flash.sectors[index]!;
  return { ...s, index };
}

function swapSectors(flash: NorFlash, s: ImageSlots): number[] {
  const prim = flash.sectorsCovering(s.primary.offset, s.primary.size).slice(0, -2);
  return prim;
}

/**
 * What MCUboot does when it boots (swap-move, VALIDATE_PRIMARY_SLOT):
 * resume an interrupted swap, run a scheduled test/permanent swap after
 * validating the secondary image, revert an unconfirmed test image, then
 * validate the primary. `powerLossAfter` stops the swap after that many
 * sectors (fault injection).
 */
export function bootGo(flash: NorFlash, s: ImageSlots, checker: ImageChecker, opts: { powerLossAfter?: number } = {}): BootOutcome {
  let ms = 0;
  const last = lastSector(flash, s.secondary);
  const statusType = flash.read(last.offset + STATUS_TYPE_OFF, 1)[0]!;
  let type: SwapType;
  if (statusType !== flash.erasedValue) type = statusType === 2 ? 'test' : statusType === 3 ? 'perm' : 'revert';
  else {
    type = swapType(flash, s);
    if (type === 'test' || type === 'perm') {
      const sec = checker.check(flash.read(s.secondary.offset, s.secondary.size));
      if (!sec.valid) {
        // bootutil erases a secondary image that fails validation instead of swapping to it.
        ms += eraseArea(flash, s.secondary);
        type = 'none';
      }
    }
    if (type === 'revert' && !flash.isErased(last.offset, last.size - 64)) ms += flash.eraseSector(last.index); // a torn erase of an old status
    if (type !== 'none') ms += flash.program(last.offset + STATUS_TYPE_OFF, Uint8Array.of(type === 'test' ? 2 : type === 'perm' ? 3 : 4));
  }
  if (type !== 'none') {
    // swap-move (bootutil swap_move.c): first every image sector of the primary moves up by one
    // (into the spare sector above the image), then sector i of the primary takes the secondary's
    // sector i, and after that the secondary's sector i takes the moved original. Each copy reads a
    // sector no later copy has overwritten yet, and its flag is written after it, so a power loss
    // anywhere, even in the middle of a copy, is resumed by redoing that one copy at the next boot.
    const sectors = swapSectors(flash, s);
    const n = sectors.length;
    /** Flag of copy `step` (0 move up, 1 into the primary, 2 into the secondary) of image sector i. */
    const flag = (step: number, i: number) => last.offset + SWAP_FLAGS_OFF + step * n + i;
    if (SWAP_FLAGS_OFF + 3 * n > last.size - 64) throw new RangeError(`swap status of ${n} sectors does not fit the trailer sector`);
    const delta = s.secondary.offset - s.primary.offset;
    const copyOnce = (step: number, i: number, to: number, fromOffset: number): number => {
      if (flash.read(flag(step, i), 1)[0] === FLAG_SET) return 0;
      const data = flash.read(fromOffset, flash.sectors[to]!.size);
      return flash.eraseSector(to) + flash.program(flash.sectors[to]!.offset, data) + flash.program(flag(step, i), Uint8Array.of(FLAG_SET));
    };
    for (let i = n - 1; i >= 0; i--) ms += copyOnce(0, i, sectors[i]! + 1, flash.sectors[sectors[i]!]!.offset);
    let done = 0;
    for (let i = 0; i < n; i++) {
      if (flash.read(flag(2, i), 1)[0] === FLAG_SET) continue;
      if (opts.powerLossAfter !== undefined && done >= opts.powerLossAfter) throw new PowerLoss(ms);
      const a = flash.sectors[sectors[i]!]!;
      ms += copyOnce(1, i, sectors[i]!, a.offset + delta);
      ms += copyOnce(2, i, flash.sectorAt(a.offset + delta), flash.sectors[sectors[i]! + 1]!.offset);
      done++;
    }
    // Finish: fresh trailers. A test swap leaves image_ok unset so the next boot reverts unless confirmed.
    // The status (in the secondary's last sector) goes last: a power loss before that finishes again.
    ms += flash.eraseSector(lastSector(flash, s.primary).index);
    ms += writeField(flash, s.primary, COPY_DONE_OFF, FLAG_SET);
    if (type === 'perm' || type === 'revert') ms += writeField(flash, s.primary, IMAGE_OK_OFF, FLAG_SET);
    ms += writeMagic(flash, s.primary);
    // Spoil the secondary's magic before the erase: a torn erase must not leave it asking for the swap again.
    ms += flash.program(s.secondary.offset + s.secondary.size - MAGIC_OFF, new Uint8Array(16));
    ms += flash.eraseSector(last.index);
  }
  const prim = checker.check(flash.read(s.primary.offset, s.primary.size));
  return { swapped: type, bootable: prim.valid, ...(prim.valid ? {} : { reason: prim.reason ?? 'no valid image in the primary slot' }), ms };
}
