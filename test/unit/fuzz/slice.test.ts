/**
 * The fixed-seed slice of `npm run fuzz` that `npm test` runs: a few hundred
 * inputs per target, in this process, every one ending in a result or a typed
 * error within its budget. The long run (1 000 000 inputs) is `npm run fuzz`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRange } from '../../fuzz/engine.ts';
import { TARGETS } from '../../fuzz/targets/index.ts';

const SEED = 20261207;
/** Inputs per target: about a minute in all on an idle machine. */
const SLICE: Record<string, number> = { 'smp-client': 300, 'an3155-client': 300, 'bundle-archive': 150, 'serve-websocket': 150, 'serve-http': 200 };

for (const target of TARGETS) {
  test(`fuzz slice: ${target.name}`, { timeout: 240_000 }, async () => {
    await target.setup?.();
    try {
      const n = SLICE[target.name] ?? 600;
      const stats = await runRange(target, target.corpus?.() ?? [], SEED, 0, n);
      assert.equal(stats.inputs, n);
      assert.deepEqual(
        stats.failures.map((f) => `${f.outcome} #${f.index}: ${f.error.split('\n').slice(0, 3).join(' ')}`),
        [],
        `replay with: npm run fuzz -- --target ${target.name} --seed ${SEED} --index N`,
      );
    } finally {
      await target.teardown?.();
    }
  });
}
