/**
 * Flash and protection operations over a connected bootloader: read, erase,
 * write (erasing only what the image covers, skipping blocks that are erased
 * content anyway, resuming where a previous run stopped), verify (Get Checksum
 * where the bootloader has it, read-back otherwise), option bytes, write and
 * readout protection.
 */
import { checkError, deviceError, inputError, throwIfAborted, UnbrickError, usageError } from '../core/errors.ts';
import { type ProgressListener, ProgressMeter } from '../core/progress.ts';
import { EXT_ERASE, MAX_ERASE_PAGES_EXTENDED, MAX_ERASE_PAGES_LEGACY, stm32Crc } from './an3155/codec.ts';
import { type ChipInfo, type EraseUnit, eraseUnits, unitsCovering } from './chips/index.ts';
import {
  codecFor,
  decodeOptionBytes,
  encodeOptionBytes,
  formatRuns,
  type EncodeOptions,
  type OptionBytes,
  type RdpLevel,
} from './option-bytes/index.ts';
import type { Stm32Session } from './session.ts';

export interface Segment {
  address: number;
  data: Uint8Array;
}

export interface OpOptions {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

const BLOCK = 256;
const RETRIES = 3;

// ---- timing budgets from the chip table (datasheet maxima, generous) ----------

function unitEraseMaxMs(chip: ChipInfo, size: number): number {
  const t = chip.flashTiming;
  if (t?.x8) {
    // Worst case is x8 parallelism (low supply voltage).
    const x = t.x8;
    return size <= 16384 ? x.sector16KMs[1] : size <= 65536 ? x.sector64KMs[1] : x.sector128KMs[1] * (size / 131072);
  }
  if (t?.pageEraseMs) return t.pageEraseMs[1] * Math.max(1, size / (chip.flash.layout === 'uniform' ? chip.flash.pageSize : size));
  return 4000; // unknown part: seconds per sector, like F7/H7
}

const eraseBudgetMs = (chip: ChipInfo, units: EraseUnit[]) => 2000 + 1.5 * units.reduce((ms, u) => ms + unitEraseMaxMs(chip, u.size), 0);

/** Retries an exchange after resynchronising (noise, a lost byte, a stall). */
async function withRetry<T>(s: Stm32Session, what: string, fn: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt);
    } catch (e) {
      last = e;
      const code = e instanceof UnbrickError ? e.code : '';
      const transient = code === 'stm32.timeout' || code === 'stm32.garbled' || code === 'stm32.nack' || code === 'stm32.write-failed' || code === 'stm32.bad-address';
      if (!transient || attempt === RETRIES) break;
      await s.client.resync();
    }
  }
  if (last instanceof UnbrickError && !last.message.includes(what)) last.message = `While ${what}: ${last.message}`;
  throw last;
}

// ---- read -------------------------------------------------------------------

export async function readMemory(s: Stm32Session, address: number, length: number, o: OpOptions = {}): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const meter = new ProgressMeter('Reading', length, o.onProgress);
  for (let off = 0; off < length; off += BLOCK) {
    const n = Math.min(BLOCK, length - off);
    out.set(await withRetry(s, `reading 0x${(address + off).toString(16)}`, () => s.client.readMemory(address + off, n), o.signal), off);
    meter.update(off + n);
  }
  return out;
}

// ---- erase ------------------------------------------------------------------

/** Erases pages/sectors by bootloader index, in batches the bootloader accepts. */
export async function erasePages(s: Stm32Session, indexes: number[], o: OpOptions = {}): Promise<void> {
  const units = eraseUnits(s.chip);
  const legacy = s.eraseCommand === 0x43;
  const max = legacy ? MAX_ERASE_PAGES_LEGACY : MAX_ERASE_PAGES_EXTENDED;
  // Small batches keep progress moving and each wait short; big sectors go one by one.
  const meter = new ProgressMeter('Erasing', indexes.length, o.onProgress);
  let done = 0;
  let i = 0;
  while (i < indexes.length) {
    const batch: number[] = [];
    let ms = 0;
    while (i < indexes.length && batch.length < Math.min(max, 64) && (batch.length === 0 || ms < 3000)) {
      const idx = indexes[i++]!;
      if (legacy && idx > 0xfe) throw inputError('stm32.page-out-of-range', `Page ${idx} cannot be named by the legacy Erase command.`);
      batch.push(idx);
      ms += unitEraseMaxMs(s.chip, units[idx]!.size);
    }
    const budget = eraseBudgetMs(s.chip, batch.map((x) => units[x]!));
    await withRetry(s, `erasing ${s.chip.flash.layout === 'sectors' ? 'sectors' : 'pages'} ${formatRuns(batch)}`, () =>
      legacy ? s.client.eraseLegacy(batch, budget) : s.client.extendedErase(batch, budget),
      o.signal,
    );
    done += batch.length;
    meter.update(done);
  }
}

/** Erases all of flash: the global erase where the bootloader takes it, page by page where it refuses (L0/L1). */
export async function massErase(s: Stm32Session, o: OpOptions = {}): Promise<'global' | 'page-by-page'> {
  const all = eraseUnits(s.chip).map((u) => u.index);
  if (s.chip.bootloader.globalEraseSupported) {
    const ms = s.client.opts.massEraseMs;
    try {
      o.onProgress?.({ phase: 'Mass erase', done: 0, total: 1 });
      if (s.eraseCommand === 0x43) await s.client.eraseLegacy('global', ms);
      else await s.client.extendedErase({ special: EXT_ERASE.global }, ms);
      o.onProgress?.({ phase: 'Mass erase', done: 1, total: 1 });
      return 'global';
    } catch (e) {
      if (!(e instanceof UnbrickError) || e.code !== 'stm32.erase-failed') throw e;
      // Refused (e.g. a part whose table entry is optimistic): fall back below.
    }
  }
  await erasePages(s, all, o);
  return 'page-by-page';
}

/** Mass-erases one bank of a dual-bank part (Extended Erase 0xFFFE / 0xFFFD). */
export async function eraseBank(s: Stm32Session, bank: 1 | 2): Promise<void> {
  if (s.chip.flash.banks !== 2 || s.eraseCommand !== 0x44) throw usageError('stm32.no-banks', `${s.chip.name} has no bank erase (it is not a dual-bank part with Extended Erase).`);
  await s.client.extendedErase({ special: bank === 1 ? EXT_ERASE.bank1 : EXT_ERASE.bank2 }, s.client.opts.massEraseMs);
}

// ---- images -------------------------------------------------------------------

function checkSegments(s: Stm32Session, segments: Segment[]): void {
  const { chip } = s;
  for (const seg of segments) {
    const end = seg.address + seg.data.length;
    for (const r of codecFor(chip).regions(chip))
      if (seg.address < r.address + r.length && end > r.address)
        throw usageError('stm32.use-ob-set', 'The image touches the option-byte area. Change option bytes with "stm32 ob set", which validates them and guards readout protection level 2.');
    if (seg.address < chip.flash.start || end > chip.flash.end)
      throw inputError(
        'stm32.outside-flash',
        `The image (0x${seg.address.toString(16)}-0x${(end - 1).toString(16)}) does not fit ${chip.name} flash (0x${chip.flash.start.toString(16)}-0x${(chip.flash.end - 1).toString(16)}).`,
      );
  }
}

/** The image laid over erased flash, per erase unit (what each unit must hold afterwards). */
function unitImages(chip: ChipInfo, segments: Segment[]): Map<number, UnitImage & { covered: number }> {
  const out = new Map<number, UnitImage & { covered: number }>();
  for (const seg of segments)
    for (const u of unitsCovering(chip, seg.address, seg.data.length)) {
      let e = out.get(u.index);
      if (!e) out.set(u.index, (e = { unit: u, data: new Uint8Array(u.size).fill(0xff), covered: 0, ranges: [] }));
      const from = Math.max(seg.address, u.address);
      const to = Math.min(seg.address + seg.data.length, u.address + u.size);
      e.data.set(seg.data.subarray(from - seg.address, to - seg.address), from - u.address);
      e.covered += to - from;
      e.ranges.push([from - u.address, to - u.address]);
    }
  return out;
}

const isErasedContent = (b: Uint8Array) => b.every((x) => x === 0xff);

/**
 * Drops leading and trailing 0xFF from a block bound for freshly erased
 * flash, in whole 8-byte double words (the widest programming unit among
 * L4/G0), so firmware padding costs no line time.
 */
export function trimErased(address: number, data: Uint8Array): { address: number; data: Uint8Array } {
  const W = 8;
  let start = 0;
  let end = data.length;
  while (start + W <= end && isErasedContent(data.subarray(start, start + W))) start += W;
  while (end - W >= start && end % W === 0 && isErasedContent(data.subarray(end - W, end))) end -= W;
  return { address: address + start, data: data.subarray(start, end) };
}

export interface WriteOptions extends OpOptions {
  verify?: boolean;
  /** Skip the option-byte read that refuses writes into write-protected pages (verify still catches them). */
  skipProtectionCheck?: boolean;
  /** Keep what the pages the image only partly covers hold outside it (read first, written back). */
  keepRest?: boolean;
}

export interface WriteResult {
  bytes: number;
  erasedUnits: number[];
  /** Units whose content already matched (a re-run resumes here). */
  unchangedUnits: number[];
  /** Units inside the image's pages that the image only partly covers: the rest of them is erased. */
  partialUnits: number[];
  blocksWritten: number;
  blocksSkipped: number;
  verify: 'checksum' | 'read-back' | 'none';
  ms: { check: number; erase: number; write: number; verify: number; total: number };
}

/**
 * Writes an image: erases only the pages/sectors it covers, skips 256-byte
 * blocks that are erased content, and (with Get Checksum) skips units that
 * already hold the image, so an interrupted run completes when re-run.
 */
export async function writeImage(s: Stm32Session, segments: Segment[], o: WriteOptions = {}): Promise<WriteResult> {
  const t0 = performance.now();
  checkSegments(s, segments);
  const units = [...unitImages(s.chip, segments).values()].sort((a, b) => a.unit.index - b.unit.index);
  if (!o.skipProtectionCheck) await refuseProtected(s, units.map((u) => u.unit.index));
  if (o.keepRest)
    for (const u of units.filter((x) => x.covered < x.unit.size)) {
      // Old content underneath, the image on top; the whole unit is then written and verified.
      const old = await readMemory(s, u.unit.address, u.unit.size, o);
      for (const [a, b] of u.ranges) old.set(u.data.subarray(a, b), a);
      u.data = old;
      u.ranges = [[0, u.unit.size]];
      u.covered = u.unit.size;
    }

  const unchanged: number[] = [];
  const toErase: number[] = [];
  const toWrite: typeof units = [];
  for (const u of units) {
    if (s.hasChecksum) {
      const crc = await withRetry(s, 'checksum', () => s.client.getChecksum(u.unit.address, u.unit.size, 5000), o.signal);
      if (crc === stm32Crc(u.data)) {
        unchanged.push(u.unit.index);
        continue;
      }
      if (crc !== stm32Crc(new Uint8Array(u.unit.size).fill(0xff))) toErase.push(u.unit.index);
    } else toErase.push(u.unit.index);
    toWrite.push(u);
  }
  const t1 = performance.now();
  const progress = { erase: 0, write: 0, verify: 0 };
  const written = await eraseAndWrite(s, toWrite, new Set(toErase), o, progress);
  let verify: WriteResult['verify'] = 'none';
  if (o.verify !== false) {
    let bad = await verifyUnits(s, toWrite, o, progress);
    if (bad.length) {
      // A block garbled on the line can slip past the XOR check and program junk (1 in 256 per
      // corrupted block); flash cannot be fixed without an erase, so redo those units once.
      const redo = toWrite.filter((u) => bad.includes(u.unit.index));
      await eraseAndWrite(s, redo, new Set(bad), o, progress);
      bad = await verifyUnits(s, redo, o, progress);
      if (bad.length) throw await verifyFailed(s, bad);
    }
    verify = s.hasChecksum ? 'checksum' : 'read-back';
  }
  const t4 = performance.now();
  return {
    bytes: segments.reduce((n, seg) => n + seg.data.length, 0),
    erasedUnits: toErase,
    unchangedUnits: unchanged,
    partialUnits: units.filter((u) => u.covered < u.unit.size).map((u) => u.unit.index), // after keepRest: none
    blocksWritten: written.blocks,
    blocksSkipped: written.skipped,
    verify,
    ms: { erase: progress.erase, write: progress.write, verify: progress.verify, total: t4 - t0, check: t1 - t0 },
  };
}

/** What one erase unit must hold afterwards; `ranges` = the offsets the image itself covers. */
type UnitImage = { unit: EraseUnit; data: Uint8Array; ranges: Array<[number, number]> };

async function eraseAndWrite(s: Stm32Session, units: UnitImage[], erase: Set<number>, o: OpOptions, ms: { erase: number; write: number }): Promise<{ blocks: number; skipped: number }> {
  const t0 = performance.now();
  if (erase.size) await erasePages(s, [...erase].sort((a, b) => a - b), o);
  const t1 = performance.now();
  let written = 0;
  let skipped = 0;
  const blocks: Array<{ address: number; data: Uint8Array }> = [];
  for (const u of units)
    for (let off = 0; off < u.unit.size; off += BLOCK) {
      const data = u.data.subarray(off, off + BLOCK);
      if (isErasedContent(data)) skipped++;
      else blocks.push(trimErased(u.unit.address + off, data));
    }
  const total = blocks.reduce((n, b) => n + b.data.length, 0);
  const meter = new ProgressMeter('Writing', total, o.onProgress);
  let done = 0;
  for (const b of blocks) {
    await withRetry(
      s,
      `writing 0x${b.address.toString(16)}`,
      async (attempt) => {
        try {
          await s.client.writeMemory(b.address, b.data);
        } catch (e) {
          // A retry after a lost ACK: the block may already be programmed (L4/G0 then refuse to program it twice).
          if (attempt > 0 && e instanceof UnbrickError && e.code === 'stm32.write-failed') {
            await s.client.resync();
            const back = await s.client.readMemory(b.address, b.data.length);
            if (Buffer.compare(back, b.data) === 0) return;
          }
          throw e;
        }
      },
      o.signal,
    );
    written++;
    done += b.data.length;
    meter.update(done);
  }
  ms.erase += t1 - t0;
  ms.write += performance.now() - t1;
  return { blocks: written, skipped };
}

async function verifyUnits(s: Stm32Session, units: UnitImage[], o: OpOptions, ms: { verify: number }): Promise<number[]> {
  const t0 = performance.now();
  const bad: number[] = [];
  const total = units.reduce((n, u) => n + u.unit.size, 0);
  const meter = new ProgressMeter('Verifying', total, o.onProgress);
  let done = 0;
  for (const u of units) {
    if (s.hasChecksum) {
      const crc = await withRetry(s, 'checksum', () => s.client.getChecksum(u.unit.address, u.unit.size, 5000), o.signal);
      if (crc !== stm32Crc(u.data)) bad.push(u.unit.index);
    } else
      // Read back what the image covers (reading the erased rest of a 128 KB sector would double the time).
      for (const off of blockOffsets(u.ranges)) {
        const want = u.data.subarray(off, Math.min(off + BLOCK, u.unit.size));
        const read = () => withRetry(s, `reading back 0x${(u.unit.address + off).toString(16)}`, () => s.client.readMemory(u.unit.address + off, want.length), o.signal);
        // Read Memory data carries no checksum: a mismatch is read once more before it counts.
        if (Buffer.compare(await read(), want) !== 0 && Buffer.compare(await read(), want) !== 0) {
          bad.push(u.unit.index);
          break;
        }
      }
    meter.update((done += u.unit.size));
  }
  ms.verify += performance.now() - t0;
  return bad;
}

/** 256-byte block offsets (aligned) touching the given ranges. */
function blockOffsets(ranges: Array<[number, number]>): number[] {
  const set = new Set<number>();
  for (const [a, b] of ranges) for (let off = a - (a % BLOCK); off < b; off += BLOCK) set.add(off);
  return [...set].sort((x, y) => x - y);
}

/**
 * The verify error, with the likely cause: a write-protected unit drops writes
 * without an error (AN3155: the bootloader ACKs them), anything else points at
 * the flash itself. Option bytes unreadable: both causes are named.
 */
async function verifyFailed(s: Stm32Session, bad: number[]): Promise<UnbrickError> {
  const unit = s.chip.flash.layout === 'sectors' ? 'sectors' : 'pages';
  const wrp = await readOptionBytes(s)
    .then((ob) => bad.filter((i) => ob.wrpPages.includes(i)))
    .catch(() => undefined);
  const why =
    wrp === undefined
      ? 'If they are write-protected the bootloader drops the writes without an error: run "stm32 unprotect" and write again; otherwise write again, and if it repeats the flash there is failing.'
      : wrp.length
        ? `${unit[0]!.toUpperCase()}${unit.slice(1)} ${formatRuns(wrp)} are write-protected, and the bootloader drops writes there without an error: run "stm32 unprotect" and write again.`
        : `They are not write-protected, so the flash there did not take the data: write again; if it repeats, the chip's flash is failing and the unit should be replaced.`;
  return checkError('stm32.verify-failed', `Verify failed: ${unit} ${formatRuns(bad)} do not hold the image. ${why}`, { units: bad, ...(wrp ? { writeProtected: wrp } : {}) });
}

/** Compares flash with an image without changing anything. */
export async function verifyImage(s: Stm32Session, segments: Segment[], o: OpOptions = {}): Promise<'checksum' | 'read-back'> {
  checkSegments(s, segments);
  const bad: number[] = [];
  for (const seg of segments) {
    if (s.hasChecksum && seg.address % 4 === 0 && seg.data.length % 4 === 0) {
      const crc = await withRetry(s, 'checksum', () => s.client.getChecksum(seg.address, seg.data.length, 10_000), o.signal);
      if (crc === stm32Crc(seg.data)) continue;
    }
    const got = await readMemory(s, seg.address, seg.data.length, o);
    for (const u of unitsCovering(s.chip, seg.address, seg.data.length)) {
      const from = Math.max(seg.address, u.address) - seg.address;
      const to = Math.min(seg.address + seg.data.length, u.address + u.size) - seg.address;
      if (Buffer.compare(got.subarray(from, to), seg.data.subarray(from, to)) !== 0) bad.push(u.index);
    }
  }
  if (bad.length) throw await verifyFailed(s, bad);
  return s.hasChecksum ? 'checksum' : 'read-back';
}

// ---- option bytes and protection -------------------------------------------

export async function readOptionBytes(s: Stm32Session, o: OpOptions = {}): Promise<OptionBytes> {
  const regions = codecFor(s.chip).regions(s.chip);
  if (!regions.length)
    throw deviceError('stm32.ob-not-mapped', `${s.chip.name} keeps its option bytes in FLASH registers that the UART bootloader does not map; use STM32CubeProgrammer or SWD for them.`);
  const parts: Uint8Array[] = [];
  for (const r of regions) parts.push(await readMemory(s, r.address, r.length, o));
  return decodeOptionBytes(s.chip, Uint8Array.from(parts.flatMap((p) => [...p])));
}

async function refuseProtected(s: Stm32Session, indexes: number[]): Promise<void> {
  if (!codecFor(s.chip).regions(s.chip).length) return;
  const ob = await readOptionBytes(s);
  const hit = indexes.filter((i) => ob.wrpPages.includes(i));
  if (hit.length)
    throw deviceError(
      'stm32.write-protected',
      `${s.chip.flash.layout === 'sectors' ? 'Sectors' : 'Pages'} ${formatRuns(hit)} are write-protected; the bootloader would silently skip them. Run "stm32 unprotect" first (and "stm32 protect" afterwards to restore the policy).`,
      { units: hit },
    );
}

/**
 * Writes a full option-byte image (Write Memory into the option area; the chip
 * resets after each block, protocol.md 3.6), re-syncs, and reads it back.
 * Level 2 goes through encode's separate confirmation and nowhere else.
 */
export async function writeOptionBytes(s: Stm32Session, ob: OptionBytes, opts: EncodeOptions = {}): Promise<OptionBytes | undefined> {
  const img = encodeOptionBytes(s.chip, ob, opts);
  const regions = codecFor(s.chip).regions(s.chip);
  if (!regions.length) throw deviceError('stm32.ob-not-mapped', `${s.chip.name}: the UART bootloader does not map the option bytes.`);
  let off = 0;
  for (const r of regions) {
    const part = img.subarray(off, off + r.length);
    off += r.length;
    for (let i = 0; i < part.length; i += BLOCK) {
      await s.client.writeMemory(r.address + i, part.subarray(i, i + BLOCK), s.client.opts.optionMs);
      await s.client.resyncAfterReset();
    }
  }
  if (decodeOptionBytes(s.chip, img).rdp.level !== 0) return undefined; // cannot be read back any more
  const back = await readOptionBytes(s);
  if (Buffer.compare(back.image.subarray(0, img.length), img) !== 0)
    throw checkError('stm32.ob-verify-failed', 'The option bytes read back differ from what was written.', { wrote: img, read: back.image });
  return back;
}

/** The Write Protect sector codes for a set of pages: WRP bit numbers on mask families, page numbers on area families. */
export function writeProtectCodes(chip: ChipInfo, pages: number[], ob: OptionBytes): number[] {
  const model = codecFor(chip).wrp(chip);
  const check = { ...ob, wrpPages: [...new Set(pages)].sort((a, b) => a - b) };
  encodeOptionBytes(chip, check); // validates (whole WRP groups, number of areas)
  if (model.kind === 'area') return check.wrpPages;
  const decoded = decodeOptionBytes(chip, encodeOptionBytes(chip, check));
  const codes: number[] = [];
  const bitsTotal = model.words.reduce((n, w) => n + w.bits, 0);
  for (let bit = 0; bit < bitsTotal; bit++) {
    const w = decodedBit(chip, decoded, bit);
    if (w) codes.push(bit);
  }
  return codes;
}

function decodedBit(chip: ChipInfo, ob: OptionBytes, bit: number): boolean {
  const model = codecFor(chip).wrp(chip);
  if (model.kind !== 'mask') return false;
  let i = bit;
  for (const w of model.words) {
    if (i < w.bits) {
      const set = Math.floor(ob.words[w.word]! / 2 ** (w.shift + i)) % 2 === 1;
      return set !== model.activeLow;
    }
    i -= w.bits;
  }
  return false;
}

/** Protects exactly these pages (Write Protect replaces the previous set), then checks the result. */
export async function protectPages(s: Stm32Session, pages: number[]): Promise<OptionBytes> {
  const ob = await readOptionBytes(s);
  const codes = writeProtectCodes(s.chip, pages, ob);
  if (!codes.length) throw usageError('stm32.nothing-to-protect', 'No pages to protect; use "stm32 unprotect" to clear write protection.');
  await s.client.writeProtect(codes);
  const back = await readOptionBytes(s);
  const want = decodeOptionBytes(s.chip, encodeOptionBytes(s.chip, { ...ob, wrpPages: [...new Set(pages)].sort((a, b) => a - b) })).wrpPages;
  if (back.wrpPages.join() !== want.join()) throw checkError('stm32.protect-mismatch', `Write protection reads back as ${formatRuns(back.wrpPages)}, expected ${formatRuns(want)}.`);
  return back;
}

export async function writeUnprotect(s: Stm32Session): Promise<void> {
  await s.client.writeUnprotect();
}

/** Readout Unprotect: ERASES ALL FLASH, then RDP level 0. The caller must have confirmed. */
export async function readoutUnprotect(s: Stm32Session, o: OpOptions = {}): Promise<void> {
  o.onProgress?.({ phase: 'Mass erase (readout unprotect)', done: 0, total: 1 });
  await s.client.readoutUnprotect();
  o.onProgress?.({ phase: 'Mass erase (readout unprotect)', done: 1, total: 1 });
}

export async function readoutProtect(s: Stm32Session): Promise<void> {
  await s.client.readoutProtect();
}

/** Is readout protection active? A NACK on Read Memory's command pair says so (protocol.md 5). */
export async function probeReadout(s: Stm32Session): Promise<RdpLevel | 'unknown'> {
  try {
    await s.client.readMemory(s.chip.flash.start, 4);
    return 0;
  } catch (e) {
    if (e instanceof UnbrickError && e.code === 'stm32.read-refused') return 1;
    throw e;
  }
}

export interface ProtectionPolicy {
  /** Pages/sectors to write-protect; [] = none. */
  wrpPages: number[];
  /** 0 or 1. Level 2 is not a policy value: it needs ob set with its own confirmation. */
  rdp: 0 | 1;
}

/** Re-applies a protection policy after service work: WRP first (needs RDP 0), then RDP 1. */
export async function applyPolicy(s: Stm32Session, policy: ProtectionPolicy): Promise<void> {
  if ((policy.rdp as number) === 2) throw usageError('stm32.rdp2-needs-confirmation', 'A protection policy cannot set RDP level 2.');
  if (policy.wrpPages.length) await protectPages(s, policy.wrpPages);
  else await s.client.writeUnprotect();
  if (policy.rdp === 1) await s.client.readoutProtect();
}
