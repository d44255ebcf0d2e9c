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
 * back only when the SMP work runs. On the real peer (native_sim's emulated
 * UART) a top-priority thread reads the pty, runs the receive interrupt over
 * every byte there, and sleeps 10 ms (one 100 Hz tick, plus the tick Zephyr
 * adds to relative timeouts) when there is nothing: it reads on a fixed 20 ms
 * grid, and the SMP work runs, frees the completed lines' buffers and answers,
 * once per read. So the bytes of one read may touch at most `lineBuffers`
 * lines, counting a line left partial by the read before; a line that starts
 * with every buffer taken is dropped and its frame gets no answer. While a
 * request's flash work holds the SMP thread, no lines are freed. Measured on
 * ../shared/peers zephyr-smp-svr through linesim: answer arrival times sit on
 * one phase of a 20 ms grid; pairs of lines inside one interval are answered,
 * and the matrix test's cells.
 */
export interface ReceiveModel {
  lineBuffers: number;
  /** The read period (0: bytes are taken and lines handed over as they come: a fast UART, which loses nothing). */
  periodMs: number;
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
  private rxPending: Uint8Array[] = [];
  private readTimer?: NodeJS.Timeout;
  /** The receive thread's read grid starts at power-on. */
  private readonly gridBase = performance.now();
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
    if (rx.periodMs === 0) return this.take(data, true);
    // Bytes wait in the pty until the next read on the grid.
    this.rxPending.push(data);
    if (this.readTimer) return;
    const now = performance.now();
    const next = this.gridBase + Math.ceil((now - this.gridBase) / rx.periodMs) * rx.periodMs;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      const bytes = this.rxPending.splice(0);
      for (const d of bytes) this.take(d, false);
      this.service();
    }, Math.max(0, next - now));
  }

  /** The receive interrupt over bytes: a line takes a buffer at its first byte. */
  private take(data: Uint8Array, handOver: boolean): void {
    const rx = this.console.receive!;
    for (const b of data) {
      if (this.receiving === undefined) this.receiving = this.held.length < rx.lineBuffers ? 'buffer' : 'dropping';
      if (b === 0x0a) {
        const line = this.overlong ? null : Uint8Array.from(this.line);
        if (this.receiving === 'buffer') this.held.push(line);
        else this.stats.linesDropped++;
        this.line = [];
        this.overlong = false;
        this.receiving = undefined;
        if (handOver) this.service();
      } else if (this.line.length < this.console.lineMax - 1) this.line.push(b);
      else {
        this.overlong = true;
        // uart_mcumgr frees the buffer of a line too long for it at once and ignores the rest up to
        // its LF (uart_mcumgr_rx_byte): the next line may have it, in the same read.
        if (this.receiving === 'buffer') this.receiving = 'dropping';
      }
    }
  }

  /**
   * The SMP work runs: completed lines are decoded and their buffers freed, until a request holds it.
   * A fast UART driver (period 0) hands lines over from its interrupt even then; whole packets wait in
   * the netbufs instead.
   */
  private service(): void {
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
      if (this.console.receive) this.service();
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
    clearTimeout(this.readTimer);
    this.readTimer = undefined;
    this.rxPending = [];
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
    clearTimeout(this.readTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners = [];
  }
}
