// A unit reached through a real pty adapter ('unbrick sim stm32' on a pseudo-terminal) is filed in the
// service log under its chip UID, read through the ROM bootloader, and found again by
// 'unbrick records --unit UID' (also by the UID in upper case, and its report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const UID = '0123456789abcdef02468ace';
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/unbrick.js', ...args], { encoding: 'utf8', timeout: 120_000 });

test('a unit on a pty adapter is filed under its chip UID and found again by records --unit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-unit-'));
  const sim = spawn(process.execPath, ['bin/unbrick.js', 'sim', 'stm32', '--chip', 'l476', '--uid', UID], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const path = await new Promise<string>((resolve, reject) => {
      createInterface({ input: sim.stdout! }).once('line', resolve);
      sim.once('exit', (code) => reject(new Error(`sim stm32 exited (${code})`)));
    });
    const run = cli('run', 'diagnose', '--port', path, '--data-dir', dir, '--json');
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.diagnosis.chip.uid, UID, 'the diagnosis names the chip UID (Chip.uid)');

    for (const query of [UID, UID.toUpperCase()]) {
      const list = cli('records', '--unit', query, '--data-dir', dir, '--json');
      assert.equal(list.status, 0, list.stderr);
      const { ok, entries } = JSON.parse(list.stdout);
      assert.equal(ok, true);
      assert.equal(entries.length, 1);
      assert.equal(entries[0].action, 'diagnose');
      assert.equal(entries[0].unit.id, UID, 'filed under the chip UID, not the port');
      assert.equal(entries[0].unit.chipUid, UID);
      assert.equal(entries[0].unit.port, path);
    }
    // Another unit's history is not this one's.
    const other = JSON.parse(cli('records', '--unit', 'ffffffffffffffffffffffff', '--data-dir', dir, '--json').stdout);
    assert.equal(other.entries.length, 0);
    const report = JSON.parse(cli('records', 'report', '--unit', UID, '--format', 'json', '--data-dir', dir, '--json').stdout);
    assert.equal(report.entries, 1);
    assert.equal(report.report.identity.chipUid, UID);
  } finally {
    sim.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
});
