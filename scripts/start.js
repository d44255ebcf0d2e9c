#!/usr/bin/env node
// `npm start`: build the app from the current sources, then open it: the desktop window where the Electron
// binary is installed, otherwise the same app in server mode (`unbrick serve`) in the default browser.
// `node scripts/start.js --build-only` builds without launching (also works without the binary).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildCli, buildElectron, buildRenderer } from './build.js';

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

/** The desktop's "open this URL" command, where there is one (and, on Linux, a display to open it on). */
function browserOpener() {
  if (process.platform === 'darwin') return 'open';
  if (process.platform === 'win32') return 'explorer';
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return undefined;
  return ['xdg-open', 'sensible-browser'].find((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0);
}

const electronPath = electronBinary();
if (!electronPath && !buildOnly)
  console.log(
    [
      'The Electron binary is not installed on this machine (its download is skipped or blocked here;',
      '`npm rebuild electron` fetches it where the network allows), so the desktop window cannot open.',
      'Starting the same app in server mode instead (`unbrick serve`): it runs on this machine only.',
    ].join('\n'),
  );
try {
  await buildRenderer();
  if (electronPath || buildOnly) await buildElectron();
  if (!electronPath || buildOnly) await buildCli();
} catch (err) {
  console.error(`Building the app failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error('Run `npm ci` to restore the dependencies, then try again.');
  process.exit(1);
}
if (buildOnly) {
  console.log('Built dist/renderer, dist/electron and dist/cli.');
  process.exit(0);
}

if (electronPath) {
  const child = spawn(electronPath, [root], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const server = spawn(process.execPath, [join(root, 'dist', 'cli', 'unbrick.js'), 'serve', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  let first = true;
  lines.on('line', (line) => {
    if (!first) return void console.log(line);
    first = false;
    console.log(`\nOpen the app at: ${line}\n`);
    const opener = browserOpener();
    if (opener) spawn(opener, [line], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
    else console.log('(No browser to open here: copy the URL into a browser on this machine.)');
  });
  // Ctrl-C reaches the server too (same process group); wait for it to stop cleanly.
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
  server.on('exit', (code) => process.exit(code ?? 0));
}
