/**
 * Decoders a hostile file or device answer reaches directly: CBOR, SMP
 * frames, Intel HEX, .dfu files, MCUboot images, per-unit data (CSV/JSON),
 * bundle archives, and the DFU descriptors and status a USB device sends.
 */
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeCbor, decodeCborItem } from '../../../src/smp/cbor.ts';
import { decodeFrame, encodeFrame, FrameReader } from '../../../src/smp/frame.ts';
import { decodeHeader } from '../../../src/smp/header.ts';
import { parseImageList } from '../../../src/smp/groups/image.ts';
import { parseIntelHex, writeIntelHex } from '../../../src/formats/ihex.ts';
import { parseFirmware } from '../../../src/formats/firmware-file.ts';
import { buildDfuFile, parseDfuFile, parseMemoryLayout } from '../../../src/formats/dfuse/index.ts';
import { decodeImage, parseImage, verifyImage } from '../../../src/formats/mcuboot/index.ts';
import { readImageFile } from '../../../src/formats/mcuboot/input.ts';
import { loadKey, type ImageKey } from '../../../src/crypto/keys.ts';
import { parseEntries } from '../../../src/station/data-source.ts';
import { BundleArchive, METADATA_ENTRY } from '../../../src/formats/bundle/container.ts';
import { decodeEnvelope } from '../../../src/formats/bundle/dsse.ts';
import { parseCanonical } from '../../../src/formats/bundle/canonical-json.ts';
import { readMetadata } from '../../../src/formats/bundle/metadata.ts';
import { decodeFunctionalDescriptor, decodeStatus } from '../../../src/dfu/protocol.ts';
import { findFunctionalDescriptor } from '../../../src/dfu/session.ts';
import { fromHex } from '../../../src/core/bytes.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { encodeCbor } from '../../../src/smp/cbor.ts';
import type { FuzzTarget } from '../engine.ts';
import { randomBytes, Tape, type Rng } from '../mutate.ts';
import { genCborBytes, genMap } from '../cbor-gen.ts';

export const SHARED = resolve(import.meta.dirname, '../../../../shared');
const MCUBOOT = join(SHARED, 'vectors/mcuboot');
const te = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const tapeOf = (rnd: Rng) => new Tape(randomBytes(rnd, 512));

/** Every `cbor_hex` answer and request in the shared SMP transcripts. */
function transcriptCbor(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dir of ['smp-mcuboot-serial', 'smp-zephyr']) {
    const path = join(SHARED, 'vectors', dir);
    for (const f of readdirSync(path).filter((n) => n.endsWith('.json') && !n.startsWith('_'))) {
      JSON.stringify(JSON.parse(readFileSync(join(path, f), 'utf8')), (k, v: unknown) => {
        if (k === 'cbor_hex' && typeof v === 'string' && v.length < 4096) out.push(fromHex(v));
        return v;
      });
    }
  }
  return out;
}

let transcripts: Uint8Array[] | undefined;
const smpCorpus = () => (transcripts ??= transcriptCbor());

const cbor: FuzzTarget = {
  name: 'smp-cbor',
  weight: 14,
  corpus: smpCorpus,
  generate: (rnd) => genCborBytes(tapeOf(rnd)),
  run(input) {
    decodeCbor(input);
    decodeCborItem(input, { allowTrailing: true });
  },
};

const frames: FuzzTarget = {
  name: 'smp-frame',
  weight: 8,
  corpus: () => smpCorpus().map((c) => encodeFrame(Uint8Array.from([2, 0, 0, c.length & 0xff, 0, 1, 0, 0, ...c]))),
  generate(rnd) {
    const t = tapeOf(rnd);
    const body = genCborBytes(t);
    const hdr = Uint8Array.from([t.int(4), 0, body.length >> 8, body.length & 0xff, 0, t.int(70), t.byte(), t.int(10)]);
    return encodeFrame(Uint8Array.from([...hdr, ...body]), 4 * (1 + t.int(40)));
  },
  run(input) {
    // The same bytes as a whole frame, then fed in pieces to the stream reader (what the client does).
    try {
      decodeFrame(input);
    } finally {
      const r = new FrameReader((e) => {
        if (e.kind !== 'packet' || e.packet.length < 8) return;
        decodeHeader(e.packet);
        try {
          const v = decodeCbor(e.packet.subarray(8));
          if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) parseImageList(v as Record<string, unknown>);
        } catch (err) {
          if (!(err instanceof UnbrickError)) throw err;
        }
      });
      for (let i = 0; i < input.length; i += 1 + (input[i]! % 97)) r.push(input.subarray(i, i + 1 + (input[i]! % 97)));
    }
  },
};

/** The image-list parser on generated answers (the client's deepest SMP decoder after CBOR). */
const imageList: FuzzTarget = {
  name: 'smp-image-list',
  weight: 4,
  generate: (rnd) => encodeCbor(genMap(tapeOf(rnd))),
  run(input) {
    const v = decodeCbor(input);
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) parseImageList(v as Record<string, unknown>);
  },
};

const ihex: FuzzTarget = {
  name: 'intel-hex',
  weight: 6,
  corpus: () => [
    te.encode(writeIntelHex({ segments: [{ address: 0x08000000, data: randomBytes(() => 7, 300) }, { address: 0x0800ff00, data: Uint8Array.of(1, 2, 3) }], startAddress: 0x08000101 })),
    te.encode(writeIntelHex({ segments: [{ address: 0x1fff0, data: Uint8Array.from({ length: 64 }, (_, i) => i) }] }, 32)),
    ...readdirSync(join(MCUBOOT, 'images')).filter((f) => f.endsWith('.hex')).slice(0, 2).map((f) => new Uint8Array(readFileSync(join(MCUBOOT, 'images', f))).subarray(0, 4096)),
  ],
  run(input) {
    parseIntelHex(text(input));
    parseFirmware(input, 'hex');
  },
};

const dfuFile: FuzzTarget = {
  name: 'dfu-file',
  weight: 6,
  corpus: () => [
    buildDfuFile({ vendorId: 0x0483, productId: 0xdf11, deviceVersion: 0x2200, targets: [{ alternateSetting: 0, name: 'Internal Flash', elements: [{ address: 0x08000000, data: randomBytes(() => 9, 200) }, { address: 0x08004000, data: Uint8Array.of(1, 2, 3, 4) }] }] }),
    buildDfuFile({ vendorId: 0x0483, productId: 0xdf11, deviceVersion: 0x2200, targets: [{ alternateSetting: 1, name: 'Option Bytes', elements: [{ address: 0x1fffc000, data: Uint8Array.of(0xaa, 0xaa, 0xff, 0xff) }] }, { alternateSetting: 0, name: '', elements: [] }] }),
  ],
  run(input) {
    parseDfuFile(input);
    parseFirmware(input, 'dfu');
  },
};

let keys: ImageKey[] | undefined;
const mcubootCorpus = () =>
  readdirSync(join(MCUBOOT, 'images'))
    .filter((f) => (f.endsWith('.bin') || f.endsWith('.hex')) && !f.includes('200k'))
    .map((f) => readImageFile(new Uint8Array(readFileSync(join(MCUBOOT, 'images', f))), f).bytes);

const mcuboot: FuzzTarget = {
  name: 'mcuboot-image',
  weight: 10,
  corpus: mcubootCorpus,
  setup: async () => {
    keys = readdirSync(join(MCUBOOT, 'keys'))
      .filter((f) => f.endsWith('.pub.pem'))
      .map((f) => loadKey(readFileSync(join(MCUBOOT, 'keys', f), 'utf8'), f));
  },
  run(input) {
    decodeImage(input);
    verifyImage(input, { keys: keys ?? [] });
    parseImage(input);
  },
};

const dataFiles: FuzzTarget = {
  name: 'unit-data',
  weight: 6,
  corpus: () => [
    te.encode('serial,key,region\nSN-0001,00112233,eu\nSN-0002,"a,b",us\n"SN-0003","x""y",\n'),
    te.encode('id;serial\r\n1;A\r\n'),
    te.encode(JSON.stringify([{ serial: 'SN-1', key: 'abc' }, { serial: 'SN-2', key: 'def', extra: '1' }])),
    te.encode(JSON.stringify({ entries: [{ id: 'x', serial: 'y' }] })),
  ],
  generate(rnd) {
    const t = tapeOf(rnd);
    const rows = Array.from({ length: t.int(6) }, () => Array.from({ length: 1 + t.int(4) }, () => t.pick(['SN-1', '"q""uo"', '', '"a,\nb"', '0x10', 'é', text(t.take(t.int(8)))])).join(t.pick([',', ';', '\t'])));
    return te.encode(rows.join(t.pick(['\n', '\r\n', '\r'])));
  },
  run(input) {
    const s = new TextDecoder().decode(input);
    try {
      parseEntries('units.csv', s);
    } finally {
      parseEntries('units.json', s);
    }
  },
};

/** Descriptors and status blocks a (hostile) DFU device returns over USB. */
const dfuDescriptors: FuzzTarget = {
  name: 'dfu-descriptors',
  weight: 4,
  corpus: () => [
    Uint8Array.of(0, 0, 0, 2, 0, 0),
    Uint8Array.of(9, 0x21, 0x0b, 0xff, 0, 0, 8, 0x1a, 0x01),
    te.encode('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg'),
    te.encode('@Option Bytes  /0x1FFFC000/01*016 e'),
  ],
  run(input) {
    if (input.length >= 6) decodeStatus(input);
    decodeFunctionalDescriptor(input);
    findFunctionalDescriptor(input);
    parseMemoryLayout(text(input));
  },
};

/** One temporary directory per worker for the bundle files (BundleArchive reads from disk, as the app does). */
let bundleDir: string | undefined;
let bundleN = 0;

const bundle: FuzzTarget = {
  name: 'bundle-archive',
  weight: 2,
  concurrency: 8,
  timeoutMs: 10_000,
  corpus: () => bundleCorpus,
  setup: async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'unbrick-fuzz-bundle-'));
    bundleCorpus = await labBundles();
  },
  teardown: async () => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  },
  async run(input) {
    const path = join(bundleDir!, `b${bundleN++ % 64}.ubundle`);
    writeFileSync(path, input);
    const a = await BundleArchive.open(path);
    try {
      for (const name of a.entries.keys()) {
        const bytes = await a.read(name);
        if (name === METADATA_ENTRY) {
          const env = decodeEnvelope(bytes, 'metadata', 'bundle', 1 << 20);
          readMetadata(parseCanonical(env.payload, 'metadata', 'bundle.metadata-invalid'));
        }
      }
    } finally {
      a.close();
    }
  },
};

let bundleCorpus: Uint8Array[] = [];

/** The demo lab's signed bundles (golden and update), made once per worker. */
async function labBundles(): Promise<Uint8Array[]> {
  const { createLabLibraries } = await import('../../../src/sim/lab/vendor.ts');
  const libs = await createLabLibraries();
  try {
    const found: Uint8Array[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.ubundle')) found.push(new Uint8Array(readFileSync(join(d, e.name))));
      }
    };
    walk(libs.dir);
    return found;
  } finally {
    libs.close();
  }
}

export const FILE_TARGETS: FuzzTarget[] = [cbor, frames, imageList, ihex, dfuFile, mcuboot, dataFiles, dfuDescriptors, bundle];
