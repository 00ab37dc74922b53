// flow-report --period --dir over files written by a real flow-capture -w DIR --rotate N: the last
// complete interval (never the file still being written, every .rN file of an interval, .gz
// files), last:N, the previous clock hour/day, and the errors a cron job must be able to tell
// apart (75: try again later, 66: nothing there, 64: usage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { captureDatagrams, replay, startCollector } from '../helpers/udp-replay.js';
import { stamp } from '../../lib/capture/rotate.js';

const FX = `${ROOT}test/fixtures/`;

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in 20 s');
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean);

async function ndjsonOf(args: string[]): Promise<string[]> {
  const r = await runBin('flow-report', ['--format', 'ndjson', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return lines(r.stdout);
}

test('period: --period last never reads the interval still being written, then reads all its files (.r1 too)', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600']);
  await replay(dgs, '127.0.0.1', c.port);
  c.child.kill('SIGHUP'); // closes flows.STAMP.ndjson; flows.STAMP.r1.ndjson is now being written
  await waitFor(() => readdirSync(dir).some((f) => f.startsWith('flows.')));
  await replay(dgs, '127.0.0.1', c.port);
  // the hour is not over: nothing complete yet (exit 75: cron tries again later)
  const busy = await runBin('flow-report', ['--period', 'last', '--dir', dir]);
  assert.equal(busy.code, 75, busy.stderr);
  assert.match(busy.stderr, /no complete interval .* still being written/);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, files.join(' '));
  const both = await ndjsonOf(files.map((f) => join(dir, f)));
  const r = await runBin('flow-report', ['-v', '--format', 'ndjson', '--period', 'last', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), both);
  const one = lines(readFileSync(join(dir, files[0]!), 'utf8')).length;
  assert.ok(one > 0);
  assert.equal(lines(r.stdout).length, 2 * one);
  assert.match(
    r.stderr,
    new RegExp(`--period last: interval .* \\(2 files\\): ${join(dir, files[0]!)} ${join(dir, files[1]!)}`),
  );
});

test('period: short rotation: --period last picks the newest closed file while flow-capture writes the next', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(FX + 'live-v9.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '2']);
  try {
    await replay(dgs, '127.0.0.1', c.port);
    // wait until a closed file holds the records, and one more interval has been closed after it
    await waitFor(() => readdirSync(dir).filter((f) => f.startsWith('flows.')).length >= 2);
    const r = await runBin('flow-report', ['-v', '--format', 'ndjson', '--period', 'last', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const picked = /--period last: interval .*: (\S+)$/m.exec(r.stderr)?.[1];
    assert.ok(picked, r.stderr);
    const listed = readdirSync(dir);
    const closed = listed.filter((f) => f.startsWith('flows.')).sort();
    assert.ok(closed.includes(picked!.slice(dir.length + 1)), `${picked} is a closed file`);
    // every closed file is older than the one being written, and the pick is the newest closed one
    // at the time it ran (files only get added, so it is at or before the newest closed one now)
    assert.ok(picked!.slice(dir.length + 1) <= closed[closed.length - 1]!);
    assert.deepEqual(lines(r.stdout), await ndjsonOf([picked!]));
    const last2 = await runBin('flow-report', ['-v', '--format', 'ndjson', '--period', 'last:2', '--dir', dir]);
    assert.equal(last2.code, 0, last2.stderr);
    assert.match(last2.stderr, /--period last:2: 2 intervals /);
  } finally {
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0, c.stderr());
  }
});

test('period: gzip files from flow-capture --compress gzip are read', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(FX + 'live-ipfix.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600', '--compress', 'gzip']);
  await replay(dgs, '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /\.ndjson\.gz$/);
  const plain = join(tempDir(), 'plain.ndjson');
  writeFileSync(plain, gunzipSync(readFileSync(join(dir, files[0]!))));
  const want = await ndjsonOf([plain]);
  assert.ok(want.length > 0);
  assert.deepEqual(await ndjsonOf(['--period', 'last', '--dir', dir]), want);
  // and a page for the web server from the same files
  const page = await runBin('flow-report', ['--format', 'html', '--period', 'last', '--dir', dir]);
  assert.equal(page.code, 0, page.stderr);
  assert.match(page.stdout, /<svg [^>]*>/);
  assert.match(page.stdout, /\(1 file\)/);
});

test('period: hour and day take the previous clock hour/day; a file of it still open is exit 75', async () => {
  // real records (a flow-capture file), under names for intervals around now
  const src = tempDir();
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', src, '--rotate', '3600']);
  await replay(await captureDatagrams(FX + 'live-v5.pcap'), '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const body = readFileSync(join(src, readdirSync(src)[0]!), 'utf8');
  const n = lines(body).length;
  assert.ok(n > 0);
  const now = new Date();
  const hourStart = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours()).getTime();
  const dayStart = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const dir = tempDir();
  const put = (ms: number, extra = ''): string => {
    const name = `flows.${stamp(ms, 300)}${extra}.ndjson`;
    writeFileSync(join(dir, name), body);
    return name;
  };
  // the previous hour: three 5-minute files (one reopened); the current hour: one closed, one open
  put(hourStart - 3_600_000);
  put(hourStart - 600_000);
  put(hourStart - 600_000, '.r1');
  put(hourStart);
  writeFileSync(join(dir, `.flows.${stamp(hourStart + 300_000, 300)}.ndjson.tmp-1-abcd`), '');
  const h = await runBin('flow-report', ['-v', '--format', 'ndjson', '--period', 'hour', '--dir', dir]);
  assert.equal(h.code, 0, h.stderr);
  assert.equal(lines(h.stdout).length, 3 * n);
  assert.match(h.stderr, /\(3 files\)/);
  // yesterday: only what lies in it
  put(dayStart - 86_400_000);
  put(dayStart - 1_000);
  const d = await runBin('flow-report', ['-v', '--format', 'ndjson', '--period', 'day', '--dir', dir]);
  assert.equal(d.code, 0, d.stderr);
  const minute = (ms: number): string => stamp(ms, 300).slice(0, 12); // without the zone suffix
  const yesterday = readdirSync(dir).filter(
    (f) =>
      f.startsWith('flows.') &&
      /^flows\.(\d{12})/.exec(f)![1]! < minute(dayStart) &&
      /^flows\.(\d{12})/.exec(f)![1]! >= minute(dayStart - 86_400_000),
  );
  assert.equal(lines(d.stdout).length, yesterday.length * n);
  // a file of the previous hour still being written: try again later
  writeFileSync(join(dir, `.flows.${stamp(hourStart - 300_000, 300)}.ndjson.tmp-1-ef01`), '');
  const busy = await runBin('flow-report', ['--period', 'hour', '--dir', dir]);
  assert.equal(busy.code, 75);
  assert.match(busy.stderr, /still being written .*try again later/);
});

test('period: usage and missing input are told apart', async () => {
  const empty = tempDir();
  const cases: Array<[string[], number, RegExp]> = [
    [['--period', 'last'], 64, /--period needs --dir/],
    [['--period', 'week', '--dir', empty], 64, /--period: expected last, last:N, hour or day/],
    [['--period', 'last:0', '--dir', empty], 64, /--period: expected/],
    [['--dir', empty, `${FX}report/agg-ab.ndjson`], 64, /--dir applies to --period/],
    [['--period', 'last', '--dir', empty, `${FX}report/agg-ab.ndjson`], 64, /give no FILE/],
    [['--period', 'last', '--dir', empty], 66, /no flow-capture files/],
    [['--period', 'hour', '--dir', empty], 66, /no flow-capture files of the hour/],
    [['--period', 'last', '--dir', join(empty, 'nope')], 66, /No such file or directory/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await runBin('flow-report', args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
