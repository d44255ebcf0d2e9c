import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog } from '../../../src/records/service-log.ts';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/unbrick.js', ...args], { encoding: 'utf8' });

test('`records verify` exits 0 on an intact log and 1 on a tampered one; `records report` writes HTML', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = ServiceLog.inDir(dir);
  for (let i = 0; i < 3; i++) log.append({ unit: { id: 'SN-7' }, action: 'update', operator: 'x@y', outcome: 'succeeded', summary: `update ${i}` });

  const ok = cli('records', 'verify', '--data-dir', dir, '--json');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).entries, 3);

  const out = join(dir, 'r.html');
  const rep = cli('records', 'report', '--data-dir', dir, '--unit', 'SN-7', '--out', out);
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(readFileSync(out, 'utf8'), /update 2/);

  writeFileSync(log.path, readFileSync(log.path, 'utf8').replace('update 1', 'update 9'));
  const bad = cli('records', 'verify', '--data-dir', dir, '--json');
  assert.equal(bad.status, 1);
  assert.deepEqual(
    JSON.parse(bad.stdout).problems.map((p: { code: string }) => p.code),
    ['log.entry-edited'],
  );
});
