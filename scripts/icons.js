// Renders the app icon at every size the desktop targets need, from the one vector source build/icon.svg
// (resvg, offline): Linux hicolor PNGs (16..1024), a Windows .ico and a macOS .icns (both PNG-based).
// `node scripts/icons.js OUTDIR` writes OUTDIR/NxN.png, OUTDIR/icon.ico, OUTDIR/icon.icns.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const ICON_SOURCE = join(root, 'build', 'icon.svg');
export const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
// Windows shell sizes (the .ico holds each; 256 is stored as PNG, like the rest).
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
// macOS .icns element types (PNG payloads): ic11/ic12/ic13/ic14 are the @2x variants.
const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32],
  ['ic12', 64],
  ['ic13', 256],
  ['ic14', 512],
];

/** ICO: a directory of entries, each pointing at a PNG image (Windows Vista and later read PNG entries). */
function ico(pngs) {
  const header = Buffer.alloc(6 + 16 * pngs.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(pngs.length, 4);
  let offset = header.length;
  pngs.forEach(([size, png], i) => {
    const e = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, e); // 0 means 256
    header.writeUInt8(size >= 256 ? 0 : size, e + 1);
    header.writeUInt16LE(1, e + 4); // colour planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(png.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...pngs.map(([, png]) => png)]);
}

/** ICNS: 'icns' + total length, then (type, length incl. 8-byte header, PNG) elements, big-endian. */
function icns(elements) {
  const parts = elements.map(([type, png]) => {
    const h = Buffer.alloc(8);
    h.write(type, 0, 'ascii');
    h.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([h, png]);
  });
  const h = Buffer.alloc(8);
  h.write('icns', 0, 'ascii');
  h.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([h, ...parts]);
}

export async function renderIcons(outDir) {
  const { Resvg } = await import('@resvg/resvg-js');
  const svg = readFileSync(ICON_SOURCE);
  const png = new Map();
  for (const size of new Set([...LINUX_SIZES, ...ICO_SIZES, ...ICNS_TYPES.map(([, s]) => s)]))
    png.set(size, new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng());
  mkdirSync(outDir, { recursive: true });
  for (const size of LINUX_SIZES) writeFileSync(join(outDir, `${size}x${size}.png`), png.get(size));
  writeFileSync(join(outDir, 'icon.ico'), ico(ICO_SIZES.map((s) => [s, png.get(s)])));
  writeFileSync(join(outDir, 'icon.icns'), icns(ICNS_TYPES.map(([type, s]) => [type, png.get(s)])));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.argv[2]) {
    console.error('usage: node scripts/icons.js OUTDIR');
    process.exit(2);
  }
  await renderIcons(process.argv[2]);
}
