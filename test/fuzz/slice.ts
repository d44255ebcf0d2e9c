/** The fixed-seed slice `npm test` runs of one fuzz target (see test/unit/fuzz/). */
import assert from 'node:assert/strict';
import { runRange, type FuzzTarget } from './engine.ts';

export const SLICE_SEED = 20261207;

export async function runSlice(target: FuzzTarget, n: number): Promise<void> {
  await target.setup?.();
  try {
    const stats = await runRange(target, target.corpus?.() ?? [], SLICE_SEED, 0, n);
    assert.equal(stats.inputs, n);
    assert.deepEqual(
      stats.failures.map((f) => `${f.outcome} #${f.index}: ${f.error.split('\n').slice(0, 3).join(' ')}`),
      [],
      `replay with: npm run fuzz -- --target ${target.name} --seed ${SLICE_SEED} --index N`,
    );
  } finally {
    await target.teardown?.();
  }
}
