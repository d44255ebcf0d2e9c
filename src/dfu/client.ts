/**
 * A DfuSe host: the DFU 1.1 state machine with ST's extensions, over any
 * transport that can do class control requests on the DFU interface.
 * Every wait follows the device's bwPollTimeout; a device left in dfuERROR is
 * brought back with CLRSTATUS, and any other state with ABORT.
 */
import { deviceError, throwIfAborted, UnbrickError } from '../core/errors.ts';
import type { ProgressListener } from '../core/progress.ts';
import { ProgressMeter } from '../core/progress.ts';
import { type MemoryLayout, pageAt } from '../formats/dfuse/index.ts';
import {
  addressCommand,
  decodeStatus,
  DfuRequest,
  DfuseCommand,
  DfuState,
  type DfuStatus,
  STATE_NAMES,
  STATUS_TEXT,
} from './protocol.ts';

/** Class requests to the DFU interface; implemented by transport/usb and by the simulator. */
export interface DfuControl {
  in(request: number, value: number, length: number): Promise<Uint8Array>;
  out(request: number, value: number, data: Uint8Array): Promise<void>;
}

export interface DfuClientOptions {
  /** wTransferSize from the functional descriptor (dfu-util caps it at 4096 as well). */
  transferSize: number;
  signal?: AbortSignal;
  /** Sleep used between polls; tests can speed it up. */
  sleep?: (ms: number) => Promise<void>;
}

/** Longest a single erase may take before we call the device stuck: an F4 mass erase needs up to ~32 s. */
const MAX_BUSY_MS = 40_000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class DfuClient {
  readonly transferSize: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly control: DfuControl,
    opts: DfuClientOptions,
  ) {
    this.transferSize = Math.min(opts.transferSize, 4096);
    this.sleep = opts.sleep ?? defaultSleep;
    this.signal = opts.signal;
  }

  async getStatus(): Promise<DfuStatus> {
    return decodeStatus(await this.control.in(DfuRequest.GETSTATUS, 0, 6));
  }

  async getState(): Promise<number> {
    return (await this.control.in(DfuRequest.GETSTATE, 0, 1))[0]!;
  }

  clearStatus = () => this.control.out(DfuRequest.CLRSTATUS, 0, new Uint8Array(0));
  abort = () => this.control.out(DfuRequest.ABORT, 0, new Uint8Array(0));

  /** Brings the device to dfuIDLE from wherever it is. */
  async ensureIdle(): Promise<void> {
    let s = await this.getStatus();
    // A device still busy with an interrupted operation (a cable pulled mid-write) accepts no ABORT until it is done.
    for (const started = performance.now(); s.state === DfuState.dfuDNBUSY && performance.now() - started < MAX_BUSY_MS; ) {
      await this.sleep(Math.min(Math.max(s.pollTimeout, 1), MAX_BUSY_MS));
      s = await this.getStatus();
    }
    if (s.state === DfuState.dfuERROR) {
      await this.clearStatus();
      s = await this.getStatus();
    }
    if (s.state !== DfuState.dfuIDLE) {
      await this.abort();
      s = await this.getStatus();
    }
    if (s.state !== DfuState.dfuIDLE)
      throw deviceError('dfu.not-idle', `The DFU device will not return to idle (it stays in ${STATE_NAMES[s.state] ?? s.state}). Unplug it, hold BOOT0 and plug it in again.`);
  }

  /**
   * Sends one download block and waits out dfuDNBUSY. For DfuSe commands
   * (block 0) the first GETSTATUS must report dfuDNBUSY, as on real ROMs.
   */
  private async download(block: number, data: Uint8Array, what: string): Promise<DfuStatus> {
    throwIfAborted(this.signal);
    await this.control.out(DfuRequest.DNLOAD, block, data);
    let s = await this.getStatus();
    const started = performance.now();
    while (s.state === DfuState.dfuDNBUSY) {
      const left = MAX_BUSY_MS - (performance.now() - started);
      if (left <= 0) throw deviceError('dfu.stuck', `The device stayed busy for over ${MAX_BUSY_MS / 1000} s while ${what}. Power-cycle it and retry.`);
      // bwPollTimeout is 24 bits (up to 4.6 h): never sleep past our own limit on a device's word.
      await this.sleep(Math.min(s.pollTimeout, left));
      s = await this.getStatus();
    }
    if (s.status !== 0 || s.state === DfuState.dfuERROR) {
      const [name, meaning] = STATUS_TEXT[s.status] ?? [`status ${s.status}`, 'an unknown error'];
      await this.clearStatus().catch(() => {});
      throw deviceError(`dfu.${name}`, `The device refused ${what}: ${meaning} (${name}).`, { status: s.status, state: s.state });
    }
    return s;
  }

  private command = (bytes: Uint8Array, what: string) => this.download(0, bytes, what);

  setAddress = (address: number) => this.command(addressCommand(DfuseCommand.SET_ADDRESS, address), `setting the address to 0x${hex(address)}`);
  erasePage = (address: number) => this.command(addressCommand(DfuseCommand.ERASE, address), `erasing the page at 0x${hex(address)}`);
  massErase = () => this.command(new Uint8Array([DfuseCommand.ERASE]), 'a mass erase');

  /**
   * DfuSe Read Unprotect: the device mass-erases its flash, clears read
   * protection and resets, dropping off the bus. Callers confirm first.
   */
  async readUnprotect(): Promise<void> {
    await this.control.out(DfuRequest.DNLOAD, 0, new Uint8Array([DfuseCommand.READ_UNPROTECT]));
    // The device answers the first GETSTATUS with dfuDNBUSY, then erases and resets.
    await this.getStatus().catch(() => undefined);
  }

  /** Reads `length` bytes at `address` (Set Address Pointer, ABORT, UPLOAD blocks from 2). */
  async read(address: number, length: number, onProgress?: ProgressListener): Promise<Uint8Array> {
    await this.ensureIdle();
    await this.setAddress(address);
    await this.abort();
    const out = new Uint8Array(length);
    const meter = new ProgressMeter('Reading', length, onProgress);
    for (let off = 0, block = 2; off < length; block++) {
      throwIfAborted(this.signal);
      const want = Math.min(this.transferSize, length - off);
      const got = await this.control.in(DfuRequest.UPLOAD, block, want);
      if (got.length === 0) throw deviceError('dfu.short-read', `The device stopped sending after ${off} of ${length} bytes at 0x${hex(address + off)}.`);
      out.set(got.subarray(0, want), off);
      off += Math.min(got.length, want);
      meter.update(off);
    }
    await this.abort();
    return out;
  }

  /**
   * Writes `data` at `address`: erases exactly the pages it covers (per the
   * device's memory layout), then programs in transfer-size blocks.
   */
  async write(address: number, data: Uint8Array, layout: MemoryLayout, onProgress?: ProgressListener): Promise<void> {
    const pages = pagesCovering(layout, address, data.length);
    await this.ensureIdle();
    const eraseMeter = new ProgressMeter('Erasing', pages.length, onProgress);
    for (const [i, page] of pages.entries()) {
      await this.erasePage(page);
      eraseMeter.update(i + 1);
    }
    const meter = new ProgressMeter('Writing', data.length, onProgress);
    await this.setAddress(address);
    for (let off = 0, block = 2; off < data.length; off += this.transferSize, block++) {
      await this.download(block, data.subarray(off, off + this.transferSize), `writing at 0x${hex(address + off)}`);
      meter.update(Math.min(off + this.transferSize, data.length));
    }
    await this.abort();
  }

  /** Writes a whole option-byte image through its alternate setting; the device applies it and resets. */
  async writeOptionBytes(address: number, image: Uint8Array): Promise<void> {
    await this.ensureIdle();
    await this.setAddress(address);
    await this.control.out(DfuRequest.DNLOAD, 2, image);
    // The device resets while applying them (dfu-util's ":will-reset"): a failed status read is the normal end.
    await this.getStatus().catch(() => undefined);
  }

  /** Leaves DFU: jump to `address` (or reset) via a zero-length download. */
  async leave(address?: number): Promise<void> {
    await this.ensureIdle();
    if (address !== undefined) await this.setAddress(address);
    await this.control.out(DfuRequest.DNLOAD, 2, new Uint8Array(0));
    // Devices may drop off the bus before answering (dfu-util QUIRK_DFUSE_LEAVE).
    await this.getStatus().catch((e: unknown) => {
      if (!(e instanceof UnbrickError)) throw e;
    });
  }
}

/** Start addresses of every page touched by [address, address + length). */
export function pagesCovering(layout: MemoryLayout, address: number, length: number): number[] {
  const pages: number[] = [];
  for (let a = address; a < address + length; ) {
    const page = pageAt(layout, a);
    if (!page) throw deviceError('dfu.outside-memory', `0x${hex(a)} is outside the device's "${layout.name}" memory.`);
    if (!page.segment.erasable || !page.segment.writable)
      throw deviceError('dfu.not-writable', `The page at 0x${hex(page.start)} of "${layout.name}" cannot be erased and written.`);
    pages.push(page.start);
    a = page.start + page.size;
  }
  return pages;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');
