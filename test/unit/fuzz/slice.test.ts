/**
 * The fixed-seed slice of `npm run fuzz` that `npm test` runs: a few hundred
 * inputs per target, in this process, every one ending in a result or a typed
 * error within its budget. The long run (1 000 000 inputs) is `npm run fuzz`.
 * The SMP client's slice is its own file (slice-smp-client.test.ts): it mostly
 * waits on the client's timeouts, so it runs beside this one.
 */
import { test } from 'node:test';
import { TARGETS } from '../../fuzz/targets/index.ts';
import { runSlice } from '../../fuzz/slice.ts';

/** Inputs per target: about 40 s in all on an idle machine. */
const SLICE: Record<string, number> = { 'an3155-client': 300, 'bundle-archive': 150, 'serve-websocket': 150, 'serve-http': 200 };

for (const target of TARGETS.filter((t) => t.name !== 'smp-client')) test(`fuzz slice: ${target.name}`, { timeout: 240_000 }, () => runSlice(target, SLICE[target.name] ?? 600));
