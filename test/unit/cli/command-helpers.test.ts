import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { untilSignal } from '../../../lib/cli/run.js';
import { rejectLine } from '../../../lib/cli/ndjson-input.js';
import { compileFilterArgs } from '../../../lib/cli/options.js';
import { Log } from '../../../lib/cli/log.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { Writable } from 'node:stream';

function stderr(): Writable & { text: string } {
  const w = Object.assign(new Writable({ write: (c, _e, cb) => ((w.text += String(c)), cb()) }), { text: '' });
  return w;
}

test('untilSignal: a signal from proc.signals aborts the body, the handlers are gone afterwards', async () => {
  const signals = new EventEmitter();
  const seen = await untilSignal({ signals }, ['SIGINT', 'SIGTERM'], async (signal) => {
    assert.equal(signal.aborted, false);
    assert.equal(signals.listenerCount('SIGINT'), 1);
    signals.emit('SIGTERM');
    return signal.aborted;
  });
  assert.equal(seen, true);
  assert.equal(signals.listenerCount('SIGINT'), 0);
  assert.equal(signals.listenerCount('SIGTERM'), 0);
});

test('untilSignal: the handlers are removed when the body throws', async () => {
  const signals = new EventEmitter();
  await assert.rejects(
    untilSignal({ signals }, ['SIGINT'], async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(signals.listenerCount('SIGINT'), 0);
});

test('rejectLine: counts and logs under the reason; with strict, a data error naming the place', () => {
  const err = stderr();
  const log = new Log('x', err);
  const counts = { rejected: 0 };
  rejectLine(log, counts, false)('a.ndjson:3', 'bad line', 'not JSON');
  assert.equal(counts.rejected, 1);
  assert.equal(log.rejections.get('bad line'), 1);
  assert.equal(err.text, 'x: a.ndjson:3: not JSON\n');
  assert.throws(
    () => rejectLine(log, counts, true)('a.ndjson:4', 'bad line', 'not JSON'),
    (e: unknown) => e instanceof FlowmeterError && e.kind === 'data' && e.message === 'a.ndjson:4: not JSON',
  );
  assert.equal(counts.rejected, 2);
});

test('compileFilterArgs: a syntax error is a usage error naming the flag, with the pointer lines', () => {
  assert.equal(compileFilterArgs(['tcp', 'udp']).length, 2);
  assert.throws(
    () => compileFilterArgs(['tcp and'], '-f'),
    (e: unknown) => {
      assert.ok(e instanceof FlowmeterError);
      assert.equal(e.kind, 'usage');
      assert.match(e.message, /^-f: /);
      assert.ok(e.detail.length > 0);
      return true;
    },
  );
});
