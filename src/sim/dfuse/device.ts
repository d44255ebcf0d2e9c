/**
 * An STM32 ROM bootloader in USB DFU mode (0483:df11), as a state machine
 * over control requests. Front ends carry the requests: webusb.ts in-process
 * (the `usb` package's API shape, for fast tests and the demo lab) and
 * functionfs.ts as a real USB gadget inside a VM.
 *
 * Behaviour follows ../shared/vectors/stm32/protocol.md section 8 (dfu-util
 * 0.11 and AN3156): every DfuSe command and data block is answered first with
 * dfuDNBUSY and a bwPollTimeout of the operation's real duration, then
 * dfuDNLOAD-IDLE; errors put the device in dfuERROR until CLRSTATUS.
 */
import { DfuRequest, DfuseCommand, DfuState, encodeStatus } from '../../dfu/protocol.ts';

/** The chip behind the bootloader: flash and option bytes with real semantics. */
export interface DfuseBackend {
  /** Alternate-setting names, alt 0 first ("@Internal Flash  /0x08000000/…", "@Option Bytes  /…"). */
  readonly altNames: string[];
  /** RDP level 1: only Read Unprotect is accepted (AN3156). */
  readProtected(): boolean;
  /** Reads memory of an alt setting; undefined where the address is not readable. */
  read(alt: number, address: number, length: number): Uint8Array | undefined;
  /** Erases the page/sector holding `address`; returns its duration in ms, or a DFU status code on failure. */
  erase(address: number): { ms: number } | { status: number };
  massErase(): { ms: number } | { status: number };
  /** Programs bytes; a write to alt 1 (option bytes) applies them and resets the chip. */
  program(alt: number, address: number, data: Uint8Array): { ms: number; reset?: boolean } | { status: number };
  /** Mass-erases, clears read protection, and the chip resets. */
  readoutUnprotect(): { ms: number };
  /** The chip's reset: option bytes are loaded again. */
  reset(): void;
  /** False once RDP level 2 is in force: the ROM bootloader never runs again. */
  bootloaderAvailable(): boolean;
}

export interface SetupPacket {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength: number;
}

export type ControlResult = { kind: 'in'; data: Uint8Array } | { kind: 'ack' } | { kind: 'stall' };

const Status = { OK: 0, errWRITE: 3, errERASE: 4, errTARGET: 1, errADDRESS: 8, errVENDOR: 0x0b, errSTALLEDPKT: 0x0f, errNOTDONE: 9 } as const;

export const TRANSFER_SIZE = 2048;

interface Pending {
  run: () => { ms: number; reset?: boolean } | { status: number };
  /** Commands whose device drops off the bus after the first status reply. */
  resets?: boolean;
}

export class DfuseDeviceSim {
  private state: number = DfuState.dfuIDLE;
  private status: number = Status.OK;
  private alt = 0;
  private pointer = 0x08000000;
  private pending: Pending | undefined;
  private busyUntil = 0;
  private resetAfterStatus = false;
  private readonly resetListeners: Array<() => void> = [];

  constructor(
    readonly backend: DfuseBackend,
    readonly identity: { serialNumber: string; transferSize?: number } = { serialNumber: '205F38743034' },
  ) {}

  get transferSize(): number {
    return this.identity.transferSize ?? TRANSFER_SIZE;
  }

  /** Called when the chip resets (read-unprotect, option bytes, leave): the device leaves the bus. */
  onReset(listener: () => void): void {
    this.resetListeners.push(listener);
  }

  /**
   * The DFU interface as the configuration descriptor carries it: one
   * interface descriptor per alternate setting (class 0xFE, subclass 1,
   * protocol 2 = DFU mode, iInterface = alt + 1), then the DFU functional
   * descriptor: will-detach, upload and download capable (0x0B), 255 ms
   * detach timeout, wTransferSize, DfuSe version 0x011A.
   */
  interfaceDescriptors(): Uint8Array {
    const parts = this.backend.altNames.map((_, alt) => [9, 0x04, 0, alt, 0, 0xfe, 0x01, 0x02, alt + 1]);
    parts.push([9, 0x21, 0x0b, 0xff, 0x00, this.transferSize & 0xff, this.transferSize >> 8, 0x1a, 0x01]);
    return new Uint8Array(parts.flat());
  }

  setAlt(alt: number): boolean {
    if (alt < 0 || alt >= this.backend.altNames.length) return false;
    this.alt = alt;
    this.state = DfuState.dfuIDLE;
    this.status = Status.OK;
    return true;
  }

  control(setup: SetupPacket, data: Uint8Array = new Uint8Array(0)): ControlResult {
    const { bRequest, wValue, wLength } = setup;
    switch (bRequest) {
      case DfuRequest.GETSTATUS:
        return { kind: 'in', data: this.getStatus() };
      case DfuRequest.GETSTATE:
        return { kind: 'in', data: new Uint8Array([this.state]) };
      case DfuRequest.CLRSTATUS:
        if (this.state !== DfuState.dfuERROR) return this.fail(Status.errSTALLEDPKT);
        this.state = DfuState.dfuIDLE;
        this.status = Status.OK;
        return { kind: 'ack' };
      case DfuRequest.ABORT:
        if (this.state === DfuState.dfuERROR || this.state === DfuState.dfuDNBUSY) return this.fail(Status.errSTALLEDPKT);
        this.state = DfuState.dfuIDLE;
        return { kind: 'ack' };
      case DfuRequest.DNLOAD:
        return this.download(wValue, data);
      case DfuRequest.UPLOAD:
        return this.upload(wValue, wLength);
      default:
        return this.fail(Status.errSTALLEDPKT);
    }
  }

  private fail(status: number): ControlResult {
    this.state = DfuState.dfuERROR;
    this.status = status;
    return { kind: 'stall' };
  }

  private download(block: number, data: Uint8Array): ControlResult {
    if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuDNLOAD_IDLE) return this.fail(Status.errSTALLEDPKT);
    if (data.length === 0) {
      // Zero-length download: leave DFU (manifestation), jumping to the address pointer.
      if (this.state !== DfuState.dfuDNLOAD_IDLE && block !== 2) return this.fail(Status.errNOTDONE);
      this.state = DfuState.dfuMANIFEST_SYNC;
      this.pending = { run: () => ({ ms: 0, reset: true }), resets: true };
      return { kind: 'ack' };
    }
    const protectedChip = this.backend.readProtected();
    if (block === 0) {
      const cmd = data[0]!;
      const address = data.length >= 5 ? data[1]! | (data[2]! << 8) | (data[3]! << 16) | (data[4]! * 0x1000000) : undefined;
      if (protectedChip && cmd !== DfuseCommand.READ_UNPROTECT) return this.queue({ run: () => ({ status: Status.errVENDOR }) });
      if (cmd === DfuseCommand.SET_ADDRESS && address !== undefined && data.length === 5)
        return this.queue({ run: () => ((this.pointer = address), { ms: 0 }) });
      if (cmd === DfuseCommand.ERASE && data.length === 1) return this.queue({ run: () => this.backend.massErase() });
      if (cmd === DfuseCommand.ERASE && address !== undefined && data.length === 5) return this.queue({ run: () => this.backend.erase(address) });
      if (cmd === DfuseCommand.READ_UNPROTECT && data.length === 1) return this.queue({ run: () => ({ ...this.backend.readoutUnprotect(), reset: true }), resets: true });
      return this.fail(Status.errSTALLEDPKT);
    }
    if (block === 1 || data.length > this.transferSize) return this.fail(Status.errSTALLEDPKT);
    if (protectedChip) return this.queue({ run: () => ({ status: Status.errVENDOR }) });
    const address = this.pointer + (block - 2) * this.transferSize;
    const bytes = data.slice();
    const alt = this.alt;
    return this.queue({ run: () => this.backend.program(alt, address, bytes) });
  }

  private queue(p: Pending): ControlResult {
    this.pending = p;
    this.state = DfuState.dfuDNLOAD_SYNC;
    return { kind: 'ack' };
  }

  private getStatus(): Uint8Array {
    if (this.state === DfuState.dfuDNLOAD_SYNC || this.state === DfuState.dfuMANIFEST_SYNC) {
      // The operation starts now; the host is told how long to wait (dfu-util expects dfuDNBUSY first).
      const p = this.pending!;
      this.pending = undefined;
      const manifest = this.state === DfuState.dfuMANIFEST_SYNC;
      const r = p.run();
      if ('status' in r) {
        this.state = DfuState.dfuERROR;
        this.status = r.status;
        return encodeStatus({ status: r.status, pollTimeout: 0, state: this.state, iString: 0 });
      }
      this.busyUntil = performance.now() + r.ms;
      this.state = manifest ? DfuState.dfuMANIFEST : DfuState.dfuDNBUSY;
      if (r.reset || p.resets) this.resetAfterStatus = true;
      const reply = encodeStatus({ status: Status.OK, pollTimeout: Math.max(1, Math.ceil(r.ms)), state: this.state, iString: 0 });
      if (this.resetAfterStatus) queueMicrotask(() => this.reset());
      return reply;
    }
    if (this.state === DfuState.dfuDNBUSY) {
      const left = this.busyUntil - performance.now();
      if (left > 0) return encodeStatus({ status: Status.OK, pollTimeout: Math.ceil(left), state: this.state, iString: 0 });
      this.state = DfuState.dfuDNLOAD_IDLE;
    }
    return encodeStatus({ status: this.status, pollTimeout: 0, state: this.state, iString: 0 });
  }

  private upload(block: number, length: number): ControlResult {
    if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuUPLOAD_IDLE) return this.fail(Status.errSTALLEDPKT);
    if (block === 0) {
      // Get Commands: the DfuSe commands this bootloader supports.
      this.state = DfuState.dfuUPLOAD_IDLE;
      return { kind: 'in', data: new Uint8Array([DfuseCommand.GET_COMMANDS, DfuseCommand.SET_ADDRESS, DfuseCommand.ERASE, DfuseCommand.READ_UNPROTECT]).slice(0, length) };
    }
    if (block === 1 || length > this.transferSize) return this.fail(Status.errSTALLEDPKT);
    if (this.backend.readProtected()) return this.fail(Status.errVENDOR);
    const address = this.pointer + (block - 2) * this.transferSize;
    const data = this.backend.read(this.alt, address, length);
    if (!data) return this.fail(Status.errADDRESS);
    this.state = DfuState.dfuUPLOAD_IDLE;
    return { kind: 'in', data };
  }

  private reset(): void {
    this.state = DfuState.dfuIDLE;
    this.status = Status.OK;
    this.alt = 0;
    this.pending = undefined;
    this.resetAfterStatus = false;
    this.backend.reset();
    for (const l of this.resetListeners) l();
  }
}
