/**
 * An exclusive lock file holding its owner's pid, for state that one process
 * at a time may write (the service log, a station batch, a data journal). A
 * lock left by a dead process (SIGKILL, power loss) is taken over; so is one
 * holding our own pid, which can only be a dead predecessor's with a reused pid.
 */
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockAttempt = { release: () => void } | { owner: number };

/** One try: the lock, or the pid of the live process holding it. Other I/O errors are thrown as they are. */
export function tryPidLock(path: string): LockAttempt {
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      fsyncSync(fd);
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: number;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch (r) {
        if ((r as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile: try again
        throw r; // not a lock file (a directory, no permission): not ours to remove
      }
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner)) return { owner };
      try {
        unlinkSync(path);
      } catch {
        /* someone else took it over first: try again */
      }
    }
  }
}
