/** The one formatter for versions, addresses, IDs, times and outcomes (src/api/format.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countFindings,
  formatAddress,
  formatLocalTime,
  formatOsInfo,
  formatProductId,
  formatTarget,
  formatVersion,
  formatVersionChange,
  outcomeWords,
  versionsOf,
} from '../../../src/api/format.ts';

test('versions: imgtool form, +0 left out, the spellings seen in the field read the same', () => {
  assert.equal(formatVersion('1.2.3+4'), '1.2.3+4');
  assert.equal(formatVersion('v1.2.3.4'), '1.2.3+4');
  assert.equal(formatVersion('1.2.0'), '1.2.0');
  assert.equal(formatVersion('1.2.0+0'), '1.2.0');
  assert.equal(formatVersion('1.3'), '1.3.0');
  assert.equal(formatVersion({ major: 2, minor: 0, revision: 1, build: 7 }), '2.0.1+7');
  assert.equal(formatVersion('2026.1-rc1'), '2026.1-rc1');
  assert.equal(formatVersion(undefined), '—');
  assert.equal(formatVersionChange('1.2.0', '1.3.0+0'), '1.2.0 → 1.3.0');
  assert.equal(formatVersionChange('v1.2.0.0', '1.2.0'), '1.2.0 (unchanged)');
});

test('addresses: 0x and eight hex digits; bundle targets in words', () => {
  assert.equal(formatAddress(0x8000000), '0x08000000');
  assert.equal(formatAddress(0x0800c000), '0x0800c000');
  assert.equal(formatAddress(0), '0x00000000');
  assert.equal(formatTarget('address:0x8000000'), '0x08000000');
  assert.equal(formatTarget('smp:image0'), 'image 0 (over SMP)');
});

test('product IDs: 0x413 whatever the input, with the chip name when given', () => {
  assert.equal(formatProductId(0x413), '0x413');
  assert.equal(formatProductId(1043), '0x413');
  assert.equal(formatProductId('1043'), '0x413');
  assert.equal(formatProductId('0x413', 'STM32F405/407'), '0x413 (STM32F405/407)');
  assert.equal(formatProductId('413'), '0x413');
  assert.equal(formatProductId(0x41), '0x041');
});

test('the os row: uname-style text in words', () => {
  assert.equal(formatOsInfo('Zephyr unknown  3.4.99 Sun Nov 22 01:55:44 2026 posix unknown native_sim_64 Zephyr'), 'Zephyr 3.4.99 on native_sim_64 (posix), built Sun Nov 22 01:55:44 2026');
  assert.equal(formatOsInfo('  something   else '), 'something else');
  assert.equal(formatOsInfo(''), 'Zephyr');
});

test('times: local with the zone named', () => {
  assert.equal(formatLocalTime('2026-12-07T12:51:22.123Z', { offsetMinutesEast: 60 }), '2026-12-07 13:51:22 UTC+01:00');
  assert.equal(formatLocalTime('2026-12-07T02:00:00Z', { offsetMinutesEast: -330 }), '2026-12-06 20:30:00 UTC-05:30');
  assert.equal(formatLocalTime('2026-12-07T02:00:00Z', { offsetMinutesEast: 0, seconds: false }), '2026-12-07 02:00 UTC');
  assert.equal(formatLocalTime('not a time'), 'not a time');
});

test('outcomes: a diagnosis with a critical finding is not "done"', () => {
  const c = countFindings([{ severity: 'critical' }, { severity: 'warning' }, { severity: 'ok' }]);
  assert.deepEqual(c, { critical: 1, warning: 1 });
  assert.deepEqual(outcomeWords('succeeded', c), { word: 'problems found: 1 critical, 1 warning', tone: 'bad' });
  assert.deepEqual(outcomeWords('succeeded', { critical: 0, warning: 2 }), { word: 'done, 2 warnings', tone: 'warn' });
  assert.deepEqual(outcomeWords('succeeded'), { word: 'done', tone: 'good' });
  assert.equal(outcomeWords('failed').tone, 'bad');
});

test('versions before and after, from the facts each job records', () => {
  assert.deepEqual(versionsOf({ runningBefore: '1.2.0', runningAfter: '1.3.0+0' }), { before: '1.2.0', after: '1.3.0' });
  assert.deepEqual(versionsOf({ slot0After: 'v1.0.0.2' }), { after: '1.0.0+2' });
  assert.deepEqual(versionsOf({ versions: { before: '0.9.0', image0: '1.0.0' } }), { before: '0.9.0', after: '1.0.0' });
  assert.equal(versionsOf({ uploadLink: {} }), undefined);
  assert.equal(versionsOf(undefined), undefined);
});
