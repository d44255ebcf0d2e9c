import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UnbrickError } from '../../../src/core/errors.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { loadRollbackState, rollbackBackupPath, rollbackPath, saveRollbackState, type RollbackState } from '../../../src/trust/rollback-state.ts';
import { BundleLibrary, libraryDir } from '../../../src/trust/library.ts';
import { inTrustedLab, makeBundle, T0, DAY } from '../bundle/fixture.ts';

const state = (seq: number, version = '1.0.0'): RollbackState => ({
  format: 1,
  products: { 'v/c': { name: 'n', highestSequence: seq, targets: { 'smp:image0': { version, securityCounter: seq } }, acceptedAt: '2026-01-01T00:00:00Z' } },
});
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as UnbrickError).code;
  }
  return 'accepted';
};

test('the anti-rollback floor never drops by itself: lower writes, damage and deletion are refused, with how to recover', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-state-'));
  try {
    saveRollbackState(state(5), dir);
    saveRollbackState(state(7, '1.1.0'), dir);
    // A write that would lower any part of the floor is refused; the file keeps the higher floor.
    assert.equal(code(() => saveRollbackState(state(6, '1.1.0'), dir)), 'trust.floor-would-drop');
    assert.equal(code(() => saveRollbackState(state(7, '1.0.9'), dir)), 'trust.floor-would-drop');
    assert.equal(code(() => saveRollbackState({ format: 1, products: {} }, dir)), 'trust.floor-would-drop');
    assert.equal(loadRollbackState(dir).products['v/c']!.highestSequence, 7);
    // The state it replaced is kept beside it.
    assert.equal((JSON.parse(readFileSync(rollbackBackupPath(dir), 'utf8')) as RollbackState).products['v/c']!.highestSequence, 5);

    // Damage: named, never reset, and the message says how to recover.
    writeFileSync(rollbackPath(dir), '{"format":1,"products":{"v/c":{"name":"n","highestSequence":7');
    let err: UnbrickError | undefined;
    try {
      loadRollbackState(dir);
    } catch (e) {
      err = e as UnbrickError;
    }
    assert.equal(err?.code, 'trust.state-corrupt');
    assert.ok(err!.message.includes(rollbackPath(dir)), 'the file is named');
    assert.ok(err!.message.includes(`copy ${rollbackBackupPath(dir)}`), 'the way back is named');
    assert.equal(code(() => saveRollbackState(state(8), dir)), 'trust.state-corrupt', 'nothing is written over a damaged state');
    assert.match(readFileSync(rollbackPath(dir), 'utf8'), /"highestSequence":7$/, 'the damaged file is left for support');

    // Deleted after a floor was recorded: refused too (an empty state would re-admit every old release).
    unlinkSync(rollbackPath(dir));
    assert.equal(code(() => loadRollbackState(dir)), 'trust.state-missing');
    // Following the recovery advice brings back a floor no lower than before the last write.
    copyFileSync(rollbackBackupPath(dir), rollbackPath(dir));
    assert.equal(loadRollbackState(dir).products['v/c']!.highestSequence, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bundle verification refuses to run over a damaged anti-rollback state; a damaged library index is named and left alone', inTrustedLab(async (lab, v) => {
  const b = await makeBundle(lab, 'b.ubundle', [v.releaseKeys[0]!], { sequence: 3 });
  await checkBundle(b, { dir: lab.dataDir, clock: T0 + DAY, record: true });
  writeFileSync(rollbackPath(lab.dataDir), '[]');
  await assert.rejects(checkBundle(b, { dir: lab.dataDir, clock: T0 + DAY }), (e: UnbrickError) => e.code === 'trust.state-corrupt');

  const index = join(libraryDir('update', lab.dataDir), 'index.json');
  rmSync(rollbackPath(lab.dataDir)); // (no .prev yet: only one bundle was recorded, so this is a fresh state)
  const lib = new BundleLibrary('update', { dir: lab.dataDir, clock: T0 + DAY });
  await lib.import(b);
  const good = readFileSync(index, 'utf8');
  writeFileSync(index, good.replace('"sequence": 3', '"sequence": "3"'));
  let err: UnbrickError | undefined;
  try {
    lib.entries();
  } catch (e) {
    err = e as UnbrickError;
  }
  assert.equal(err?.code, 'golden.index-corrupt');
  assert.match(err!.message, /entries\[0\]\.sequence must be an integer|entries\[0\]\.sequence must be a finite number/);
  assert.match(err!.message, /move .* aside .* re-import/);
  assert.ok(existsSync(index));
}));
