/**
 * The sample of `npm run faults` that `npm test` runs: a few fixed fault
 * points (flash steps and byte ranges of each workflow), each ending with the
 * unit correct or a clean, typed failure; never a silent corruption, a unit
 * claimed bootable that is not, an untyped failure or a hang. The long run
 * (every point, over 10 000) is `npm run faults`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSharedLibraries, runPoint, SCENARIOS, type FaultKind, type PointAxis } from '../../faults/points.ts';

after(() => closeSharedLibraries());

const POINTS: Array<[scenario: string, kind: FaultKind, axis: PointAxis, step: number]> = [
  ['unbrick stm32', 'power-torn', 'flash', 40],
  ['unbrick stm32', 'reset', 'flash', 200],
  ['unbrick stm32', 'cable', 'byte', 30_000],
  ['recover empty', 'power-torn', 'flash', 20],
  ['recover empty', 'power-after', 'byte', 25_000],
  ['recover corrupt', 'power-before', 'flash', 5],
  ['update', 'power-torn', 'flash', 80],
  ['update', 'reset', 'flash', 130],
];

test('fault points sample: each ends correct or cleanly failed', { timeout: 600_000 }, async () => {
  const results = await Promise.all(POINTS.map(([name, kind, axis, step]) => runPoint(SCENARIOS.find((s) => s.name === name)!, kind, step, axis)));
  // 'not-reached' (the fault never fired: a point past the workflow's end) would prove nothing, so it fails too.
  for (const r of results) assert.ok(['ok', 'clean-failure'].includes(r.verdict), `${r.scenario} ${r.kind} ${r.axis} ${r.step}: ${r.verdict} ${r.detail}`);
});
