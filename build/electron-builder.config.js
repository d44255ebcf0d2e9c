// electron-builder configuration for the desktop installers (`npm run package`, scripts/package.js).
// Linux AppImage and deb; Windows NSIS and macOS dmg are configured too (built on those systems).
// Input is the build in dist/ (scripts/build.js) plus what scripts/package.js renders into
// dist/package-resources/ (icons from build/icon.svg, the udev rules from `unbrick udev-rules`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const resources = 'dist/package-resources';

/**
 * Electron fuses, flipped in the packaged binary by afterPack: no running the app binary as plain Node,
 * no NODE_OPTIONS or --inspect, the app only from its asar archive, and that archive's integrity checked.
 */
export const FUSES = {
  RunAsNode: false,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
};

/** Marks a stand-in Electron distribution (scripts/package.js): there is no real binary to flip fuses in. */
export const STAND_IN_MARKER = 'STAND-IN-NOT-ELECTRON.txt';

/** The desktop entry, one file for every target: build/linux/unbrick-desktop.desktop (Exec is electron-builder's). */
function desktopEntry() {
  const lines = readFileSync(join(root, 'build', 'linux', 'unbrick-desktop.desktop'), 'utf8').split('\n');
  return Object.fromEntries(lines.filter((l) => /^[A-Za-z]+=/.test(l) && !l.startsWith('Exec=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

export async function afterPack(context) {
  const { flipFuses, FuseVersion, FuseV1Options } = await import('@electron/fuses');
  const { Arch } = await import('electron-builder');
  if (existsSync(join(context.appOutDir, STAND_IN_MARKER))) {
    console.log(`  • fuses not flipped: ${context.appOutDir} holds a stand-in, not the Electron binary (the settings are checked in the configuration test)`);
    return;
  }
  const name = context.packager.appInfo.productFilename;
  const exe = {
    darwin: join(context.appOutDir, `${name}.app`),
    mas: join(context.appOutDir, `${name}.app`),
    win32: join(context.appOutDir, `${name}.exe`),
    linux: join(context.appOutDir, context.packager.executableName),
  }[context.electronPlatformName];
  await flipFuses(exe, {
    version: FuseVersion.V1,
    // An arm64 macOS binary must stay (ad hoc) signed after its bytes change.
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === Arch.arm64,
    ...Object.fromEntries(Object.entries(FUSES).map(([k, v]) => [FuseV1Options[k], v])),
  });
}

const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;

/** @type {import('electron-builder').Configuration} */
export const config = {
  appId: 'dev.unbrick.app',
  productName: 'Unbrick',
  // Not `unbrick`: that is the command line (npm tarball); the deb links this one as /usr/bin/unbrick-desktop.
  executableName: 'unbrick-desktop',
  electronVersion,
  directories: { output: 'dist/packages', buildResources: 'build' },
  // The built app only; electron-builder adds the production dependencies (package.json "dependencies") itself.
  // The TypeScript sources some dependencies ship (@noble/*/src) are not needed at run time.
  files: ['dist/electron/**', 'dist/renderer/**', 'package.json', '!**/*.map', '!**/*.ts', '!**/*.md'],
  extraMetadata: { main: 'dist/electron/main.js', desktopName: 'unbrick-desktop.desktop', scripts: {}, devDependencies: {} },
  asar: true,
  // Native modules ship prebuilt for Electron's Node-API (serialport, usb, @lydell/node-pty): no rebuild, no compiler.
  npmRebuild: false,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  asarUnpack: ['**/*.node', '**/node_modules/@lydell/node-pty-*/**'],
  afterPack,
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    icon: `${resources}/icons`,
    maintainer: 'Unbrick developers <packaging@unbrick.invalid>',
    synopsis: 'Flash and recover microcontrollers over serial and USB',
    desktop: { entry: desktopEntry() },
    extraResources: [
      { from: `${resources}/linux/60-unbrick.rules`, to: 'linux/60-unbrick.rules' },
      { from: 'build/linux/unbrick-desktop.desktop', to: 'linux/unbrick-desktop.desktop' },
      { from: `${resources}/icons`, to: 'icons', filter: ['*.png'] },
    ],
  },
  deb: {
    // Maintainer scripts: templates in build/linux/ (install the udev rules; removal takes them away).
    afterInstall: 'build/linux/after-install.tpl',
    afterRemove: 'build/linux/after-remove.tpl',
    depends: ['libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1', 'libsecret-1-0', 'udev'],
  },
  win: { target: ['nsis'], icon: `${resources}/icons/icon.ico` },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  mac: { target: ['dmg'], category: 'public.app-category.developer-tools', icon: `${resources}/icons/icon.icns`, hardenedRuntime: true },
};
