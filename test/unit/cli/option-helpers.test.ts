import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choiceOpt, readUserFile, writeOutOpt, type CommandContext, type ParsedValues } from '../../../src/cli/framework.ts';
import { confirmFlag } from '../../../src/cli/interaction.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const ctxWith = (values: ParsedValues): CommandContext => ({ values, positionals: [], json: false, tty: false, say() {}, warn() {}, signal: new AbortController().signal });

test('choiceOpt: the fallback when absent, the value when listed, a usage error naming the choices otherwise', () => {
  assert.equal(choiceOpt(ctxWith({}), 'format', ['html', 'json'], 'html'), 'html');
  assert.equal(choiceOpt(ctxWith({ format: 'json' }), 'format', ['html', 'json'], 'html'), 'json');
  assert.throws(
    () => choiceOpt(ctxWith({ format: 'pdf' }), 'format', ['html', 'json'], 'html'),
    (e: unknown) => e instanceof UnbrickError && e.code === 'usage.bad-format' && /html, json, got "pdf"/.test(e.message),
  );
});

test('writeOutOpt: without --out nothing is written; with it the text lands there; an unwritable path is io.write-failed', () => {
  assert.equal(writeOutOpt(ctxWith({}), 'x'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-out-'));
  try {
    const file = join(dir, 'r.html');
    assert.equal(writeOutOpt(ctxWith({ out: file }), '<p>ok</p>'), file);
    assert.equal(readFileSync(file, 'utf8'), '<p>ok</p>');
    assert.throws(
      () => writeOutOpt(ctxWith({ out: join(dir, 'no-such-dir', 'r.html') }), 'x'),
      (e: unknown) => e instanceof UnbrickError && e.code === 'io.write-failed',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confirmFlag: a boolean option that says what it confirms', () => {
  assert.deepEqual(confirmFlag('yes-erase', '--all'), { 'yes-erase': { type: 'boolean', description: 'confirm --all without a prompt' } });
});

test('readUserFile: the bytes of a file; a missing one is input.file-not-found, naming what was asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-in-'));
  try {
    assert.throws(
      () => readUserFile(join(dir, 'nope.bin'), 'Image'),
      (e: unknown) => e instanceof UnbrickError && e.code === 'input.file-not-found' && /^Image ".*nope\.bin" does not exist\.$/.test(e.message),
    );
    assert.throws(() => readUserFile(dir, 'Image'), (e: unknown) => e instanceof UnbrickError && e.code === 'input.unreadable');
    writeOutOpt(ctxWith({ out: join(dir, 'a.bin') }), 'ab');
    assert.deepEqual([...readUserFile(join(dir, 'a.bin'), 'Image')], [0x61, 0x62]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
