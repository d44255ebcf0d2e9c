/**
 * The desktop packaging configuration (build/electron-builder.config.js) and the package manifest: fuses,
 * no native rebuild, the targets, pinned tools, dependency sections, install-script approvals, engines.
 * The fuses are flipped by the afterPack hook, run here on a file that carries an Electron fuse wire (the
 * real binary cannot be downloaded here), then read back with @electron/fuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import type { Configuration } from 'electron-builder';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Plain JS (scripts/package.js runs it without tsx): loaded by path, typed here.
const { afterPack, config, FUSES } = (await import(pathToFileURL(join(ROOT, 'build', 'electron-builder.config.js')).href)) as {
  afterPack: (context: unknown) => Promise<void>;
  config: Configuration & { afterPack: unknown };
  FUSES: Record<string, boolean>;
};
// A fuse byte in the wire: '0' off, '1' on (@electron/fuses' FuseState, not exported from its index).
const FuseState = { DISABLE: 0x30, ENABLE: 0x31 };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('fuses: no run-as-node, no NODE_OPTIONS or --inspect, asar integrity on, app only from asar', () => {
  assert.deepEqual(FUSES, {
    RunAsNode: false,
    EnableNodeOptionsEnvironmentVariable: false,
    EnableNodeCliInspectArguments: false,
    EnableEmbeddedAsarIntegrityValidation: true,
    OnlyLoadAppFromAsar: true,
  });
  for (const name of Object.keys(FUSES)) assert.equal(typeof FuseV1Options[name as keyof typeof FuseV1Options], 'number', `${name} is a fuse @electron/fuses knows`);
  assert.equal(config.afterPack, afterPack);
});

test('the afterPack hook flips the fuses in the packaged binary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-fuses-'));
  try {
    // Electron's fuse wire as it ships: sentinel, version 1, length 8, then one byte per fuse ('0' off, '1' on).
    const shipped = [1, 0, 1, 1, 0, 0, 0, 1];
    const wire = Buffer.from([1, shipped.length, ...shipped.map((on) => (on ? FuseState.ENABLE : FuseState.DISABLE))]);
    writeFileSync(join(dir, 'unbrick-desktop'), Buffer.concat([Buffer.alloc(4096, 0x90), Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'), wire, Buffer.alloc(4096, 0x90)]));
    await afterPack({ appOutDir: dir, electronPlatformName: 'linux', arch: 1, packager: { appInfo: { productFilename: 'Unbrick' }, executableName: 'unbrick-desktop' } });
    const after = (await getCurrentFuseWire(join(dir, 'unbrick-desktop'))) as unknown as Record<number, number>;
    for (const [name, on] of Object.entries(FUSES))
      assert.equal(after[FuseV1Options[name as keyof typeof FuseV1Options]], on ? FuseState.ENABLE : FuseState.DISABLE, name);
    assert.equal(after[FuseV1Options.EnableCookieEncryption], FuseState.DISABLE, 'fuses not in the list are left as shipped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prebuilt native modules, no rebuild; the targets; the icons; deb maintainer scripts exist', () => {
  assert.equal(config.npmRebuild, false);
  assert.equal(config.nodeGypRebuild, false);
  assert.equal(config.buildDependenciesFromSource, false);
  assert.deepEqual(config.linux?.target, ['AppImage', 'deb']);
  assert.deepEqual(config.win?.target, ['nsis']);
  assert.deepEqual(config.mac?.target, ['dmg']);
  assert.match(String(config.linux?.maintainer), /<[^@\s]+@[^>\s]+>/, 'the deb needs a maintainer with an email');
  for (const f of [config.deb?.afterInstall, config.deb?.afterRemove, 'build/icon.svg', 'build/linux/unbrick-desktop.desktop']) assert.ok(existsSync(join(ROOT, String(f))), `${f} exists`);
  assert.equal(config.electronVersion, JSON.parse(readFileSync(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')).version);
  assert.deepEqual(([] as unknown[]).concat(config.files ?? []).filter((f) => typeof f === 'string' && /node_modules|src\//.test(f)), [], 'dependencies come from electron-builder\'s production list, no sources');
});

test('package.json: built bin, tools pinned, dependencies in their sections, engines', () => {
  assert.equal(pkg.bin.unbrick, 'dist/cli/unbrick.js');
  assert.equal(pkg.scripts.prepare, 'node scripts/build.js');
  for (const tool of ['electron-builder', '@electron/fuses', '@resvg/resvg-js']) assert.match(pkg.devDependencies[tool], /^\d+\.\d+\.\d+$/, `${tool} pinned`);
  for (const dev of ['tsx', 'react', 'react-dom', 'esbuild', 'vite']) assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a runtime dependency`);
  // Every runtime dependency travels inside the npm tarball. A list, not `true`: npm writes `true` out as one
  // anyway, and dependency-cruiser (npm run deps) needs a list. A dependency added later must be added here too.
  assert.deepEqual([...pkg.bundleDependencies].sort(), Object.keys(pkg.dependencies).sort(), 'bundleDependencies lists every dependency');
  assert.equal(pkg.engines.node, '^20.19.0 || ^22.13.0 || >=24');
  // Node 20.19 is the oldest the toolchain (Vite 8, ESLint 10) and @noble/curves accept.
  assert.ok(process.versions.node.split('.').map(Number)[0]! >= 20);
});

test('allowScripts reviews every dependency install script (npm ci prints no install-scripts warning)', () => {
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/);
});
