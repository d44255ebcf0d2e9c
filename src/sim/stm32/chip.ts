/**
 * The simulated STM32: main flash (NOR semantics and timing), SRAM, system
 * memory, and option bytes with their real life cycle: stored in a
 * non-volatile image, loaded into the effective state only at reset (option
 * byte loading), so changes take effect after the reset that follows them.
 */
import { randomBytes } from 'node:crypto';
import { type ChipInfo, eraseUnits, uidAddress, unitCount, wrpBitPages } from '../../stm32/chips/index.ts';
import { codecFor, decodeOptionBytes, encodeOptionBytes, factoryOptionImage, RDP2_CONFIRMATION, type RdpLevel } from '../../stm32/option-bytes/index.ts';
import { NorFlash } from '../flash.ts';
import { chipTiming, type ChipTiming } from './timing.ts';

export const RAM_START = 0x20000000;

/**
 * Programming rule per family (protocol.md 3.6): F1/F4 AND the bits into
 * non-erased flash; L4/G0 refuse to program a non-erased double word (PROGERR)
 * and the bootloader NACKs.
 */
export type ProgramRule = 'and' | 'erased-doubleword';

export interface ChipState {
  rdpLevel: RdpLevel;
  wrpPages: number[];
  optionImage: Uint8Array;
  flash: Uint8Array;
}

export class SimChip {
  readonly flash: NorFlash;
  readonly ram: Uint8Array;
  readonly timing: ChipTiming;
  readonly programRule: ProgramRule;
  /** Non-volatile option bytes, concatenated in codec region order. */
  optionImage: Uint8Array;
  /** Effective protection, loaded at reset. */
  rdpLevel: RdpLevel = 0;
  wrp = new Set<number>();
  /** F2/F4 programming voltage range (virtual address 0xFFFF0000). */
  voltageRange = 3;

  constructor(
    readonly info: ChipInfo,
    timeScale = 1,
    /** The factory-programmed 96-bit unique ID, readable at the family's UID address (default: random, like a fresh chip). */
    readonly uid: Uint8Array = new Uint8Array(randomBytes(12)),
  ) {
    this.timing = chipTiming(info, timeScale);
    this.flash = new NorFlash(
      eraseUnits(info).map((u) => ({ offset: u.address - info.flash.start, size: u.size })),
      0xff,
      this.timing,
    );
    this.ram = new Uint8Array(info.bootloaderRam.end - RAM_START);
    this.programRule = info.family === 'L4' || info.family === 'G0' || info.family === 'G4' || info.family === 'WB' || info.family === 'WL' ? 'erased-doubleword' : 'and';
    this.optionImage = factoryOptionImage(info);
    this.loadOptions();
  }

  /** Option byte loading: what a reset does. A broken RDP complement reads as level 1 (the safe side). */
  loadOptions(): void {
    const ob = decodeOptionBytes(this.info, this.optionImage);
    const rdpWord = codecFor(this.info).rdpField.word;
    this.rdpLevel = ob.badComplements.includes(rdpWord) ? 1 : ob.rdp.level;
    this.wrp = new Set(ob.wrpPages);
  }

  get regions(): Array<{ address: number; length: number; offset: number }> {
    let offset = 0;
    return codecFor(this.info).regions(this.info).map((r) => {
      const out = { ...r, offset };
      offset += r.length;
      return out;
    });
  }

  /** Offset into optionImage for [address, address+length), or -1. */
  optionOffset(address: number, length: number): number {
    for (const r of this.regions) if (address >= r.address && address + length <= r.address + r.length) return r.offset + (address - r.address);
    return -1;
  }

  inFlash = (a: number, n: number) => a >= this.info.flash.start && a + n <= this.info.flash.end;
  inRam = (a: number, n: number) => a >= this.info.bootloaderRam.freeStart && a + n <= this.info.bootloaderRam.end;
  inSystem = (a: number, n: number) => a >= this.info.systemMemory.start && a + n <= this.info.systemMemory.end;

  /** Bytes as Read Memory sees them, or undefined for an address the bootloader refuses. */
  read(address: number, length: number): Uint8Array | undefined {
    if (this.inFlash(address, length)) return this.flash.read(address - this.info.flash.start, length);
    if (this.inRam(address, length)) return this.ram.slice(address - RAM_START, address - RAM_START + length);
    const uidAt = uidAddress(this.info);
    if (address >= uidAt && address + length <= uidAt + this.uid.length) return this.uid.slice(address - uidAt, address - uidAt + length);
    if (this.inSystem(address, length)) return new Uint8Array(length); // ROM content is not modelled
    const o = this.optionOffset(address, length);
    if (o >= 0) return this.optionImage.slice(o, o + length);
    return undefined;
  }

  isProtectedOffset(offset: number): boolean {
    return this.wrp.has(this.flash.sectorAt(offset));
  }

  /**
   * Programs main flash. Write-protected pages are silently left alone, as the
   * bootloader reports no error for them (AN2662/AN3155 note). Returns false
   * when the family refuses to program over non-erased flash.
   */
  program(address: number, data: Uint8Array): { ok: boolean; ms: number } {
    const base = address - this.info.flash.start;
    if (this.programRule === 'erased-doubleword') {
      for (let i = 0; i < data.length; i += 8) {
        const off = base + i - ((base + i) % 8);
        if (this.isProtectedOffset(off)) continue;
        if (!this.flash.isErased(off, 8)) return { ok: false, ms: 0 };
      }
    }
    let ms = 0;
    for (let i = 0; i < data.length; ) {
      const sector = this.flash.sectors[this.flash.sectorAt(base + i)]!;
      const n = Math.min(data.length - i, sector.offset + sector.size - (base + i));
      if (!this.isProtectedOffset(base + i)) ms += this.flash.program(base + i, data.subarray(i, i + n));
      i += n;
    }
    return { ok: true, ms };
  }

  /** Erases one page/sector unless write-protected; returns ms taken (0 when skipped). */
  erasePage(index: number): number {
    if (this.wrp.has(index)) return 0;
    return this.flash.eraseSector(index);
  }

  pageCount(): number {
    return unitCount(this.info);
  }

  writeRam(address: number, data: Uint8Array): void {
    this.ram.set(data, address - RAM_START);
  }

  /** Write Memory into the option area: the new bytes replace the stored ones (the bootloader reprograms the whole area). */
  writeOptions(offset: number, data: Uint8Array): void {
    const next = this.optionImage.slice();
    next.set(data, offset);
    this.optionImage = next;
  }

  private editOptions(edit: (ob: ReturnType<typeof decodeOptionBytes>) => void): void {
    const ob = decodeOptionBytes(this.info, this.optionImage);
    edit(ob);
    // The simulated chip itself never raises RDP to 2; only a host's option-byte write can.
    this.optionImage = encodeOptionBytes(this.info, ob, ob.rdp.level === 2 ? { confirmRdpLevel2: RDP2_CONFIRMATION } : {});
  }

  /** Write Protect: sector codes REPLACE the WRP set (protocol.md 3.9). Bitmask families: code = WRP bit; area families: code = page. */
  setWriteProtect(codes: number[]): boolean {
    const codec = codecFor(this.info);
    const model = codec.wrp(this.info);
    const pages = model.kind === 'mask' ? codes.flatMap((c) => wrpBitPages(this.info, c)) : codes;
    try {
      this.editOptions((ob) => (ob.wrpPages = [...new Set(pages)].filter((p) => p < this.pageCount()).sort((a, b) => a - b)));
      return true;
    } catch {
      return false; // more separate ranges than the family has WRP areas
    }
  }

  clearWriteProtect(): void {
    this.editOptions((ob) => (ob.wrpPages = []));
  }

  setReadoutProtect(): void {
    const raw = codecFor(this.info).rdpRaw(1);
    this.editOptions((ob) => (ob.rdp = { raw, level: 1 }));
  }

  /**
   * Readout Unprotect: mass erase of all flash regardless of WRP, SRAM cleared
   * (V2.2+), RDP back to level 0. On F0/F1/F3 the option erase also resets WRP
   * (protocol.md 3.12; modelled as the factory image).
   */
  readoutUnprotect(): void {
    this.flash.data.fill(0xff);
    this.ram.fill(0);
    if (this.info.family === 'F0' || this.info.family === 'F1' || this.info.family === 'F3') this.optionImage = factoryOptionImage(this.info);
    else {
      const raw = codecFor(this.info).rdpRaw(0);
      this.editOptions((ob) => (ob.rdp = { raw, level: 0 }));
    }
  }

  snapshot(): ChipState {
    return { rdpLevel: this.rdpLevel, wrpPages: [...this.wrp].sort((a, b) => a - b), optionImage: this.optionImage.slice(), flash: this.flash.data.slice() };
  }
}
