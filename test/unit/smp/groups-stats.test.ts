/**
 * Statistics group (2): requests re-encode byte for byte to the frames
 * recorded against Zephyr 3.4 (case 06), the recorded answers decode, and the
 * client against the Zephyr simulator lists and shows groups, refusing an
 * unknown group (over SMP v2; v1 answers it with silence, see stats.ts) and
 * a firmware without the group as typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCbor, encodeCbor } from '../../../src/smp/cbor.ts';
import { encodeFrame } from '../../../src/smp/frame.ts';
import { encodeHeader } from '../../../src/smp/header.ts';
import * as stats from '../../../src/smp/groups/stats.ts';
import { SMP_COMMANDS } from '../../../src/smp/messages.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { ZEPHYR_DIR } from '../../integration/smp/vectors.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { connectInProcess, createZephyrSim } from '../../../src/sim/zephyr/index.ts';

interface Recorded {
  label: string;
  request: { wire_hex: string; cbor_hex: string; smp_header: { op: number; version: number; group: number; seq: number; id: number } };
  response: { decoded?: { cbor_hex: string } };
}
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('stat requests re-encode to the recorded Zephyr frames; recorded answers decode to groups and counters', () => {
  const { exchanges } = JSON.parse(readFileSync(join(ZEPHYR_DIR, 'cases', '06-stat.json'), 'utf8')) as { exchanges: Recorded[] };
  const list = exchanges.find((e) => e.request.smp_header.id === SMP_COMMANDS.statList.id)!;
  const show = exchanges.find((e) => e.label.includes('smp_svr_stats'))!;
  for (const [e, body] of [
    [list, {}],
    [show, stats.showRequest('smp_svr_stats')],
  ] as const) {
    const h = e.request.smp_header;
    const cbor = encodeCbor(body);
    assert.equal(Buffer.from(cbor).toString('hex'), e.request.cbor_hex, e.label);
    const packet = Buffer.concat([encodeHeader({ op: 0, version: h.version, flags: 0, len: cbor.length, group: stats.STAT_GROUP, seq: h.seq, id: h.id }), cbor]);
    assert.equal(Buffer.from(encodeFrame(packet)).toString('hex'), e.request.wire_hex, e.label);
  }
  const listed = decodeCbor(hex(list.response.decoded!.cbor_hex)) as Record<string, unknown>;
  assert.equal(stats.statsError(listed, 'statistics list'), undefined, '`rc: 0` is success');
  assert.deepEqual(stats.parseList(listed), ['flash_sim_stats', 'flash_sim_thresholds', 'smp_svr_stats']);
  const shown = decodeCbor(hex(show.response.decoded!.cbor_hex)) as Record<string, unknown>;
  assert.deepEqual(stats.parseShow(shown), { ticks: 3, s1: 0 });
  // The recorded v2 answer to an unknown name names group 63 (a server bug): still "no such group".
  assert.equal(stats.statsError({ err: { group: 63, rc: 3 } }, 'statistics group "x"', 'x')?.code, 'smp.stat-group-not-found');
  assert.equal(stats.statsError({ err: { group: 2, rc: 2 } }, 'statistics group "x"', 'x')?.code, 'smp.stat-group-not-found');
  assert.equal(stats.statsError({ rc: 8 }, 'statistics list')?.code, 'smp.unsupported');
  assert.equal(stats.parseShow({}), undefined, 'v1 header with no payload: no counters');
  assert.equal(stats.parseList({ rc: 0 }), undefined);
  for (const bad of ['', 'x'.repeat(32), 'a\0b']) assert.throws(() => stats.showRequest(bad), (e) => e instanceof UnbrickError && e.code === 'smp.bad-stat-group');
});

test('stats client against the Zephyr simulator: the application\'s groups, live values, unknown group and no group', async (t) => {
  let battery = 3700;
  const dev = createZephyrSim({ flash: 'none', statGroups: { power: { battery_mv: () => battery }, boot: { reset_count: 4 } } });
  t.after(() => dev.dispose());
  for (const version of [0, 1]) {
    const link = connectInProcess(dev, { baud: 0 });
    const c = new SmpClient(link, { timeoutMs: 500, retries: 1, version });
    try {
      assert.deepEqual(await stats.listGroups(c), ['flash_sim_stats', 'flash_sim_thresholds', 'smp_svr_stats', 'power', 'boot']);
      assert.deepEqual(await stats.showGroup(c, 'power'), { battery_mv: 3700 });
      battery = 3310;
      assert.deepEqual(await stats.showGroup(c, 'power'), { battery_mv: 3310 }, 'read at the time of the request');
      assert.deepEqual(await stats.showGroup(c, 'boot'), { reset_count: 4 });
      battery = 3700;
      if (version === 1) await assert.rejects(stats.showGroup(c, 'nope'), (e) => e instanceof UnbrickError && e.code === 'smp.stat-group-not-found' && /no statistics group "nope"/.test(e.message));
    } finally {
      await link.close();
    }
  }
});

test('stats client: a firmware without the statistics group is unsupported, not a hang', async (t) => {
  // The MCUboot-serial half of a factory unit has no statistics group.
  const { createFactoryUnit } = await import('../../../src/sim/zephyr/index.ts');
  const dev = createFactoryUnit({ flash: 'none' });
  t.after(() => dev.dispose());
  const link = connectInProcess(dev, { baud: 0 });
  t.after(() => link.close());
  const c = new SmpClient(link, { timeoutMs: 500, retries: 1 });
  await assert.rejects(stats.listGroups(c), (e) => e instanceof UnbrickError && e.code === 'smp.unsupported' && /no statistics management group/.test(e.message));
});
