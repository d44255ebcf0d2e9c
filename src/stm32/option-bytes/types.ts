/** Option bytes decoded into plain words, shared by every family codec. */
import type { ChipInfo, OptionLayout } from '../chips/index.ts';

/** 0.5 exists only on TrustZone parts (L5/U5 with TZEN=1). */
export type RdpLevel = 0 | 0.5 | 1 | 2;

export interface OptionBytes {
  layout: OptionLayout;
  rdp: { raw: number; level: RdpLevel };
  /** Pages (sectors on sector-layout parts) that write protection covers, as bootloader erase indexes. */
  wrpPages: number[];
  /** Named USER / BOR fields of this family (bit fields as numbers). */
  user: Record<string, number>;
  /** Every option word by name (values, without complements). Encoding starts from these, so unnamed bits survive. */
  words: Record<string, number>;
  /** Words whose stored complement does not match: the chip would flag an option-byte error and fall back to safe values. */
  badComplements: string[];
  /** The image these came from; reserved bytes are written back as read. */
  image: Uint8Array;
}

/** How a word and its complement sit in the image. */
export type SlotKind =
  | 'byte-pair' //  F0/F1/F3: value byte, complement byte
  | 'half-pair' //  F2/F4/F7: value half-word LE, complement half-word LE
  | 'half-in-word' // L0/L1: 32-bit LE word, value [15:0], complement [31:16]
  | 'word-pair' //  L4/G0/WB/WL: value word LE, complement word LE
  | 'plain32'; //   register images (H7, L5/U5): value word LE, no complement

export interface Slot {
  name: string;
  offset: number;
  kind: SlotKind;
}

export interface UserField {
  name: string;
  word: string;
  shift: number;
  width: number;
  /** Plain words for what the field's values mean. */
  meaning: string;
  /** Only on these parts (shown, but reserved elsewhere). */
  parts?: string;
}

export type WrpModel =
  | {
      kind: 'mask';
      /** Bits in order: WRP bit i = the i-th entry (word + bit). */
      words: Array<{ word: string; shift: number; bits: number }>;
      activeLow: boolean;
    }
  | {
      kind: 'area';
      /** Per bank: area registers, the first page index of the bank, field mask. */
      banks: Array<{ areas: string[]; firstPage: number; pages: number; mask: number; endShift: number }>;
    };

export interface Region {
  address: number;
  length: number;
}

/** The explicit, separate confirmation that RDP level 2 needs: no default or typo can produce this value. */
export const RDP2_CONFIRMATION = 'I understand RDP level 2 permanently disables the bootloader and debug access' as const;
export type Rdp2Confirmation = typeof RDP2_CONFIRMATION;

export interface EncodeOptions {
  confirmRdpLevel2?: Rdp2Confirmation;
}

export interface OptionBytesCodec {
  layout: OptionLayout;
  /** Where the bootloader maps the option bytes (empty: not reachable over the bootloader). */
  regions(chip: ChipInfo): Region[];
  slots(chip: ChipInfo): Slot[];
  userFields(chip: ChipInfo): UserField[];
  wrp(chip: ChipInfo): WrpModel;
  /** The word and shift holding the 8-bit RDP field. */
  rdpField: { word: string; shift: number };
  rdpLevel(raw: number): RdpLevel;
  /** The raw value that selects a level; throws when the family has no such level. */
  rdpRaw(level: RdpLevel): number;
  /** Unprotected factory image (simulators, "reset to factory"). */
  factoryImage(chip: ChipInfo): Uint8Array;
  /** Source notes for the factory image and field positions. */
  notes: string;
}
