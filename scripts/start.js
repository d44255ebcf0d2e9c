#!/usr/bin/env node
// `npm start`: launch the desktop app, or say plainly why not and offer server mode.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
let electronPath;
try {
  electronPath = require('electron');
} catch {
  electronPath = undefined;
}
if (typeof electronPath !== 'string' || !existsSync(electronPath)) {
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
console.log('Desktop app launch is not built yet; use `npx unbrick serve`.');
