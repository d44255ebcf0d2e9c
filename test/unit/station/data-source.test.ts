import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvEntries, parseCsvRows, parseEntries, parseJsonEntries, entryContentHash } from '../../../src/station/data-source.ts';
import { refusal } from '../../helpers/errors.ts';

const code = (fn: () => unknown) => refusal(fn).code;

test('CSV: header, quoted fields with commas, doubled quotes, newlines, CRLF and a BOM', () => {
  const text = '\uFEFFserial,key,note\r\nSN-1,aa01,"plain"\r\n\r\nSN-2,bb02,"has, comma and ""quotes"""\nSN-3,cc03,"two\nlines"\n';
  const e = parseCsvEntries(text);
  assert.deepEqual(
    e.map((x) => [x.id, x.index, x.fields.note]),
    [
      ['SN-1', 0, 'plain'],
      ['SN-2', 1, 'has, comma and "quotes"'],
      ['SN-3', 2, 'two\nlines'],
    ],
  );
  assert.equal(e[0]!.hash, entryContentHash({ serial: 'SN-1', key: 'aa01', note: 'plain' }));
  assert.notEqual(e[0]!.hash, e[1]!.hash);
  // Row line numbers count the embedded newline.
  assert.deepEqual(
    parseCsvRows('a\n"x\ny"\nz').map((r) => r.line),
    [1, 2, 4],
  );
});

test('the id column is `id`, else `serial`, else the first column', () => {
  assert.equal(parseCsvEntries('serial,id\nS1,I1\n')[0]!.id, 'I1');
  assert.equal(parseCsvEntries('mac,serial\nM1,S1\n')[0]!.id, 'S1');
  assert.equal(parseCsvEntries('mac,key\nM1,K1\n')[0]!.id, 'M1');
});

test('bad CSV is a typed input error naming the line', () => {
  assert.equal(code(() => parseCsvEntries('')), 'station.data-empty');
  assert.equal(code(() => parseCsvEntries('serial,key\nS1\n')), 'station.data-bad-csv');
  assert.equal(code(() => parseCsvEntries('serial,serial\nS1,S2\n')), 'station.data-bad-csv');
  assert.equal(code(() => parseCsvEntries('serial\n"open\n')), 'station.data-bad-csv');
  assert.equal(code(() => parseCsvEntries('serial\n"a"b\n')), 'station.data-bad-csv');
  assert.equal(code(() => parseCsvEntries('serial\nS1\nS2\nS1\n')), 'station.data-duplicate');
  assert.equal(code(() => parseCsvEntries('serial,key\n,K\n')), 'station.data-missing-id');
  try {
    parseCsvEntries('serial,key\nS1,K1\nS2\n');
  } catch (e) {
    assert.match((e as Error).message, /Line 3/);
  }
});

test('JSON: array or {entries}, scalars become strings, anything else is refused', () => {
  const e = parseJsonEntries('[{"serial":"S1","port":5683,"secure":true},{"serial":"S2","port":1,"secure":false}]');
  assert.deepEqual(e[0]!.fields, { serial: 'S1', port: '5683', secure: 'true' });
  assert.equal(parseJsonEntries('{"entries":[{"id":"x"}]}')[0]!.id, 'x');
  assert.equal(code(() => parseJsonEntries('{')), 'station.data-bad-json');
  assert.equal(code(() => parseJsonEntries('{"a":1}')), 'station.data-bad-json');
  assert.equal(code(() => parseJsonEntries('[]')), 'station.data-empty');
  assert.equal(code(() => parseJsonEntries('[{"serial":"S1","k":{"n":1}}]')), 'station.data-bad-json');
  assert.equal(code(() => parseJsonEntries('[{"serial":"S1"},{"serial":"S1"}]')), 'station.data-duplicate');
  assert.equal(parseEntries('list.JSON', '[{"serial":"A"}]')[0]!.id, 'A');
  assert.equal(parseEntries('list.csv', 'serial\nB\n')[0]!.id, 'B');
});
