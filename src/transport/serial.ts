/** Serial ports (real adapters and ptys) through `serialport`. */
import { SerialPort } from 'serialport';
import { ioError } from '../core/errors.ts';
import type { ByteTransport } from './types.ts';

export interface SerialOptions {
  path: string;
  baudRate?: number;
  /** 'none' for 8N1 (SMP), 'even' for 8E1 (STM32 ROM bootloader). */
  parity?: 'none' | 'even';
}

export async function openSerial(opts: SerialOptions): Promise<ByteTransport> {
  const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate || 115200, parity: opts.parity ?? 'none', dataBits: 8, stopBits: 1, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(ioError('io.open-failed', `Cannot open ${opts.path}: ${err.message}`, { path: opts.path }, err)) : resolve())),
  );
  let closeListener: ((err?: Error) => void) | undefined;
  let closed = false;
  port.on('close', (err?: Error) => {
    closed = true;
    closeListener?.(err ?? undefined);
  });
  port.on('error', () => {
    /* reported through 'close' and failed writes */
  });
  return {
    description: `${opts.path} @ ${opts.baudRate || 115200} 8${opts.parity === 'even' ? 'E' : 'N'}1`,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (closed) return reject(ioError('io.port-closed', `${opts.path} is closed (cable unplugged?).`));
        port.write(Buffer.from(data), (err) => (err ? reject(ioError('io.write-failed', `Write to ${opts.path} failed: ${err.message}`, undefined, err)) : resolve()));
      }),
    onData: (listener) => {
      port.removeAllListeners('data');
      port.on('data', (d: Buffer) => listener(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    },
    onClose: (listener) => {
      closeListener = listener;
    },
    close: () =>
      new Promise((resolve) => {
        if (closed || !port.isOpen) return resolve();
        port.close(() => resolve());
      }),
    setSignals: (s) =>
      new Promise((resolve, reject) =>
        port.set({ ...(s.dtr !== undefined ? { dtr: s.dtr } : {}), ...(s.rts !== undefined ? { rts: s.rts } : {}) }, (err) =>
          err ? reject(ioError('io.signals-failed', `Cannot set DTR/RTS on ${opts.path}: ${err.message}`)) : resolve(),
        ),
      ),
  };
}
