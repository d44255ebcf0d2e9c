/**
 * What a technician does with an STM32 in USB DFU mode, on top of the DfuSe
 * client: identify the chip, read, write with read-back verify, option bytes
 * (decoded with the same per-family codecs as the UART path), read-unprotect
 * and leave. Destructive steps take an explicit confirmation argument; the
 * CLI and UI decide how to ask for it.
 */
import { checkError, deviceError, usageError, UnbrickError } from '../core/errors.ts';
import type { ProgressListener } from '../core/progress.ts';
import type { FirmwareSegment } from '../formats/firmware-file.ts';
import { layoutSize } from '../formats/dfuse/index.ts';
import { type ChipInfo, CHIPS, eraseUnits } from '../stm32/chips/index.ts';
import { codecFor, decodeOptionBytes, encodeOptionBytes, type OptionBytes, type Rdp2Confirmation } from '../stm32/option-bytes/index.ts';
import { pagesCovering } from './client.ts';
import type { DfuAlt, DfuSession } from './session.ts';

export interface DfuIdentity {
  serialNumber?: string;
  product?: string;
  transferSize: number;
  dfuVersion: string;
  alts: Array<{ alt: number; name: string }>;
  /** Chips whose flash geometry and option-byte address match the device's memory descriptions. */
  candidates: Array<{ pid: string; name: string; family: string }>;
  readProtected: boolean;
}

/**
 * The chip table entries that fit what the device describes: flash start and
 * page sizes in alt 0, the option-byte address in alt 1. DFU does not report
 * the product ID, so several parts can fit one layout (an F405 and an F412
 * look alike); they are all returned.
 */
export function matchChips(alts: DfuAlt[]): ChipInfo[] {
  const flash = alts.find((a) => a.layout && /flash/i.test(a.layout.name))?.layout;
  const ob = alts.find((a) => a.layout && /option/i.test(a.layout.name))?.layout;
  if (!flash) return [];
  const sizes = flash.segments.flatMap((s) => Array<number>(s.pageCount).fill(s.pageSize));
  return CHIPS.filter((c) => {
    if (c.flash.start !== flash.segments[0]!.start) return false;
    const units = eraseUnits(c).map((u) => u.size);
    if (units.length !== sizes.length || units.some((u, i) => u !== sizes[i])) return false;
    // The option-byte memory's address and size tell look-alike families apart (G07x vs G431 vs L41x).
    return !ob || (c.optionBytes.start === ob.segments[0]!.start && codecFor(c).regions(c).reduce((n, r) => n + r.length, 0) === layoutSize(ob));
  });
}

/**
 * The chip whose option bytes are decoded: safe only when every candidate
 * stores them in the same place with the same encoding.
 */
function requireChip(session: DfuSession): ChipInfo {
  const fits = matchChips(session.alts);
  const first = fits[0];
  const same = (c: ChipInfo) =>
    c.optionBytes.layout === first!.optionBytes.layout && JSON.stringify(codecFor(c).regions(c)) === JSON.stringify(codecFor(first!).regions(first!));
  if (!first || !fits.every(same))
    throw deviceError('dfu.unknown-chip', "The device's memory layout does not tell which chip it is, so its option bytes cannot be decoded safely.");
  return first;
}

function flashAlt(session: DfuSession): DfuAlt & { layout: NonNullable<DfuAlt['layout']> } {
  const alt = session.alts.find((a) => a.layout && /flash/i.test(a.layout.name));
  if (!alt?.layout) throw deviceError('dfu.no-flash-alt', 'The device describes no "Internal Flash" memory: it is not an STM32 ROM DFU bootloader.');
  return alt as DfuAlt & { layout: NonNullable<DfuAlt['layout']> };
}

function optionAlt(session: DfuSession): DfuAlt & { layout: NonNullable<DfuAlt['layout']> } {
  const alt = session.alts.find((a) => a.layout && /option/i.test(a.layout.name));
  if (!alt?.layout) throw deviceError('dfu.no-option-alt', 'The device offers no "Option Bytes" memory over DFU.');
  return alt as DfuAlt & { layout: NonNullable<DfuAlt['layout']> };
}

const isVendorError = (e: unknown) => e instanceof UnbrickError && (e.code === 'dfu.errVENDOR' || e.code === 'usb.stall');

export async function identifyDfu(session: DfuSession): Promise<DfuIdentity> {
  const candidates = matchChips(session.alts).map((c) => ({ pid: `0x${c.pid.toString(16)}`, name: c.name, family: c.family }));
  let readProtected = false;
  const flash = session.alts.find((a) => a.layout && /flash/i.test(a.layout.name));
  if (flash?.layout) {
    const client = await session.use(flash.alt);
    try {
      await client.read(flash.layout.segments[0]!.start, 4);
    } catch (e) {
      if (!isVendorError(e)) throw e;
      readProtected = true; // RDP level 1: the ROM refuses uploads (AN3156)
      await client.ensureIdle().catch(() => {});
    }
  }
  const d = session.device;
  return {
    ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
    ...(d.productName ? { product: d.productName } : {}),
    transferSize: session.functional.transferSize,
    dfuVersion: session.functional.dfuVersion.toString(16).padStart(4, '0'),
    alts: session.alts.map((a) => ({ alt: a.alt, name: a.name })),
    candidates,
    readProtected,
  };
}

export async function readFlash(session: DfuSession, address: number, length: number, onProgress?: ProgressListener, signal?: AbortSignal): Promise<Uint8Array> {
  const alt = flashAlt(session);
  const client = await session.use(alt.alt, signal ? { signal } : {});
  return client.read(address, length, onProgress);
}

export interface WriteResult {
  bytes: number;
  segments: number;
  verified: boolean;
}

/**
 * Writes segments into flash: each is checked against the layout first (so
 * nothing is erased for a file that does not fit), written, then read back.
 * A mismatch (e.g. write-protected sectors, which the chip skips silently) is
 * a failed check naming the first differing address.
 */
export async function writeFlash(
  session: DfuSession,
  segments: FirmwareSegment[],
  opts: { verify?: boolean; onProgress?: ProgressListener; signal?: AbortSignal } = {},
): Promise<WriteResult> {
  const alt = flashAlt(session);
  for (const s of segments) pagesCovering(alt.layout, s.address, s.data.length);
  const client = await session.use(alt.alt, opts.signal ? { signal: opts.signal } : {});
  const verify = opts.verify ?? true;
  for (const s of segments) {
    await client.write(s.address, s.data, alt.layout, opts.onProgress);
    if (!verify) continue;
    const back = await client.read(s.address, s.data.length, (p) => opts.onProgress?.({ ...p, phase: 'Verifying' }));
    const at = back.findIndex((b, i) => b !== s.data[i]);
    if (at >= 0)
      throw checkError(
        'dfu.verify-failed',
        `Verify failed: flash at 0x${(s.address + at).toString(16)} does not hold what was written. The sector may be write-protected: lift WRP (ob set) and write again.`,
        { address: s.address + at },
      );
  }
  return { bytes: segments.reduce((n, s) => n + s.data.length, 0), segments: segments.length, verified: verify };
}

export async function readOptionBytes(session: DfuSession): Promise<{ chip: ChipInfo; image: Uint8Array; optionBytes: OptionBytes }> {
  const chip = requireChip(session);
  const alt = optionAlt(session);
  const client = await session.use(alt.alt);
  const regions = codecFor(chip).regions(chip);
  const parts: Uint8Array[] = [];
  for (const r of regions) parts.push(await client.read(r.address, r.length));
  const image = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    image.set(p, off);
    off += p.length;
  }
  return { chip, image, optionBytes: decodeOptionBytes(chip, image) };
}

/**
 * Writes a full option-byte set. The encoder refuses RDP level 2 unless the
 * exact level-2 confirmation is passed; the chip resets afterwards, so the
 * session is closed and the caller re-opens the device to check the result.
 */
export async function writeOptionBytes(session: DfuSession, ob: OptionBytes, opts: { confirmRdpLevel2?: Rdp2Confirmation } = {}): Promise<void> {
  const chip = requireChip(session);
  const image = encodeOptionBytes(chip, ob, opts);
  const alt = optionAlt(session);
  const client = await session.use(alt.alt);
  let off = 0;
  for (const r of codecFor(chip).regions(chip)) {
    await client.writeOptionBytes(r.address, image.subarray(off, off + r.length));
    off += r.length;
  }
}

/** DfuSe Read Unprotect: erases ALL flash, clears RDP, resets. Needs `confirmMassErase`. */
export async function readUnprotect(session: DfuSession, opts: { confirmMassErase: boolean }): Promise<void> {
  if (!opts.confirmMassErase)
    throw usageError('dfu.confirm-required', 'Removing read protection erases the whole flash. Confirm it explicitly (--yes-i-understand-mass-erase).');
  const client = await session.use(flashAlt(session).alt);
  await client.readUnprotect();
}

export async function leaveDfu(session: DfuSession, address?: number): Promise<void> {
  const client = await session.use(flashAlt(session).alt);
  await client.leave(address);
}
