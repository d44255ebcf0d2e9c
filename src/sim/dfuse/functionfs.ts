/**
 * FunctionFS front end for the DfuSe simulator: makes DfuseDeviceSim a real
 * USB device behind a Linux gadget (configfs + usb_f_fs), so lsusb, dfu-util
 * and libusb (the `usb` package) talk to it through the kernel's USB stack.
 * Used inside the test VM (test/vm/, facts in ../shared/usb-vm.md).
 *
 * Kernel interface (include/uapi/linux/usb/functionfs.h): descriptors and
 * strings are written to ep0 once; then ep0 reads return 12-byte events.
 * A SETUP event is answered with one ep0 I/O: IN data with write(), OUT data
 * with read(wLength), a zero-length OUT acknowledged with a zero-length
 * read(); I/O in the wrong direction stalls (the call fails with EL2HLT).
 * Reads block, so this runs in its own process, apart from any USB host code.
 * Waiting for the next event goes through the thread pool (signals and timers
 * keep working); the data and status stages of a request use blocking calls,
 * which saves thread hand-offs per request (a real cost under an emulated CPU).
 * Node skips the system call for a zero-length read, so a zero-length status
 * stage is a 1-byte read (the kernel caps it at wLength = 0).
 */
import { closeSync, openSync, read, readSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMemoryLayout, pageAt, type MemoryLayout } from '../../formats/dfuse/index.ts';
import { DfuRequest, DfuseCommand } from '../../dfu/protocol.ts';
import type { ControlResult, DfuseDeviceSim, SetupPacket } from './device.ts';

const DESCRIPTORS_MAGIC_V2 = 3;
const STRINGS_MAGIC = 2;
const HAS_FS_DESC = 1;
const HAS_HS_DESC = 2;
const LANG_EN_US = 0x0409;

export const FfsEventType = { BIND: 0, UNBIND: 1, ENABLE: 2, DISABLE: 3, SETUP: 4, SUSPEND: 5, RESUME: 6 } as const;
const EVENT_SIZE = 12;

export interface FfsEvent {
  type: number;
  /** Meaningful for SETUP only (wIndex is already the function's own interface number). */
  setup: SetupPacket;
}

/** Counts the descriptors in a run of concatenated USB descriptors (each starts with its bLength). */
function countDescriptors(bytes: Uint8Array): number {
  let n = 0;
  for (let off = 0; off < bytes.length; n++) {
    const len = bytes[off]!;
    if (len < 2 || off + len > bytes.length) throw new Error(`malformed descriptor at offset ${off}`);
    off += len;
  }
  return n;
}

/**
 * The ep0 descriptor blob (FUNCTIONFS_DESCRIPTORS_MAGIC_V2): the same
 * interface + DFU functional descriptors for full and high speed (the DFU
 * interface has no endpoints, so both speeds are identical).
 */
export function functionFsDescriptors(interfaceDescriptors: Uint8Array): Uint8Array {
  const count = countDescriptors(interfaceDescriptors);
  const headLen = 20;
  const out = new Uint8Array(headLen + 2 * interfaceDescriptors.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, DESCRIPTORS_MAGIC_V2, true);
  v.setUint32(4, out.length, true);
  v.setUint32(8, HAS_FS_DESC | HAS_HS_DESC, true);
  v.setUint32(12, count, true);
  v.setUint32(16, count, true);
  out.set(interfaceDescriptors, headLen);
  out.set(interfaceDescriptors, headLen + interfaceDescriptors.length);
  return out;
}

/** The ep0 strings blob (FUNCTIONFS_STRINGS_MAGIC), US English only; string i+1 of the descriptors is strings[i]. */
export function functionFsStrings(strings: string[]): Uint8Array {
  const enc = new TextEncoder();
  const body = strings.map((s) => enc.encode(s + '\0'));
  const len = 16 + 2 + body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, STRINGS_MAGIC, true);
  v.setUint32(4, len, true);
  v.setUint32(8, strings.length, true);
  v.setUint32(12, 1, true);
  v.setUint16(16, LANG_EN_US, true);
  let off = 18;
  for (const b of body) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Splits what one ep0 read returned into events (struct usb_functionfs_event). */
export function decodeFfsEvents(buf: Uint8Array): FfsEvent[] {
  const events: FfsEvent[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off + EVENT_SIZE <= buf.length; off += EVENT_SIZE) {
    events.push({
      type: buf[off + 8]!,
      setup: {
        bmRequestType: buf[off]!,
        bRequest: buf[off + 1]!,
        wValue: v.getUint16(off + 2, true),
        wIndex: v.getUint16(off + 4, true),
        wLength: v.getUint16(off + 6, true),
      },
    });
  }
  return events;
}

/**
 * FunctionFS tells the device that the host chose *an* alternate setting
 * (ENABLE) but not which one. DfuSe alternate settings name disjoint address
 * ranges and every host sets the address pointer before reading or writing
 * (AN3156; dfu-util and Unbrick both do), so the alternate setting is the one
 * whose memory holds that address.
 */
export class AltFromAddress {
  private readonly layouts: Array<MemoryLayout | undefined>;

  constructor(altNames: string[]) {
    this.layouts = altNames.map((name) => {
      try {
        return parseMemoryLayout(name);
      } catch {
        return undefined;
      }
    });
  }

  /** The alternate setting to select before this request, if it names a Set Address Pointer into a known region. */
  altFor(setup: SetupPacket, data: Uint8Array): number | undefined {
    if (setup.bRequest !== DfuRequest.DNLOAD || setup.wValue !== 0 || data.length !== 5 || data[0] !== DfuseCommand.SET_ADDRESS) return undefined;
    const address = (data[1]! | (data[2]! << 8) | (data[3]! << 16)) + data[4]! * 0x1000000;
    const alt = this.layouts.findIndex((l) => l !== undefined && pageAt(l, address) !== undefined);
    return alt >= 0 ? alt : undefined;
  }
}

export interface FunctionFsOptions {
  /** Where the FunctionFS instance is mounted (holds ep0). */
  dir: string;
  sim: DfuseDeviceSim;
  /**
   * The gadget's UDC file (configfs). When the simulated chip resets, the
   * device leaves the bus and comes back by unbinding and rebinding it, as a
   * real chip does when it restarts into its bootloader.
   */
  udcFile?: string;
  udcName?: string;
  log?: (line: string) => void;
  /** Log every control request too (debugging). */
  trace?: boolean;
}

const IN = 0x80;

/** ep0 I/O on a raw descriptor (position null: ep0 is not seekable). */
const ep0Read = (fd: number, buf: Uint8Array): number => readSync(fd, buf, 0, buf.length, null);
const ep0ReadEvents = (fd: number, buf: Uint8Array) =>
  new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
const ep0Write = (fd: number, buf: Uint8Array): number => writeSync(fd, buf, 0, buf.length, null);

/** The simulated device behind one FunctionFS instance: start() writes descriptors, run() serves requests. */
export class FunctionFsDevice {
  private ep0: number | undefined;
  private readonly alts: AltFromAddress;
  private currentAlt = 0;
  private resetPending = false;
  private stopped = false;
  /** Counts of what happened, for logs and tests. */
  readonly stats = { setups: 0, stalls: 0, resets: 0, enables: 0, abandoned: 0 };

  constructor(private readonly opts: FunctionFsOptions) {
    this.alts = new AltFromAddress(opts.sim.backend.altNames);
    opts.sim.onReset(() => {
      this.resetPending = true;
    });
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Opens ep0 and writes descriptors and strings; after this the gadget may be bound to a UDC. */
  async start(): Promise<void> {
    this.ep0 = openSync(join(this.opts.dir, 'ep0'), 'r+');
    ep0Write(this.ep0, functionFsDescriptors(this.opts.sim.interfaceDescriptors()));
    ep0Write(this.ep0, functionFsStrings(this.opts.sim.backend.altNames));
    this.log('descriptors and strings written');
  }

  /**
   * Stops serving and closes ep0. A read already waiting for the next event only returns with that event,
   * so a program that serves until Ctrl-C simply exits.
   */
  stop(): void {
    this.stopped = true;
    if (this.ep0 !== undefined) closeSync(this.ep0);
    this.ep0 = undefined;
  }

  /** The event loop; returns when ep0 fails (unmounted, closed) or stop() is called. */
  async run(): Promise<void> {
    const ep0 = this.ep0;
    if (ep0 === undefined) throw new Error('FunctionFsDevice.start() must run first');
    const buf = new Uint8Array(EVENT_SIZE * 8);
    let failures = 0;
    while (!this.stopped) {
      let n: number;
      try {
        n = await ep0ReadEvents(ep0, buf);
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        // A read that lands on a setup the host already gave up on fails (EL2HLT, EIDRM, EINTR):
        // keep serving. Many failures in a row mean ep0 is gone (unmounted): stop.
        if (++failures > 50) throw err;
        this.log(`ep0 read failed: ${(err as Error).message}`);
        continue;
      }
      for (const ev of decodeFfsEvents(buf.subarray(0, n))) {
        try {
          await this.handle(ev);
        } catch (err) {
          // The host gave up on this request (timeout, unplug, a newer SETUP: EIDRM/ESRCH): serve the next one.
          this.stats.abandoned++;
          this.log(`request abandoned: ${(err as Error).message}`);
        }
      }
    }
  }

  private async handle(ev: FfsEvent): Promise<void> {
    switch (ev.type) {
      case FfsEventType.SETUP:
        this.stats.setups++;
        await this.setup(ev.setup);
        break;
      case FfsEventType.ENABLE:
        // SET_CONFIGURATION or SET_INTERFACE: which alternate setting is unknown here (see AltFromAddress).
        this.stats.enables++;
        this.log('enable');
        break;
      case FfsEventType.BIND:
      case FfsEventType.UNBIND:
      case FfsEventType.DISABLE:
      case FfsEventType.SUSPEND:
      case FfsEventType.RESUME:
        this.log(['bind', 'unbind', 'enable', 'disable', 'setup', 'suspend', 'resume'][ev.type] ?? `event ${ev.type}`);
        break;
      default:
        this.log(`unknown FunctionFS event ${ev.type}`);
    }
  }

  private async setup(setup: SetupPacket): Promise<void> {
    const ep0 = this.ep0!;
    const isIn = (setup.bmRequestType & IN) !== 0;
    let result: ControlResult;
    if (isIn) {
      result = this.opts.sim.control(setup);
    } else {
      // OUT data must be read before deciding; after a data stage the kernel completes the status
      // stage itself, so only zero-length OUT requests can still be refused with a stall.
      let data = new Uint8Array(0);
      if (setup.wLength > 0) {
        const b = new Uint8Array(setup.wLength);
        data = b.subarray(0, ep0Read(ep0, b));
      }
      const alt = this.alts.altFor(setup, data);
      if (alt !== undefined && alt !== this.currentAlt) {
        this.opts.sim.setAlt(alt);
        this.currentAlt = alt;
      }
      result = this.opts.sim.control(setup, data);
      if (setup.wLength > 0) {
        if (this.opts.trace) this.log(`setup ${setup.bmRequestType.toString(16)} req ${setup.bRequest} val ${setup.wValue} len ${setup.wLength} (data read) -> ${result.kind}`);
        if (result.kind === 'stall') this.stats.stalls++;
        await this.afterRequest();
        return;
      }
    }
    await this.answer(setup, isIn, result);
    await this.afterRequest();
  }

  private async answer(setup: SetupPacket, isIn: boolean, result: ControlResult): Promise<void> {
    const ep0 = this.ep0!;
    if (this.opts.trace) this.log(`setup ${setup.bmRequestType.toString(16)} req ${setup.bRequest} val ${setup.wValue} len ${setup.wLength} -> ${result.kind}`);
    if (result.kind === 'stall') {
      this.stats.stalls++;
      // I/O in the opposite direction of the request makes FunctionFS stall ep0 (the call fails, EL2HLT).
      try {
        if (isIn) ep0Read(ep0, new Uint8Array(1));
        else ep0Write(ep0, new Uint8Array(1));
      } catch {
        /* expected: the stall is reported as an error */
      }
      return;
    }
    if (isIn) {
      const data = result.kind === 'in' ? result.data.subarray(0, setup.wLength) : new Uint8Array(0);
      ep0Write(ep0, data);
    } else {
      // Status stage of a zero-length OUT: the kernel caps the read at wLength (0).
      ep0Read(ep0, new Uint8Array(1));
    }
  }

  /** Lets a reset the simulator scheduled (queueMicrotask) land, then drops off the bus and comes back. */
  private async afterRequest(): Promise<void> {
    await Promise.resolve();
    if (!this.resetPending) return;
    this.resetPending = false;
    this.currentAlt = 0;
    this.stats.resets++;
    if (!this.opts.udcFile) return;
    this.log('chip reset: leaving the bus');
    // Give the host a moment to take the last status reply before the device vanishes.
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(this.opts.udcFile, '\n');
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(this.opts.udcFile, (this.opts.udcName ?? 'dummy_udc.0') + '\n');
    this.log('chip reset: back on the bus');
  }
}
