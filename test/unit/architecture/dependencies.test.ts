// The dependency rule check (scripts/check-deps.js, dependency-cruiser over .dependency-cruiser.mjs):
// it passes on this tree, and fails on a temporary copy with planted violations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const script = resolve('scripts/check-deps.js');
const check = (cwd: string) => spawnSync(process.execPath, [script, '--json'], { cwd, encoding: 'utf8' });

test('the tree keeps the folder direction and has no folder cycle', () => {
  const r = check(process.cwd());
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual({ ...JSON.parse(r.stdout), modules: 0 }, { modules: 0, violations: 0, folderCycles: 0 });
});

test('a planted violation in a copy of the tree fails the check, naming the rule and the cycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-deps-'));
  try {
    for (const d of ['src', 'electron', 'renderer']) cpSync(d, join(dir, d), { recursive: true, filter: (p) => !p.includes('node_modules') });
    // The contract reaching up into a workflow: a direction violation and an api -> workflows -> api folder cycle.
    writeFileSync(join(dir, 'src/api/planted.ts'), "export { Job } from '../workflows/job.ts';\n");
    // A simulator using the client it is meant to be tested against.
    writeFileSync(join(dir, 'src/sim/planted.ts'), "export { SmpClient } from '../smp/client.ts';\n");
    // The renderer going around the contract.
    writeFileSync(join(dir, 'renderer/planted.ts'), "export { ServiceLog } from '../src/records/service-log.ts';\n");
    const r = check(dir);
    assert.equal(r.status, 1);
    const figures = JSON.parse(r.stdout);
    assert.equal(figures.violations, 3, r.stderr);
    assert.ok(figures.folderCycles >= 1, r.stderr);
    assert.match(r.stderr, /api-direction: src\/api\/planted\.ts -> src\/workflows\/job\.ts/);
    assert.match(r.stderr, /sim-no-clients: src\/sim\/planted\.ts -> src\/smp\/client\.ts/);
    assert.match(r.stderr, /renderer-direction: renderer\/planted\.ts -> src\/records\/service-log\.ts/);
    assert.match(r.stderr, /folder cycle: api -> workflows -> api/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
