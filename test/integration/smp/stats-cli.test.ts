/**
 * `unbrick smp stats [GROUP]` against `unbrick sim zephyr` (two processes, the
 * simulator on a pty): the recorded sample's groups are listed, one group's
 * counters shown, and an unknown group is refused at once (from the list,
 * not after the silence Zephyr 3.4 answers it with over SMP v1), exit 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, unbrick } from './cli-process.ts';

test('unbrick smp stats lists the groups, shows one, refuses an unknown one', { timeout: 60_000 }, async (t) => {
  const { proc: sim, path } = await startSim('zephyr', '--flash', 'none');
  t.after(() => void sim.kill('SIGINT'));
  const list = await unbrick('smp', 'stats', '--port', path, '--json');
  assert.equal(list.code, 0, list.err);
  assert.deepEqual(JSON.parse(list.out), { groups: ['flash_sim_stats', 'flash_sim_thresholds', 'smp_svr_stats'] });
  const show = await unbrick('smp', 'stats', 'smp_svr_stats', '--port', path);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /^smp_svr_stats\/ticks = \d+\nsmp_svr_stats\/s1 = 0$/m);
  const t0 = Date.now();
  const none = await unbrick('smp', 'stats', 'power', '--port', path, '--json');
  assert.equal(none.code, 3);
  assert.equal(JSON.parse(none.out).error, 'smp.stat-group-not-found');
  assert.match(JSON.parse(none.out).message, /no statistics group "power" .*it lists flash_sim_stats, flash_sim_thresholds, smp_svr_stats/);
  t.diagnostic(`unknown group refused in ${Date.now() - t0} ms`);
});
