/**
 * The bundle's ZIP container, read with yauzl and written with yazl, both streaming.
 *
 * Layout (nothing else is allowed):
 *   metadata.dsse.json   DSSE envelope holding the signed metadata
 *   payloads/<name>      one entry per payload listed in the metadata
 *
 * Reading refuses before inflating anything: too many entries, names that are
 * not plain ASCII or that could escape a folder, duplicate names, central and
 * local headers that disagree on a name, encrypted entries, methods other than
 * stored/deflate, declared sizes over the limits and compression ratios that
 * only an archive bomb has. yauzl's validateEntrySizes then stops any entry
 * that inflates past its declared size while it streams.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { inputError, ioError, UnbrickError } from '../../core/errors.ts';

export const METADATA_ENTRY = 'metadata.dsse.json';
export const PAYLOAD_PREFIX = 'payloads/';
export const BUNDLE_EXTENSION = '.ubundle';

export const LIMITS = {
  /** Whole file. */
  maxFileBytes: 2 * 1024 ** 3,
  /** Metadata plus at most 32 payloads. */
  maxEntries: 33,
  maxMetadataBytes: 1024 * 1024,
  maxPayloadBytes: 1024 ** 3,
  maxTotalBytes: 2 * 1024 ** 3,
  /** Firmware barely compresses; a bomb compresses by thousands. Applies above `ratioFloorBytes`. */
  maxCompressionRatio: 50,
  ratioFloorBytes: 64 * 1024,
} as const;

const ENTRY_NAME = /^(metadata\.dsse\.json|payloads\/[A-Za-z0-9][A-Za-z0-9._-]{0,99})$/;
const INFOZIP_UNICODE_PATH = 0x7075;

export interface ContainerEntry {
  name: string;
  size: number;
  compressedSize: number;
  method: 'stored' | 'deflate';
  entry: yauzl.Entry;
}

const bad = (code: string, message: string, details?: Record<string, unknown>) => inputError(`bundle.${code}`, message, details);

function describeEntryName(raw: Buffer): string {
  return JSON.stringify(raw.toString('latin1')).slice(0, 120);
}

/** Checks one central-directory entry against the rules; returns its plain name. */
function checkEntry(e: yauzl.Entry): ContainerEntry {
  const raw = e.fileNameRaw;
  const shown = describeEntryName(raw);
  for (const b of raw) if (b < 0x20 || b > 0x7e) throw bad('bad-entry-name', `Entry name ${shown} contains characters outside plain ASCII; refusing the bundle.`);
  const name = raw.toString('latin1');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.split('/').some((p) => p === '..' || p === '.'))
    throw bad('path-traversal', `Entry name ${shown} tries to leave the bundle folder (absolute path, backslash or ".."); the file is malicious or broken.`, { entry: name });
  if (e.extraFields.some((f) => f.id === INFOZIP_UNICODE_PATH))
    throw bad('bad-entry-name', `Entry ${shown} carries a second (Unicode) name; refusing an ambiguous name.`, { entry: name });
  if (!ENTRY_NAME.test(name)) throw bad('unexpected-entry', `The bundle contains ${shown}, which is not part of the bundle format; refusing it.`, { entry: name });
  if (e.isEncrypted()) throw bad('encrypted-entry', `Entry ${shown} is encrypted; bundles are never encrypted.`, { entry: name });
  if (e.compressionMethod !== 0 && e.compressionMethod !== 8)
    throw bad('unsupported-compression', `Entry ${shown} uses compression method ${e.compressionMethod}; only stored and deflate are allowed.`, { entry: name });
  const limit = name === METADATA_ENTRY ? LIMITS.maxMetadataBytes : LIMITS.maxPayloadBytes;
  if (e.uncompressedSize > limit)
    throw bad('entry-too-large', `Entry ${shown} declares ${e.uncompressedSize} bytes, over the ${limit}-byte limit.`, { entry: name, size: e.uncompressedSize, limit });
  if (e.compressionMethod === 0 && e.compressedSize !== e.uncompressedSize)
    throw bad('corrupt-archive', `Entry ${shown} is stored but its sizes disagree; the archive is corrupt.`, { entry: name });
  if (e.uncompressedSize > LIMITS.ratioFloorBytes && e.uncompressedSize > e.compressedSize * LIMITS.maxCompressionRatio)
    throw bad('archive-bomb', `Entry ${shown} would inflate ${e.compressedSize} bytes to ${e.uncompressedSize} (over ${LIMITS.maxCompressionRatio}:1): an archive bomb; refusing it.`, {
      entry: name,
      compressedSize: e.compressedSize,
      size: e.uncompressedSize,
    });
  return { name, size: e.uncompressedSize, compressedSize: e.compressedSize, method: e.compressionMethod === 0 ? 'stored' : 'deflate', entry: e };
}

function zipError(err: unknown, path: string): UnbrickError {
  if (err instanceof UnbrickError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return ioError('bundle.not-found', `No such bundle file: ${path}.`);
  if (/too many bytes|not enough bytes|inflat|invalid (stored|distance|code|block)|unexpected end/i.test(msg))
    return bad('corrupt-archive', `The bundle's compressed data is corrupt or does not match its declared size (${msg}).`);
  return bad('corrupt-archive', `${path} is not a readable bundle archive (${msg}). It may be truncated or damaged; copy it again.`);
}

export class BundleArchive {
  readonly path: string;
  readonly fileSize: number;
  readonly entries: Map<string, ContainerEntry>;
  private readonly zip: yauzl.ZipFile;

  private constructor(path: string, fileSize: number, zip: yauzl.ZipFile, entries: Map<string, ContainerEntry>) {
    this.path = path;
    this.fileSize = fileSize;
    this.zip = zip;
    this.entries = entries;
  }

  static async open(path: string): Promise<BundleArchive> {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      throw zipError(e, path);
    }
    if (size > LIMITS.maxFileBytes) throw bad('too-large', `${path} is ${size} bytes, over the ${LIMITS.maxFileBytes}-byte bundle limit.`);
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
    } catch (e) {
      throw zipError(e, path);
    }
    try {
      if (zip.entryCount > LIMITS.maxEntries) throw bad('too-many-entries', `The bundle has ${zip.entryCount} entries; at most ${LIMITS.maxEntries} are allowed.`);
      const entries = new Map<string, ContainerEntry>();
      let total = 0;
      for await (const e of zip.eachEntry()) {
        // Zip tools often add the folder itself; an empty "payloads/" entry carries nothing and is skipped.
        if (e.fileNameRaw.toString('latin1') === PAYLOAD_PREFIX && e.uncompressedSize === 0) continue;
        const ce = checkEntry(e);
        if (entries.has(ce.name)) throw bad('duplicate-entry', `The bundle holds "${ce.name}" twice; a reader could see either copy, so it is refused.`, { entry: ce.name });
        total += ce.size;
        if (total > LIMITS.maxTotalBytes) throw bad('too-large', `The bundle's entries add up to more than ${LIMITS.maxTotalBytes} bytes.`);
        // The local header must name the same file as the central directory (no two-faced archives).
        const local = await zip.readLocalFileHeaderPromise(e);
        if (!Buffer.from(local.fileName).equals(e.fileNameRaw))
          throw bad('corrupt-archive', `Entry "${ce.name}" has a different name in its local header; refusing a two-faced archive.`, { entry: ce.name });
        entries.set(ce.name, ce);
      }
      return new BundleArchive(path, size, zip, entries);
    } catch (e) {
      zip.close();
      throw zipError(e, path);
    }
  }

  /** Opens a streaming reader of an entry's (inflated, size-checked) bytes. */
  async stream(name: string): Promise<Readable> {
    const ce = this.entries.get(name);
    if (!ce) throw bad('payload-missing', `The bundle has no entry "${name}".`, { entry: name });
    try {
      if (ce.method === 'stored' && ce.size > 0) {
        // Stored entries are read straight from the file in 1 MiB chunks: yauzl's reader hands out
        // 16 KiB chunks, which made hashing a 64 MiB bundle several times slower than SHA-256 itself.
        // The byte range is exact (sizes checked equal above); the CRC is not needed because every
        // payload's SHA-256 is checked against the signed metadata.
        const { fileDataStart } = await this.zip.readLocalFileHeaderPromise(ce.entry, { minimal: true });
        if (fileDataStart + ce.size > this.fileSize) throw bad('corrupt-archive', `Entry "${name}" runs past the end of the file; the bundle is truncated.`, { entry: name });
        return createReadStream(this.path, { start: fileDataStart, end: fileDataStart + ce.size - 1, highWaterMark: 1024 * 1024 });
      }
      return await this.zip.openReadStreamPromise(ce.entry);
    } catch (e) {
      throw zipError(e, this.path);
    }
  }

  /** Reads a small entry whole (bounded by its checked declared size). */
  async read(name: string): Promise<Uint8Array> {
    const s = await this.stream(name);
    const chunks: Buffer[] = [];
    try {
      for await (const c of s) chunks.push(c as Buffer);
    } catch (e) {
      throw zipError(e, this.path);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  close(): void {
    this.zip.close();
  }
}

export interface ContainerInput {
  metadataEnvelope: Uint8Array;
  payloads: { name: string; path: string; compress: boolean }[];
}

/** Writes a bundle archive to `out` (a stream); resolves when all bytes are written. */
export function writeContainer(input: ContainerInput, out: NodeJS.WritableStream): Promise<void> {
  const zip = new yazl.ZipFile();
  // A fixed timestamp keeps bundles byte-for-byte reproducible from the same inputs.
  const mtime = new Date('2000-01-01T00:00:00Z');
  zip.addBuffer(Buffer.from(input.metadataEnvelope), METADATA_ENTRY, { mtime, compress: false });
  for (const p of input.payloads) zip.addReadStream(createReadStream(p.path), PAYLOAD_PREFIX + p.name, { mtime, compress: p.compress });
  return new Promise((resolve, reject) => {
    zip.outputStream.on('error', reject);
    out.on('error', reject);
    out.on('finish', () => resolve());
    zip.outputStream.pipe(out);
    zip.end();
  });
}
