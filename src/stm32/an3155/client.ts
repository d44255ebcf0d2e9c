/**
 * AN3155 client: every command of the STM32 USART system bootloader over any
 * ByteTransport (8E1 on real adapters; ptys carry the same bytes unframed).
 *
 * It owns the sync state: 0x7F once per reset, resync after line noise with the
 * `FF 00` idiom (protocol.md 1), and re-sync after the commands that end in a
 * system reset (protocol.md 6). Every wait has an explicit budget so a mass
 * erase (up to ~35 s) never trips a short reply timeout.
 */
import { concatBytes, takeBytes } from '../../core/bytes.ts';
import { cancelledError, deviceError, UnbrickError } from '../../core/errors.ts';
import type { ByteTransport } from '../../transport/types.ts';
import {
  ACK,
  addressFrame,
  CMD,
  COMMAND_NAMES,
  commandFrame,
  extendedEraseFrame,
  legacyEraseFrame,
  lengthFrame,
  MAX_READ,
  MAX_WRITE,
  NACK,
  readCountFrame,
  SYNC,
  writeDataFrame,
  writeProtectFrame,
} from './codec.ts';

/** Quiet time that marks the end of a reply burst (a 15-byte Get reply lasts 17 ms at 9600 baud). */
const SETTLE_MS = 25;
/**
 * How long the first 0x7F waits for its answer (on top of the wire time). A
 * bootloader answers it in µs–ms (../shared/vectors/stm32/protocol.md, timing
 * table), but a USB-serial adapter adds up to its 16 ms latency timer each
 * way and a loaded host more: 50 ms made the lab's probe miss answers under
 * load. One that is already synchronised, as after any earlier session, takes
 * it as a command's first byte and answers nothing: the second 0x7F gets the
 * NACK, so waiting the full reply time here only delays every reconnect.
 */
const FIRST_SYNC_MS = 150;

export interface ClientOptions {
  /** Budget for an ordinary one-byte reply (ACK, Get data). Default 1000 ms. */
  replyMs?: number;
  /** Budget for the Write Memory final ACK (programming 256 bytes). Default 2000 ms. */
  writeAckMs?: number;
  /** Budget for mass erase and Readout Unprotect's second ACK. Default 40 s (F4 x8 max 32 s; stm32flash waits 35 s). */
  massEraseMs?: number;
  /** Budget for Write Protect / Unprotect / Readout Protect second ACK (option-byte programming). Default 5000 ms. */
  optionMs?: number;
  /** Line rate, so every wait also covers the wire time of what is sent and expected (1200 baud moves 256 bytes in 2.3 s). Default 115200. */
  baud?: number;
  signal?: AbortSignal;
  /** Called with a short line for each exchange (diagnostics). */
  trace?: (line: string) => void;
}

export interface BootloaderInfo {
  version: number;
  commands: number[];
  pid: number;
  /** Bytes 2-3 of Get Version: kept for compatibility, not the RDP state (protocol.md 3.2). */
  options: [number, number];
}

/** Counts what went over the line (line-utilisation figures in the bench). */
export interface LineCounters {
  sent: number;
  received: number;
}

export class An3155Client {
  private chunks: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private closedErr: Error | undefined;
  private writeErr: Error | undefined;
  private synced = false;
  readonly counters: LineCounters = { sent: 0, received: 0 };
  readonly opts: Required<Omit<ClientOptions, 'signal' | 'trace'>> & Pick<ClientOptions, 'signal' | 'trace'>;
  /** Wire time of bytes sent since the last read completed: the reply cannot start before they are out. */
  private unsentWireMs = 0;

  constructor(
    private readonly transport: ByteTransport,
    opts: ClientOptions = {},
  ) {
    this.opts = { replyMs: 1000, writeAckMs: 2000, massEraseMs: 40_000, optionMs: 5000, baud: 115200, ...opts };
    transport.onData((d) => {
      this.counters.received += d.length;
      this.chunks.push(d);
      this.waiter?.();
    });
    transport.onClose((err) => {
      this.closedErr = err ?? new Error('closed');
      this.waiter?.();
    });
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Forget the sync state: the chip was reset (by a command or by the DTR/RTS lines). */
  markReset(): void {
    this.synced = false;
  }

  // ---- low-level byte I/O -------------------------------------------------

  private buffered(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  /** Drops anything already received (stale bytes after noise or a reset). */
  discardInput(): void {
    this.chunks = [];
  }

  /**
   * Queues bytes for the line. It does not wait for the OS to take them: the
   * reply cannot come earlier anyway, and skipping that wait saves a thread-pool
   * round trip per exchange (three per 256-byte write). A failed write is
   * reported by the next read.
   */
  async send(bytes: Uint8Array): Promise<void> {
    if (this.opts.signal?.aborted) throw cancelledError();
    if (this.writeErr) throw this.writeErr;
    this.counters.sent += bytes.length;
    this.unsentWireMs += this.wireMs(bytes.length);
    this.transport.write(bytes).catch((e: unknown) => {
      this.writeErr = e instanceof Error ? e : new Error(String(e));
      this.waiter?.();
    });
  }

  /** Time n bytes take on the line at 8E1 (11 bits each), with a margin for adapter buffering. */
  wireMs(n: number): number {
    return (n * 11 * 1000 * 1.5) / this.opts.baud;
  }

  /** Reads exactly n bytes within ms (plus their wire time and that of what was just sent), or throws stm32.timeout. */
  async read(n: number, ms: number, what: string): Promise<Uint8Array> {
    ms += this.unsentWireMs + this.wireMs(n);
    this.unsentWireMs = 0;
    const deadline = performance.now() + ms;
    while (this.buffered() < n) {
      if (this.opts.signal?.aborted) throw cancelledError();
      if (this.writeErr) throw deviceError('stm32.disconnected', `Writing to the serial port failed: ${this.writeErr.message}`);
      if (this.closedErr) throw deviceError('stm32.disconnected', `The serial link closed while waiting for ${what} (cable unplugged or adapter gone).`);
      const left = deadline - performance.now();
      if (left <= 0)
        throw deviceError('stm32.timeout', `No answer from the STM32 bootloader while waiting for ${what} (${Math.round(ms)} ms). Check the cable, BOOT0 and the baud rate.`, {
          waitingFor: what,
          ms: Math.round(ms),
        });
      await new Promise<void>((resolve) => {
        const signal = this.opts.signal;
        const done = () => {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 250));
        signal?.addEventListener('abort', done, { once: true });
        this.waiter = done;
      });
      this.waiter = undefined;
    }
    return takeBytes(this.chunks, n);
  }

  /** Waits for ACK; NACK or any other byte becomes a typed error. */
  async expectAck(ms: number, what: string): Promise<void> {
    const [b] = await this.read(1, ms, what);
    if (b === ACK) return;
    if (b === NACK) throw new NackError(what);
    throw deviceError('stm32.garbled', `Unexpected byte 0x${b!.toString(16).padStart(2, '0')} instead of ACK for ${what} (line noise or wrong baud rate).`, { byte: b, waitingFor: what });
  }

  private async command(code: number, extraAckMs?: number): Promise<void> {
    await this.ensureSynced();
    this.opts.trace?.(`> ${COMMAND_NAMES[code] ?? code.toString(16)}`);
    const what = `${COMMAND_NAMES[code] ?? 'command'} (0x${code.toString(16).padStart(2, '0')})`;
    // A NACK right after the command pair: noise, or a real refusal (RDP active, command
    // missing). After a resync a second NACK is a refusal.
    for (let attempt = 0; ; attempt++) {
      await this.send(commandFrame(code));
      try {
        return await this.expectAck(extraAckMs ?? this.opts.replyMs, what);
      } catch (e) {
        if (!(e instanceof NackError)) throw e;
        if (attempt === 1) throw new CommandRefused(code);
        await this.resync(); // a byte out of step also earns a NACK
      }
    }
  }

  // ---- synchronisation ----------------------------------------------------

  async ensureSynced(): Promise<void> {
    if (!this.synced) await this.sync();
  }

  /**
   * Sends 0x7F until the bootloader answers. ACK: it measured our baud rate.
   * NACK: it was already synchronised (protocol.md 1, stm32flash's "interface
   * was not closed properly" case), which is just as good. A reply followed by
   * more bytes was a stale answer to something else, so it does not count.
   */
  async sync(attempts = 6): Promise<void> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      const late = concatBytes(...(await this.settleChunks(SETTLE_MS)));
      // A late answer to the previous 0x7F, alone on a quiet line: the bootloader took it and
      // waits for a command now, so another 0x7F would only be read as a command byte.
      if (i > 0 && late.length === 1 && (late[0] === ACK || late[0] === NACK)) {
        this.synced = true;
        return;
      }
      await this.send(new Uint8Array([SYNC]));
      try {
        const [b] = await this.read(1, i === 0 ? Math.min(FIRST_SYNC_MS, this.opts.replyMs) : this.opts.replyMs, 'sync (0x7F)');
        if ((b === ACK || b === NACK) && (await this.settle(SETTLE_MS)) === 0) {
          this.synced = true;
          return;
        }
      } catch (e) {
        if (e instanceof UnbrickError && e.code !== 'stm32.timeout') throw e;
        last = e;
      }
    }
    throw deviceError(
      'stm32.no-bootloader',
      'The STM32 system bootloader does not answer. Hold BOOT0 high (BOOT1/nBOOT0 as AN2606 says for this part), reset the board, check TX/RX are crossed and GND is shared, then try again. A chip at readout-protection level 2 never answers: it cannot be recovered.',
      { cause: last instanceof Error ? last.message : undefined },
    );
  }

  /** Waits until nothing arrives for ms, then drops what came; returns how many bytes were dropped. */
  private async settle(ms: number): Promise<number> {
    return (await this.settleChunks(ms)).reduce((n, c) => n + c.length, 0);
  }

  /** settle(), returning the dropped chunks (joined only by the caller that reads them). */
  private async settleChunks(ms: number): Promise<Uint8Array[]> {
    const dropped = [...this.chunks];
    this.discardInput();
    for (;;) {
      await new Promise((r) => setTimeout(r, ms));
      const n = this.buffered();
      dropped.push(...this.chunks);
      this.discardInput();
      if (n === 0) return dropped;
    }
  }

  /**
   * Brings the bootloader back to command-wait after noise or a lost reply:
   * `FF 00` is an invalid command that command-wait answers with exactly one
   * NACK (stm32flash stm32_resync). If a lost byte left the bootloader one byte
   * out of step, `FF 00` reads as `00 FF` = Get; a lone 0xFF restores the
   * pairing. Silence means it is still swallowing a long block (a burst of
   * pairs completes it) or it reset and waits for 0x7F (harmless mid-block).
   */
  async resync(rounds = 8): Promise<void> {
    const probeMs = Math.min(this.opts.replyMs, 200);
    for (let round = 0; round < rounds; round++) {
      await this.settle(SETTLE_MS);
      const r = await this.probe(probeMs);
      if (r === 'clean') {
        this.synced = true;
        return;
      }
      if (r === 'other') continue;
      await this.send(new Uint8Array([SYNC]));
      const [a] = await this.read(1, probeMs, 'sync during resync').catch(() => [undefined]);
      if (a === ACK && (await this.settle(SETTLE_MS)) === 0 && (await this.probe(probeMs)) === 'clean') {
        this.synced = true;
        return;
      }
      // Enough pairs to complete the longest block a command can be waiting for (Write Memory, 258 bytes).
      await this.send(new Uint8Array(264).map((_, i) => (i % 2 ? 0x00 : 0xff)));
    }
    this.synced = false;
    await this.sync();
  }

  /**
   * One resync probe that also checks the byte pairing: a lone 0xFF first. In
   * step, the bootloader holds it and the following 0x00 makes the invalid
   * pair `FF 00`, answered by exactly one NACK ('clean'). One byte out of step,
   * the lone 0xFF completes a pair and earns an answer at once; after that the
   * pairing is right again and `FF 00` must give the clean NACK.
   */
  private async probe(ms: number): Promise<'clean' | 'other' | 'silent'> {
    const one = async (): Promise<number | undefined> => {
      const [b] = await this.read(1, ms, 'resync').catch((e: unknown) => {
        if (e instanceof UnbrickError && e.code === 'stm32.timeout') return [undefined];
        throw e;
      });
      return b;
    };
    await this.send(new Uint8Array([0xff]));
    let b = await one();
    if (b !== undefined) {
      await this.settle(SETTLE_MS);
      await this.send(new Uint8Array([0xff, 0x00]));
    } else await this.send(new Uint8Array([0x00]));
    b = await one();
    if (b === undefined) return 'silent';
    const extra = await this.settle(SETTLE_MS);
    return b === NACK && extra === 0 ? 'clean' : 'other';
  }

  /**
   * After a command that resets the chip: wait for the reset, then sync again.
   * The line stays quiet for 100 ms before the 0x7F (stm32loader sleeps 0.1 s,
   * protocol.md section 6): a 0x7F cut by the reset would make the restarted
   * bootloader measure a wrong baud rate. sync() begins with a settle, so it
   * makes up the last SETTLE_MS of that quiet and drops what the reset sent.
   */
  async resyncAfterReset(): Promise<void> {
    this.synced = false;
    await new Promise((r) => setTimeout(r, 100 - SETTLE_MS));
    await this.sync(10);
  }

  // ---- commands ------------------------------------------------------------

  async get(): Promise<{ version: number; commands: number[] }> {
    await this.command(CMD.get);
    const [n] = await this.read(1, this.opts.replyMs, 'Get length');
    const rest = await this.read(n! + 1, this.opts.replyMs, 'Get data');
    await this.expectAck(this.opts.replyMs, 'Get end');
    return { version: rest[0]!, commands: Array.from(rest.subarray(1)) };
  }

  async getVersion(): Promise<{ version: number; options: [number, number] }> {
    await this.command(CMD.getVersion);
    let b = await this.read(3, this.opts.replyMs, 'Get Version data');
    // STM32L412/422 bootloader V13.1 sends one ACK too many here (stm32flash tolerates it too).
    if (b[0] === ACK) b = Uint8Array.of(b[1]!, b[2]!, ...(await this.read(1, this.opts.replyMs, 'Get Version data')));
    await this.expectAck(this.opts.replyMs, 'Get Version end');
    return { version: b[0]!, options: [b[1]!, b[2]!] };
  }

  async getId(): Promise<number> {
    await this.command(CMD.getId);
    const [n] = await this.read(1, this.opts.replyMs, 'Get ID length');
    const id = await this.read(n! + 1, this.opts.replyMs, 'Get ID data');
    await this.expectAck(this.opts.replyMs, 'Get ID end');
    return (id[0]! << 8) | id[1]!;
  }

  /** Get Version, Get and Get ID in the order stm32flash uses. */
  async identify(): Promise<BootloaderInfo> {
    const v = await this.getVersion();
    const g = await this.get();
    const pid = await this.getId();
    return { version: g.version || v.version, commands: g.commands, pid, options: v.options };
  }

  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (length < 1 || length > MAX_READ) throw new RangeError(`read length ${length} outside 1..256`);
    await this.refusable(CMD.readMemory, 'stm32.read-refused', 'The bootloader refused to read memory: readout protection (RDP level 1) is active. Lifting it erases the whole flash (stm32 unprotect --readout).', { address });
    await this.send(addressFrame(address));
    await this.ackOr(`Read Memory address 0x${address.toString(16)}`, 'stm32.bad-address', `The bootloader refused address 0x${address.toString(16)} for reading.`);
    await this.send(readCountFrame(length));
    await this.ackOr('Read Memory count', 'stm32.nack', 'The bootloader refused the read length.');
    return this.read(length, this.opts.replyMs, `Read Memory data (${length} bytes)`);
  }

  async go(address: number): Promise<void> {
    await this.refusable(CMD.go, 'stm32.go-refused', 'The bootloader refused Go: readout protection is active.');
    await this.send(addressFrame(address));
    await this.ackOr('Go address', 'stm32.bad-address', `The bootloader refused to jump to 0x${address.toString(16)}.`);
    this.synced = false; // the application owns the UART now
  }

  /** Writes 1..256 bytes (padded to a multiple of 4 with 0xFF) at a 4-aligned address. */
  async writeMemory(address: number, data: Uint8Array, ackMs = this.opts.writeAckMs): Promise<void> {
    if (data.length < 1 || data.length > MAX_WRITE) throw new RangeError(`write length ${data.length} outside 1..256`);
    if (address % 4 !== 0) throw new RangeError(`write address 0x${address.toString(16)} is not 4-byte aligned`);
    let payload = data;
    if (data.length % 4) {
      payload = new Uint8Array((data.length + 3) & ~3).fill(0xff);
      payload.set(data);
    }
    await this.refusable(CMD.writeMemory, 'stm32.write-refused', 'The bootloader refused to write: readout protection (RDP level 1) is active.');
    await this.send(addressFrame(address));
    await this.ackOr(`Write Memory address 0x${address.toString(16)}`, 'stm32.bad-address', `The bootloader refused address 0x${address.toString(16)} for writing.`);
    await this.send(writeDataFrame(payload));
    await this.ackOr(`Write Memory data at 0x${address.toString(16)}`, 'stm32.write-failed', `Writing at 0x${address.toString(16)} failed (bad checksum on the line, or the flash there is not erased).`, ackMs);
  }

  /** Erase (0x43): pages (≤255 per call) or the global erase. */
  async eraseLegacy(pages: number[] | 'global', ackMs: number): Promise<void> {
    await this.refusable(CMD.erase, 'stm32.erase-refused');
    await this.send(legacyEraseFrame(pages));
    await this.ackOr('Erase', 'stm32.erase-failed', pages === 'global' ? 'The bootloader refused the global erase.' : 'The bootloader refused to erase those pages.', ackMs);
  }

  /** Extended Erase (0x44): 2-byte page numbers or a special code (0xFFFF global, 0xFFFE/0xFFFD bank). */
  async extendedErase(pages: number[] | { special: number }, ackMs: number): Promise<void> {
    await this.refusable(CMD.extendedErase, 'stm32.erase-refused');
    await this.send(extendedEraseFrame(pages));
    await this.ackOr('Extended Erase', 'stm32.erase-failed', Array.isArray(pages) ? 'The bootloader refused to erase those pages.' : 'The bootloader refused that mass erase (some parts only erase page by page).', ackMs);
  }

  /** Write Protect (0x63): replaces the whole WRP set with these sectors, then the chip resets. */
  async writeProtect(sectors: number[]): Promise<void> {
    await this.optionCommand(CMD.writeProtect, 'Write Protect', 'stm32.protect', 'The bootloader refused the write-protect request.', this.opts.optionMs, writeProtectFrame(sectors));
  }

  /** Write Unprotect (0x73): clears WRP on every sector, then the chip resets. */
  async writeUnprotect(): Promise<void> {
    await this.optionCommand(CMD.writeUnprotect, 'Write Unprotect', 'stm32.unprotect', 'Removing write protection failed.', this.opts.optionMs);
  }

  /** Readout Protect (0x82): RDP level 1, then the chip resets. */
  async readoutProtect(): Promise<void> {
    await this.optionCommand(CMD.readoutProtect, 'Readout Protect', 'stm32.readout-protect', 'Setting readout protection failed.', this.opts.optionMs);
  }

  /** Readout Unprotect (0x92): mass-erases ALL flash, RDP back to level 0, then the chip resets. */
  async readoutUnprotect(): Promise<void> {
    await this.optionCommand(CMD.readoutUnprotect, 'Readout Unprotect (mass erase)', 'stm32.readout-unprotect', 'The mass erase behind readout unprotect failed; readout protection is still on.', this.opts.massEraseMs);
  }

  /**
   * A command that rewrites the option bytes: the command (refused: `<code>-refused`), its
   * argument frame if any, the ACK once done within `ms` (NACK: `<code>-failed`), then the
   * chip resets and the link syncs again (AN3155: Write Protect, Write Unprotect, Readout Protect, Readout Unprotect).
   */
  private async optionCommand(cmd: number, what: string, code: string, failure: string, ms: number, frame?: Uint8Array): Promise<void> {
    await this.refusable(cmd, `${code}-refused`);
    if (frame) await this.send(frame);
    await this.ackOr(what, `${code}-failed`, failure, ms);
    await this.resyncAfterReset();
  }

  /** Get Checksum (0xA1): STM32 CRC-32 of [address, address+length), both multiples of 4 (stm32flash's exchange). */
  async getChecksum(address: number, length: number, ms?: number): Promise<number> {
    if (address % 4 || length % 4 || length === 0) throw new RangeError('Get Checksum needs a 4-aligned address and a non-zero multiple of 4 bytes');
    await this.refusable(CMD.getChecksum, 'stm32.checksum-refused');
    await this.send(addressFrame(address));
    await this.ackOr('Get Checksum address', 'stm32.bad-address', `The bootloader refused address 0x${address.toString(16)} for a checksum.`);
    await this.send(lengthFrame(length));
    await this.ackOr('Get Checksum length', 'stm32.nack', 'The bootloader refused the checksum length.');
    await this.expectAck(ms ?? this.opts.replyMs + length / 1000, 'Get Checksum result');
    const b = await this.read(5, this.opts.replyMs, 'Get Checksum value');
    if ((b[0]! ^ b[1]! ^ b[2]! ^ b[3]!) !== b[4]) throw deviceError('stm32.garbled', 'The checksum reply failed its own XOR check (line noise).');
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  // ---- helpers -------------------------------------------------------------

  /** Sends a command; a NACK for it becomes `errCode`, with `message` (default: the command's name and the usual two causes). */
  private async refusable(code: number, errCode: string, message?: string, details?: Record<string, unknown>): Promise<void> {
    try {
      await this.command(code, code === CMD.readoutUnprotect ? this.opts.replyMs : undefined);
    } catch (e) {
      if (e instanceof CommandRefused)
        throw deviceError(errCode, message ?? `The bootloader refused ${COMMAND_NAMES[code]} (0x${code.toString(16)}): readout protection is active, or this bootloader lacks the command.`, details);
      throw e;
    }
  }

  private async ackOr(what: string, code: string, message: string, ms = this.opts.replyMs): Promise<void> {
    try {
      await this.expectAck(ms, what);
    } catch (e) {
      if (e instanceof NackError) throw deviceError(code, message, { step: what });
      throw e;
    }
  }
}

/** A NACK where an ACK was expected (internal; turned into a typed error by the caller). */
class NackError extends UnbrickError {
  constructor(what: string) {
    super('device', 'stm32.nack', `The bootloader answered NACK to ${what}.`);
  }
}

class CommandRefused extends UnbrickError {
  constructor(readonly command: number) {
    super('device', 'stm32.command-refused', `The bootloader refused command 0x${command.toString(16)}.`);
  }
}
