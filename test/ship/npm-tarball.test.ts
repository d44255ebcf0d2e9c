/**
 * The npm package as a factory station or build server gets it: `npm pack` of this checkout (its build:
 * dist/, made by `npm ci`'s prepare step or by scripts/run-tests.js), installed with `npm install -g` into a
 * temporary prefix with the registry unreachable and an empty cache (and, where we may, no network at all),
 * then the installed `unbrick` runs from outside the checkout: version, image sign + verify, smp info against
 * its own simulator, and serve (the page loads in Chromium).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../e2e/helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = fileURLToPath(new URL('../../../shared/peers/mcuboot-dev-root-ec-p256.pem', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const work = mkdtempSync(join(tmpdir(), 'unbrick-tarball-'));
const prefix = join(work, 'prefix');
const unbrick = join(prefix, 'bin', 'unbrick');

/** `unshare -n` gives the install no network at all; it needs root (CI) and util-linux. */
const noNetwork = (cmd: string[]): string[] =>
  process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0 ? ['unshare', '-n', ...cmd] : cmd;

function run(...args: string[]) {
  return spawnSync(unbrick, args, { cwd: work, encoding: 'utf8', env: { ...process.env, UNBRICK_DATA_DIR: join(work, 'data') } });
}

/** Starts a long-running installed `unbrick` command and resolves with its first output line. */
async function firstLine(args: string[]): Promise<{ line: string; child: ChildProcess }> {
  const child = spawn(unbrick, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`unbrick ${args.join(' ')} printed nothing in time: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).once('line', (l) => (clearTimeout(timer), resolve(l)));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`unbrick ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
  return { line, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'unbrick.js')), 'dist/ is not built: run `npm run build` (npm ci does it)');
  // --ignore-scripts: pack the build as it is; prepare would rebuild dist/ under other tests that serve it.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' })) as [{ filename: string; files: { path: string }[] }];
  const files = packed[0].files.map((f) => f.path);
  assert.ok(files.includes('dist/cli/unbrick.js') && files.includes('dist/renderer/index.html'), 'the tarball holds the built CLI and UI');
  assert.ok(!files.some((f) => /^(src|test|scripts|electron|renderer)\//.test(f)), `no sources or tests in the tarball: ${files.filter((f) => /^(src|test)\//.test(f)).slice(0, 3).join(', ')}`);
  const install = noNetwork(['npm', 'install', '-g', '--prefix', prefix, '--cache', join(work, 'cache'), '--offline', '--no-audit', '--no-fund', join(work, packed[0].filename)]);
  const r = spawnSync(install[0]!, install.slice(1), { cwd: work, encoding: 'utf8', env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' } });
  assert.equal(r.status, 0, `offline install failed:\n${r.stderr}`);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the installed unbrick runs from its own files: version', () => {
  const r = run('version', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).version, pkg.version);
  // Nothing of the checkout is reachable from the installed copy.
  const where = spawnSync(process.execPath, ['-p', "require.resolve('serialport')"], { cwd: join(prefix, 'lib', 'node_modules', 'unbrick'), encoding: 'utf8' });
  assert.ok(where.stdout.startsWith(join(prefix, 'lib', 'node_modules', 'unbrick', 'node_modules')), where.stdout + where.stderr);
});

test('image sign and verify, and a changed byte fails verification', () => {
  const app = join(work, 'app.bin');
  const image = join(work, 'app.signed.bin');
  writeFileSync(app, Buffer.alloc(64 * 1024, 0x5a));
  const signed = run('image', 'sign', app, image, '-k', KEY, '-v', '1.0.0', '--pad-header', '-S', '0x70000');
  assert.equal(signed.status, 0, signed.stderr);
  const ok = run('image', 'verify', image, '--key', KEY, '--json');
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const bytes = readFileSync(image);
  bytes[0x1000]! ^= 1;
  writeFileSync(image, bytes);
  assert.equal(run('image', 'verify', image, '--key', KEY).status, 1);
});

test('smp info against the installed simulator', async () => {
  const sim = await firstLine(['sim', 'zephyr']);
  try {
    const r = run('smp', 'info', '--port', sim.line, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /MCUboot/);
    assert.match(r.stdout, /Zephyr/);
  } finally {
    await stop(sim.child);
  }
});

test('serve: the built UI loads in Chromium', async () => {
  const served = await firstLine(['serve', '--lab', '--data-dir', join(work, 'serve-data')]);
  const browser = await launchBrowser();
  try {
    await browser.page.goto(served.line);
    await browser.page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await browser.page.getByTestId('device-list').locator('button.device').first().waitFor();
  } finally {
    await browser.close();
    await stop(served.child);
  }
});
