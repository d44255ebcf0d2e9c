/**
 * What the STM32 system bootloader host and simulator need to know about one
 * chip: flash geometry, bootloader RAM, option-byte location and layout, the
 * erase command its bootloader offers, and the datasheet flash timings.
 * Facts come from ../shared/vectors/stm32/chips.json (see table.ts); the test
 * test/unit/stm32/chip-table.test.ts keeps the two in agreement.
 */

export type Family = 'F0' | 'F1' | 'F2' | 'F3' | 'F4' | 'F7' | 'G0' | 'G4' | 'H7' | 'L0' | 'L1' | 'L4' | 'L5' | 'U5' | 'WB' | 'WL';

/** Key of the option-byte codec (one per encoding family; several families share one). */
export type OptionLayout = 'F1' | 'F0F3' | 'F2F4' | 'F7' | 'L0L1' | 'L4' | 'G0' | 'L5U5' | 'WB' | 'WL' | 'H7';

interface FlashCommon {
  start: number;
  /** Exclusive. */
  end: number;
  size: number;
  banks: number;
  /** What one WRP bit / Write Protect sector code covers, as the source words it. */
  writeProtectUnit: string;
  /** Pages (or sectors on sector-layout parts) per WRP unit; null where the source does not record it. */
  wrpPagesPerUnit: number | null;
}

export interface UniformFlash extends FlashCommon {
  layout: 'uniform';
  pageSize: number;
  pageCount: number;
}

export interface SectorFlash extends FlashCommon {
  layout: 'sectors';
  /** Sizes in bootloader erase-index order (0, 1, 2 ...). */
  sectorSizes: number[];
}

export type Range = [min: number, max: number];

export interface FlashTimingFacts {
  pageEraseMs?: Range;
  massEraseMs?: Range;
  halfwordProgramUs?: Range;
  doublewordProgramUs?: Range;
  wordProgramMs?: Range;
  /** F2/F4: sector erase by programming parallelism. */
  x32?: { sector16KMs: Range; sector64KMs: Range; sector128KMs: Range; massEraseMs: Range };
  x8?: { sector16KMs: Range; sector64KMs: Range; sector128KMs: Range; massEraseMs: Range };
  note?: string;
  source: string;
}

export interface ChipInfo {
  pid: number;
  family: Family;
  name: string;
  flash: UniformFlash | SectorFlash;
  bootloaderRam: { freeStart: number; end: number };
  systemMemory: { start: number; end: number };
  /** null start/end: the option bytes are not memory-mapped for the bootloader (H7, L5/U5). */
  optionBytes: { start: number | null; endInclusive: number | null; layout: OptionLayout };
  bootloader: {
    eraseCommand: 0x43 | 0x44;
    /** false: the global erase code is refused (stm32flash F_NO_ME); erase page by page. */
    globalEraseSupported: boolean;
    typicalGetCommands: number[];
    /** Typical protocol version byte (0x22 = V2.2); null where unknown. Read it with Get; never rely on this. */
    usartProtocolVersion: number | null;
  };
  flashTiming: FlashTimingFacts | null;
}
