/**
 * Decode / encode / validate for every family, driven by each codec's
 * description (slots, RDP field, USER fields, WRP model). Family files only
 * describe; this file does the bit work once.
 */
import { inputError, usageError } from '../../core/errors.ts';
import { type ChipInfo, unitCount, wrpBitPages } from '../chips/index.ts';
import type { EncodeOptions, OptionBytes, OptionBytesCodec, RdpLevel, Slot } from './types.ts';
import { RDP2_CONFIRMATION } from './types.ts';

const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const le16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
function put32(b: Uint8Array, o: number, v: number) {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
function put16(b: Uint8Array, o: number, v: number) {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export const slotSize = (s: Slot): number => ({ 'byte-pair': 2, 'half-pair': 4, 'half-in-word': 4, 'word-pair': 8, plain32: 4 })[s.kind];

function readSlot(img: Uint8Array, s: Slot): { value: number; ok: boolean } {
  const o = s.offset;
  switch (s.kind) {
    case 'byte-pair':
      return { value: img[o]!, ok: (img[o]! ^ img[o + 1]!) === 0xff };
    case 'half-pair':
      return { value: le16(img, o), ok: (le16(img, o) ^ le16(img, o + 2)) === 0xffff };
    case 'half-in-word':
      return { value: le16(img, o), ok: (le16(img, o) ^ le16(img, o + 2)) === 0xffff };
    case 'word-pair':
      return { value: le32(img, o), ok: (le32(img, o) ^ le32(img, o + 4)) >>> 0 === 0xffffffff };
    case 'plain32':
      return { value: le32(img, o), ok: true };
  }
}

function writeSlot(img: Uint8Array, s: Slot, v: number): void {
  const o = s.offset;
  switch (s.kind) {
    case 'byte-pair':
      img[o] = v & 0xff;
      img[o + 1] = ~v & 0xff;
      return;
    case 'half-pair':
    case 'half-in-word':
      put16(img, o, v & 0xffff);
      put16(img, o + 2, ~v & 0xffff);
      return;
    case 'word-pair':
      put32(img, o, v >>> 0);
      put32(img, o + 4, ~v >>> 0);
      return;
    case 'plain32':
      put32(img, o, v >>> 0);
  }
}

export function imageLength(codec: OptionBytesCodec, chip: ChipInfo): number {
  return codec.slots(chip).reduce((n, s) => Math.max(n, s.offset + slotSize(s)), 0);
}

const field = (word: number, shift: number, width: number) => Math.floor(word / 2 ** shift) & (2 ** width - 1);
function setField(word: number, shift: number, width: number, value: number): number {
  const mask = (2 ** width - 1) * 2 ** shift;
  return ((word & ~mask) | ((value * 2 ** shift) & mask)) >>> 0;
}

export function decode(codec: OptionBytesCodec, chip: ChipInfo, image: Uint8Array): OptionBytes {
  const need = imageLength(codec, chip);
  if (image.length < need) throw inputError('stm32.ob-short', `Option-byte image too short: ${image.length} bytes, ${codec.layout} needs ${need}.`);
  const words: Record<string, number> = {};
  const badComplements: string[] = [];
  for (const s of codec.slots(chip)) {
    const { value, ok } = readSlot(image, s);
    words[s.name] = value;
    if (!ok) badComplements.push(s.name);
  }
  const raw = field(words[codec.rdpField.word]!, codec.rdpField.shift, 8);
  const user: Record<string, number> = {};
  for (const f of codec.userFields(chip)) user[f.name] = field(words[f.word]!, f.shift, f.width);
  return { layout: codec.layout, rdp: { raw, level: codec.rdpLevel(raw) }, wrpPages: decodeWrp(codec, chip, words), user, words, badComplements, image: image.slice() };
}

function decodeWrp(codec: OptionBytesCodec, chip: ChipInfo, words: Record<string, number>): number[] {
  const m = codec.wrp(chip);
  const pages = new Set<number>();
  if (m.kind === 'mask') {
    let bit = 0;
    for (const w of m.words)
      for (let i = 0; i < w.bits; i++, bit++) {
        const set = field(words[w.word]!, w.shift + i, 1) === 1;
        if (set !== m.activeLow) for (const p of wrpBitPages(chip, bit)) pages.add(p);
      }
  } else {
    for (const bank of m.banks)
      for (const a of bank.areas) {
        const v = words[a]!;
        const start = v & bank.mask;
        const end = field(v, bank.endShift, 16) & bank.mask;
        if (start <= end) for (let p = start; p <= end && p < bank.pages; p++) pages.add(bank.firstPage + p);
      }
  }
  return [...pages].sort((a, b) => a - b);
}

/** Problems with a decoded/edited set of option bytes, in plain words (empty = valid). */
export function validate(codec: OptionBytesCodec, chip: ChipInfo, ob: OptionBytes): string[] {
  const problems: string[] = [];
  const total = unitCount(chip);
  if (ob.rdp.raw < 0 || ob.rdp.raw > 0xff) problems.push('RDP must be one byte.');
  else if (codec.rdpLevel(ob.rdp.raw) !== ob.rdp.level) problems.push(`RDP value 0x${ob.rdp.raw.toString(16)} means level ${codec.rdpLevel(ob.rdp.raw)}, not ${ob.rdp.level}.`);
  for (const p of ob.wrpPages) if (!Number.isInteger(p) || p < 0 || p >= total) problems.push(`Write-protect page ${p} does not exist (0..${total - 1}).`);
  for (const f of codec.userFields(chip)) {
    const v = ob.user[f.name];
    if (v === undefined || !Number.isInteger(v) || v < 0 || v >= 2 ** f.width) problems.push(`${f.name} must be 0..${2 ** f.width - 1}.`);
  }
  const m = codec.wrp(chip);
  const want = new Set(ob.wrpPages);
  if (m.kind === 'mask') {
    const bits = m.words.reduce((n, w) => n + w.bits, 0);
    const covered = new Set<number>();
    for (let bit = 0; bit < bits; bit++) {
      const pages = wrpBitPages(chip, bit);
      pages.forEach((p) => covered.add(p));
      const some = pages.filter((p) => want.has(p));
      if (some.length && some.length !== pages.length)
        problems.push(`Write protection covers pages ${pages[0]}-${pages[pages.length - 1]} together (one WRP bit); protect all of them or none.`);
    }
    for (const p of want) if (!covered.has(p) && p < total) problems.push(`Page ${p} has no write-protection bit in this family.`);
  } else {
    for (const bank of m.banks) {
      const runs = pageRuns(ob.wrpPages.filter((p) => p >= bank.firstPage && p < bank.firstPage + bank.pages));
      if (runs.length > bank.areas.length)
        problems.push(`This bank has ${bank.areas.length} write-protection areas; the pages asked form ${runs.length} separate ranges.`);
    }
  }
  return problems;
}

export function pageRuns(pages: number[]): Array<[number, number]> {
  const sorted = [...new Set(pages)].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const p of sorted) {
    const last = runs[runs.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else runs.push([p, p]);
  }
  return runs;
}

/**
 * Encodes option bytes back into an image (values + complements). Refuses
 * anything invalid, and refuses RDP level 2 unless the caller passes the
 * separate confirmation constant: that value is never a default.
 */
export function encode(codec: OptionBytesCodec, chip: ChipInfo, ob: OptionBytes, opts: EncodeOptions = {}): Uint8Array {
  const problems = validate(codec, chip, ob);
  if (problems.length) throw inputError('stm32.ob-invalid', `Option bytes not valid: ${problems.join(' ')}`, { problems });
  if (codec.rdpLevel(ob.rdp.raw) === 2 && opts.confirmRdpLevel2 !== RDP2_CONFIRMATION)
    throw usageError(
      'stm32.rdp2-needs-confirmation',
      'Refusing to set readout protection level 2: it permanently disables the bootloader and debug access, and the chip can never be reprogrammed. It needs its own explicit confirmation.',
    );
  const words = { ...ob.words };
  const rdpWord = codec.rdpField.word;
  words[rdpWord] = setField(words[rdpWord]!, codec.rdpField.shift, 8, ob.rdp.raw);
  for (const f of codec.userFields(chip)) words[f.word] = setField(words[f.word]!, f.shift, f.width, ob.user[f.name]!);
  encodeWrp(codec, chip, words, ob.wrpPages);
  const img = new Uint8Array(Math.max(imageLength(codec, chip), ob.image.length)).fill(0xff);
  img.set(ob.image);
  for (const s of codec.slots(chip)) writeSlot(img, s, words[s.name]!);
  return img;
}

function encodeWrp(codec: OptionBytesCodec, chip: ChipInfo, words: Record<string, number>, pages: number[]): void {
  const m = codec.wrp(chip);
  const want = new Set(pages);
  if (m.kind === 'mask') {
    let bit = 0;
    for (const w of m.words)
      for (let i = 0; i < w.bits; i++, bit++) {
        const bp = wrpBitPages(chip, bit);
        const prot = bp.length > 0 && bp.every((p) => want.has(p));
        words[w.word] = setField(words[w.word]!, w.shift + i, 1, prot === m.activeLow ? 0 : 1);
      }
    return;
  }
  for (const bank of m.banks) {
    const runs = pageRuns(pages.filter((p) => p >= bank.firstPage && p < bank.firstPage + bank.pages));
    bank.areas.forEach((a, i) => {
      const run = runs[i];
      // Off = start > end: start = all ones, end = 0 (chips.json unprotectedValue).
      const [start, end] = run ? [run[0] - bank.firstPage, run[1] - bank.firstPage] : [bank.mask, 0];
      let v = setField(words[a]!, 0, bitsOf(bank.mask), start);
      v = setField(v, bank.endShift, bitsOf(bank.mask), end);
      words[a] = v;
    });
  }
}

const bitsOf = (mask: number) => Math.round(Math.log2(mask + 1));

/** RDP level in words a technician understands. */
export function describeRdp(level: RdpLevel): string {
  switch (level) {
    case 0:
      return 'level 0: no readout protection';
    case 0.5:
      return 'level 0.5: secure areas protected (TrustZone)';
    case 1:
      return 'level 1: flash cannot be read, written or run through the bootloader; lifting it erases all flash';
    case 2:
      return 'level 2: PERMANENT - no bootloader, no debug, can never be changed';
  }
}

export function levelFromRaw(raw: number, level0: number, level2: number | null): RdpLevel {
  if (raw === level0) return 0;
  if (level2 !== null && raw === level2) return 2;
  return 1;
}

/** Every unit index as a compact list: [0,1,2,5] -> "0-2, 5". */
export function formatRuns(pages: number[]): string {
  return pageRuns(pages)
    .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
    .join(', ');
}
