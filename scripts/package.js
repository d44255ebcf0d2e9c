#!/usr/bin/env node
// `npm run package`: the desktop installers, with electron-builder (configuration: build/electron-builder.config.js).
//  1. builds dist/ (scripts/build.js), renders the icons from build/icon.svg and writes the udev rules
//     (`unbrick udev-rules`) into dist/package-resources/;
//  2. packages for this system: on Linux the AppImage and the deb (electron-builder fetches fpm and the
//     AppImage runtime for those; the network must allow it), on Windows NSIS, on macOS dmg.
// The Electron binary comes from node_modules/electron (downloaded by its install script) or from
// UNBRICK_ELECTRON_DIST (an unpacked Electron release folder, for offline machines). Where neither exists,
// as on CI here, it packages the unpacked app against a stand-in Electron folder that
// says what it is: the result shows what the installers would hold, but its binary does not run.
// Options: --dir (only the unpacked app), --out DIR (instead of dist/packages), --stand-in (use the stand-in even
// where Electron is installed), --no-build (package dist/ as it is; the tests, which share it with other tests).
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCli, buildElectron, buildRenderer } from './build.js';
import { renderIcons } from './icons.js';
import { config, STAND_IN_MARKER } from '../build/electron-builder.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const resources = join(root, 'dist', 'package-resources');
const { values: opts } = parseArgs({ options: { dir: { type: 'boolean' }, out: { type: 'string' }, 'stand-in': { type: 'boolean' }, 'no-build': { type: 'boolean' } } });

/** An unpacked Electron release: UNBRICK_ELECTRON_DIST, or the one the electron package downloaded. */
function electronDist() {
  if (process.env.UNBRICK_ELECTRON_DIST) return resolve(process.env.UNBRICK_ELECTRON_DIST);
  try {
    const binary = require('electron');
    if (typeof binary === 'string' && existsSync(binary)) return join(root, 'node_modules', 'electron', 'dist');
  } catch {
    // the electron package is there but its binary was not downloaded
  }
  return undefined;
}

/** A folder shaped like Linux's unpacked Electron release, holding no Electron: packaging runs, the app does not. */
function standIn() {
  const dir = join(root, 'dist', 'electron-stand-in');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const note = [
    'STAND-IN, NOT ELECTRON.',
    `This folder takes the place of the Electron ${config.electronVersion} release for Linux, which could not be downloaded`,
    'on the machine that packaged this app (ELECTRON_SKIP_BINARY_DOWNLOAD, or no network). Everything else in',
    'the package is real: the app archive (resources/app.asar), its production dependencies, icons, udev rules',
    'and desktop entry. The program named like the app only prints this note. Package again where the',
    'Electron binary is available (npm rebuild electron, or UNBRICK_ELECTRON_DIST) for a working app.',
    '',
  ].join('\n');
  writeFileSync(join(dir, STAND_IN_MARKER), note);
  writeFileSync(join(dir, 'version'), config.electronVersion);
  writeFileSync(join(dir, 'electron'), `#!/bin/sh\ncat >&2 <<'NOTE'\n${note}NOTE\nexit 1\n`);
  chmodSync(join(dir, 'electron'), 0o755);
  return dir;
}

if (!opts['no-build']) {
  await buildRenderer();
  await buildElectron();
  await buildCli();
}
rmSync(resources, { recursive: true, force: true });
await renderIcons(join(resources, 'icons'));
const rules = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'unbrick.js'), 'udev-rules'], { encoding: 'utf8' });
if (rules.status !== 0) throw new Error(`unbrick udev-rules failed: ${rules.stderr}`);
mkdirSync(join(resources, 'linux'), { recursive: true });
writeFileSync(join(resources, 'linux', '60-unbrick.rules'), rules.stdout);

const { build, Platform } = require('electron-builder');
const real = opts['stand-in'] ? undefined : electronDist();
const platform = Platform.current();
let targets;
let dist = real;
if (!real) {
  if (platform !== Platform.LINUX) throw new Error('The Electron binary is not installed: run `npm rebuild electron` (needs the network) or set UNBRICK_ELECTRON_DIST.');
  console.log('The Electron binary is not installed here: packaging the unpacked app against a stand-in Electron folder.');
  console.log('Its binary does not run; where the network allows, `npm rebuild electron && npm run package` makes the AppImage and deb.');
  dist = standIn();
  targets = ['dir']; // tar.gz too needs a download (electron-builder fetches a tool for it)
} else targets = opts.dir ? ['dir'] : undefined; // undefined: the configured targets for this platform

await build({
  projectDir: root,
  targets: platform.createTarget(targets),
  publish: 'never',
  config: { ...config, electronDist: dist, directories: { ...config.directories, ...(opts.out ? { output: resolve(opts.out) } : {}) } },
});
