import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable, PassThrough } from 'node:stream';
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { readLines, LineTooLongError } from '../../../lib/cli/lines.js';
import { readNdjsonObjects } from '../../../lib/cli/ndjson-input.js';
import { BatchWriter } from '../../../lib/cli/writer.js';
import { AtomicFile, openInput, openInputChunks, writeFileAtomic } from '../../../lib/cli/io.js';
import { colorLevel } from '../../../lib/cli/color.js';
import { Log } from '../../../lib/cli/log.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';

async function collect(chunks: Array<string | Buffer>): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const b of readLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))))) {
    b.lines.forEach((l, i) => out.push([b.firstLine + i, l]));
  }
  return out;
}

test('lines: split across chunks, CRLF, last line without newline, numbering', async () => {
  assert.deepEqual(await collect(['a\nb', 'c\r\n', '\nd']), [
    [1, 'a'],
    [2, 'bc'],
    [3, ''],
    [4, 'd'],
  ]);
});

test('lines: a multi-byte character split between chunks survives', async () => {
  const euro = Buffer.from('x€y\n');
  assert.deepEqual(await collect([euro.subarray(0, 2), euro.subarray(2)]), [[1, 'x€y']]);
});

test('lines: an over-long line is an error naming it; the lines before it in its chunk still come through', async () => {
  const got: string[] = [];
  await assert.rejects(
    async () => {
      for await (const b of readLines(Readable.from([Buffer.from('ok\nfine\n' + 'x'.repeat(50) + '\nlater\n')]), 10))
        got.push(...b.lines);
    },
    (e: unknown) => e instanceof LineTooLongError && e.line === 3,
  );
  assert.deepEqual(got, ['ok', 'fine']);
});

test('ndjson input: an over-long line ends the file; the objects before it in its chunk are used', async () => {
  // one chunk holding good lines, the long one and more after it
  const text = `{"a":1}\n{"a":2}\n{"pad":"${'x'.repeat((1 << 20) + 10)}"}\n{"a":3}\n`;
  for (const scanner of [undefined, { scan: () => -1 }]) {
    const seen: unknown[] = [];
    const rejects: string[] = [];
    const stdin = Readable.from([Buffer.from(text)]);
    await readNdjsonObjects(
      ['-'],
      { stdin },
      { lines: 0 },
      (place, reason) => void rejects.push(`${place} ${reason}`),
      (o) => void seen.push(o.a),
      undefined,
      scanner,
    );
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(rejects, ['stdin:3 line too long']);
  }
});

test('writer: waits for drain instead of buffering without bound', async () => {
  let written = 0;
  let release: (() => void) | undefined;
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      release = cb;
    },
  });
  const w = new BatchWriter(slow, 100);
  let flushed = false;
  w.add('x'.repeat(2000));
  const p = w.flush().then(() => (flushed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(flushed, false, 'flush blocks while the sink is full');
  release!();
  await p;
  assert.equal(written, 2000);
});

test('writer: a destroyed sink rejects instead of hanging', async () => {
  const sink = new PassThrough({ highWaterMark: 1 });
  const w = new BatchWriter(sink, 1);
  w.add('abc');
  const p = w.flush();
  sink.destroy();
  await assert.rejects(p);
});

test('atomic file: invisible until commit, temp removed on abort', async () => {
  const dir = tempDir();
  const path = join(dir, 'out.csv');
  const f = await AtomicFile.create(path);
  await f.write('hello\n');
  assert.equal(existsSync(path), false);
  await f.commit();
  assert.equal(readFileSync(path, 'utf8'), 'hello\n');
  const g = await AtomicFile.create(path);
  await g.write('partial');
  await g.abort();
  assert.equal(readFileSync(path, 'utf8'), 'hello\n');
  assert.deepEqual(readdirSync(dir), ['out.csv']);
  await writeFileAtomic(path, 'again\n');
  assert.equal(readFileSync(path, 'utf8'), 'again\n');
});

test('openInput: missing file is exit 66 with the path', async () => {
  await assert.rejects(
    openInput('/nonexistent/x.ndjson', process.stdin),
    (e: unknown) =>
      e instanceof FlowmeterError && e.kind === 'no-input' && /\/nonexistent\/x.ndjson: No such file/.test(e.message),
  );
  await assert.rejects(
    openInputChunks('/nonexistent/x.ndjson', process.stdin),
    (e: unknown) => e instanceof FlowmeterError && e.kind === 'no-input',
  );
  await assert.rejects(
    openInputChunks(tempDir(), process.stdin),
    (e: unknown) => e instanceof FlowmeterError && /Is a directory/.test(e.message),
  );
});

test('openInputChunks: a named pipe is read as a file is (reused buffers), and destroy() ends a waiting read (SIGINT)', async (t) => {
  const dir = tempDir();
  const fifo = join(dir, 'in.fifo');
  if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('needs mkfifo (Debian package coreutils)');
  // a writer that holds the FIFO open and writes nothing: the read waits
  const writer = spawn('sh', ['-c', `exec 3>${fifo}; sleep 30`], { stdio: 'ignore' });
  try {
    const src = await openInputChunks(fifo, process.stdin);
    assert.ok(!(src.chunks instanceof Readable));
    const reading = (async () => {
      const got: unknown[] = [];
      for await (const c of src.chunks) got.push(c);
      return got;
    })();
    setTimeout(() => src.destroy(), 100);
    // the writer holds the FIFO for 30 s: ending well before that is destroy()'s doing
    const late = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('destroy() did not end the waiting read')), 10_000).unref(),
    );
    assert.deepEqual(await Promise.race([reading, late]), []);
  } finally {
    writer.kill();
  }
  writeFileSync(join(dir, 'f.ndjson'), '{"a":1}\n');
  const file = await openInputChunks(join(dir, 'f.ndjson'), process.stdin);
  assert.ok(!(file.chunks instanceof Readable));
  const got: string[] = [];
  for await (const c of file.chunks) got.push(c.toString());
  assert.deepEqual(got, ['{"a":1}\n']);
});

test('ndjson input from a file of many chunks (read into two buffers in turn): every line, in order, numbered', async () => {
  // lines of many lengths, so that chunk boundaries fall everywhere in them; a blank line, a
  // CRLF line, a bad line and no final newline
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 3 * (1 << 18) + 1000; i++)
    lines.push(
      i === 7 ? '' : i === 9 ? '{"a":9}\r' : i === 11 ? '{"a":' : `{"a":${i},"pad":"${'y'.repeat((i * 37) % 300)}"}`,
    );
  const path = join(tempDir(), 'in.ndjson');
  writeFileSync(path, lines.join('\n'));
  for (const scanner of [undefined, { scan: () => -1 }]) {
    const seen: string[] = [];
    const rejects: string[] = [];
    await readNdjsonObjects(
      [path],
      { stdin: process.stdin },
      { lines: 0 },
      (place, reason) => void rejects.push(`${place.slice(path.length)} ${reason}`),
      (o, _f, no) => void seen.push(`${no}:${o.a}`),
      undefined,
      scanner,
    );
    const want = lines.flatMap((l, i) => (i === 7 || i === 11 ? [] : [`${i + 1}:${i}`]));
    assert.deepEqual(seen, want);
    assert.deepEqual(rejects, [':12 not JSON']);
  }
});

test('colour: NO_COLOR wins, TTY decides otherwise', () => {
  assert.equal(colorLevel({ isTTY: true }, { NO_COLOR: '1' }, undefined), 0);
  assert.equal(colorLevel({ isTTY: true }, { NO_COLOR: '1' }, true), 0);
  assert.equal(colorLevel({ isTTY: true }, {}, undefined), 1);
  assert.equal(colorLevel({ isTTY: false }, {}, undefined), 0);
  assert.equal(colorLevel({ isTTY: false }, {}, true), 1);
  assert.equal(colorLevel({ isTTY: true }, {}, false), 0);
  assert.equal(colorLevel({ isTTY: false }, { FORCE_COLOR: '1' }, undefined), 1);
});

test('log: rate-limited per reason, everything counted', () => {
  const err = new PassThrough();
  const log = new Log('t', err, { perReason: 2 });
  for (let i = 0; i < 5; i++) log.reject('truncated', `bad ${i}`, `p${i}`);
  log.reject('other', 'x');
  log.flushSuppressed();
  const text = err.read()?.toString() ?? '';
  assert.match(text, /t: bad 0\nt: bad 1\nt: x\n/);
  assert.doesNotMatch(text, /bad 2/);
  assert.match(text, /3 more "truncated" messages suppressed/);
  assert.equal(log.rejectedTotal, 6);
  assert.equal(log.firstPlaceOf('truncated'), 'p0');
});

test('log: notes are rate-limited like rejections but are not rejections', () => {
  const err = new PassThrough();
  const log = new Log('t', err, { perReason: 1 });
  for (let i = 0; i < 3; i++) log.note('times unanchored', `note ${i}`);
  log.flushSuppressed();
  const text = err.read()?.toString() ?? '';
  assert.match(text, /t: note 0\n/);
  assert.doesNotMatch(text, /note 1/);
  assert.match(text, /2 more "times unanchored" messages suppressed/);
  assert.equal(log.rejectedTotal, 0);
});
