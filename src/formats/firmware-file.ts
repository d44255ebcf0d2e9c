/**
 * Firmware files a technician hands Unbrick for a raw flash write: a `.bin`
 * (needs an address), Intel `.hex` (addresses inside), or a DfuSe `.dfu`
 * (addresses per element; alt-0 targets are flash). One loader, so the UART
 * bootloader, USB DFU and the station all read files the same way.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { inputError, usageError } from '../core/errors.ts';
import { parseDfuFile } from './dfuse/index.ts';
import { type HexSegment, parseIntelHex } from './ihex.ts';

/** A run of bytes at an address; the same shape for every format. */
export type FirmwareSegment = HexSegment;

export interface FirmwareFile {
  format: 'bin' | 'hex' | 'dfu';
  segments: FirmwareSegment[];
}

export function parseFirmware(bytes: Uint8Array, format: FirmwareFile['format'], address?: number): FirmwareFile {
  switch (format) {
    case 'hex':
      return { format, segments: parseIntelHex(Buffer.from(bytes).toString('latin1')).segments.filter((s) => s.data.length > 0) };
    case 'dfu': {
      const file = parseDfuFile(bytes);
      const flash = file.targets.filter((t) => t.alternateSetting === 0);
      if (flash.length === 0) throw inputError('firmware.no-flash-target', 'The .dfu file has no target for alternate setting 0 (internal flash).');
      return { format, segments: flash.flatMap((t) => t.elements.map((e) => ({ address: e.address, data: e.data }))) };
    }
    case 'bin':
      if (address === undefined) throw usageError('firmware.address-required', 'A .bin file has no load address: give one with --address (e.g. --address 0x08000000).');
      return { format, segments: [{ address, data: bytes }] };
  }
}

/** Loads a file by extension (.hex, .dfu, anything else is raw binary). */
export function loadFirmware(path: string, address?: number): FirmwareFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw inputError('firmware.unreadable', `Cannot read ${path}: ${(err as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  const format = ext === '.hex' || ext === '.ihex' ? 'hex' : ext === '.dfu' ? 'dfu' : 'bin';
  if (format !== 'bin' && address !== undefined)
    throw usageError('firmware.address-not-allowed', `A ${ext} file carries its own addresses; --address applies only to .bin files.`);
  return parseFirmware(bytes, format, address);
}
