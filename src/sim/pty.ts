/**
 * A pseudo-terminal for a simulated device: the simulator holds the master
 * side, and any host program (Unbrick, stm32flash, linesim) opens the slave
 * path as if it were a USB-serial adapter. The slave stays open here too so
 * the pty survives a host closing and reopening it, like a real adapter.
 */
import { createRequire } from 'node:module';
import tty from 'node:tty';
import { closeSync } from 'node:fs';
import { ioError } from '../core/errors.ts';

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
}

function loadNative(): NativePty {
  const require = createRequire(import.meta.url);
  const pkg = `@lydell/node-pty-${process.platform}-${process.arch}`;
  try {
    return require(`${pkg}/pty.node`) as NativePty;
  } catch (err) {
    throw ioError('io.pty-unavailable', `Simulated devices on a pseudo-terminal need ${pkg}, which is not installed for this platform.`, undefined, err);
  }
}

export interface PtyEnd {
  /** The path a host opens, e.g. /dev/pts/7. */
  readonly path: string;
  write(data: Uint8Array): void;
  onData(listener: (data: Uint8Array) => void): void;
  close(): void;
}

export function openPty(): PtyEnd {
  if (process.platform === 'win32') throw ioError('io.pty-unavailable', 'Pseudo-terminals are not available on Windows; use the in-process demo lab.');
  const { master, slave, pty } = loadNative().open(80, 24);
  const stream = new tty.ReadStream(master);
  let listener: ((d: Uint8Array) => void) | undefined;
  stream.on('data', (d: Buffer | string) => {
    const b = typeof d === 'string' ? Buffer.from(d, 'latin1') : d;
    listener?.(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  });
  // EIO arrives when no host has the slave open; that is normal between sessions.
  stream.on('error', () => {});
  let closed = false;
  return {
    path: pty,
    write(data) {
      if (!closed) stream.write(Buffer.from(data));
    },
    onData(l) {
      listener = l;
    },
    close() {
      if (closed) return;
      closed = true;
      stream.destroy();
      try {
        closeSync(slave);
      } catch {
        /* already closed */
      }
    },
  };
}
