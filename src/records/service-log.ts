/**
 * The tamper-evident service log (format: docs/service-log.md).
 *
 * Append-only JSON lines; each entry carries the SHA-256 of the previous one
 * (`prev`) and its own (`hash`, over the canonical JSON of the entry without
 * `hash`). Every append is one write() followed by fsync, under a lock file so
 * the CLI and the app can share one log. A head file (written atomically after
 * each append) remembers the last sequence number and hash, so removing
 * entries from the end is detected too.
 *
 * A kill during an append can leave a torn last line (no newline). The next
 * writer moves the fragment to a side file, truncates the log back to its last
 * whole line and records a `log.recovered` entry: no earlier entry is lost,
 * and the event itself is on the record.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../crypto/hash.ts';
import { writeFileAtomic, fsyncDir } from '../core/atomic-file.ts';
import { inputError, ioError } from '../core/errors.ts';
import { tryPidLock } from '../core/pid-lock.ts';
import { anyOf, arr, json, num, obj, oneOf, opt, parseJsonAs, record, refine, str, type Json } from '../core/schema.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import type { UnitIdentity } from './unit-identity.ts';

export const LOG_FORMAT_VERSION = 1;
export const GENESIS = '0'.repeat(64);
/** Bounds one entry, so a reader can find the last line by reading a bounded tail. */
export const MAX_ENTRY_BYTES = 256 * 1024;

export type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'refused' | 'info';

export type { UnitIdentity };

export interface EntryInput {
  unit: UnitIdentity;
  action: string;
  operator: string;
  outcome: Outcome;
  summary: string;
  /** Hashes of every input file or image used (bundle, golden image). */
  inputs?: { name: string; sha256: string; size?: number }[];
  details?: { [key: string]: Json };
}

export interface ServiceEntry extends EntryInput {
  v: number;
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

export interface ChainProblem {
  /** 1-based line number in the file. */
  line: number;
  code: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  entries: ServiceEntry[];
  head: string;
  problems: ChainProblem[];
}

export function entryHash(entry: Omit<ServiceEntry, 'hash'> & { hash?: string }): string {
  const { hash: _omit, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

const headPath = (logPath: string) => `${logPath}.head`;
const lockPath = (logPath: string) => `${logPath}.lock`;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` holding the log's lock, waiting up to `timeoutMs` for another writer to finish. */
function withLock<T>(logPath: string, timeoutMs: number, fn: () => T): T {
  const path = lockPath(logPath);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let got;
    try {
      got = tryPidLock(path);
    } catch (e) {
      throw ioError('records.lock-failed', `Cannot lock the service log: ${(e as Error).message}`, { path }, e);
    }
    if ('release' in got) {
      try {
        return fn();
      } finally {
        got.release();
      }
    }
    if (Date.now() > deadline)
      throw ioError('records.locked', `The service log is locked by another Unbrick process (pid ${got.owner}). Wait for it to finish, then try again.`, { path });
    sleepSync(20);
  }
}

/** Reads the bytes after the last newline and the last whole line, from the end of the file. */
function readTail(fd: number, size: number): { lastLine: string | undefined; wholeEnd: number; torn: Uint8Array } {
  const span = Math.min(size, 2 * MAX_ENTRY_BYTES + 2);
  const buf = Buffer.alloc(span);
  readSync(fd, buf, 0, span, size - span);
  const lastNl = buf.lastIndexOf(0x0a);
  if (lastNl < 0) {
    if (span < size) throw inputError('records.unreadable', 'The service log ends in a line longer than any entry can be; it is damaged.');
    return { lastLine: undefined, wholeEnd: 0, torn: buf };
  }
  const torn = buf.subarray(lastNl + 1);
  const prevNl = buf.lastIndexOf(0x0a, lastNl - 1);
  const lastLine = buf.subarray(prevNl + 1, lastNl).toString('utf8');
  return { lastLine, wholeEnd: size - span + lastNl + 1, torn };
}

export interface AppendOptions {
  /** Test hook: write only this many bytes of the line, fsync, then call `afterPartialWrite` (which should kill the process: a crash mid-write). */
  partialWrite?: { bytes: number; afterPartialWrite: () => void };
  now?: () => Date;
}

export class ServiceLog {
  private readonly listeners = new Set<(e: ServiceEntry) => void>();

  constructor(
    readonly path: string,
    /** How long an append waits for another process's lock before giving up. */
    private readonly lockTimeoutMs = 10_000,
  ) {}

  static inDir(dir: string): ServiceLog {
    return new ServiceLog(join(dir, 'records', 'service-log.jsonl'));
  }

  onAppend(listener: (e: ServiceEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Appends one entry durably; returns it with its sequence number and hash. */
  append(input: EntryInput, opts: AppendOptions = {}): ServiceEntry {
    mkdirSync(dirname(this.path), { recursive: true });
    const created = !existsSync(this.path);
    const written: ServiceEntry[] = [];
    const entry = withLock(this.path, this.lockTimeoutMs, () => {
      const fd = openSync(this.path, 'a+', 0o600);
      try {
        if (created) fsyncDir(dirname(this.path));
        let { prev, seq } = this.recoverTail(fd, opts, written);
        const now = opts.now ?? (() => new Date());
        const write = (e: EntryInput, partial?: AppendOptions['partialWrite']): ServiceEntry => {
          const full = this.seal(e, seq, prev, now());
          const line = Buffer.from(canonicalJson(full) + '\n', 'utf8');
          if (line.length > MAX_ENTRY_BYTES) throw inputError('records.entry-too-large', `A service-log entry may be at most ${MAX_ENTRY_BYTES} bytes; this one is ${line.length}.`);
          if (partial) {
            writeSync(fd, line, 0, Math.min(partial.bytes, line.length - 1));
            fsyncSync(fd);
            partial.afterPartialWrite();
            throw ioError('records.simulated-crash', 'Simulated crash during append (test hook).');
          }
          writeSync(fd, line);
          fsyncSync(fd);
          prev = full.hash;
          seq++;
          written.push(full);
          return full;
        };
        const appended = write(input, opts.partialWrite);
        writeFileAtomic(headPath(this.path), JSON.stringify({ seq: appended.seq, hash: appended.hash }) + '\n');
        return appended;
      } finally {
        closeSync(fd);
      }
    });
    for (const e of written) for (const l of this.listeners) l(e);
    return entry;
  }

  private seal(input: EntryInput, seq: number, prev: string, time: Date): ServiceEntry {
    const body = { ...input, v: LOG_FORMAT_VERSION, seq, time: time.toISOString(), prev };
    // Round-trip through JSON so what is hashed is exactly what a reader parses back.
    const plain = JSON.parse(JSON.stringify(body)) as Omit<ServiceEntry, 'hash'>;
    return { ...plain, hash: entryHash(plain) };
  }

  /** Finds where the chain continues; repairs a torn last line (see the file comment). */
  private recoverTail(fd: number, opts: AppendOptions, written: ServiceEntry[]): { prev: string; seq: number } {
    const size = fstatSync(fd).size;
    if (size === 0) return { prev: GENESIS, seq: 0 };
    const tail = readTail(fd, size);
    let last: ServiceEntry | undefined;
    if (tail.lastLine !== undefined) {
      try {
        last = JSON.parse(tail.lastLine) as ServiceEntry;
      } catch {
        throw inputError('records.damaged', 'The last whole entry of the service log cannot be read; the log is damaged. Run `unbrick records verify` and keep the file for support.', {
          path: this.path,
        });
      }
      if (typeof last.hash !== 'string' || !Number.isSafeInteger(last.seq))
        throw inputError('records.damaged', 'The last entry of the service log has no hash or sequence number; the log is damaged.', { path: this.path });
    }
    let prev = last ? last.hash : GENESIS;
    let seq = last ? last.seq + 1 : 0;
    if (tail.torn.length > 0) {
      // Keep the fragment for forensics, cut the log back to its last whole line.
      const side = `${this.path}.torn-${Date.now()}`;
      writeFileSync(side, tail.torn, { mode: 0o600 });
      ftruncateSync(fd, tail.wholeEnd);
      fsyncSync(fd);
      const note = this.seal(
        {
          unit: { id: '-' },
          action: 'log.recovered',
          operator: 'unbrick',
          outcome: 'info',
          summary: `An interrupted append was found (${tail.torn.length} bytes without a line end) and set aside; earlier entries are intact.`,
          details: { tornBytes: tail.torn.length, tornSha256: sha256Hex(tail.torn), savedAs: side },
        },
        seq,
        prev,
        (opts.now ?? (() => new Date()))(),
      );
      writeSync(fd, Buffer.from(canonicalJson(note) + '\n', 'utf8'));
      fsyncSync(fd);
      written.push(note);
      prev = note.hash;
      seq++;
    }
    return { prev, seq };
  }

  /** Reads and checks the whole log: every hash, every link, the order, and the head. */
  verify(): VerifyResult {
    if (!existsSync(this.path)) return { ok: true, entries: [], head: GENESIS, problems: [] };
    return verifyLogText(readFileSync(this.path, 'utf8'), readHead(this.path));
  }
}

const HeadSchema = obj({ seq: num({ int: true, min: 0 }), hash: str({ max: 64 }) });
const text = (max: number) => str({ max });
/** One log line, strictly: a field this version does not know is reported, not skipped. */
const EntrySchema = obj({
  // A fact is text, or a list of texts (imageHashes); see UnitIdentity.
  unit: refine(record(anyOf(text(4096), arr(text(4096), { max: 64 })), { max: 64 }), (u) => (typeof u.id === 'string' ? undefined : 'a unit identity with an "id"')),
  action: text(200),
  operator: text(400),
  outcome: oneOf(['succeeded', 'failed', 'cancelled', 'refused', 'info'] as const),
  summary: text(MAX_ENTRY_BYTES),
  inputs: opt(arr(obj({ name: text(4096), sha256: text(128), size: opt(num({ int: true, min: 0 })) }), { max: 1000 })),
  details: opt(record(json(), { max: 1000 })),
  v: num({ int: true, min: 1 }),
  seq: num({ int: true, min: 0 }),
  time: text(40),
  prev: text(64),
  hash: text(64),
});

/** Parses one log line strictly (throws an UnbrickError naming `what` and the field). */
export function parseLogEntry(line: string, what: string): ServiceEntry {
  // The refinement above checked unit.id, which the inferred type cannot express.
  return parseJsonAs(EntrySchema, line, { what, maxChars: MAX_ENTRY_BYTES }) as ServiceEntry;
}

function readHead(logPath: string): { seq: number; hash: string } | undefined {
  try {
    return parseJsonAs(HeadSchema, readFileSync(headPath(logPath), 'utf8'), { what: headPath(logPath) });
  } catch {
    /* no head yet (empty log) or unreadable: reported below when entries exist */
  }
  return undefined;
}

/** Verifies log text (and the head record when given). Pure: used by `verify` and by tests. */
export function verifyLogText(text: string, head?: { seq: number; hash: string }): VerifyResult {
  const problems: ChainProblem[] = [];
  const entries: ServiceEntry[] = [];
  const lines = text.split('\n');
  const tornTail = lines.pop() ?? '';
  if (tornTail.length > 0)
    problems.push({ line: lines.length + 1, code: 'log.torn-tail', message: `The last line is incomplete (${tornTail.length} characters): an append was interrupted. The next append sets it aside.` });
  let prevHash = GENESIS;
  let expectSeq = 0;
  lines.forEach((raw, i) => {
    const line = i + 1;
    let e: ServiceEntry;
    try {
      e = parseLogEntry(raw, `line ${line}`);
    } catch (err) {
      problems.push({ line, code: 'log.unreadable-entry', message: `Line ${line} is not a service-log entry (${(err as Error).message}).` });
      prevHash = '';
      expectSeq++;
      return;
    }
    if (entryHash(e) !== e.hash) problems.push({ line, code: 'log.entry-edited', message: `Entry ${e.seq} (line ${line}) was changed after it was written: its hash does not match its content.` });
    if (e.seq !== expectSeq) {
      const code = e.seq > expectSeq ? 'log.entry-missing' : 'log.entry-reordered';
      const message =
        e.seq > expectSeq
          ? `Entries ${expectSeq}..${e.seq - 1} are missing before line ${line}.`
          : `Entry ${e.seq} appears at line ${line}, after entry ${expectSeq - 1}: entries were reordered or duplicated.`;
      problems.push({ line, code, message });
    }
    if (e.prev !== prevHash) problems.push({ line, code: 'log.chain-broken', message: `Entry ${e.seq} (line ${line}) does not follow the entry before it: an entry was removed, inserted or moved.` });
    entries.push(e);
    prevHash = e.hash;
    expectSeq = e.seq + 1;
  });
  const last = entries.at(-1);
  if (head) {
    const at = entries.find((e) => e.seq === head.seq);
    if (!at)
      problems.push({ line: lines.length, code: 'log.entries-removed-at-end', message: `The log ends before entry ${head.seq}, which was written: entries were removed from the end.` });
    else if (at.hash !== head.hash) problems.push({ line: entries.indexOf(at) + 1, code: 'log.head-mismatch', message: `Entry ${head.seq} is not the entry that was written with that number.` });
  } else if (entries.length > 0) {
    problems.push({ line: 0, code: 'log.head-missing', message: 'The head record beside the log is missing: removal of entries from the end cannot be ruled out.' });
  }
  return { ok: problems.every((p) => p.code === 'log.torn-tail'), entries, head: last ? last.hash : GENESIS, problems };
}
