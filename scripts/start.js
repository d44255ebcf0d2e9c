#!/usr/bin/env node
// `npm start`: build the renderer and the Electron main/preload bundles, then launch the desktop app.
// Where the Electron binary is missing, say so plainly and offer server mode (no stack trace).
// `node scripts/start.js --build-only` builds without launching (also works without the binary).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const buildOnly = process.argv.includes('--build-only');
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    const p = require('electron');
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

async function buildAll() {
  const { build } = await import('vite');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await build({ configFile: join(root, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
  const common = { configFile: false, logLevel: 'warn', root, publicDir: false };
  // Main process: ESM for Node, dependencies (native serialport/usb among them) left external.
  await build({
    ...common,
    build: {
      outDir: join(root, 'dist', 'electron'),
      emptyOutDir: false,
      ssr: join(root, 'electron', 'main.ts'),
      target: 'node20',
      minify: false,
      rollupOptions: {
        external: [/^node:/, 'electron', ...Object.keys(pkg.dependencies ?? {})],
        output: { format: 'es', entryFileNames: 'main.js' },
      },
    },
  });
  // Preload: runs sandboxed, where only require('electron') exists: one self-contained CommonJS file.
  await build({
    ...common,
    build: {
      outDir: join(root, 'dist', 'electron'),
      emptyOutDir: false,
      ssr: join(root, 'electron', 'preload.ts'),
      target: 'node20',
      minify: false,
      rollupOptions: { external: ['electron'], output: { format: 'cjs', entryFileNames: 'preload.cjs' } },
    },
    ssr: { noExternal: true },
  });
}

const electronPath = electronBinary();
if (!electronPath && !buildOnly) {
  console.log(
    [
      'The Electron binary is not installed on this machine, so the desktop app cannot open.',
      '(Its download is skipped or blocked here; `npm rebuild electron` fetches it where the network allows.)',
      '',
      'Run the same app in your browser instead:',
      '  npx unbrick serve',
      'It prints a local URL (with a one-time token) to open.',
    ].join('\n'),
  );
  process.exit(0);
}

try {
  await buildAll();
} catch (err) {
  console.error(`Building the app failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error('Run `npm ci` to restore the dependencies, then try again; `npx unbrick serve` needs no build step.');
  process.exit(1);
}
if (buildOnly) {
  console.log('Built dist/renderer and dist/electron.');
  process.exit(0);
}
const child = spawn(electronPath, [root], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
