/**
 * The bundle libraries kept in the data directory: `golden` recovery bundles
 * (what Recover and Full unbrick write) and `update` bundles (what Offline
 * update installs), found by id, by product, or by the hash a unit reports for
 * its slot. Each file is named by its SHA-256; every use re-hashes it (a
 * modified file is detected) and re-verifies it in full against the current
 * trust store (a key revoked since import takes effect at once). Imports verify
 * a private copy first and only then publish it, so a failed import writes
 * nothing.
 *
 * Layout: <dataDir>/<golden|updates>/index.json and <sha256>.ubundle beside it.
 */
import { hasher } from '../crypto/hash.ts';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { asUnbrickError, checkError, inputError, UnbrickError, usageError } from '../core/errors.ts';
import { arr, literal, num, obj, oneOf, opt, parseJsonAs, record, str } from '../core/schema.ts';
import { dataDir } from '../core/paths.ts';
import { fsyncDir, writeFileAtomic } from '../core/atomic-file.ts';
import { FLEET_SYSTEMS, productKey, type BundleMetadata, type Provenance } from '../formats/bundle/metadata.ts';
import { readPayloads } from '../formats/bundle/payloads.ts';
import { isoSeconds } from '../formats/bundle/schema.ts';
import { checkBundle, type CheckOptions, type CheckResult } from './check.ts';

export type LibraryKind = 'golden' | 'update';

export interface LibraryEntry {
  id: string;
  file: string;
  product: { vendorId: string; classId: string; name: string; hardwareRevisions: string[]; mcuProductId?: number };
  version: string;
  sequence: number;
  expires: string;
  payloads: { name: string; target: string; sha256: string; imageHash?: string; version?: string }[];
  importedAt: string;
  /** Copied from the signed metadata of an imported fleet release. */
  provenance?: Provenance;
}

interface IndexFile {
  format: 1;
  entries: LibraryEntry[];
}

const IndexSchema = obj({
  format: literal(1),
  entries: arr(
    obj({
      id: str({ max: 200 }),
      file: str({ max: 255, pattern: /^[^/\\]+$/ }),
      product: obj({ vendorId: str({ max: 64 }), classId: str({ max: 64 }), name: str({ max: 100 }), hardwareRevisions: arr(str({ max: 32 }), { max: 64 }), mcuProductId: opt(num({ int: true, min: 0, max: 0xffff })) }),
      version: str({ max: 64 }),
      sequence: num({ int: true, min: 0 }),
      expires: str({ max: 40 }),
      payloads: arr(obj({ name: str({ max: 100 }), target: str({ max: 100 }), sha256: str({ max: 64 }), imageHash: opt(str({ max: 128 })), version: opt(str({ max: 32 })) }), { max: 32 }),
      importedAt: str({ max: 40 }),
      provenance: opt(
        obj({
          system: oneOf(FLEET_SYSTEMS),
          identifiers: record(str({ max: 512 }), { max: 32 }),
          targets: arr(str({ max: 256 }), { max: 64 }),
          proof: obj({ method: oneOf(['mender-signature', 'aws-code-signing', 'hashes-only'] as const), algorithm: opt(str({ max: 64 })), fingerprint: opt(str({ max: 64 })), subject: opt(str({ max: 512 })) }),
        }),
      ),
    }),
    { max: 100_000 },
  ),
});

export interface EntryStatus {
  entry: LibraryEntry;
  ok: boolean;
  code?: string;
  message?: string;
}

const FOLDER: Record<LibraryKind, string> = { golden: 'golden', update: 'updates' };
const WHAT: Record<LibraryKind, string> = { golden: 'golden library', update: 'update library' };
export const libraryDir = (kind: LibraryKind, dir = dataDir()): string => join(dir, FOLDER[kind]);
export const goldenDir = (dir = dataDir()): string => libraryDir('golden', dir);

/** A library entry re-verified for use, with its payloads' bytes (each checked against its signed SHA-256). */
export interface LoadedBundle {
  entry: LibraryEntry;
  metadata: BundleMetadata;
  payloads: Map<string, Uint8Array>;
  check: CheckResult;
}

async function sha256File(path: string): Promise<string> {
  const h = hasher('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.hex();
}

export class BundleLibrary {
  readonly dir: string;
  private readonly opts: CheckOptions;

  constructor(
    readonly kind: LibraryKind,
    opts: CheckOptions = {},
  ) {
    this.opts = opts;
    this.dir = opts.dir ?? dataDir();
  }

  private get folder(): string {
    return libraryDir(this.kind, this.dir);
  }

  private readIndex(): IndexFile {
    const p = join(this.folder, 'index.json');
    if (!existsSync(p)) return { format: 1, entries: [] };
    try {
      return parseJsonAs(IndexSchema, readFileSync(p, 'utf8'), { what: p, code: 'golden.index-corrupt', maxChars: 64 << 20 });
    } catch (e) {
      throw inputError(
        'golden.index-corrupt',
        `The ${WHAT[this.kind]} index ${p} is damaged (${(e as Error).message}). Nothing was changed. To recover: move ${p} aside (keep it for support) and re-import the bundles in ${this.folder} with \`unbrick ${this.kind === 'golden' ? 'golden' : 'updates'} import\`.`,
        { path: p, ...(e instanceof UnbrickError && e.details ? { field: e.details.path } : {}) },
      );
    }
  }

  private writeIndex(f: IndexFile): void {
    writeFileAtomic(join(this.folder, 'index.json'), JSON.stringify(f, null, 2) + '\n');
  }

  entries(): LibraryEntry[] {
    return this.readIndex().entries;
  }

  async import(path: string): Promise<{ entry: LibraryEntry; check: CheckResult; alreadyPresent: boolean }> {
    const gdir = this.folder;
    const tmp = join(gdir, `.import.${process.pid}.${Date.now()}.tmp`);
    // Verify a private copy, so the bytes published are exactly the bytes verified.
    if (!existsSync(path)) throw inputError('golden.not-found', `No such bundle file: ${path}.`);
    mkdirSync(gdir, { recursive: true });
    copyFileSync(path, tmp);
    try {
      const check = await checkBundle(tmp, { ...this.opts, record: false });
      const md = check.report.metadata;
      if (md.kind !== this.kind)
        throw checkError(
          this.kind === 'golden' ? 'golden.not-golden' : 'golden.not-update',
          `This is a${md.kind === 'update' ? 'n' : ''} ${md.kind} bundle; only bundles signed as ${this.kind === 'golden' ? 'golden recovery' : 'update'} bundles go into the ${WHAT[this.kind]}.`,
        );
      const id = await sha256File(tmp);
      const index = this.readIndex();
      const existing = index.entries.find((e) => e.id === id);
      if (existing) {
        rmSync(tmp, { force: true });
        return { entry: existing, check, alreadyPresent: true };
      }
      const entry: LibraryEntry = {
        id,
        file: `${id}.ubundle`,
        product: {
          vendorId: md.product.vendorId,
          classId: md.product.classId,
          name: md.product.name,
          hardwareRevisions: md.product.hardwareRevisions,
          ...(md.product.mcuProductId !== undefined ? { mcuProductId: md.product.mcuProductId } : {}),
        },
        version: md.version,
        sequence: md.sequence,
        expires: md.expires,
        payloads: check.report.payloads.map((p) => ({
          name: p.name,
          target: p.target,
          sha256: p.sha256,
          ...(p.imageHash ? { imageHash: p.imageHash } : {}),
          ...(p.version ? { version: p.version } : {}),
        })),
        importedAt: isoSeconds(Date.now()),
        ...(md.provenance ? { provenance: md.provenance } : {}),
      };
      renameSync(tmp, join(gdir, entry.file));
      fsyncDir(gdir);
      index.entries.push(entry);
      this.writeIndex(index);
      return { entry, check, alreadyPresent: false };
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  find(idOrPrefix: string): LibraryEntry {
    const p = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(p)) throw usageError('golden.bad-id', 'Give a library entry id (its SHA-256) or a unique prefix of at least 6 hex digits.');
    const hits = this.entries().filter((e) => e.id.startsWith(p));
    if (hits.length !== 1) throw usageError('golden.not-found', hits.length ? `"${p}" matches ${hits.length} entries; give more digits.` : `No ${WHAT[this.kind]} entry starts with "${p}".`);
    return hits[0]!;
  }

  /** Re-hashes and fully re-verifies one entry; returns its file path when it is still good. */
  async use(entry: LibraryEntry): Promise<{ path: string; check: CheckResult }> {
    const path = join(this.folder, entry.file);
    if (!existsSync(path)) throw checkError('golden.file-missing', `The library file for ${entry.product.name} ${entry.version} is missing; re-import it.`, { id: entry.id });
    const actual = await sha256File(path);
    if (actual !== entry.id)
      throw checkError('golden.file-modified', `The library file for ${entry.product.name} ${entry.version} was modified after import (its SHA-256 changed). Do not use it; remove it and re-import the original bundle.`, {
        id: entry.id,
        sha256: actual,
      });
    const check = await checkBundle(path, { ...this.opts, record: false });
    if (check.report.metadata.kind !== this.kind || productKey(check.report.metadata.product) !== productKey(entry.product))
      throw checkError('golden.file-modified', 'The library file no longer matches its index entry.', { id: entry.id });
    return { path, check };
  }

  /** Raises this laptop's anti-rollback floor to the entry, re-verifying it (call once a unit runs it). */
  async recordInstalled(entry: LibraryEntry): Promise<void> {
    await checkBundle(join(this.folder, entry.file), { ...this.opts, record: true });
  }

  /** `use` plus the payload bytes, for writing them to a unit. */
  async load(entry: LibraryEntry): Promise<LoadedBundle> {
    const { path, check } = await this.use(entry);
    const payloads = await readPayloads(path, check.report.metadata);
    return { entry, metadata: check.report.metadata, payloads, check };
  }

  async status(entry: LibraryEntry): Promise<EntryStatus> {
    try {
      await this.use(entry);
      return { entry, ok: true };
    } catch (e) {
      const u = asUnbrickError(e);
      return { entry, ok: false, code: u.code, message: u.message };
    }
  }

  remove(idOrPrefix: string): LibraryEntry {
    const entry = this.find(idOrPrefix);
    const index = this.readIndex();
    index.entries = index.entries.filter((e) => e.id !== entry.id);
    this.writeIndex(index);
    rmSync(join(this.folder, entry.file), { force: true });
    return entry;
  }

  /** Entries holding a payload with this SHA-256 or MCUboot image hash, each re-verified. */
  async match(hashHex: string): Promise<{ entry: LibraryEntry; payload: LibraryEntry['payloads'][number]; status: EntryStatus }[]> {
    const h = hashHex.toLowerCase();
    if (!/^([0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$/.test(h)) throw usageError('golden.bad-hash', 'Give the image hash as 64, 96 or 128 hex digits (SHA-256/384/512).');
    const out = [];
    for (const entry of this.entries())
      for (const payload of entry.payloads)
        if (payload.sha256 === h || payload.imageHash === h) out.push({ entry, payload, status: await this.status(entry) });
    return out;
  }
}
