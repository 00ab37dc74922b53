// The progress line's text, and its total: the inputs' size when all are regular files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Log } from '../../../lib/cli/log.js';
import { ReadProgress, progressText } from '../../../lib/cli/progress.js';
import { tempDir } from '../../helpers/tmp.js';

const GiB = 1024 ** 3;

test('progressText: read of total with percent, rate, elapsed m:ss or h:mm:ss', () => {
  assert.equal(progressText(1.2 * GiB, 1.5 * GiB, 12), 'read 1.20 GiB of 1.50 GiB (80%), 102 MiB/s, 0:12');
  assert.equal(progressText(500, undefined, 2), 'read 500 B, 250 B/s, 0:02');
  assert.equal(progressText(3 * GiB, 1 * GiB, 3725), 'read 3.00 GiB, 844 KiB/s, 1:02:05'); // beyond the total: shown without
});

function terminalLog(): { log: Log; shown: () => string } {
  const err = new PassThrough();
  let text = '';
  err.on('data', (d: Buffer) => (text += d.toString()));
  return { log: new Log('prog', err, { isTTY: true }), shown: () => text };
}

test('ReadProgress: the total of regular files, drawn after a second, erased by end()', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a'), Buffer.alloc(3000));
  writeFileSync(join(dir, 'b'), Buffer.alloc(1096));
  const { log, shown } = terminalLog();
  const p = await ReadProgress.start(log, [join(dir, 'a'), join(dir, 'b')], false);
  p.add(2048);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(shown(), '', 'nothing in the first second');
  await new Promise((r) => setTimeout(r, 900));
  p.end();
  assert.match(shown(), /^\r\x1b\[Kprog: read 2.00 KiB of 4.00 KiB \(50%\), [0-9.]+ (B|KiB)\/s, 0:01/);
  assert.ok(shown().endsWith('\r\x1b[K'));
});

test('ReadProgress: no total for stdin or gzip; nothing at all when the data goes to the terminal', async () => {
  for (const [paths, dataOnTerminal, want] of [
    [['-'], false, /read 10 B, /],
    [['x.ndjson.gz'], false, /read 10 B, /],
    [['-'], true, /^$/],
  ] as const) {
    const { log, shown } = terminalLog();
    const p = await ReadProgress.start(log, paths, dataOnTerminal);
    p.add(10);
    await new Promise((r) => setTimeout(r, 1300));
    p.end();
    assert.match(shown(), want, paths.join(' '));
  }
});
