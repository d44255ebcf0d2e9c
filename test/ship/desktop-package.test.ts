/**
 * `npm run package` as CI can run it: the unpacked Linux app (electron-builder's dir target) built from dist/
 * against the stand-in Electron folder (scripts/package.js --stand-in), then opened and checked: the app
 * archive holds the built app and production dependencies only, native modules unpacked, the udev rules are
 * `unbrick udev-rules`' output, the desktop entry and every icon size are there, and the stand-in says what it is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFile, listPackage } from '@electron/asar';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'unbrick-package-'));
const app = join(out, 'linux-unpacked');
const asar = join(app, 'resources', 'app.asar');
let files: string[] = [];

before(() => {
  // --no-build: package dist/ as scripts/run-tests.js left it (other tests serve it meanwhile).
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--dir', '--stand-in', '--no-build', '--out', out], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /stand-in Electron folder/);
  files = listPackage(asar, { isPack: false }).map((f) => f.replaceAll('\\', '/'));
});

after(() => rmSync(out, { recursive: true, force: true }));

test('the app archive: the built app and its production dependencies, nothing else', () => {
  for (const f of ['/package.json', '/dist/electron/main.js', '/dist/electron/preload.cjs', '/dist/renderer/index.html', '/node_modules/serialport/package.json', '/node_modules/pg/package.json'])
    assert.ok(files.includes(f), `${f} is in app.asar`);
  const tops = new Set(files.map((f) => f.split('/')[1]));
  assert.deepEqual([...tops].sort(), ['dist', 'node_modules', 'package.json']);
  const distDirs = new Set(files.filter((f) => f.startsWith('/dist/')).map((f) => f.split('/')[2]));
  assert.deepEqual([...distDirs].sort(), ['electron', 'renderer'], 'no CLI build, packages or stand-in inside the app');
  const modules = new Set(files.filter((f) => f.startsWith('/node_modules/')).map((f) => f.split('/').slice(2, f.startsWith('/node_modules/@') ? 4 : 3).join('/')));
  for (const dev of ['tsx', 'esbuild', 'vite', 'typescript', 'react', 'react-dom', 'electron', 'electron-builder', 'playwright-core', 'eslint', '@resvg/resvg-js', '@electron/fuses', '@vitejs/plugin-react'])
    assert.ok(!modules.has(dev), `${dev} (a development tool) is not packaged`);
  assert.deepEqual(files.filter((f) => /\.(tsx?|map)$/.test(f) && !f.endsWith('.d.ts')), [], 'no TypeScript sources or source maps');
  assert.deepEqual(files.filter((f) => /\/(src|test|tests|renderer\/src)\//.test(f) && f.startsWith('/dist/')), []);
  const manifest = JSON.parse(extractFile(asar, 'package.json').toString()) as Record<string, unknown>;
  assert.equal(manifest.main, 'dist/electron/main.js');
  assert.deepEqual(Object.keys((manifest.devDependencies as object | undefined) ?? {}), [], 'no development dependencies named');
});

test('native modules are unpacked next to the archive (prebuilt, loaded from disk)', () => {
  const unpacked = join(app, 'resources', 'app.asar.unpacked', 'node_modules');
  assert.ok(existsSync(join(unpacked, '@serialport', 'bindings-cpp', 'prebuilds', 'linux-x64')));
  assert.ok(readdirSync(join(unpacked, '@lydell', `node-pty-linux-x64`)).includes('pty.node'));
  assert.ok(readdirSync(join(unpacked, '@node-usb')).length > 0);
});

test('udev rules, desktop entry and icons in the resources', () => {
  const rules = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'unbrick.js'), 'udev-rules'], { encoding: 'utf8' });
  assert.equal(readFileSync(join(app, 'resources', 'linux', '60-unbrick.rules'), 'utf8'), rules.stdout);
  assert.match(rules.stdout, /ATTR\{idVendor\}=="0483", ATTR\{idProduct\}=="df11"/);
  const desktop = readFileSync(join(app, 'resources', 'linux', 'unbrick-desktop.desktop'), 'utf8');
  for (const line of ['[Desktop Entry]', 'Type=Application', 'Name=Unbrick', 'Icon=unbrick-desktop', 'Exec=/opt/Unbrick/unbrick-desktop %U']) assert.ok(desktop.split('\n').includes(line), line);
  assert.ok(existsSync(join(app, 'unbrick-desktop')), 'the executable is named as the desktop entry runs it');
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
    const png = readFileSync(join(app, 'resources', 'icons', `${size}x${size}.png`));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [size, size], `${size}x${size}.png is ${size} px square`);
  }
});

test('the stand-in Electron says plainly what it is', () => {
  assert.match(readFileSync(join(app, 'STAND-IN-NOT-ELECTRON.txt'), 'utf8'), /STAND-IN, NOT ELECTRON/);
  const r = spawnSync(join(app, 'unbrick-desktop'), [], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /STAND-IN, NOT ELECTRON/);
});
