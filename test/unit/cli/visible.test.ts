// Text from users on stderr and in tables: control characters shown as escapes, one message one
// line; values nested deeper than the stack described without overflowing; line counts that
// include the over-long line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { visible } from '../../../lib/cli/visible.js';
import { Log } from '../../../lib/cli/log.js';
import { EXIT, tryHelp } from '../../../lib/cli/exit.js';
import { FlowmeterError, usageError } from '../../../lib/errors.js';
import { reportError } from '../../../lib/cli/run.js';
import { makeChalk } from '../../../lib/cli/color.js';
import { readNdjsonObjects } from '../../../lib/cli/ndjson-input.js';
import { describeValue } from '../../../lib/flow/record.js';

const HOSTILE = 'a\x1b[2Jb\x07c\rd\ne\tf\x7fg\u0085h';
const SHOWN = 'a\\x1b[2Jb\\x07c\\rd\\ne\\tf\\x7fg\\x85h';

test('visible: C0, DEL and C1 controls as escapes; everything else untouched', () => {
  assert.equal(visible(HOSTILE), SHOWN);
  assert.equal(visible('\x00'), '\\x00');
  assert.equal(visible('plain ü € \\x1b 10.0.0.1 -5'), 'plain ü € \\x1b 10.0.0.1 -5');
  assert.equal(visible(visible(HOSTILE)), SHOWN, 'escaping twice changes nothing more');
});

function stderrOf(fn: (log: Log) => void, colour: 0 | 1 = 0): string {
  const err = new PassThrough();
  fn(new Log('t', err, { chalk: makeChalk(colour), verbose: 2 }));
  return err.read()?.toString() ?? '';
}

test('log: every kind of message is one line with its control characters escaped', () => {
  const text = stderrOf((log) => {
    log.error(`no label ${HOSTILE}`);
    log.warn(HOSTILE);
    log.info(HOSTILE);
    log.debug(HOSTILE);
    log.reject('bad', HOSTILE);
  });
  assert.equal(text, `t: no label ${SHOWN}\n${`t: ${SHOWN}\n`.repeat(4)}`);
});

test('log: the colour is added after escaping, so only our own ESC sequences reach the terminal', () => {
  const text = stderrOf((log) => log.error('x\x1b[31my'), 1);
  assert.equal(text, 't: \x1b[31mx\\x1b[31my\x1b[39m\n');
});

test('reportError: the message escaped, then its detail lines, each on a line of its own', () => {
  const err = new PassThrough();
  const code = reportError('t', usageError(`unknown command "${HOSTILE}"`, tryHelp('t')), { stderr: err, env: {} });
  assert.equal(code, EXIT.USAGE);
  assert.equal(err.read().toString(), `t: unknown command "${SHOWN}"\nTry 't --help' for more information.\n`);
  const err2 = new PassThrough();
  assert.equal(
    reportError('t', new FlowmeterError('no-input', `${HOSTILE}: No such file`), { stderr: err2, env: {} }),
    EXIT.NOINPUT,
  );
  assert.equal(err2.read().toString(), `t: ${SHOWN}: No such file\n`);
  const err3 = new PassThrough();
  assert.equal(reportError('t', new RangeError(HOSTILE), { stderr: err3, env: {} }), EXIT.SOFTWARE);
  assert.equal(err3.read().toString(), `t: internal error (this is a bug, please report it): ${SHOWN}\n`);
});

test('describeValue: the first 40 characters of the JSON text, even of a value nested 100,000 deep', () => {
  assert.equal(describeValue('12a'), '"12a"');
  assert.equal(describeValue(-1), '-1');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue({ a: [1, 'x', { b: true }], c: null }), '{"a":[1,"x",{"b":true}],"c":null}');
  assert.equal(
    describeValue(Array.from({ length: 50 }, (_, i) => i)),
    `${JSON.stringify(Array.from({ length: 50 }, (_, i) => i)).slice(0, 40)}…`,
  );
  assert.equal(describeValue('\x1b'.repeat(3)), '"\\u001b\\u001b\\u001b"');
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
  assert.throws(() => JSON.stringify(deep), RangeError, 'the case this guards against');
  assert.equal(describeValue(deep), `${'['.repeat(40)}…`);
  const deepObject = JSON.parse(`${'{"k":'.repeat(100_000)}1${'}'.repeat(100_000)}`) as unknown;
  assert.equal(describeValue(deepObject), `${'{"k":'.repeat(8)}…`);
});

test('describeValue(v, max): the first max characters; a Date or Buffer (an XML-RPC answer) as JSON.stringify writes it', () => {
  const long = 'x'.repeat(100);
  assert.equal(describeValue(long, 80), `${JSON.stringify(long).slice(0, 80)}…`);
  assert.equal(describeValue(long.slice(0, 78), 80), JSON.stringify(long.slice(0, 78)));
  const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(describeValue(when, 80), '"2026-01-02T03:04:05.000Z"');
  assert.equal(
    describeValue({ at: when, data: Buffer.from('ab') }, 80),
    JSON.stringify({ at: when, data: Buffer.from('ab') }),
  );
});

test('ndjson input: the over-long line counts among the lines read ("1 of 3", not "1 of 2")', async () => {
  const text = `{"a":1}\n{"a":2}\n{"pad":"${'x'.repeat((1 << 20) + 10)}"}\n{"a":3}\n`;
  for (const scanner of [undefined, { scan: () => -1 }]) {
    const counts = { lines: 0 };
    const rejects: string[] = [];
    await readNdjsonObjects(
      ['-'],
      { stdin: Readable.from([Buffer.from(text)]) },
      counts,
      (place) => void rejects.push(place),
      () => undefined,
      undefined,
      scanner,
    );
    assert.deepEqual(rejects, ['stdin:3']);
    assert.equal(counts.lines, 3);
  }
  // the long line alone, arriving in pieces (its tail grows past the limit)
  const counts = { lines: 0 };
  const pieces = Array.from({ length: 20 }, () => Buffer.from('x'.repeat(1 << 16)));
  await readNdjsonObjects(
    ['-'],
    { stdin: Readable.from(pieces) },
    counts,
    () => undefined,
    () => undefined,
  );
  assert.equal(counts.lines, 1);
});
