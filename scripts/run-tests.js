#!/usr/bin/env node
// Runs every test file under test/ (unit, integration, e2e) with Node's test runner.
// `node scripts/run-tests.js unit` limits the run to one folder; extra args filter by path.
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test')
  .filter((f) => filters.every((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The UI tests (Playwright, server mode) load the built renderer, and the packaging tests under test/ship/ pack
// the whole build (CLI, renderer, Electron main): build what they need first, unless the build is newer than every
// source it bundles (several test runs may share one checkout).
const newest = (path) => {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), 0) : st.mtimeMs;
};
const builtAt = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};
const rendererStale = () => builtAt(join('dist', 'renderer', 'index.html')) < Math.max(newest('renderer'), newest(join('src', 'api')), newest(join('src', 'core')));
const allStale = () =>
  Math.min(...[join('dist', 'cli', 'unbrick.js'), join('dist', 'renderer', 'index.html'), join('dist', 'electron', 'main.js')].map(builtAt)) <
  Math.max(...['src', 'renderer', 'electron', 'package.json', join('scripts', 'build.js')].map(newest));
const selected = (folder) => files.some((f) => f.includes(`test${sep}${folder}${sep}`));
const build = selected('ship') && allStale() ? ['scripts/build.js'] : selected('e2e') && rendererStale() ? ['scripts/build.js', 'renderer'] : undefined;
if (build) {
  const built = spawnSync(process.execPath, build, { stdio: 'inherit' });
  if (built.status !== 0) {
    console.error('building the app failed');
    process.exit(built.status ?? 1);
  }
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, UNBRICK_TEST: '1' },
});
process.exit(res.status ?? 1);
