import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unknownAsGiven } from '../../../lib/cli/options.js';

test('unknown flags are named as typed: --no-x, no camelCase duplicates', () => {
  assert.equal(unknownAsGiven('Unknown arguments: such-flag-here, suchFlagHere', ['--no-such-flag-here']), 'Unknown argument: --no-such-flag-here');
  assert.equal(unknownAsGiven('Unknown arguments: bogus-flag, bogusFlag', ['--bogus-flag=1']), 'Unknown argument: --bogus-flag');
  assert.equal(unknownAsGiven('Unknown argument: Z', ['-Z']), 'Unknown argument: -Z');
  assert.equal(unknownAsGiven('Unknown arguments: a, b', ['a', 'b']), 'Unknown arguments: a, b');
  assert.equal(unknownAsGiven('Missing required argument: x', []), 'Missing required argument: x');
});
