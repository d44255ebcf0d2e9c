/**
 * An append-only, fsync'd JSON-lines journal with a process lock.
 *
 * Each record is one write() of one line followed by fsync, so a record the
 * caller was told about is on disk. A kill mid-write can leave a torn last
 * line (no newline): readers ignore it (it was never acknowledged) and the
 * next writer cuts it off before appending. A whole line that does not parse
 * means the file was damaged, and opening refuses rather than guess.
 *
 * The lock file holds the owner's pid for as long as the journal is open, so
 * two processes never interleave their view of it; a lock left by a dead
 * process (SIGKILL, power loss) is taken over.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir } from '../core/atomic-file.ts';
import { tryPidLock } from '../core/pid-lock.ts';
import { inputError, ioError } from '../core/errors.ts';
import { parseJsonAs, type Schema } from '../core/schema.ts';

/** Takes `path` as an exclusive pid lock; a stale lock (dead owner) is taken over. */
export function takePidLock(path: string, what: string): () => void {
  let got;
  try {
    got = tryPidLock(path);
  } catch (e) {
    throw ioError('station.lock-failed', `Cannot lock ${what}: ${(e as Error).message}`, { path }, e);
  }
  if ('owner' in got) throw ioError('station.locked', `${what} is in use by another Unbrick process (pid ${got.owner}). Stop that station first.`, { path, pid: got.owner });
  return got.release;
}

export class Journal<R> {
  private fd: number;
  private readonly unlock: () => void;
  /** Records read at open, in order. */
  readonly records: R[];
  /** Bytes of a torn last line found (and cut off) at open. */
  readonly tornBytes: number;

  constructor(
    readonly path: string,
    /** Every line is parsed with it: a damaged or edited record is named by its line, never skipped. */
    schema: Schema<R>,
    what = 'the journal',
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.unlock = takePidLock(`${path}.lock`, what);
    try {
      const created = !existsSync(path);
      this.fd = openSync(path, 'a+', 0o600);
      if (created) fsyncDir(dirname(path));
      const text = readFileSync(path, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      this.tornBytes = Buffer.byteLength(text.slice(end));
      this.records = text
        .slice(0, end)
        .split('\n')
        .slice(0, -1)
        .map((line, i) => {
          try {
            return parseJsonAs(schema, line, { what: `line ${i + 1}` });
          } catch (e) {
            throw inputError('station.journal-damaged', `${what} is damaged at line ${i + 1} (${(e as Error).message}); keep the file (${path}) for support.`, {
              path,
              line: i + 1,
            });
          }
        });
      if (this.tornBytes > 0) {
        // An interrupted append: never acknowledged, so dropping it loses nothing.
        ftruncateSync(this.fd, Buffer.byteLength(text.slice(0, end)));
        fsyncSync(this.fd);
      }
    } catch (e) {
      this.unlock();
      throw e;
    }
  }

  /** Appends one record durably (one write, then fsync). */
  append(record: R): void {
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    const at = fstatSync(this.fd).size;
    const n = writeSync(this.fd, line);
    if (n !== line.length) {
      ftruncateSync(this.fd, at);
      throw ioError('station.journal-write', `Short write to ${this.path}; the disk may be full.`, { path: this.path });
    }
    fsyncSync(this.fd);
    this.records.push(record);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.unlock();
  }
}
