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
  /** The UART transport's receive side as Zephyr's uart_mcumgr has it (replaces lineBufs/uartBaud timing). */
  receive?: ReceiveModel;
}

/**
 * Zephyr's uart_mcumgr takes a line buffer at a line's first byte and gets it
 * back only when the SMP work runs. That work runs when the receive thread
 * finds the line idle, and otherwise only every `periodMs`; while a request's
 * flash work holds the SMP thread it does not run at all. A line that starts
 * with every buffer taken is dropped, and its frame gets no answer. Fitted to
 * the real peer (../shared/peers README "Zephyr loses requests", and our
 * matrix test): 3 lines in a row pass, 4 do not; 2-3 ms of idle between lines
 * lets any frame through; pipelined frames lose the second.
 */
export interface ReceiveModel {
  lineBuffers: number;
  /** Longest time the SMP work waits while bytes keep coming (0: it runs as each line completes: a fast UART). */
  periodMs: number;
  /** Idle line time after which the receive thread lets the SMP work run. */
  idleMs: number;
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
  /** Receive model state: completed lines holding buffers, whether a line in progress holds one. */
  private held: Array<Uint8Array | null> = [];
  private receiving: 'buffer' | 'dropping' | undefined;
  private lastByteAt = 0;
  private lastServiceAt = 0;
  private idleTimer?: NodeJS.Timeout;
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
    if (this.console.receive) return this.receiveModelled(data);
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

  private receiveModelled(data: Uint8Array): void {
    const rx = this.console.receive!;
    const now = performance.now();
    // The SMP work ran if the line was idle long enough, else on its period (not while flash work holds it).
    if (now - this.lastByteAt >= rx.idleMs) this.service(now);
    else if (rx.periodMs > 0 && now - this.lastServiceAt >= rx.periodMs) this.service(now - ((now - this.lastServiceAt) % rx.periodMs));
    for (const b of data) {
      if (this.receiving === undefined) this.receiving = this.held.length < rx.lineBuffers ? 'buffer' : 'dropping';
      if (b === 0x0a) {
        const line = this.overlong ? null : Uint8Array.from(this.line);
        if (this.receiving === 'buffer') this.held.push(line);
        else this.stats.linesDropped++;
        this.line = [];
        this.overlong = false;
        this.receiving = undefined;
        if (rx.periodMs === 0) this.service(now);
      } else if (this.line.length < this.console.lineMax - 1) this.line.push(b);
      else this.overlong = true;
    }
    this.lastByteAt = now;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.service(performance.now()), rx.idleMs);
  }

  /**
   * The SMP work runs: completed lines are decoded and their buffers freed, until a request holds it.
   * A fast UART driver (period 0) hands lines over from its interrupt even then; whole packets wait in
   * the netbufs instead.
   */
  private service(at: number): void {
    this.lastServiceAt = at;
    while (this.held.length && (!this.busy || this.console.receive!.periodMs === 0)) this.processLine(this.held.shift()!);
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
      if (this.console.receive) this.service(performance.now());
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
    clearTimeout(this.idleTimer);
    this.stats.resets++;
    this.line = [];
    this.overlong = false;
    this.lines = [];
    this.held = [];
    this.receiving = undefined;
    this.packets = [];
    this.busy = false;
    this.assembler.reset();
    const bootMs = this.boot();
    this.rebootingUntil = performance.now() + downMs + bootMs;
  }

  /** Stops timers (the host is shutting down). */
  dispose(): void {
    clearTimeout(this.idleTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners = [];
  }
}
