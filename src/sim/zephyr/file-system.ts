/**
 * A small file system in the simulated Zephyr application's flash and the
 * SMP file management group (8), after subsys/mgmt/mcumgr/grp/fs_mgmt/src/fs_mgmt.c
 * (upload, download, status, hash/checksum with crc32 and sha256, supported
 * types, close; one open file shared by uploads and downloads; error codes
 * and their v1 translation) over a LittleFS-like store:
 *
 * - One mount point (`/lfs1`, as in Zephyr's smp_svr fs overlay), flat: files
 *   directly under it. A path outside it: MOUNT_POINT_NOT_FOUND on upload,
 *   FILE_NOT_FOUND elsewhere.
 * - What is written to an open file reaches flash when the file is closed:
 *   the upload reached `len`, the client sent close, another file was opened,
 *   or the file sat idle for CONFIG_MCUMGR_GRP_FS_FILE_AUTOMATIC_IDLE_CLOSE_TIME
 *   (4 s). A reset before that loses it, as LittleFS would.
 * - Space is counted in 4 KiB blocks, two kept for metadata: a write that
 *   does not fit fails with FILE_WRITE_FAILED.
 * - Download chunks: CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE minus the worst-case
 *   header and CBOR (fs_mgmt_config.h: 47 bytes), 337 for a 384-byte buffer.
 */
import { digest } from '../../crypto/hash.ts';
import { crc32 } from 'node:zlib';
import type { NorFlash } from '../flash.ts';
import { eraseRange, type SlotArea } from '../smp/boot.ts';
import { bulk, zmap } from '../smp/request.ts';
import type { CborItem, CborValue } from '../../smp/cbor.ts';
import { requestFields, type SmpCommandName } from '../../smp/messages.ts';

/** The file commands (group 8) of src/smp/messages.ts. */
export type FileCommand = Extract<SmpCommandName, `file${string}`>;
import { MGMT, type GroupAnswer } from './group-answer.ts';
import { readStoredMap, storedMapRecord } from './stored-map.ts';

export interface FileSystemOptions {
  mount?: string;
  /** Size of the file-system partition. */
  size?: number;
  /** CONFIG_MCUMGR_GRP_FS_PATH_LEN. */
  pathLen?: number;
  idleCloseMs?: number;
}

export const FS_ERR = {
  UNKNOWN: 1,
  FILE_INVALID_NAME: 2,
  FILE_NOT_FOUND: 3,
  FILE_IS_DIRECTORY: 4,
  FILE_OPEN_FAILED: 5,
  FILE_SEEK_FAILED: 6,
  FILE_READ_FAILED: 7,
  FILE_TRUNCATE_FAILED: 8,
  FILE_DELETE_FAILED: 9,
  FILE_WRITE_FAILED: 10,
  FILE_OFFSET_NOT_VALID: 11,
  FILE_OFFSET_LARGER_THAN_FILE: 12,
  CHECKSUM_HASH_NOT_FOUND: 13,
  MOUNT_POINT_NOT_FOUND: 14,
  READ_ONLY_FILESYSTEM: 15,
  FILE_EMPTY: 16,
} as const;

/** fs_mgmt_translate_error_code. */
export function fsToV1(code: number): number {
  if (code === FS_ERR.FILE_INVALID_NAME || code === FS_ERR.CHECKSUM_HASH_NOT_FOUND) return MGMT.EINVAL;
  if (code === FS_ERR.FILE_NOT_FOUND || code === FS_ERR.MOUNT_POINT_NOT_FOUND) return MGMT.ENOENT;
  return MGMT.EUNKNOWN;
}

const BLOCK = 4096;
const MAGIC = 0x5346554c; // "LUFS": our own image format inside the partition
const U64_MAX = Number.MAX_SAFE_INTEGER;

interface OpenFile {
  state: 'upload' | 'download';
  path: string;
  off: number;
  len: number;
  /** The file's content as the open handle sees it (uploads: not yet in flash). */
  data: Uint8Array;
}

export class SimFileSystem {
  readonly mount: string;
  readonly pathLen: number;
  private files = new Map<string, Uint8Array>();
  private open: OpenFile | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleCloseMs: number;
  /** Flash time of the last close that wrote (added to the answer that caused it). */
  private pendingMs = 0;

  constructor(
    private readonly flash: NorFlash,
    readonly area: SlotArea,
    /** Largest download chunk (from the device's netbuf size). */
    private readonly dlChunk: number,
    o: FileSystemOptions = {},
  ) {
    this.mount = o.mount ?? '/lfs1';
    this.pathLen = o.pathLen ?? 64;
    this.idleCloseMs = o.idleCloseMs ?? 4000;
    this.mountFs();
  }

  /** Mounts: reads what flash holds. Open files and unwritten data are gone (a boot). */
  mountFs(): void {
    this.stopIdle();
    this.open = undefined;
    this.files = readStoredMap(this.flash, this.area, MAGIC);
  }

  /** Committed files (what survives a reset). */
  list(): Map<string, Uint8Array> {
    return new Map(this.files);
  }

  private blocksFor(files: Map<string, Uint8Array>): number {
    let n = 2;
    for (const v of files.values()) n += Math.max(1, Math.ceil(v.length / BLOCK));
    return n;
  }

  private commit(files: Map<string, Uint8Array>): number {
    const img = storedMapRecord(files, MAGIC);
    this.files = files;
    return eraseRange(this.flash, this.area.offset, img.length) + this.flash.program(this.area.offset, img);
  }

  /** fs_mgmt_cleanup(): closes the open file; an upload's data reaches flash. */
  private cleanup(): void {
    this.stopIdle();
    const o = this.open;
    this.open = undefined;
    if (o?.state !== 'upload') return;
    const next = new Map(this.files);
    next.set(o.path, o.data);
    this.pendingMs += this.commit(next);
  }

  private stopIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** fs_mgmt_upload_download_finish_check(). */
  private finishCheck(): void {
    const o = this.open!;
    if (o.len > 0 && o.off >= o.len) return this.cleanup();
    this.stopIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.cleanup();
      this.pendingMs = 0;
    }, this.idleCloseMs);
    this.idleTimer.unref?.();
  }

  /** Stops the idle timer (device shutting down). */
  dispose(): void {
    this.stopIdle();
  }

  private inMount(path: string): boolean {
    const rest = path.startsWith(`${this.mount}/`) ? path.slice(this.mount.length + 1) : undefined;
    return !!rest && !rest.includes('/');
  }

  /** fs_mgmt_filelen(): committed size, or the group error. */
  private fileLen(path: string): number | { err: number } {
    if (path === this.mount || path === `${this.mount}/`) return { err: FS_ERR.FILE_IS_DIRECTORY };
    const f = this.files.get(path);
    return f ? f.length : { err: FS_ERR.FILE_NOT_FOUND };
  }

  handle(command: FileCommand, body: CborItem | undefined): GroupAnswer {
    this.pendingMs = 0;
    let a: GroupAnswer;
    if (command === 'fileDownload') a = this.download(body);
    else if (command === 'fileUpload') a = this.upload(body);
    else if (command === 'fileStatus') a = this.status(body);
    else if (command === 'fileHash') a = this.hash(body);
    else if (command === 'fileHashTypes') a = { body: zmap([['types', zmap([['crc32', zmap([['format', 0], ['size', 4]])], ['sha256', zmap([['format', 1], ['size', 32]])]])]]) };
    else {
      this.cleanup();
      a = { body: zmap([]) };
    }
    if (a && 'body' in a) a.delayMs = (a.delayMs ?? 0) + this.pendingMs;
    if (a && 'err' in a) a.delayMs = (a.delayMs ?? 0) + this.pendingMs;
    return a;
  }

  private nameOk(name: string | undefined): name is string {
    return !!name && Buffer.byteLength(name) <= this.pathLen;
  }

  private upload(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('fileUpload'));
    if (!f || f.off === undefined || !this.nameOk(f.name) || (f.off === 0 && f.len === undefined)) return { rc: MGMT.EINVAL };
    const path = f.name;
    const data = f.data ?? new Uint8Array(0);
    if (this.open?.state !== 'upload' || this.open.path !== path) this.cleanup();
    if (!this.open) {
      // fs_open(FS_O_CREATE | FS_O_WRITE)
      if (!this.inMount(path)) return { err: FS_ERR.MOUNT_POINT_NOT_FOUND };
      this.open = { state: 'upload', path, off: 0, len: 0, data: Uint8Array.from(this.files.get(path) ?? []) };
    }
    const o = this.open;
    let existing = 0;
    if (f.off === 0) {
      o.len = f.len ?? U64_MAX;
      existing = o.data.length;
    } else if (o.off === 0) {
      const len = this.fileLen(path);
      if (typeof len !== 'number') {
        this.cleanup();
        return len;
      }
      o.off = len;
    }
    if (f.off > 0 && f.off !== o.off) {
      // The v2 answer also carries the file's current length (`len`).
      const at = o.off;
      this.cleanup();
      return { err: FS_ERR.FILE_OFFSET_NOT_VALID, extra: [['len', at]] };
    }
    if (data.length) {
      if (f.off === 0 && existing !== 0) o.data = new Uint8Array(0);
      const next = new Uint8Array(o.data.length + data.length);
      next.set(o.data);
      next.set(data, o.data.length);
      const others = new Map(this.files);
      others.set(path, next);
      if (this.blocksFor(others) > Math.floor(this.area.size / BLOCK)) {
        this.cleanup();
        return { err: FS_ERR.FILE_WRITE_FAILED };
      }
      o.data = next;
      o.off += data.length;
    }
    const off = o.off;
    this.finishCheck();
    return { body: zmap([['off', off]]) };
  }

  private download(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('fileDownload'));
    if (!f || f.off === undefined || !this.nameOk(f.name)) return { rc: MGMT.EINVAL };
    const path = f.name;
    if (this.open?.state !== 'download' || this.open.path !== path) this.cleanup();
    if (!this.open) {
      const len = this.fileLen(path);
      if (typeof len !== 'number') return len;
      this.open = { state: 'download', path, off: 0, len, data: this.files.get(path)! };
    }
    const o = this.open;
    o.off = f.off;
    const chunk = o.data.subarray(Math.min(o.off, o.data.length), Math.min(o.off + this.dlChunk, o.data.length));
    o.off += chunk.length;
    const entries: Array<[string, CborValue]> = [['off', f.off], ['data', Uint8Array.from(chunk)]];
    if (f.off === 0) entries.push(['len', o.len]);
    this.finishCheck();
    return { body: zmap(entries) };
  }

  private status(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('fileStatus'));
    if (!f || !this.nameOk(f.name)) return { rc: MGMT.EINVAL };
    const len = this.fileLen(f.name);
    if (typeof len !== 'number') return len;
    return { body: zmap([['len', len]]) };
  }

  private hash(body: CborItem | undefined): GroupAnswer {
    const f = bulk(body, requestFields('fileHash'));
    if (!f || !this.nameOk(f.name) || (f.type !== undefined && Buffer.byteLength(f.type) > 8) || f.len === 0) return { rc: MGMT.EINVAL };
    const type = f.type || 'crc32'; // the default when CRC32 is built in
    if (type !== 'crc32' && type !== 'sha256') return { err: FS_ERR.CHECKSUM_HASH_NOT_FOUND };
    const len = this.fileLen(f.name);
    if (typeof len !== 'number') return len;
    const off = f.off ?? 0;
    if (len <= off) return { err: len === 0 ? FS_ERR.FILE_EMPTY : FS_ERR.FILE_OFFSET_LARGER_THAN_FILE };
    const part = this.files.get(f.name)!.subarray(off, f.len === undefined ? undefined : off + f.len);
    const output: CborValue = type === 'crc32' ? crc32(part) : digest('sha256', part);
    return { body: zmap([['type', type], ...(off ? [['off', off] as [string, CborValue]] : []), ['len', part.length], ['output', output]]) };
  }
}
