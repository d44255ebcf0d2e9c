/**
 * The fixed-seed slice of the SMP client facing a hostile device (see
 * slice.test.ts). About a minute of wall time, almost all of it waiting: a
 * device that answers an image erase with garbage is waited out for the
 * client's documented 2 x 30 s.
 */
import { test } from 'node:test';
import { targetNamed } from '../../fuzz/targets/index.ts';
import { runSlice } from '../../fuzz/slice.ts';

test('fuzz slice: smp-client', { timeout: 240_000 }, () => runSlice(targetNamed('smp-client'), 300));
