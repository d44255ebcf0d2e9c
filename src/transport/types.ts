/** A transport only moves bytes. Codecs and clients never know which one they run on. */
export interface ByteTransport {
  /** Sends bytes; resolves when handed to the OS (not when on the wire). */
  write(data: Uint8Array): Promise<void>;
  /** Registers the one receiver of incoming bytes. */
  onData(listener: (data: Uint8Array) => void): void;
  /** Called once when the link goes away (unplugged, closed by the peer). */
  onClose(listener: (err?: Error) => void): void;
  close(): Promise<void>;
  /** Modem-control lines where the adapter wires them (DTR/RTS for bootloader entry). */
  setSignals?(signals: { dtr?: boolean; rts?: boolean }): Promise<void>;
  readonly description: string;
}
