import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkBundle } from '../../../src/trust/check.ts';
import { loadRollbackState, rollbackPath, saveRollbackState } from '../../../src/trust/rollback-state.ts';
import { inTrustedLab, Lab, makeBundle, T0, DAY } from '../bundle/fixture.ts';

test('anti-rollback state survives a restart (a new process reads what was recorded)', inTrustedLab(async (lab, v) => {
  const b20 = await makeBundle(lab, 'b20.ubundle', [v.releaseKeys[0]!], { sequence: 20 });
  await checkBundle(b20, { dir: lab.dataDir, clock: T0 + DAY, record: true });
  const b19 = await makeBundle(lab, 'b19.ubundle', [v.releaseKeys[0]!], { sequence: 19 });
  // Verify in a separate Node process: only the persisted state can carry the floor there.
  const script = `import { checkBundle } from ${JSON.stringify(join(process.cwd(), 'src/trust/check.ts'))};
    checkBundle(${JSON.stringify(b19)}, { dir: ${JSON.stringify(lab.dataDir)}, clock: ${T0 + DAY} }).then(() => console.log('accepted'), (e) => console.log(e.code));`;
  const out = await new Promise<string>((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d.toString()));
    p.on('close', () => res(s.trim()));
  });
  assert.equal(out, 'bundle.rollback');
}));

test('a writer killed mid-write leaves a readable state (old or new), and leftover temp files are ignored', async () => {
  const lab = new Lab();
  try {
    const path = rollbackPath(lab.dataDir);
    saveRollbackState({ format: 1, products: { 'a/b': { name: 'x', highestSequence: 1, targets: {}, acceptedAt: '2026-01-01T00:00:00Z' } } }, lab.dataDir);
    // A child rewrites the state as fast as it can (large, so writes take time) and is killed with SIGKILL.
    const script = `import { saveRollbackState } from ${JSON.stringify(join(process.cwd(), 'src/trust/rollback-state.ts'))};
      const pad = Object.fromEntries(Array.from({ length: 20000 }, (_, j) => ['p/' + j, { name: 'padding', highestSequence: 1, targets: {}, acceptedAt: '2026-01-01T00:00:00Z' }]));
      for (let i = 2; ; i++) { saveRollbackState({ format: 1, products: { ...pad, 'a/b': { name: 'x', highestSequence: i, targets: {}, acceptedAt: '2026-01-01T00:00:00Z' } } }, ${JSON.stringify(lab.dataDir)}); if (i === 3) console.log('writing'); }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const s = loadRollbackState(lab.dataDir);
    const seq = s.products['a/b']!.highestSequence;
    assert.ok(seq >= 3, `state is one complete version (sequence ${seq})`);
    // A torn temp file from a crash sits beside the state: it is ignored, the state still loads.
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(join(dirname(path), '.rollback.json.99999.1.tmp'), '{"format":1,"products":{"a/b":{"highestSeq');
    assert.equal(loadRollbackState(lab.dataDir).products['a/b']!.highestSequence, seq);
    assert.ok(readdirSync(dirname(path)).some((f) => f.endsWith('.tmp')));
    // A damaged state file is refused, never reset (which would re-admit old releases).
    writeFileSync(path, '{"format":1,"prod');
    assert.throws(() => loadRollbackState(lab.dataDir), (e: Error & { code?: string }) => e.code === 'trust.state-corrupt');
    assert.ok(existsSync(path));
  } finally {
    lab.cleanup();
  }
});
