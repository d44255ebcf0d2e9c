/** Typed-error checks shared by the tests: which UnbrickError code a call ends with. */
import assert from 'node:assert/strict';
import { UnbrickError } from '../../src/core/errors.ts';

/** The code of the UnbrickError `fn` throws, or 'none' when it returns; anything else thrown fails the test. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UnbrickError, `not an UnbrickError: ${String(e)}`);
    return e.code;
  }
  return 'none';
}

/** A validator for assert.throws / assert.rejects: the error carries `code` (its message shows on a mismatch). */
export const hasCode = (code: string) => (e: Error & { code?: string }) => {
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  return true;
};

/** Runs `fn`, which must refuse: returns the typed error it throws. */
export function refusal(fn: () => unknown): UnbrickError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UnbrickError, `a typed error, not ${String(e)}`);
    return e;
  }
  return assert.fail('the input was accepted');
}
