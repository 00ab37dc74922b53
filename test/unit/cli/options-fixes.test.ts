import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unknownAsGiven } from '../../../lib/cli/options.js';

test('unknown flags are named as typed: --no-x, no camelCase duplicates', () => {
  assert.equal(
    unknownAsGiven('Unknown arguments: such-flag-here, suchFlagHere', ['--no-such-flag-here']),
    'Unknown argument: --no-such-flag-here',
  );
  assert.equal(
    unknownAsGiven('Unknown arguments: bogus-flag, bogusFlag', ['--bogus-flag=1']),
    'Unknown argument: --bogus-flag',
  );
  assert.equal(unknownAsGiven('Unknown argument: Z', ['-Z']), 'Unknown argument: -Z');
  assert.equal(unknownAsGiven('Unknown arguments: a, b', ['a', 'b']), 'Unknown arguments: a, b');
  assert.equal(unknownAsGiven('Missing required argument: x', []), 'Missing required argument: x');
});

test('"-" after a string flag is its value (stdin/stdout), not a positional', async () => {
  const { joinDashValues } = await import('../../../lib/cli/options.js');
  const keys = new Set(['file', 'f', 'output', 'o']);
  assert.deepEqual(joinDashValues(['-f', '-', 'agg-ab'], keys), ['-f=-', 'agg-ab']);
  assert.deepEqual(joinDashValues(['--output', '-', '-v'], keys), ['--output=-', '-v']);
  assert.deepEqual(
    joinDashValues(['-q', '-', 'x'], keys),
    ['-q', '-', 'x'],
    'not a string flag: "-" stays a positional',
  );
  assert.deepEqual(joinDashValues(['--', '-f', '-'], keys), ['--', '-f', '-']);
});

test('makeParser + parseArgs: -f - and --password-file - parse as "-"', async () => {
  const { makeParser, parseArgs } = await import('../../../lib/cli/options.js');
  const proc = {
    argv: ['-f', '-', '--password-file', '-', 'name'],
    env: {},
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  const y = makeParser(proc, { prog: 'x', synopsis: ['a'], summary: 's', examples: [] })
    .command('$0 [args..]', false)
    .option('file', { alias: 'f', type: 'string' })
    .option('password-file', { type: 'string' });
  const a = await parseArgs(y);
  assert.ok(a, 'parsed');
  assert.equal(a.file, '-');
  assert.equal(a['password-file'], '-');
  assert.deepEqual(a.args, ['name']);
});

test('a value refused by a coerce helper (intInRange) is a usage error (64), not an internal error', async () => {
  const { makeParser, parseArgs, intInRange } = await import('../../../lib/cli/options.js');
  const { FlowmeterError } = await import('../../../lib/errors.js');
  const proc = {
    argv: ['--count', 'abc'],
    env: {},
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  const y = makeParser(proc, { prog: 'x', synopsis: ['a'], summary: 's', examples: [] }).option('count', {
    type: 'string',
    coerce: intInRange('count', 0, 9),
  });
  await assert.rejects(parseArgs(y), (e: unknown) => {
    assert.ok(e instanceof FlowmeterError);
    assert.equal(e.kind, 'usage');
    assert.equal(e.message, '--count: expected an integer, got "abc"');
    assert.deepEqual(e.detail, ["Try 'x --help' for more information."]);
    return true;
  });
});
