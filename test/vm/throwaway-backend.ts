/**
 * TEMPORARY: a minimal F405-like DfuseBackend for bringing up the VM stage until the chip-model backend
 * lands in src/sim/dfuse. Delete once that exists. Flash: 1->0 programming, sector erase; option bytes:
 * 16 bytes at 0x1FFFC000 applied on write (with a reset).
 */
import type { DfuseBackend } from '../../src/sim/dfuse/device.ts';

const FLASH = 0x08000000;
const SECTORS = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map((k) => k * 1024);
const OB = 0x1fffc000;

export function throwawayBackend(): DfuseBackend {
  const flash = new Uint8Array(1024 * 1024).fill(0xff);
  const ob = new Uint8Array([0xaa, 0xef, 0x55, 0x10, 0xff, 0x0f, 0x00, 0xf0, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00]);
  const sectorOf = (off: number) => {
    let start = 0;
    for (const size of SECTORS) {
      if (off < start + size) return { start, size };
      start += size;
    }
    return undefined;
  };
  return {
    altNames: ['@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg', '@Option Bytes  /0x1FFFC000/01*016 e'],
    readProtected: () => false,
    read(alt, address, length) {
      if (alt === 0 && address >= FLASH && address + length <= FLASH + flash.length) return flash.slice(address - FLASH, address - FLASH + length);
      if (alt === 1 && address >= OB && address + length <= OB + ob.length) return ob.slice(address - OB, address - OB + length);
      return undefined;
    },
    erase(address) {
      const s = sectorOf(address - FLASH);
      if (address < FLASH || !s) return { status: 8 };
      flash.fill(0xff, s.start, s.start + s.size);
      return { ms: 2 };
    },
    massErase() {
      flash.fill(0xff);
      return { ms: 5 };
    },
    program(alt, address, data) {
      if (alt === 1) {
        if (address !== OB || data.length > ob.length) return { status: 8 };
        ob.set(data);
        return { ms: 2, reset: true };
      }
      if (address < FLASH || address + data.length > FLASH + flash.length) return { status: 8 };
      const off = address - FLASH;
      for (let i = 0; i < data.length; i++) flash[off + i]! &= data[i]!;
      return { ms: 1 };
    },
    readoutUnprotect() {
      flash.fill(0xff);
      return { ms: 5 };
    },
  };
}
