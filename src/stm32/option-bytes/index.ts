/** Option-byte codecs, one per encoding family, and the operations on them. */
import type { ChipInfo, OptionLayout } from '../chips/index.ts';
import { decode, describeRdp, encode, formatRuns, validate } from './engine.ts';
import { f0f3Codec } from './f0f3.ts';
import { f1Codec } from './f1.ts';
import { f2f4Codec } from './f2f4.ts';
import { f7Codec } from './f7.ts';
import { g0Codec } from './g0.ts';
import { h7Codec } from './h7.ts';
import { l0l1Codec } from './l0l1.ts';
import { l4Codec } from './l4.ts';
import { l5u5Codec } from './l5u5.ts';
import type { EncodeOptions, OptionBytes, OptionBytesCodec } from './types.ts';
import { wbCodec, wlCodec } from './wb-wl.ts';

export * from './types.ts';
export { describeRdp, formatRuns, pageRuns } from './engine.ts';

export const CODECS: Record<OptionLayout, OptionBytesCodec> = {
  F1: f1Codec,
  F0F3: f0f3Codec,
  F2F4: f2f4Codec,
  F7: f7Codec,
  L0L1: l0l1Codec,
  L4: l4Codec,
  G0: g0Codec,
  L5U5: l5u5Codec,
  WB: wbCodec,
  WL: wlCodec,
  H7: h7Codec,
};

export const codecFor = (chip: ChipInfo): OptionBytesCodec => CODECS[chip.optionBytes.layout];

export const decodeOptionBytes = (chip: ChipInfo, image: Uint8Array): OptionBytes => decode(codecFor(chip), chip, image);
export const encodeOptionBytes = (chip: ChipInfo, ob: OptionBytes, opts?: EncodeOptions): Uint8Array => encode(codecFor(chip), chip, ob, opts);
export const validateOptionBytes = (chip: ChipInfo, ob: OptionBytes): string[] => validate(codecFor(chip), chip, ob);
export const factoryOptionImage = (chip: ChipInfo): Uint8Array => codecFor(chip).factoryImage(chip);

/** Plain-words lines for `ob show`. */
export function describeOptionBytes(chip: ChipInfo, ob: OptionBytes): string[] {
  const codec = codecFor(chip);
  const unit = chip.flash.layout === 'sectors' ? 'sectors' : 'pages';
  const lines = [`RDP 0x${ob.rdp.raw.toString(16).padStart(2, '0')}: ${describeRdp(ob.rdp.level)}`];
  lines.push(ob.wrpPages.length ? `Write-protected ${unit}: ${formatRuns(ob.wrpPages)}` : `Write protection: none`);
  for (const f of codec.userFields(chip)) lines.push(`${f.name} = ${ob.user[f.name]}  (${f.meaning}${f.parts ? `; only on ${f.parts}` : ''})`);
  if (ob.badComplements.length) lines.push(`WARNING: complement mismatch in ${ob.badComplements.join(', ')}: the chip treats these options as invalid.`);
  return lines;
}
