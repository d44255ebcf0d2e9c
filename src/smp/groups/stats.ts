/**
 * Statistics management group (2): list the statistics groups the firmware
 * registered (CONFIG_STATS + CONFIG_MCUMGR_GRP_STAT) and show one group's
 * counters.
 *
 * Zephyr docs smp_group_2 and subsys/mgmt/mcumgr/grp/stat_mgmt: list is read
 * id 1 -> `{stat_list: [names]}` (with `rc: 0` under the legacy rc behaviour,
 * as recorded in ../shared/vectors/smp-zephyr case 06); show is read id 0
 * `{name}` -> `{name, fields: {counter: uint}}`. An unknown group name answers
 * differently per version: Zephyr 3.4 over SMP v1 sends the response header
 * with no payload at all (case 06), over v2 `{err: {group: 63, rc: 3}}` (a
 * server bug: the wrong group); older trees `{rc: 1}`, newer ones
 * STAT_MGMT_ERR_INVALID_GROUP (2) in group 2. Every one of those means "no
 * such statistics group" here. A firmware without the group answers ENOTSUP.
 */
import { UnbrickError } from '../../core/errors.ts';
import type { SmpClient } from '../client.ts';
import { answerError } from '../errors.ts';
import { GROUP, smpRequest } from '../messages.ts';

export const STAT_GROUP = GROUP.stat;
/** CONFIG_STAT_MGMT_MAX_NAME_LEN default (the C buffer holds the NUL). */
export const MAX_GROUP_NAME = 32;

// ---- pure codec ----------------------------------------------------------------

export function showRequest(group: string): { name: string } {
  if (!group || group.length >= MAX_GROUP_NAME || /\0/.test(group))
    throw new UnbrickError('input', 'smp.bad-stat-group', `"${group}" is not a statistics group name: 1 to ${MAX_GROUP_NAME - 1} characters, no NUL.`);
  return { name: group };
}

/** The group names of a list answer; undefined when the shape is wrong. */
export function parseList(body: Record<string, unknown>): string[] | undefined {
  if (!Array.isArray(body.stat_list)) return undefined;
  return body.stat_list.filter((x): x is string => typeof x === 'string');
}

/** The counters of a show answer; undefined when it carries none (the group is not there). */
export function parseShow(body: Record<string, unknown>): Record<string, number> | undefined {
  const f = body.fields;
  if (!f || typeof f !== 'object' || Array.isArray(f) || f instanceof Uint8Array) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(f as Record<string, unknown>)) {
    if (typeof v === 'number') out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number(v);
  }
  return out;
}

/** The error in a stats answer, in statistics terms; undefined for a success. */
export function statsError(body: Record<string, unknown>, what: string, group?: string): UnbrickError | undefined {
  const err = answerError(body, what);
  if (!err) return undefined;
  if (err.code === 'smp.unsupported')
    return new UnbrickError('device', 'smp.unsupported', `This device does not support ${what}: its firmware has no statistics management group (CONFIG_MCUMGR_GRP_STAT).`, { rc: 8, group: STAT_GROUP });
  // A group name the firmware does not know reads as one of several errors depending on the Zephyr version (see above).
  if (group !== undefined) return noSuchGroup(group, { ...err.details });
  return err;
}

const noSuchGroup = (group: string, details: Record<string, unknown> = {}) =>
  new UnbrickError(
    'device',
    'smp.stat-group-not-found',
    `The device has no statistics group "${group}" (its firmware registers none by that name${Array.isArray(details.listed) ? `; it lists ${(details.listed as string[]).join(', ') || 'none'}` : ''}).`,
    { ...details, statGroup: group },
  );

// ---- client calls ---------------------------------------------------------------

/** Names of the statistics groups the firmware registered. */
export async function listGroups(c: SmpClient): Promise<string[]> {
  const a = await c.call(smpRequest('statList'));
  const err = statsError(a.body, 'statistics list');
  if (err) throw err;
  const names = parseList(a.body);
  if (!names) throw new UnbrickError('device', 'smp.bad-answer', 'The device answered the statistics list without a list of groups.', { body: Object.keys(a.body) });
  return names;
}

/** The counters of one statistics group (name -> value). */
export async function showGroup(c: SmpClient, group: string): Promise<Record<string, number>> {
  const a = await c.call({ ...smpRequest('statShow', showRequest(group)), what: `statistics group "${group}"` });
  const err = statsError(a.body, `statistics group "${group}"`, group);
  if (err) throw err;
  const fields = parseShow(a.body);
  if (!fields) throw noSuchGroup(group);
  return fields;
}

/**
 * The counters of one group, asked for only when the stat list names it: a
 * show of an unknown group over SMP v1 is answered (Zephyr 3.4) in a way that
 * reads as silence, so an unknown group would cost a timeout instead of an answer.
 */
export async function readGroup(c: SmpClient, group: string, listed?: string[]): Promise<Record<string, number>> {
  const names = listed ?? (await listGroups(c));
  if (!names.includes(group)) throw noSuchGroup(group, { listed: names });
  return showGroup(c, group);
}
