/**
 * The built CLI (dist/cli, scripts/build.js): the same command groups as the sources, in the same order, and
 * groups load only when they run: `version` and `--help` load no device, network or database library.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = join(ROOT, 'dist', 'cli', 'unbrick.js');
const HEAVY = ['pg', 'ws', 'serialport', '@serialport/bindings-cpp', 'usb', '@noble/curves', '@noble/hashes', '@lydell/node-pty', 'yauzl', 'yazl'];

/** Runs the built CLI with module hooks that log every package it imports or requires, to a file. */
function packagesLoaded(...args: string[]): { status: number | null; packages: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-loads-'));
  const log = join(dir, 'loads.txt');
  const hooks = `import{appendFileSync}from'node:fs';export async function resolve(s,c,n){if(!/^[.\\/]|^node:|^file:|^data:/.test(s))appendFileSync(${JSON.stringify(log)},s+'\\n');return n(s,c)}`;
  // ES imports go through the resolve hook; require() (bundled CommonJS) through Module._load.
  const register =
    `import M,{register}from'node:module';import{appendFileSync}from'node:fs';register('data:text/javascript,'+encodeURIComponent(${JSON.stringify(hooks)}));` +
    `const l=M._load;M._load=function(r,...a){if(!/^[.\\/]/.test(r)&&!M.isBuiltin(r))appendFileSync(${JSON.stringify(log)},r+'\\n');return l.call(this,r,...a)};`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BUILT, ...args], { encoding: 'utf8' });
  let loaded = '';
  try {
    loaded = readFileSync(log, 'utf8');
  } catch {
    // nothing resolved
  }
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, packages: [...new Set(loaded.split('\n').filter(Boolean))] };
}

const groupsOf = (help: string) => [...help.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);

test('the built CLI lists the same groups as the sources, in order', () => {
  const built = spawnSync(process.execPath, [BUILT, '--help'], { encoding: 'utf8' });
  const source = spawnSync(process.execPath, [join(ROOT, 'bin', 'unbrick.js'), '--help'], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  assert.ok(groupsOf(built.stdout).length > 10);
  assert.deepEqual(groupsOf(built.stdout), groupsOf(source.stdout));
  assert.equal(built.stdout, source.stdout);
});

test('version and --help load no heavy library; a group loads its own when it runs', () => {
  for (const args of [['version'], ['--help'], ['version', '--help']]) {
    const r = packagesLoaded(...args);
    assert.equal(r.status, 0);
    assert.deepEqual(r.packages.filter((p) => HEAVY.some((h) => p === h || p.startsWith(`${h}/`))), [], `unbrick ${args.join(' ')} loaded ${r.packages.join(', ')}`);
  }
  // The hook sees real loads: a command that needs the serial port loads its native binding.
  const smp = packagesLoaded('smp', 'info', '--port', '/nonexistent/tty');
  assert.ok(smp.packages.includes('@serialport/bindings-cpp'), smp.packages.join(', '));
});

test('bin points at the built CLI, which starts with a shebang', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin.unbrick, 'dist/cli/unbrick.js');
  assert.match(readFileSync(BUILT, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
