/**
 * File management group (8): upload and download in chunks, status,
 * hash/checksum, supported hash types, close.
 *
 * Zephyr's fs_mgmt (subsys/mgmt/mcumgr/grp/fs_mgmt, docs smp_group_8):
 * - upload (write id 0) `{off, data, name, len}` (`len` only with off 0; off 0
 *   truncates an existing file) -> `{off}`, the next offset. The file is
 *   closed once `off` reaches `len`. An `off` that does not match the file
 *   gives FILE_OFFSET_NOT_VALID (v2, with the file's `len`).
 * - download (read id 0) `{off, name}` -> `{off, data, len?}` (`len` only in
 *   the answer to off 0); chunks are as large as the device's buffer allows.
 * - status (read id 1) `{name}` -> `{len}`.
 * - hash/checksum (read id 2) `{name, type?, off?, len?}` ->
 *   `{type, off?, len, output}` (bstr for sha256, a number for crc32).
 * - supported types (read id 3) -> `{types: {name: {format, size}}}`.
 * - close (write id 4) -> `{}`.
 * A v1 device turns group errors into MGMT_ERR codes (fs_mgmt_translate_error_code:
 * FILE_NOT_FOUND and MOUNT_POINT_NOT_FOUND -> ENOENT, INVALID_NAME and
 * CHECKSUM_HASH_NOT_FOUND -> EINVAL, the rest EUNKNOWN). No group: ENOTSUP.
 */
import { sha256Hex } from '../../crypto/hash.ts';
import { deviceError, inputError, throwIfAborted, UnbrickError } from '../../core/errors.ts';
import { ProgressMeter, type ProgressListener } from '../../core/progress.ts';
import type { SmpClient } from '../client.ts';
import { encodeCbor, type CborValue } from '../cbor.ts';
import { answerError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import { GROUP, SMP_COMMANDS, smpRequest, type SmpCommandName } from '../messages.ts';
import { planUpload } from '../upload.ts';
import { LinkLearner } from '../link-learner.ts';

export const FS_GROUP = GROUP.fs;
/** CONFIG_MCUMGR_GRP_FS_PATH_LEN default. */
export const DEFAULT_PATH_LEN = 64;

export interface FileHash {
  type: string;
  off: number;
  len: number;
  /** Byte-string outputs (sha256) as hex; numeric ones (crc32) as a number. */
  output: string | number;
}

export interface HashType {
  /** 0: the output is a number, 1: a byte string. */
  format: number;
  size: number;
}

function checkPath(path: string): string {
  if (!path.startsWith('/') || path.length > DEFAULT_PATH_LEN || /\0/.test(path))
    throw inputError('smp.bad-file-path', `"${path}" is not a device file path: use an absolute path such as "/lfs1/unit.json" of at most ${DEFAULT_PATH_LEN} characters.`);
  return path;
}

// ---- pure codec ----------------------------------------------------------------

export function uploadRequest(path: string, off: number, data: Uint8Array, len?: number): CborValue {
  return { off, data, name: checkPath(path), ...(off === 0 ? { len: len ?? data.length } : {}) };
}

export function downloadRequest(path: string, off: number): CborValue {
  return { off, name: checkPath(path) };
}

export function hashRequest(path: string, o: { type?: string; off?: number; len?: number } = {}): CborValue {
  return { name: checkPath(path), ...(o.type ? { type: o.type } : {}), ...(o.off ? { off: o.off } : {}), ...(o.len !== undefined ? { len: o.len } : {}) };
}

export function parseUploadAnswer(body: Record<string, unknown>): { off: number } | undefined {
  return typeof body.off === 'number' ? { off: body.off } : undefined;
}

export function parseDownloadAnswer(body: Record<string, unknown>): { off: number; data: Uint8Array; len?: number } | undefined {
  if (typeof body.off !== 'number' || !(body.data instanceof Uint8Array)) return undefined;
  return { off: body.off, data: body.data, ...(typeof body.len === 'number' ? { len: body.len } : {}) };
}

export function parseHashAnswer(body: Record<string, unknown>): FileHash | undefined {
  if (typeof body.type !== 'string' || typeof body.len !== 'number') return undefined;
  const out = body.output;
  const output = out instanceof Uint8Array ? Buffer.from(out).toString('hex') : typeof out === 'number' ? out : undefined;
  if (output === undefined) return undefined;
  return { type: body.type, off: typeof body.off === 'number' ? body.off : 0, len: body.len, output };
}

export function parseHashTypes(body: Record<string, unknown>): Record<string, HashType> {
  const types = body.types && typeof body.types === 'object' ? (body.types as Record<string, unknown>) : {};
  const out: Record<string, HashType> = {};
  for (const [k, v] of Object.entries(types)) {
    const t = (v ?? {}) as Record<string, unknown>;
    if (typeof t.format === 'number' && typeof t.size === 'number') out[k] = { format: t.format, size: t.size };
  }
  return out;
}

/** The error in a file-system answer, with v1 translations read back in file terms. */
export function fsError(body: Record<string, unknown>, what: string, path?: string): UnbrickError | undefined {
  const err = answerError(body, what);
  if (!err) return undefined;
  if (err.code === 'smp.unsupported')
    return new UnbrickError('device', 'smp.unsupported', `This device does not support ${what}: its firmware has no file management group.`, { rc: 8, group: FS_GROUP });
  if (body.rc === 5 || err.code === 'smp.file-not-found')
    return new UnbrickError('device', 'smp.file-not-found', `${what} failed: the device has no file ${path ? `"${path}"` : 'there'} (or no file system mounted there).`, { rc: body.rc ?? err.details?.rc, group: FS_GROUP });
  if (typeof body.len === 'number') return new UnbrickError(err.kind, err.code, err.message, { ...err.details, len: body.len });
  return err;
}

// ---- client calls ---------------------------------------------------------------

async function fsCall(c: SmpClient, command: SmpCommandName, body: CborValue, path?: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const what = SMP_COMMANDS[command].what;
  const a = await c.call({ ...smpRequest(command), body, timeoutMs: 3000, ...(signal ? { signal } : {}) });
  const err = fsError(a.body, what, path);
  if (err) throw err;
  return a.body;
}

/** Most data bytes per upload request that fit a packet of `maxPacket` (header + CBOR). */
export function uploadChunkCapacity(maxPacket: number, path: string, off: number, len: number): number {
  const overhead = HEADER_SIZE + encodeCbor(uploadRequest(path, off, new Uint8Array(0), len)).length;
  let n = maxPacket - overhead;
  while (n > 0 && overhead + n + (n >= 65536 ? 4 : n >= 256 ? 2 : n >= 24 ? 1 : 0) > maxPacket) n--;
  return Math.max(0, n);
}

export interface FileUploadOptions {
  /** Largest SMP packet the device takes (default: from MCUmgr params, else a probe). */
  maxPacket?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Writes a whole file: chunk after chunk, each continuing from the `off` the
 * device answered. An offset mismatch (another writer, a device that lost
 * the open file) restarts from 0, once, which truncates the file.
 */
export async function uploadFile(c: SmpClient, path: string, bytes: Uint8Array, o: FileUploadOptions = {}): Promise<{ bytes: number; chunks: number }> {
  checkPath(path);
  const maxPacket = o.maxPacket ?? (await planUpload(c)).maxPacket;
  const meter = new ProgressMeter('Writing file', bytes.length, o.onProgress);
  // Same receive-side learning as image uploads: an unanswered chunk goes again, smaller or paced.
  const learner = new LinkLearner({ maxPacket, maxWindow: 1, wireMs: (b) => c.wireMs(b), dataFor: (p) => uploadChunkCapacity(p, path, 0, bytes.length) });
  let off = 0;
  let chunks = 0;
  let restarted = false;
  let silent = 0;
  do {
    throwIfAborted(o.signal);
    const f = learner.framing;
    const n = Math.min(bytes.length - off, uploadChunkCapacity(f.packet, path, off, bytes.length));
    if (n <= 0 && bytes.length > 0) throw deviceError('smp.file-path-too-long', `The path "${path}" leaves no room for data in the device's ${maxPacket}-byte requests.`);
    let answer: { off: number } | undefined;
    try {
      const a = await c.call({
        ...smpRequest('fileUpload'),
        body: uploadRequest(path, off, bytes.subarray(off, off + n), bytes.length),
        retries: 0,
        timeoutMs: learner.lossTimeoutMs(3000),
        lineGapMs: f.gapMs,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      learner.answered(a.latencyMs);
      silent = 0;
      const err = fsError(a.body, 'file upload', path);
      if (err) throw err;
      answer = parseUploadAnswer(a.body);
    } catch (e) {
      if (e instanceof UnbrickError && e.code === 'smp.timeout' && ++silent <= learner.framings.length + 3) {
        learner.lostFrame();
        continue;
      }
      if (e instanceof UnbrickError && e.code === 'smp.file-offset-mismatch' && !restarted && off > 0) {
        restarted = true;
        off = 0;
        continue;
      }
      throw e;
    }
    chunks++;
    if (!answer) throw deviceError('smp.bad-answer', `The device answered a file upload chunk of "${path}" without an offset.`);
    if (answer.off > bytes.length || (answer.off <= off && n > 0))
      throw deviceError('smp.file-offset-mismatch', `The device reports offset ${answer.off} while writing "${path}" (sent up to ${off + n} of ${bytes.length}); the file on the device is not what was sent.`);
    off = answer.off;
    meter.update(off);
  } while (off < bytes.length);
  return { bytes: bytes.length, chunks };
}

export async function downloadFile(c: SmpClient, path: string, o: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let off = 0;
  let len: number | undefined;
  for (;;) {
    throwIfAborted(o.signal);
    const b = await fsCall(c, 'fileDownload', downloadRequest(path, off), path, o.signal);
    const a = parseDownloadAnswer(b);
    if (!a || a.off !== off) throw deviceError('smp.bad-answer', `The device answered a download of "${path}" at offset ${off} with ${a ? `offset ${a.off}` : 'no data'}.`);
    if (off === 0) {
      if (a.len === undefined) throw deviceError('smp.bad-answer', `The device did not say how long "${path}" is.`);
      len = a.len;
      if (o.maxBytes !== undefined && len > o.maxBytes) throw deviceError('smp.file-too-large', `"${path}" holds ${len} bytes, more than the ${o.maxBytes} expected.`);
    }
    parts.push(a.data);
    off += a.data.length;
    if (off >= len! || a.data.length === 0) break;
  }
  const out = Buffer.concat(parts);
  if (out.length !== len) throw deviceError('smp.file-short', `"${path}" was announced as ${len} bytes but ${out.length} arrived.`);
  return new Uint8Array(out);
}

export async function fileStatus(c: SmpClient, path: string): Promise<{ len: number }> {
  const b = await fsCall(c, 'fileStatus', { name: checkPath(path) }, path);
  if (typeof b.len !== 'number') throw deviceError('smp.bad-answer', `The device answered the status of "${path}" without a length.`);
  return { len: b.len };
}

export async function fileHash(c: SmpClient, path: string, o: { type?: string; off?: number; len?: number } = {}): Promise<FileHash> {
  const b = await fsCall(c, 'fileHash', hashRequest(path, o), path);
  const h = parseHashAnswer(b);
  if (!h) throw deviceError('smp.bad-answer', `The device answered the hash of "${path}" in an unknown form.`);
  return h;
}

export async function hashTypes(c: SmpClient): Promise<Record<string, HashType>> {
  return parseHashTypes(await fsCall(c, 'fileHashTypes', {}));
}

/** Closes the file the device holds open for an upload or download (it then reaches storage). */
export async function closeFile(c: SmpClient): Promise<void> {
  await fsCall(c, 'fileClose', {});
}

/** Whether the firmware offers the file group: a status of `path` answers a length or "no such file" when it does. */
export async function hasFileSystem(c: SmpClient, path: string): Promise<boolean> {
  try {
    await fileStatus(c, path);
    return true;
  } catch (e) {
    if (e instanceof UnbrickError && e.code === 'smp.unsupported') return false;
    if (e instanceof UnbrickError && e.kind === 'device' && e.code !== 'smp.timeout') return true;
    throw e;
  }
}

/** SHA-256 (hex) of bytes, to compare with a device's `sha256` file hash. */
export { sha256Hex };

/** IEEE CRC-32 (zlib's), to compare with a device's `crc32` file checksum. */
export function crc32(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const x of b) {
    crc ^= x;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
