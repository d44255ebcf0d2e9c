/**
 * The STM32 system bootloader (AN3155 USART protocol) as a byte-stream
 * device. Behaviour follows ../shared/vectors/stm32/protocol.md, including its
 * conformance checklist (section 9): 0x7F once per reset, NACK for unknown
 * commands and bad complements, RDP level 1 allowing only Get / Get Version /
 * Get ID / Readout Unprotect, commands that end in a system reset, and RDP
 * level 2 leaving no bootloader at all.
 *
 * Usable in-process (feed / onOutput, or attach to a ByteTransport) and on a
 * real pty through ./host.ts.
 */
import { ACK, CMD, NACK, SYNC, stm32Crc, xor } from '../../stm32/an3155/codec.ts';
import { findChip, type ChipInfo } from '../../stm32/chips/index.ts';
import type { ByteTransport } from '../../transport/types.ts';
import { SimChip } from './chip.ts';
import { FaultLine, type Stm32Faults } from './faults.ts';

export interface Stm32SimOptions {
  /** Chip from the table: alias (f103, f405, l476, g071) or PID ("0x410"). */
  chip: string | ChipInfo;
  /** Offer Get Checksum (0xA1), as newer bootloader versions do. Default false: the modelled chips' bootloaders list no 0xA1. */
  getChecksum?: boolean;
  /** Multiplies every flash time (1 = datasheet typical; tests may shrink it). */
  timeScale?: number;
  faults?: Stm32Faults;
  /** After Go, the application "runs" for this long, then the board resets into the bootloader again. 0 = stay in the application. */
  resetAfterGoMs?: number;
  /** The chip's 96-bit unique ID (12 bytes; default random). */
  uid?: Uint8Array;
}

export type SimPhase = 'wait-sync' | 'command' | 'busy' | 'application' | 'locked' | 'disconnected';

class ResetSignal extends Error {}

const LEVEL1_ALLOWED = new Set<number>([CMD.get, CMD.getVersion, CMD.getId, CMD.readoutUnprotect]);

export class Stm32BootloaderSim {
  readonly chip: SimChip;
  readonly commands: number[];
  readonly version: number;
  phase: SimPhase = 'wait-sync';
  /** Resets since power-on (tests check that option changes reset the chip). */
  resets = 0;
  /** The last command code executed (diagnostics). */
  lastCommand: number | undefined;

  private rx: number[] = [];
  private rxHead = 0;
  private wake: (() => void) | undefined;
  private generation = 0;
  private outputListener: ((d: Uint8Array) => void) | undefined;
  private resetListeners: Array<() => void> = [];
  private goListeners: Array<(address: number) => void> = [];
  private drainHook: () => Promise<void> = async () => {};
  private readonly faults: FaultLine;
  private closed = false;
  private readonly opts: Stm32SimOptions;

  constructor(opts: Stm32SimOptions) {
    this.opts = opts;
    const info = typeof opts.chip === 'string' ? findChip(opts.chip) : opts.chip;
    this.chip = new SimChip(info, opts.timeScale ?? 1, opts.uid);
    const base = info.bootloader.typicalGetCommands.filter((c) => c !== CMD.getChecksum);
    this.commands = opts.getChecksum ? [...base, CMD.getChecksum] : base;
    this.version = info.bootloader.usartProtocolVersion ?? 0x31;
    this.faults = new FaultLine(
      opts.faults ?? {},
      () => this.reset(),
      () => this.disconnect(),
    );
    void this.run();
  }

  // ---- byte-stream interface ----------------------------------------------

  /** Bytes from the host (the chip's RX pin). */
  feed(data: Uint8Array): void {
    if (this.closed) return;
    const got = this.faults.inbound(data);
    // No bootloader is listening (application running, RDP 2, cable cut): the bytes go nowhere.
    if (this.phase === 'locked' || this.phase === 'application' || this.phase === 'disconnected') return;
    for (const b of got) this.rx.push(b);
    this.wake?.();
  }

  /** Bytes to the host (the chip's TX pin). */
  onOutput(listener: (d: Uint8Array) => void): void {
    this.outputListener = listener;
  }

  /** Called on every chip reset (hosts flush what is still on the wire). */
  onReset(listener: () => void): void {
    this.resetListeners.push(listener);
  }

  /** Called when Go hands the chip to the code at `address` (a board model starts its firmware there). */
  onGo(listener: (address: number) => void): void {
    this.goListeners.push(listener);
  }

  /** Lets a paced host say when the last output byte has left the wire (a reset waits for its final ACK). */
  setDrain(drain: () => Promise<void>): void {
    this.drainHook = drain;
  }

  /** Wires the simulator to the device end of a cable (demo lab, in-process tests). */
  attach(device: ByteTransport): void {
    device.onData((d) => this.feed(d));
    this.onOutput((d) => void device.write(d).catch(() => {}));
  }

  /** Power-on/reset: option bytes load, the bootloader waits for 0x7F again. */
  reset(): void {
    if (this.closed || this.phase === 'disconnected') return;
    this.generation++;
    this.resets++;
    this.rx = [];
    this.rxHead = 0;
    this.chip.loadOptions();
    // RDP level 2 disables boot from system memory: no bootloader, for good.
    this.phase = this.chip.rdpLevel === 2 ? 'locked' : 'wait-sync';
    for (const l of this.resetListeners) l();
    this.wake?.();
  }

  /** Cable plugged back in after a cut, and the board power-cycled with it. */
  reconnect(): void {
    this.faults.restore();
    this.phase = 'wait-sync';
    this.reset();
  }

  close(): void {
    this.closed = true;
    this.generation++;
    this.wake?.();
  }

  private disconnect(): void {
    this.phase = 'disconnected';
    this.generation++;
    this.wake?.();
  }

  private emit(...bytes: Array<number | Uint8Array>): void {
    const parts = bytes.map((b) => (typeof b === 'number' ? Uint8Array.of(b) : b));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const out = this.faults.outbound(all);
    if (out.length) this.outputListener?.(out);
  }

  // ---- protocol ------------------------------------------------------------

  private async take(n: number, gen: number): Promise<Uint8Array> {
    while (this.rx.length - this.rxHead < n) {
      if (gen !== this.generation || this.closed) throw new ResetSignal();
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    if (gen !== this.generation) throw new ResetSignal();
    const out = Uint8Array.from(this.rx.slice(this.rxHead, this.rxHead + n));
    this.rxHead += n;
    if (this.rxHead > 4096) {
      this.rx = this.rx.slice(this.rxHead);
      this.rxHead = 0;
    }
    return out;
  }

  /** Time the chip already spent busy beyond what it was asked (timers fire late, at 1 ms at best). */
  private busyCreditMs = 0;

  /**
   * The chip is busy `ms` (flash work). A timer rounds short waits up to a millisecond or more,
   * which would make a 0.3 ms block program cost 1 ms: the lateness of earlier waits is credited
   * to later ones, so the total busy time is what the datasheet figures say, not more.
   */
  private async busy(ms: number, gen: number): Promise<void> {
    if (ms > 0) {
      if (this.busyCreditMs >= ms) this.busyCreditMs -= ms;
      else {
        const wait = ms - this.busyCreditMs;
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, wait));
        // Never more than a few ms of credit: a long stall of the host is not flash time saved.
        this.busyCreditMs = Math.min(5, Math.max(0, performance.now() - t0 - wait));
      }
    }
    if (gen !== this.generation || this.closed) throw new ResetSignal();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const gen = this.generation;
      try {
        if (this.phase === 'locked' || this.phase === 'application' || this.phase === 'disconnected') {
          await this.take(Number.MAX_SAFE_INTEGER, gen); // ignore everything until the next reset
          continue;
        }
        // Autobaud: everything but 0x7F is line noise to an unsynchronised bootloader.
        for (;;) {
          const [b] = await this.take(1, gen);
          if (b === SYNC) break;
        }
        this.emit(ACK);
        this.phase = 'command';
        for (;;) await this.command(gen);
      } catch (e) {
        if (!(e instanceof ResetSignal)) throw e;
      }
    }
  }

  private async command(gen: number): Promise<void> {
    const [code, comp] = await this.take(2, gen);
    if ((code! ^ comp!) !== 0xff || !this.commands.includes(code!)) return this.emit(NACK);
    if (this.chip.rdpLevel !== 0 && !LEVEL1_ALLOWED.has(code!)) return this.emit(NACK);
    this.lastCommand = code;
    switch (code) {
      case CMD.get:
        return this.emit(ACK, this.commands.length, this.version, Uint8Array.from(this.commands), ACK);
      case CMD.getVersion:
        return this.emit(ACK, this.version, 0, 0, ACK);
      case CMD.getId:
        return this.emit(ACK, 1, this.chip.info.pid >> 8, this.chip.info.pid & 0xff, ACK);
      case CMD.readMemory:
        return this.readMemory(gen);
      case CMD.go:
        return this.go(gen);
      case CMD.writeMemory:
        return this.writeMemory(gen);
      case CMD.erase:
        return this.erase(gen);
      case CMD.extendedErase:
        return this.extendedErase(gen);
      case CMD.writeProtect:
        return this.writeProtect(gen);
      case CMD.writeUnprotect:
        this.emit(ACK);
        this.chip.clearWriteProtect();
        await this.busy(2, gen);
        return this.ackAndReset();
      case CMD.readoutProtect:
        this.emit(ACK);
        this.chip.setReadoutProtect();
        await this.busy(2, gen);
        return this.ackAndReset();
      case CMD.readoutUnprotect:
        this.emit(ACK);
        this.phase = 'busy';
        await this.busy(this.chip.timing.massEraseMs(), gen);
        this.chip.readoutUnprotect();
        return this.ackAndReset();
      case CMD.getChecksum:
        return this.getChecksum(gen);
      default:
        return this.emit(NACK);
    }
  }

  private async address(gen: number): Promise<number | undefined> {
    const a = await this.take(5, gen);
    if (xor(a) !== 0) return undefined;
    return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  }

  private async readMemory(gen: number): Promise<void> {
    this.emit(ACK);
    const addr = await this.address(gen);
    if (addr === undefined || !this.chip.read(addr, 1)) return this.emit(NACK);
    this.emit(ACK);
    const [n, c] = await this.take(2, gen);
    if ((n! ^ c!) !== 0xff) return this.emit(NACK);
    const data = this.chip.read(addr, n! + 1);
    if (!data) return this.emit(NACK);
    this.emit(ACK, data);
  }

  private async go(gen: number): Promise<void> {
    this.emit(ACK);
    const addr = await this.address(gen);
    const c = this.chip;
    if (addr === undefined || !(c.inFlash(addr, 8) || c.inRam(addr, 8))) return this.emit(NACK);
    this.emit(ACK);
    // The application owns the chip now; the bootloader protocol ends.
    this.phase = 'application';
    this.generation++;
    for (const l of this.goListeners) l(addr);
    const ms = this.opts.resetAfterGoMs ?? 0;
    if (ms > 0) {
      const g = this.generation;
      setTimeout(() => g === this.generation && this.reset(), ms);
    }
  }

  private async writeMemory(gen: number): Promise<void> {
    this.emit(ACK);
    const addr = await this.address(gen);
    const c = this.chip;
    const isVoltage = addr === 0xffff0000 && (c.info.family === 'F2' || c.info.family === 'F4' || c.info.family === 'F7');
    const valid = addr !== undefined && (isVoltage || c.inFlash(addr, 1) || c.inRam(addr, 1) || c.optionOffset(addr, 1) >= 0);
    if (!valid || (!isVoltage && addr % 4 !== 0)) return this.emit(NACK);
    this.emit(ACK);
    const [n] = await this.take(1, gen);
    const body = await this.take(n! + 2, gen);
    const data = body.subarray(0, n! + 1);
    if ((n! ^ xor(body)) !== 0) return this.emit(NACK);
    if (isVoltage) {
      c.voltageRange = data[0]! & 3;
      return this.emit(ACK);
    }
    if (data.length % 4 !== 0) return this.emit(NACK);
    if (c.inFlash(addr, data.length)) {
      const { ok, ms } = c.program(addr, data);
      if (!ok) return this.emit(NACK);
      await this.busy(ms, gen);
      return this.emit(ACK);
    }
    if (c.inRam(addr, data.length)) {
      c.writeRam(addr, data);
      return this.emit(ACK);
    }
    const off = c.optionOffset(addr, data.length);
    if (off < 0) return this.emit(NACK);
    // Option bytes: reprogram, ACK, then a system reset loads them (protocol.md 3.6).
    c.writeOptions(off, data);
    await this.busy(2, gen);
    return this.ackAndReset();
  }

  private async erasePages(pages: number[], gen: number): Promise<void> {
    this.phase = 'busy';
    // Page by page, so a reset in the middle leaves a partly erased chip, as on real parts.
    for (const p of pages) {
      const ms = this.chip.erasePage(p);
      await this.busy(ms, gen);
    }
    this.phase = 'command';
  }

  private async erase(gen: number): Promise<void> {
    this.emit(ACK);
    const [n] = await this.take(1, gen);
    if (n === 0xff) {
      const [cs] = await this.take(1, gen);
      if (cs !== 0x00 || !this.chip.info.bootloader.globalEraseSupported) return this.emit(NACK);
      await this.massErase(gen);
      return this.emit(ACK);
    }
    const body = await this.take(n! + 2, gen);
    if ((n! ^ xor(body)) !== 0) return this.emit(NACK);
    const pages = Array.from(body.subarray(0, n! + 1));
    if (pages.some((p) => p >= this.chip.pageCount())) return this.emit(NACK);
    await this.erasePages(pages, gen);
    this.emit(ACK);
  }

  private async massErase(gen: number, bank?: 1 | 2): Promise<void> {
    const total = this.chip.pageCount();
    const half = total / 2;
    const pages = Array.from({ length: total }, (_, i) => i).filter((p) => bank === undefined || (bank === 1 ? p < half : p >= half));
    this.phase = 'busy';
    // Mass erase takes the datasheet's mass-erase time; protected pages stay.
    for (const p of pages) this.chip.erasePage(p);
    await this.busy(this.chip.timing.massEraseMs() * (bank ? 0.5 : 1), gen);
    this.phase = 'command';
  }

  private async extendedErase(gen: number): Promise<void> {
    this.emit(ACK);
    const nb = await this.take(2, gen);
    const n = (nb[0]! << 8) | nb[1]!;
    if (n >= 0xfff0) {
      const [cs] = await this.take(1, gen);
      if (cs !== (nb[0]! ^ nb[1]!)) return this.emit(NACK);
      const info = this.chip.info;
      if (n === 0xffff && info.bootloader.globalEraseSupported) await this.massErase(gen);
      else if ((n === 0xfffe || n === 0xfffd) && info.flash.banks === 2) await this.massErase(gen, n === 0xfffe ? 1 : 2);
      else return this.emit(NACK);
      return this.emit(ACK);
    }
    const body = await this.take(2 * (n + 1) + 1, gen);
    if ((xor(nb) ^ xor(body)) !== 0) return this.emit(NACK);
    const pages: number[] = [];
    for (let i = 0; i <= n; i++) pages.push((body[2 * i]! << 8) | body[2 * i + 1]!);
    if (pages.some((p) => p >= this.chip.pageCount())) return this.emit(NACK);
    await this.erasePages(pages, gen);
    this.emit(ACK);
  }

  private async writeProtect(gen: number): Promise<void> {
    this.emit(ACK);
    const [n] = await this.take(1, gen);
    const body = await this.take(n! + 2, gen);
    if ((n! ^ xor(body)) !== 0) return this.emit(NACK);
    if (!this.chip.setWriteProtect(Array.from(body.subarray(0, n! + 1)))) return this.emit(NACK);
    await this.busy(2, gen);
    return this.ackAndReset();
  }

  private async getChecksum(gen: number): Promise<void> {
    this.emit(ACK);
    const addr = await this.address(gen);
    if (addr === undefined || addr % 4 !== 0 || !this.chip.read(addr, 4)) return this.emit(NACK);
    this.emit(ACK);
    const len = await this.address(gen); // same 4 bytes + XOR form
    if (len === undefined || len === 0 || len % 4 !== 0) return this.emit(NACK);
    const data = this.chip.read(addr, len);
    if (!data) return this.emit(NACK);
    this.emit(ACK);
    // The CRC unit takes about one cycle per word; a few ms per 100 KiB at bootloader clock.
    await this.busy(len / 100_000, gen);
    const crc = stm32Crc(data);
    const b = Uint8Array.of(crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff);
    this.emit(ACK, b, xor(b));
  }

  /** Final ACK, then the system reset that follows option-byte changes. */
  private async ackAndReset(): Promise<void> {
    this.emit(ACK);
    await this.drainHook();
    this.reset();
    throw new ResetSignal();
  }
}

/** The factory the demo lab and tests use: an STM32 with its ROM bootloader, as a byte-stream device. */
export function createStm32Simulator(opts: Stm32SimOptions): Stm32BootloaderSim {
  return new Stm32BootloaderSim(opts);
}
