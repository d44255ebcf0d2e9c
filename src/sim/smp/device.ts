/**
 * The running part every simulated SMP device shares: UART line buffers,
 * frame reassembly, one request at a time with its flash time, replies,
 * interleaved log text, and resets (RAM state lost, input ignored while the
 * device reboots). Device models only decide what a request does.
 *
 * Byte interface: `input(bytes)` is what arrives on the device's RX pin (after
 * pacing), `onOutput` receives what it puts on TX. The same object runs on a
 * pty (sim host) or in-process (demo lab).
 */
import { FrameAssembler } from './console.ts';

export interface Reply {
  /** The complete response frame on the wire; undefined = stay silent. */
  wire?: Uint8Array;
  /** Milliseconds of work (flash erase/program, signature check) before the answer leaves. */
  delayMs?: number;
  /** Console text the firmware logs before the answer (Zephyr shares the UART). */
  logs?: string[];
  /** Runs once the answer has been handed to the UART (e.g. schedule a reset). */
  after?: () => void;
}

export interface ConsoleModel {
  /** Line buffer size including the LF. */
  lineMax: number;
  /** How many received lines can wait while the firmware is busy. */
  lineBufs: number;
  /**
   * 'inline': lines are decoded as they arrive unless the firmware is busy
   * (MCUboot's polling loop). 'queued': lines go through a work queue and
   * whole packets wait in `packetBufs` buffers (Zephyr's UART SMP transport).
   */
  mode: 'inline' | 'queued';
  packetBufs: number;
  /**
   * The device UART's baud rate. Bytes on a real UART arrive spread out, so the
   * receive work keeps up and lines are only lost when they truly arrive at
   * once: with 0 (a pty with no UART timing, as in the Zephyr recording) every
   * chunk written at once counts as simultaneous. Non-zero also avoids losses
   * that would only come from the simulator's own timer granularity.
   */
  uartBaud: number;
  maxDecoded: number;
  style: 'mcuboot' | 'zephyr';
}

export interface DeviceEvents {
  /** Bytes the device puts on its TX line. */
  output(bytes: Uint8Array): void;
}

export abstract class SmpDevice {
  private listeners: Array<(b: Uint8Array) => void> = [];
  private line: number[] = [];
  private overlong = false;
  private lines: Array<Uint8Array | null> = [];
  private packets: Uint8Array[] = [];
  private busy = false;
  private pumpScheduled = false;
  private rebootingUntil = 0;
  private timers = new Set<NodeJS.Timeout>();
  private readonly assembler: FrameAssembler;
  /** Counters a test or the demo lab can show. */
  readonly stats = { linesDropped: 0, packetsDropped: 0, requests: 0, resets: 0 };

  protected constructor(protected readonly console: ConsoleModel) {
    this.assembler = new FrameAssembler({ maxDecoded: console.maxDecoded, style: console.style });
  }

  /** Handles one reassembled packet (SMP header + CBOR). */
  protected abstract handle(packet: Uint8Array): Reply;
  /** Clears RAM state and runs the boot path after a reset; returns the boot time in ms. */
  protected abstract boot(): number;

  onOutput(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  protected emit(bytes: Uint8Array): void {
    for (const l of this.listeners) l(bytes);
  }

  protected log(text: string): void {
    this.emit(new TextEncoder().encode(text));
  }

  get rebooting(): boolean {
    return performance.now() < this.rebootingUntil;
  }

  /** Bytes arriving on RX. */
  input(data: Uint8Array): void {
    if (this.rebooting) return;
    for (const b of data) {
      if (b === 0x0a) {
        const line = this.overlong ? null : Uint8Array.from(this.line);
        this.line = [];
        this.overlong = false;
        this.acceptLine(line);
      } else if (this.line.length < this.console.lineMax - 1) this.line.push(b);
      else this.overlong = true;
    }
  }

  private acceptLine(line: Uint8Array | null): void {
    if (this.lines.length === 0 && ((this.console.mode === 'inline' && !this.busy) || (this.console.mode === 'queued' && this.console.uartBaud > 0))) return this.processLine(line);
    if (this.lines.length >= this.console.lineBufs) {
      this.stats.linesDropped++;
      return;
    }
    this.lines.push(line);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.lines.length && (this.console.mode === 'queued' || !this.busy)) this.processLine(this.lines.shift()!);
  }

  private processLine(line: Uint8Array | null): void {
    if (line === null) return this.assembler.reset(); // an overlong line is lost, and with it the frame
    const packet = this.assembler.line(line);
    if (!packet) return;
    if (this.console.mode === 'queued' && this.packets.length + (this.busy ? 1 : 0) >= this.console.packetBufs) {
      this.stats.packetsDropped++;
      return;
    }
    this.packets.push(packet);
    this.runNext();
  }

  private runNext(): void {
    if (this.busy || this.packets.length === 0) return;
    const packet = this.packets.shift()!;
    this.stats.requests++;
    const reply = this.handle(packet);
    const finish = () => {
      if (reply.logs) for (const l of reply.logs) this.log(l);
      if (reply.wire) this.emit(reply.wire);
      this.busy = false;
      reply.after?.();
      this.runNext();
      this.pump();
    };
    const delay = reply.delayMs ?? 0;
    if (delay <= 0) return finish();
    this.busy = true;
    this.later(delay, finish);
  }

  protected later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * A reset: pending work and RAM state are lost, input is ignored for
   * `downMs` (reboot plus boot time), then the boot path runs.
   */
  reset(downMs = 0): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stats.resets++;
    this.line = [];
    this.overlong = false;
    this.lines = [];
    this.packets = [];
    this.busy = false;
    this.assembler.reset();
    const bootMs = this.boot();
    this.rebootingUntil = performance.now() + downMs + bootMs;
  }

  /** Stops timers (the host is shutting down). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners = [];
  }
}
