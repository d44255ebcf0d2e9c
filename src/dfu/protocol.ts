/**
 * USB DFU 1.1 class requests, states and status codes, with ST's DfuSe
 * command bytes (AN3156; behaviour as dfu-util 0.11 implements it, see
 * ../shared/vectors/stm32/protocol.md section 8).
 */
import { deviceError } from '../core/errors.ts';

export const DfuRequest = { DETACH: 0, DNLOAD: 1, UPLOAD: 2, GETSTATUS: 3, CLRSTATUS: 4, GETSTATE: 5, ABORT: 6 } as const;

export const DfuState = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;
export type DfuStateCode = (typeof DfuState)[keyof typeof DfuState];

export const STATE_NAMES = Object.fromEntries(Object.entries(DfuState).map(([k, v]) => [v, k.replace('_', '-')])) as Record<number, string>;

/** bStatus values with what each means to a technician. */
export const STATUS_TEXT: Record<number, [name: string, meaning: string]> = {
  0x00: ['OK', 'no error'],
  0x01: ['errTARGET', 'the file is not meant for this device'],
  0x02: ['errFILE', 'the file failed a device-specific check'],
  0x03: ['errWRITE', 'the device could not write its memory (write-protected?)'],
  0x04: ['errERASE', 'the device could not erase its memory (write-protected?)'],
  0x05: ['errCHECK_ERASED', 'memory that should be erased is not'],
  0x06: ['errPROG', 'programming the memory failed'],
  0x07: ['errVERIFY', 'the written memory did not verify'],
  0x08: ['errADDRESS', 'the address is outside the memory the device accepts'],
  0x09: ['errNOTDONE', 'the download ended before the device expected'],
  0x0a: ['errFIRMWARE', 'the device firmware is corrupt and cannot leave DFU mode'],
  0x0b: ['errVENDOR', 'a vendor-specific error (on STM32: usually read protection is active)'],
  0x0c: ['errUSBR', 'an unexpected USB reset'],
  0x0d: ['errPOR', 'an unexpected power-on reset'],
  0x0e: ['errUNKNOWN', 'an unknown error'],
  0x0f: ['errSTALLEDPKT', 'the device stalled an unexpected request'],
};

/** DfuSe commands: DFU_DNLOAD with wValue 0 and this first byte. */
export const DfuseCommand = { GET_COMMANDS: 0x00, SET_ADDRESS: 0x21, ERASE: 0x41, READ_UNPROTECT: 0x92 } as const;

export interface DfuStatus {
  status: number;
  /** Milliseconds the host must wait before the next GETSTATUS. */
  pollTimeout: number;
  state: number;
  iString: number;
}

/** A short answer comes from the device, so it is the device's fault, typed (a RangeError crashed the workflow). */
export function decodeStatus(b: Uint8Array): DfuStatus {
  if (b.length < 6) throw deviceError('dfu.bad-status', `The DFU device answered GETSTATUS with ${b.length} bytes instead of 6. Unplug it, hold BOOT0 and plug it in again.`);
  return { status: b[0]!, pollTimeout: b[1]! | (b[2]! << 8) | (b[3]! << 16), state: b[4]!, iString: b[5]! };
}

export function encodeStatus(s: DfuStatus): Uint8Array {
  return new Uint8Array([s.status, s.pollTimeout & 0xff, (s.pollTimeout >> 8) & 0xff, (s.pollTimeout >> 16) & 0xff, s.state, s.iString]);
}

export const addressCommand = (cmd: number, address: number): Uint8Array =>
  new Uint8Array([cmd, address & 0xff, (address >>> 8) & 0xff, (address >>> 16) & 0xff, (address >>> 24) & 0xff]);

/** DFU functional descriptor (type 0x21): attributes, detach timeout, transfer size, version. */
export interface DfuFunctionalDescriptor {
  canDownload: boolean;
  canUpload: boolean;
  manifestationTolerant: boolean;
  willDetach: boolean;
  detachTimeout: number;
  transferSize: number;
  dfuVersion: number;
}

export function decodeFunctionalDescriptor(b: Uint8Array): DfuFunctionalDescriptor {
  if (b.length < 7 || b[1] !== 0x21) throw deviceError('dfu.bad-descriptor', 'The USB device sent a DFU functional descriptor that cannot be read (too short or of another type).');
  const attrs = b[2]!;
  return {
    canDownload: !!(attrs & 1),
    canUpload: !!(attrs & 2),
    manifestationTolerant: !!(attrs & 4),
    willDetach: !!(attrs & 8),
    detachTimeout: b[3]! | (b[4]! << 8),
    transferSize: b[5]! | (b[6]! << 8),
    // bcdDFUVersion is absent in DFU 1.0 descriptors (7 bytes long).
    dfuVersion: b.length >= 9 ? b[7]! | (b[8]! << 8) : 0x0100,
  };
}
