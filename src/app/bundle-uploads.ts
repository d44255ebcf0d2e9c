/**
 * Bundles handed to the app by its UI: the file arrives in chunks over the
 * contract (a browser in server mode and the Electron renderer alike), is
 * written to a private temporary file, then verified and imported into the
 * golden or update library its signed metadata names. Nothing reaches a
 * library unverified; a failed or abandoned upload leaves nothing behind.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { checkError, usageError } from '../core/errors.ts';
import { LIMITS } from '../formats/bundle/container.ts';
import { checkBundle } from '../trust/check.ts';
import { BundleLibrary, type LibraryEntry, type LibraryKind } from '../trust/library.ts';

interface Upload {
  path: string;
  fd: number;
  size: number;
  received: number;
  filename: string;
}

/** Chunks larger than this are refused (they travel inside one contract message, base64-encoded). */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

export class BundleUploads {
  private readonly uploads = new Map<string, Upload>();
  private readonly dir: string;

  constructor(private readonly dataDir: string) {
    this.dir = join(dataDir, 'uploads');
  }

  begin(filename: string, size: number): string {
    if (size <= 0 || size > LIMITS.maxFileBytes) throw usageError('upload.size', `A bundle must be between 1 byte and ${LIMITS.maxFileBytes / 1024 ** 3} GiB; this one is ${size} bytes.`);
    mkdirSync(this.dir, { recursive: true });
    const id = randomUUID();
    const path = join(this.dir, `${id}.ubundle.part`);
    this.uploads.set(id, { path, fd: openSync(path, 'wx', 0o600), size, received: 0, filename });
    return id;
  }

  chunk(id: string, offset: number, data: Uint8Array): number {
    const u = this.get(id);
    if (offset !== u.received) throw usageError('upload.offset', `Expected the chunk at byte ${u.received}, got one at ${offset}. Start the upload again.`);
    if (data.length > UPLOAD_CHUNK_BYTES || u.received + data.length > u.size) {
      this.abort(id);
      throw usageError('upload.too-long', `More bytes arrived than the ${u.size} announced for ${u.filename}; the upload was dropped.`);
    }
    writeSync(u.fd, data);
    u.received += data.length;
    return u.received;
  }

  /** Verifies the file and imports it into the library its metadata names. */
  async end(id: string, signal?: AbortSignal): Promise<{ kind: LibraryKind; entry: LibraryEntry; alreadyPresent: boolean }> {
    const u = this.get(id);
    this.uploads.delete(id);
    closeSync(u.fd);
    try {
      if (u.received !== u.size) throw usageError('upload.short', `Only ${u.received} of ${u.size} bytes of ${u.filename} arrived. Add it again.`);
      // Verified once to learn its kind, and again by the import itself (which copies what it verifies).
      const kind = (await checkBundle(u.path, { dir: this.dataDir, ...(signal ? { signal } : {}) })).report.metadata.kind;
      if (kind === 'provisioning') throw checkError('upload.provisioning', `${u.filename} is a provisioning bundle: run it on the Station tab (or \`unbrick station run --bundle\`); it does not go into a library.`);
      const r = await new BundleLibrary(kind, { dir: this.dataDir, ...(signal ? { signal } : {}) }).import(u.path);
      return { kind, entry: r.entry, alreadyPresent: r.alreadyPresent };
    } finally {
      rmSync(u.path, { force: true });
    }
  }

  abort(id: string): void {
    const u = this.uploads.get(id);
    if (!u) return;
    this.uploads.delete(id);
    closeSync(u.fd);
    rmSync(u.path, { force: true });
  }

  close(): void {
    for (const id of [...this.uploads.keys()]) this.abort(id);
  }

  private get(id: string): Upload {
    const u = this.uploads.get(id);
    if (!u) throw usageError('upload.unknown', 'No such upload in progress (it finished, failed or the app restarted). Add the bundle again.');
    return u;
  }
}
