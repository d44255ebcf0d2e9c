/**
 * A small, bounded reader for the tar archives fleet releases are packed in
 * (a Mender artifact is a tar holding gzip-compressed tars). POSIX ustar
 * headers (POSIX.1-2001 `pax` extended headers for long names and sizes, and
 * GNU `L` long names, both of which Go's archive/tar writes) are read from
 * bytes in memory; every header checksum is checked and every size bounded,
 * so a damaged or hostile file is refused with a typed error, never a crash.
 */
import { gunzipSync } from 'node:zlib';
import { inputError } from '../../core/errors.ts';

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

const BLOCK = 512;
const MAX_ENTRIES = 4096;

const text = (b: Uint8Array, from: number, len: number): string => {
  const s = b.subarray(from, from + len);
  const end = s.indexOf(0);
  return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
};

function octal(b: Uint8Array, from: number, len: number, what: string, code: string): number {
  // GNU base-256 for sizes over 8 GiB: far beyond any firmware release; refused.
  if (b[from]! & 0x80) throw inputError(code, `${what}: a tar size in base-256 form is larger than any release this reader accepts.`);
  const s = text(b, from, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw inputError(code, `${what}: a tar header holds "${s.slice(0, 20)}" where an octal number belongs; the archive is damaged.`);
  return parseInt(s, 8);
}

/** PAX records: "<len> <key>=<value>\n" (POSIX.1-2001, pax "Extended Header"). */
function paxRecords(data: Uint8Array, what: string, code: string): Map<string, string> {
  const out = new Map<string, string>();
  const s = new TextDecoder().decode(data);
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    const len = sp > i ? Number(s.slice(i, sp)) : NaN;
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > s.length) throw inputError(code, `${what}: a pax extended header is malformed.`);
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * Regular files of a tar archive, in order. Directories are skipped; links,
 * devices and anything else are refused (a release has no use for them).
 */
export function readTar(bytes: Uint8Array, opts: { what: string; code: string; maxBytes?: number }): TarEntry[] {
  const { what, code } = opts;
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  while (off + BLOCK <= bytes.length) {
    const h = bytes.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) return entries; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== octal(h, 148, 8, what, code)) throw inputError(code, `${what}: a tar header at byte ${off} fails its checksum; the archive is damaged or not a tar file.`, { offset: off });
    let size = octal(h, 124, 12, what, code);
    if (pax?.has('size')) size = Number(pax.get('size'));
    const type = String.fromCharCode(h[156]!);
    const magic = text(h, 257, 6);
    const prefix = magic.startsWith('ustar') ? text(h, 345, 155) : '';
    let name = longName ?? pax?.get('path') ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const start = off + BLOCK;
    if (!Number.isSafeInteger(size) || size < 0 || start + size > bytes.length)
      throw inputError(code, `${what}: the tar entry "${name.slice(0, 80)}" claims ${size} bytes; the archive is truncated.`, { entry: name });
    if (opts.maxBytes !== undefined && size > opts.maxBytes) throw inputError(code, `${what}: the tar entry "${name.slice(0, 80)}" is larger than ${opts.maxBytes} bytes.`, { entry: name });
    const data = bytes.subarray(start, start + size);
    off = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      pax = paxRecords(data, what, code);
      continue;
    }
    if (type === 'g') continue; // global pax header: nothing a release needs
    longName = undefined;
    pax = undefined;
    name = name.replace(/^\.\//, '');
    if (type === '5') continue;
    if (type !== '0' && type !== '\0' && type !== '7')
      throw inputError(code, `${what}: the tar entry "${name.slice(0, 80)}" is a link or special file (type ${JSON.stringify(type)}); a release holds only files.`, { entry: name });
    if (name === '' || name.startsWith('/') || name.split('/').includes('..')) throw inputError(code, `${what}: the tar entry "${name.slice(0, 80)}" has an unsafe name.`, { entry: name });
    if (entries.length >= MAX_ENTRIES) throw inputError(code, `${what}: more than ${MAX_ENTRIES} entries.`);
    entries.push({ name, data });
  }
  if (off === 0 && bytes.length === 0) throw inputError(code, `${what}: the file is empty.`);
  return entries;
}

/** gzip, bounded: a small file may not inflate beyond `maxBytes`. */
export function gunzip(bytes: Uint8Array, opts: { what: string; code: string; maxBytes: number }): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: opts.maxBytes }));
  } catch (e) {
    throw inputError(opts.code, `${opts.what}: not readable gzip data (${(e as Error).message}).`);
  }
}
