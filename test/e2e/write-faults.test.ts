// Fault injection on the one write path (lib/cli/io.ts AtomicFile) through the real binaries: a
// nearly full file system (a small tmpfs mounted here), device nodes and FIFOs as outputs,
// collectors killed mid-interval and restarted, a multi-file commit killed between renames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  readdirSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ROOT, runBin, runProcess } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { captureDatagrams, replay, startCollector } from '../helpers/udp-replay.js';

const PCAP = `${ROOT}examples/softflowd-v9.pcap`;

/** A tmpfs of `kib` KiB with `freeKib` left, unmounted when the test ends; undefined (with the
 *  reason) where this process may not mount (not root, no CAP_SYS_ADMIN, a container). */
function smallDisk(t: { after(fn: () => void): void }, kib: number, freeKib: number): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'flowmeter-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { encoding: 'utf8' });
  t.after(() => {
    if (r.status === 0) spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  if (r.status !== 0) return undefined;
  writeFileSync(join(dir, 'fill'), Buffer.alloc((kib - freeKib) * 1024));
  return dir;
}

function skipNoMount(t: { skip(reason: string): void }): void {
  const why = 'cannot mount a tmpfs here (needs root and mount(8), util-linux)';
  if (process.env.FLOWMETER_REQUIRE_PEERS === '1' && process.getuid?.() === 0) assert.fail(why);
  t.skip(why);
}

/** Files in `dir` other than the filler: no temporary may be left behind. */
function leftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n !== 'fill')
    .sort();
}

const flows = (): Promise<string> =>
  runBin('flow-capture', ['-r', PCAP]).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  });

test('full disk: flow-capture -o exits 74, names the path and the bytes, keeps the old file, leaves no temp', async (t) => {
  const d = smallDisk(t, 64, 12);
  if (!d) return skipNoMount(t);
  const out = join(d, 'out.ndjson');
  writeFileSync(out, 'old\n');
  const r = await runBin('flow-capture', ['-r', PCAP, '-o', out]);
  assert.equal(r.code, 74, r.stderr);
  assert.match(r.stderr, new RegExp(`${out}: write failed after \\d+ of 23172 bytes: No space left on device`));
  assert.equal(readFileSync(out, 'utf8'), 'old\n');
  assert.deepEqual(leftovers(d), ['out.ndjson']);
});

test('full disk: flow-aggregate with two -o outputs replaces neither', async (t) => {
  const d = smallDisk(t, 64, 8);
  if (!d) return skipNoMount(t);
  const input = join(tempDir(), 'flows.ndjson');
  writeFileSync(input, (await flows()).repeat(40));
  writeFileSync(join(d, 'ab'), 'old ab\n');
  writeFileSync(join(d, 'ba'), 'old ba\n');
  const r = await runBin('flow-aggregate', [
    '-a',
    'ab=src_host,dst_host,src_port',
    '-a',
    'ba=dst_host,src_host,dst_port',
    '-o',
    `ab=${join(d, 'ab')}`,
    '-o',
    `ba=${join(d, 'ba')}`,
    input,
  ]);
  assert.equal(r.code, 74, r.stderr);
  assert.match(r.stderr, /No space left on device/);
  assert.equal(readFileSync(join(d, 'ab'), 'utf8'), 'old ab\n');
  assert.equal(readFileSync(join(d, 'ba'), 'utf8'), 'old ba\n');
  assert.deepEqual(leftovers(d), ['ab', 'ba']);
});

test('full disk: flow-report --split publishes neither billing file', async (t) => {
  const d = smallDisk(t, 64, 4);
  if (!d) return skipNoMount(t);
  const work = tempDir();
  const nets = join(work, 'nets.lst');
  writeFileSync(nets, '10.5.0.0/16\n');
  writeFileSync(join(work, 'flows.ndjson'), await flows());
  const agg = await runBin('flow-aggregate', [
    '--ab',
    '--ba',
    '-n',
    nets,
    '-o',
    `ab=${join(work, 'ab.ndjson')}`,
    '-o',
    `ba=${join(work, 'ba.ndjson')}`,
    join(work, 'flows.ndjson'),
  ]);
  assert.equal(agg.code, 0, agg.stderr);
  const r = await runBin('flow-report', [
    '--format',
    'hydra',
    '--good-id',
    'g1',
    '--split',
    d,
    join(work, 'ab.ndjson'),
    join(work, 'ba.ndjson'),
  ]);
  assert.equal(r.code, 74, r.stderr);
  assert.match(r.stderr, /agg-a[b]: write failed after \d+ of \d+ bytes|agg-ba: write failed after/);
  assert.deepEqual(leftovers(d), []);
});

test('full disk: the meter-label store keeps every label and no empty lock is left', async (t) => {
  const d = smallDisk(t, 64, 60);
  if (!d) return skipNoMount(t);
  const db = join(d, 'metering.json');
  for (let i = 0; i < 30; i++) {
    const r = await runBin('meter-label', ['create', `label-${i}`, '--description', 'x'.repeat(200), '--db', db]);
    assert.equal(r.code, 0, r.stderr);
  }
  const before = readFileSync(db, 'utf8');
  // leave less room than the store takes
  const fs = statfsSync(d);
  writeFileSync(join(d, 'fill2'), Buffer.alloc(fs.bavail * fs.bsize - 4096));
  const r = await runBin('meter-label', ['create', 'one-more', '--db', db]);
  assert.equal(r.code, 74, r.stderr);
  assert.match(r.stderr, /No space left on device/);
  assert.equal(readFileSync(db, 'utf8'), before);
  assert.deepEqual(
    leftovers(d).filter((n) => n !== 'fill2'),
    ['metering.json'],
  );
  const list = await runBin('meter-label', ['list', '--db', db, '-f', 'json']);
  assert.equal(list.code, 0, list.stderr);
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 30);
  // not even the lock's few bytes fit: the lock is not left behind empty
  const left = statfsSync(d);
  if (left.bavail > 0) writeFileSync(join(d, 'fill3'), Buffer.alloc(left.bavail * left.bsize));
  const started = Date.now();
  const locked = await runBin('meter-label', ['create', 'one-more', '--db', db]);
  assert.equal(locked.code, 74, locked.stderr);
  assert.match(locked.stderr, /metering\.json\.lock: cannot write lock: No space left on device/);
  assert.ok(!existsSync(`${db}.lock`), 'no empty lock left');
  rmSync(join(d, 'fill3'));
  rmSync(join(d, 'fill2'));
  const next = await runBin('meter-label', ['create', 'another', '--db', db]);
  assert.equal(next.code, 0, next.stderr);
  assert.ok(Date.now() - started < 5000, 'the next run does not wait out a stale lock');
});

test('full disk: flow-capture -w keeps the interval as .partial, publishes nothing under a final name, exits 74', async (t) => {
  const d = smallDisk(t, 64, 6);
  if (!d) return skipNoMount(t);
  const dgs = await captureDatagrams(PCAP);
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', d, '--rotate', '3600']);
  for (let i = 0; i < 20 && c.child.exitCode === null; i++) await replay(dgs, '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  const { code } = await c.exited;
  assert.equal(code, 74, c.stderr());
  const files = leftovers(d);
  assert.equal(files.filter((n) => /^flows\.\d{12}Z\.ndjson$/.test(n)).length, 0, files.join(' '));
  assert.equal(files.filter((n) => n.startsWith('.')).length, 0, files.join(' '));
  const partial = files.filter((n) => /^flows\.\d{12}Z\.ndjson\.partial$/.test(n));
  assert.equal(partial.length, 1, files.join(' '));
  assert.match(c.stderr(), new RegExp(`kept as ${join(d, partial[0]!).replaceAll('.', '\\.')}, not published`));
});

for (const [what, make] of [
  ['character device', (p: string) => execFileSync('mknod', [p, 'c', '1', '3'])],
  ['FIFO', (p: string) => execFileSync('mkfifo', [p])],
] as const) {
  test(`-o to a ${what} writes in place and never renames over it`, async (t) => {
    const dir = tempDir();
    const dev = join(dir, 'out');
    try {
      make(dev);
    } catch {
      return t.skip(`cannot make a ${what} here (mknod/mkfifo, coreutils; mknod needs root)`);
    }
    const isDev = (): boolean => (what === 'FIFO' ? statSync(dev).isFIFO() : statSync(dev).isCharacterDevice());
    const nets = join(dir, 'nets.lst');
    writeFileSync(nets, '10.0.0.0/8\n');
    const input = join(dir, 'flows.ndjson');
    writeFileSync(input, await flows());
    const runs: Array<[string, string[]]> = [
      ['flow-capture', ['-r', PCAP, '-o', dev]],
      ['flow-aggregate', ['--ab', '-n', nets, '-o', dev, input]],
      ['flow-report', ['--format', 'hydra', '--ab', '-n', nets, '--good-id', 'g1', '-o', dev, input]],
    ];
    for (const [cmd, args] of runs) {
      // a FIFO needs a reader: cat takes what is written
      const reader = what === 'FIFO' ? spawn('cat', [dev]) : undefined;
      let got = '';
      reader?.stdout.on('data', (b: Buffer) => (got += b.toString()));
      const readerDone = reader ? new Promise((r) => reader.on('close', r)) : Promise.resolve();
      const r = await runBin(cmd, args);
      await readerDone;
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.ok(isDev(), `${cmd} replaced the ${what}`);
      if (reader) assert.ok(got.length > 0, `${cmd} wrote nothing into the FIFO`);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['flows.ndjson', 'nets.lst', 'out']);
  });
}

test('-o /dev/stdout, /dev/fd/1, /proc/self/fd/1 on a socket (what a program that spawns us gives) write to it, a slow reader included', async () => {
  const dir = tempDir();
  const nets = join(dir, 'nets.lst');
  writeFileSync(nets, '10.0.0.0/8\n');
  const input = join(dir, 'flows.ndjson');
  // ~20 MB, more than a socket buffer holds while its reader waits
  writeFileSync(input, (await flows()).repeat(400));
  for (const out of ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']) {
    for (const [cmd, args] of [
      ['flow-capture', ['-r', PCAP]],
      ['flow-aggregate', ['-a', 'src_host,dst_host,src_port,dst_port', input]],
      ['flow-report', ['--format', 'csv', input]],
    ] as const) {
      const plain = await runBin(cmd, [...args]);
      assert.equal(plain.code, 0, plain.stderr);
      // node's spawn gives the child sockets, which open(2) refuses by path (ENXIO); the reader
      // starts late, so the writer finds the socket full
      const child = spawn(process.execPath, [join(ROOT, 'bin', `${cmd}.js`), ...args, '-o', out]);
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise((r) => child.on('exit', r));
      // a 'readable' listener that takes nothing for 500 ms: the socket fills, and node keeps
      // the data (a stream nobody listens to is drained away when the child exits)
      const parts: Buffer[] = [];
      let reading = false;
      const take = (): void => {
        for (let b: Buffer | null; reading && (b = child.stdout.read() as Buffer | null) !== null;) parts.push(b);
      };
      child.stdout.on('readable', take);
      const ended = new Promise((r) => child.stdout.on('end', r));
      await new Promise((r) => setTimeout(r, 500));
      reading = true;
      take();
      await ended;
      const code = await exited;
      assert.equal(code, 0, `${cmd} -o ${out}: ${stderr}`);
      assert.equal(Buffer.concat(parts).toString(), plain.stdout, `${cmd} -o ${out}: what it writes to stdout`);
    }
  }
});

/** The collector's temporary once it holds at least `bytes` bytes. */
async function waitForTemp(dir: string, bytes: number): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const t = readdirSync(dir).find((n) => n.startsWith('.flows.') && n.includes('.tmp-'));
    if (t && statSync(join(dir, t)).size >= bytes) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no temporary with ${bytes} bytes in ${dir}: ${readdirSync(dir).join(' ')}`);
}

function records(dir: string, name: string): string[] {
  const raw = readFileSync(join(dir, name));
  const text = name.endsWith('.gz') ? gunzipSync(raw).toString() : raw.toString();
  return text.split('\n').filter((l) => l !== '');
}

for (const gzip of [false, true]) {
  test(`-w${gzip ? ' --compress gzip' : ''}: SIGKILL then restart in the same interval publishes every flow once`, async () => {
    const dir = tempDir();
    const dgs = await captureDatagrams(PCAP);
    const perReplay = (await flows()).trim().split('\n').length;
    const args = ['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600', ...(gzip ? ['--compress', 'gzip'] : [])];
    const first = await startCollector(args);
    await replay(dgs, '127.0.0.1', first.port);
    // gzip holds data back until its block is flushed: plain files show the bytes at once
    if (!gzip) await waitForTemp(dir, 20_000);
    else await new Promise((r) => setTimeout(r, 500));
    first.child.kill('SIGKILL');
    await first.exited;
    const temp = readdirSync(dir).find((n) => n.includes('.tmp-'));
    assert.ok(temp, 'the killed collector left its temporary');
    if (!gzip) writeFileSync(join(dir, temp), readFileSync(join(dir, temp)).toString() + '{"cut":'); // a killed write: half a line

    const second = await startCollector(args);
    await replay(dgs, '127.0.0.1', second.port);
    await new Promise((r) => setTimeout(r, 300));
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.stderr());

    const names = readdirSync(dir).sort();
    assert.deepEqual(
      names.filter((n) => n.startsWith('.')),
      [],
      'no temporary left',
    );
    const published = names.filter((n) => /^flows\.\d{12}Z(\.r\d+)?\.ndjson(\.gz)?$/.test(n));
    const total = published.flatMap((n) => records(dir, n));
    for (const l of total) JSON.parse(l); // every published line is a whole record
    const recovered = gzip ? total.length - perReplay : perReplay;
    assert.ok(recovered >= 0 && recovered <= perReplay, `recovered ${recovered}`);
    if (!gzip) assert.equal(total.length, 2 * perReplay, published.join(' '));
    assert.match(second.stderr(), /recovered \d+ records left by pid \d+|holds no complete record; removed/);
    if (!gzip) assert.equal(published.length, 2, 'the recovered interval and the new part: ' + published.join(' '));
  });
}

test("-w: a dead collector's temporary that is not readable as gzip is kept as .partial, never removed or published", async () => {
  const dir = tempDir();
  const garbage = Buffer.from('not gzip at all\n{"bytes":1}\n');
  // a PID that is not running: the largest a default kernel hands out, plus one
  writeFileSync(join(dir, '.flows.202601151200.ndjson.gz.tmp-4194305-0123abcd'), garbage);
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600', '--compress', 'gzip']);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  assert.deepEqual(readFileSync(join(dir, 'flows.202601151200.ndjson.gz.partial')), garbage);
  assert.match(c.stderr(), /not readable as gzip; kept as \S+flows\.202601151200\.ndjson\.gz\.partial, not published/);
  assert.ok(!readdirSync(dir).some((n) => n.startsWith('flows.202601151200') && !n.endsWith('.partial')));
});

test('-w: a restart within the interval after SIGTERM writes a new part, never over the published file', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(PCAP);
  const perReplay = (await flows()).trim().split('\n').length;
  const args = ['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600'];
  for (let run = 0; run < 3; run++) {
    const c = await startCollector(args);
    await replay(dgs, '127.0.0.1', c.port);
    await new Promise((r) => setTimeout(r, 200));
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0, c.stderr());
  }
  const published = readdirSync(dir).filter((n) => n.startsWith('flows.'));
  assert.equal(published.flatMap((n) => records(dir, n)).length, 3 * perReplay, published.join(' '));
  assert.ok(published.length >= 3, published.join(' '));
});

test('several outputs: a run killed between the renames is completed by the next reader', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'out'));
  const ab = join(dir, 'out', 'ab');
  const ba = join(dir, 'out', 'ba');
  writeFileSync(ab, 'old ab\n');
  writeFileSync(ba, 'old ba\n');
  // a real process journals both files, renames the first and is killed
  const script = `
    import { AtomicFile, journalCommit } from '${ROOT}dist/lib/cli/io.js';
    const a = await AtomicFile.create(${JSON.stringify(ab)});
    const b = await AtomicFile.create(${JSON.stringify(ba)});
    await a.write('{"new":"ab"}\\n');
    await b.write('{"new":"ba"}\\n');
    await journalCommit([a, b]);
    await a.commit();
    process.kill(process.pid, 'SIGKILL');`;
  const killed = await runProcess(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.equal(readFileSync(ab, 'utf8'), '{"new":"ab"}\n');
  assert.equal(readFileSync(ba, 'utf8'), 'old ba\n', 'mixed: ab new, ba old');
  assert.ok(existsSync(join(dir, 'out', '.ba.commit')));
  // any flowmeter command that opens one of the set completes it first
  const r = await runBin('flow-report', ['--format', 'csv', ba]);
  assert.equal(readFileSync(ba, 'utf8'), '{"new":"ba"}\n', r.stderr);
  assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['ab', 'ba']);
});

test('a temporary left by a killed run is removed by the next run writing the same file', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.ndjson');
  // a PID that is not running: the largest a default kernel hands out, plus one
  const dead = join(dir, `.out.ndjson.tmp-4194305-0123abcd`);
  writeFileSync(dead, 'half a fil');
  const live = join(dir, `.out.ndjson.tmp-${process.pid}-0123abcd`);
  writeFileSync(live, 'still being written');
  const r = await runBin('flow-capture', ['-r', PCAP, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(dead), "the dead run's temporary is removed");
  assert.ok(existsSync(live), "a live run's temporary is left alone");
});

test('full disk: hcd-putfile that cannot spool says so (exit 74), keeps no cut spool file', async (t) => {
  const d = smallDisk(t, 64, 2);
  if (!d) return skipNoMount(t);
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r)); // nothing listens there now: connection refused
  const now = Math.floor(Date.now() / 1000);
  const line = `;;${now - 300};${now};10.5.1.10/32;0.0.0.0/0;1725;\n`;
  const spool = join(d, 'spool');
  const r = await runBin(
    'hcd-putfile',
    ['-q', '-u', `http://127.0.0.1:${port}`, '--retries', '0', '--spool', spool, 'agg-ab'],
    { input: line.repeat(200) },
  );
  assert.equal(r.code, 74, r.stderr);
  assert.match(r.stderr, /No space left on device/);
  assert.deepEqual(readdirSync(spool), [], 'no spool file, no temporary');
});
