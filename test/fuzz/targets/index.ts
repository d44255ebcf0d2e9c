/** Every fuzz target, by name. */
import type { FuzzTarget } from '../engine.ts';
import { FILE_TARGETS } from './files.ts';
import { DEVICE_TARGETS } from './devices.ts';
import { SIM_TARGETS } from './sims.ts';
import { SERVER_TARGETS } from './server.ts';
import { FLEET_TARGETS } from './fleet.ts';

export const TARGETS: FuzzTarget[] = [...FILE_TARGETS, ...DEVICE_TARGETS, ...SIM_TARGETS, ...SERVER_TARGETS, ...FLEET_TARGETS];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}" (have: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
