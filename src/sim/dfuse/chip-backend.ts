/**
 * Puts a simulated STM32 (the same SimChip the UART bootloader simulator
 * uses, so flash and option-byte semantics are shared) behind the DfuSe
 * device: alt 0 is the internal flash, alt 1 the option bytes, described the
 * way real ROMs describe them ("@Internal Flash  /0x08000000/04*016Kg,…",
 * two spaces after the name, as F4 parts report it).
 */
import { eraseUnits } from '../../stm32/chips/index.ts';
import type { SimChip } from '../stm32/chip.ts';
import type { DfuseBackend } from './device.ts';

const errWRITE = 0x03;
const errADDRESS = 0x08;

/** "04*016Kg" style runs of equal pages, grouped under their start address. */
export function flashLayoutString(chip: SimChip): string {
  const runs: Array<{ count: number; size: number }> = [];
  for (const u of eraseUnits(chip.info)) {
    const last = runs[runs.length - 1];
    if (last && last.size === u.size) last.count++;
    else runs.push({ count: 1, size: u.size });
  }
  const body = runs.map((r) => `${pad(r.count, 2)}*${r.size % 1024 === 0 ? `${pad(r.size / 1024, 3)}K` : `${pad(r.size, 3)} `}g`).join(',');
  return `@Internal Flash  /${hex(chip.info.flash.start)}/${body}`;
}

export function optionBytesLayoutString(chip: SimChip): string {
  return `@Option Bytes  ${chip.regions.map((r) => `/${hex(r.address)}/01*${pad(r.length, 3)} e`).join('')}`;
}

export function chipBackend(chip: SimChip): DfuseBackend {
  const units = eraseUnits(chip.info);
  return {
    altNames: [flashLayoutString(chip), optionBytesLayoutString(chip)],
    readProtected: () => chip.rdpLevel >= 1,
    read(alt, address, length) {
      if (alt === 0 && !chip.inFlash(address, length)) return undefined;
      if (alt === 1 && chip.optionOffset(address, length) < 0) return undefined;
      return chip.read(address, length);
    },
    erase(address) {
      const unit = units.find((u) => address >= u.address && address < u.address + u.size);
      if (!unit) return { status: errADDRESS };
      return { ms: chip.erasePage(unit.index) };
    },
    massErase() {
      return { ms: units.reduce((ms, u) => ms + chip.erasePage(u.index), 0) };
    },
    program(alt, address, data) {
      if (alt === 1) {
        const offset = chip.optionOffset(address, data.length);
        if (offset < 0) return { status: errADDRESS };
        chip.writeOptions(offset, data);
        return { ms: 1, reset: true };
      }
      if (!chip.inFlash(address, data.length)) return { status: errADDRESS };
      const r = chip.program(address, data);
      // L4/G0-class flash refuses to program a double word that is not erased (PROGERR).
      return r.ok ? { ms: r.ms } : { status: errWRITE };
    },
    readoutUnprotect() {
      chip.readoutUnprotect();
      return { ms: chip.timing.massEraseMs() };
    },
    reset: () => chip.loadOptions(),
    bootloaderAvailable: () => chip.rdpLevel < 2,
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
