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
// The UI tests (Playwright, server mode) load the built renderer: build it first,
// unless the build is newer than every source it bundles (several test runs may share one checkout).
const newest = (dir) =>
  readdirSync(dir).reduce((m, name) => {
    const p = join(dir, name);
    const st = statSync(p);
    return Math.max(m, st.isDirectory() ? newest(p) : st.mtimeMs);
  }, 0);
const builtAt = (() => {
  try {
    return statSync(join('dist', 'renderer', 'index.html')).mtimeMs;
  } catch {
    return 0;
  }
})();
const stale = () => builtAt < Math.max(newest('renderer'), newest(join('src', 'api')), newest(join('src', 'core')));
if (files.some((f) => f.includes(`test${sep}e2e${sep}`)) && stale()) {
  const vite = join('node_modules', 'vite', 'bin', 'vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', '--config', join('renderer', 'vite.config.ts')], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('building the renderer failed');
    process.exit(build.status ?? 1);
  }
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, UNBRICK_TEST: '1' },
});
process.exit(res.status ?? 1);
