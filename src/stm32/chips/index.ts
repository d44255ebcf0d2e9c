/** Chip lookup and flash geometry from the chip table. */
import { inputError } from '../../core/errors.ts';
import { CHIPS } from './table.ts';
import type { ChipInfo, Family } from './types.ts';

export type { ChipInfo, Family, OptionLayout } from './types.ts';
export { CHIPS };

/** Chips by product ID. Two rows never share a PID in the table. */
export function chipByPid(pid: number): ChipInfo | undefined {
  return CHIPS.find((c) => c.pid === pid);
}

/**
 * 96-bit unique device ID base address by family (reference manuals: RM0008
 * 30.2 (F1), RM0091 (F0), RM0316 (F3), RM0033/RM0090 (F2/F4), RM0385 (F7),
 * RM0351 (L4), RM0444 (G0), RM0440 (G4), RM0434 (WB), RM0453 (WL), RM0377/RM0038 (L0/L1),
 * RM0433 (H7), RM0438/RM0456 (L5/U5)).
 */
export const UID_ADDRESS: Record<Family, number> = {
  F0: 0x1ffff7ac,
  F1: 0x1ffff7e8,
  F2: 0x1fff7a10,
  F3: 0x1ffff7ac,
  F4: 0x1fff7a10,
  F7: 0x1ff0f420,
  G0: 0x1fff7590,
  G4: 0x1fff7590,
  H7: 0x1ff1e800,
  L0: 0x1ff80050,
  L1: 0x1ff80050,
  L4: 0x1fff7590,
  L5: 0x0bfa0590,
  U5: 0x0bfa0700,
  WB: 0x1fff7590,
  WL: 0x1fff7590,
};

/** Where the chip's 96-bit unique ID (12 bytes) is read with Read Memory. */
export function uidAddress(chip: ChipInfo): number {
  return UID_ADDRESS[chip.family];
}

/**
 * Short names the CLI and the simulator accept (`--chip f103`), for the chips
 * the simulator models; any chip is also reachable by its PID (`0x410`).
 */
export const CHIP_ALIASES: Record<string, number> = {
  f103: 0x410,
  'f1-md': 0x410,
  f405: 0x413,
  f407: 0x413,
  l476: 0x415,
  l47x: 0x415,
  g071: 0x460,
  g07x: 0x460,
};

export function findChip(nameOrPid: string): ChipInfo {
  const key = nameOrPid.trim().toLowerCase().replace(/^stm32/, '');
  const pid = CHIP_ALIASES[key] ?? (/^0x[0-9a-f]{3}$/.test(key) ? parseInt(key, 16) : undefined);
  const chip = pid === undefined ? undefined : chipByPid(pid);
  if (!chip)
    throw inputError('stm32.unknown-chip', `Unknown STM32 chip "${nameOrPid}". Use a product ID such as 0x410, or one of: ${Object.keys(CHIP_ALIASES).join(', ')}.`);
  return chip;
}

/** One erase unit (page or sector) as the bootloader numbers it. */
export interface EraseUnit {
  index: number;
  address: number;
  size: number;
}

/** Every erase unit of the chip's flash, in bootloader erase-index order. */
export function eraseUnits(chip: ChipInfo): EraseUnit[] {
  const out: EraseUnit[] = [];
  let address = chip.flash.start;
  const sizes = chip.flash.layout === 'uniform' ? Array<number>(chip.flash.pageCount).fill(chip.flash.pageSize) : chip.flash.sectorSizes;
  sizes.forEach((size, index) => {
    out.push({ index, address, size });
    address += size;
  });
  return out;
}

/** Erase units touched by [address, address + length). */
export function unitsCovering(chip: ChipInfo, address: number, length: number): EraseUnit[] {
  if (length <= 0) return [];
  const end = address + length;
  return eraseUnits(chip).filter((u) => u.address < end && u.address + u.size > address);
}

/** True when [address, address+length) lies inside main flash. */
export function inFlash(chip: ChipInfo, address: number, length: number): boolean {
  return address >= chip.flash.start && address + length <= chip.flash.end;
}

export function unitCount(chip: ChipInfo): number {
  return chip.flash.layout === 'uniform' ? chip.flash.pageCount : chip.flash.sectorSizes.length;
}

/**
 * Pages/sectors that WRP bit (or Write Protect sector code) `bit` covers, as
 * erase-unit indexes. On F0/F1/F3 parts with more than 32 groups, bit 31
 * covers all remaining pages (chips.json writeProtectUnit, RM0008).
 */
export function wrpBitPages(chip: ChipInfo, bit: number): number[] {
  const per = chip.flash.wrpPagesPerUnit ?? 1;
  const total = unitCount(chip);
  const first = bit * per;
  const restInLastBit = bit === 31 && (chip.family === 'F0' || chip.family === 'F1' || chip.family === 'F3');
  const last = restInLastBit ? total : Math.min(total, first + per);
  return Array.from({ length: Math.max(0, last - first) }, (_, i) => first + i);
}

/** Number of WRP bits that cover real pages (32 at most on F0/F1/F3). */
export function wrpBitCount(chip: ChipInfo, maxBits: number): number {
  const per = chip.flash.wrpPagesPerUnit ?? 1;
  return Math.min(maxBits, Math.ceil(unitCount(chip) / per));
}

export function formatPid(pid: number): string {
  return `0x${pid.toString(16).padStart(3, '0')}`;
}
