import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/unbrick.js', ...args], { encoding: 'utf8' });

test('top-level help lists groups and exits 0', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Command groups:/);
});

test('unknown group is a usage error (exit 2)', () => {
  const r = cli('no-such-group');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command group/);
});

test('unknown option is a usage error, reported as JSON with --json', () => {
  const r = cli('version', '--json', '--bogus');
  assert.equal(r.status, 2);
  const out = JSON.parse(r.stdout);
  assert.equal(out.error, 'usage.bad-arguments');
  assert.equal(out.kind, 'usage');
});

test('version --json prints one object', () => {
  const r = cli('version', '--json');
  assert.equal(r.status, 0);
  assert.match(JSON.parse(r.stdout).version, /^\d+\.\d+\.\d+/);
});
