/**
 * `npm start` where the Electron binary is missing (as here): it says why, starts the same app in server mode,
 * prints the URL and opens it with the desktop's opener (a stand-in xdg-open on PATH records what it was given).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function electronInstalled(): boolean {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    return typeof p === 'string' && existsSync(p);
  } catch {
    return false;
  }
}

test('without the Electron binary, npm start serves the app and opens the browser', { skip: electronInstalled() && 'the Electron binary is installed: npm start opens the window' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-start-'));
  const opened = join(dir, 'opened-url');
  writeFileSync(join(dir, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
  // --no-build: start what dist/ holds (scripts/run-tests.js built it); other tests serve it meanwhile.
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.js'), '--no-build', '--lab', '--data-dir', join(dir, 'data')], {
    env: { ...process.env, DISPLAY: ':0', PATH: `${dir}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const out: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL in time: ${out.join('\n')}`)), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        out.push(line);
        const m = /^Open the app at: (http:\/\/127\.0\.0\.1:\d+\/\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${out.join('\n')}`)));
    });
    assert.match(out.join('\n'), /Electron binary is not installed/);
    assert.match(out.join('\n'), /server mode/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">|<script/);
    for (let i = 0; i < 100 && !existsSync(opened); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(opened, 'utf8'), url, 'the browser was asked to open the URL');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
