// flow-capture as a live collector: real processes, real UDP sockets, real signals. The datagrams
// of fixture captures (softflowd NetFlow v5/v9/IPFIX, pmacct sfprobe sFlow v5) are replayed to a
// running `flow-capture -l` and its output must equal `flow-capture -r` of the same capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, binPath, runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import {
  type Collector,
  captureDatagrams,
  countersNow,
  normalise,
  replay,
  settle,
  startCollector,
} from '../helpers/udp-replay.js';
import type { Datagram } from '../../lib/capture/datagram.js';
import { Bytes, set, v9 } from '../unit/netflow/helpers.js';
import { rngInt } from '../helpers/prng.js';

const FX = `${ROOT}test/fixtures/`;

async function offline(file: string): Promise<string> {
  const r = await runBin('flow-capture', ['-r', FX + file]);
  assert.ok(r.code === 0 || r.code === 65, r.stderr);
  return r.stdout;
}

const REPLAY: ReadonlyArray<readonly [string, boolean]> = [
  ['softflowd-v5.pcap', false],
  ['softflowd-v9.pcap', false],
  ['softflowd-ipfix.pcap', false],
  ['softflowd-ipfix-ms.pcap', false],
  ['softflowd-ipfix-us.pcap', false],
  ['live-v5.pcap', false],
  ['live-v9.pcap', false],
  ['live-ipfix.pcap', false],
  ['sflow-v4.pcap', true],
  ['sflow-v6.pcap', true],
];

for (const [file, sflow] of REPLAY) {
  test(`live: replaying ${file} to -l 127.0.0.1 gives what -r gives`, async () => {
    const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
    await replay(await captureDatagrams(FX + file), '127.0.0.1', c.port);
    c.child.kill('SIGTERM');
    const { code } = await c.exited;
    assert.equal(code, 0, c.stderr());
    const live = normalise(c.stdout(), sflow); // sFlow flow times are the receive time
    const want = normalise(await offline(file), sflow);
    assert.ok(want.length > 0);
    assert.deepEqual(live, want);
    assert.match(c.stderr(), /final stats .*datagrams=\d+ .*queue_drops=0 .*kernel_drops=0/);
    assert.doesNotMatch(c.stderr(), /\(node:\d+\)|Warning:/, 'no Node runtime warnings');
  });
}

test('live: IPv6 listener receives from ::1 and shows the exporter as sent', async () => {
  const c = await startCollector(['-v', '-l', '[::1]:0'], 6);
  await replay(await captureDatagrams(FX + 'live-v5.pcap'), '::1', c.port, 6);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const lines = c.stdout().trim().split('\n');
  assert.equal(lines.length, normalise(await offline('live-v5.pcap')).length);
  for (const l of lines) assert.equal(JSON.parse(l).sampler_address, '::1');
});

test('live: a dual-stack [::] listener shows IPv4 exporters as plain IPv4', async () => {
  const c = await startCollector(['-v', '-l', '[::]:0'], 6);
  await replay(await captureDatagrams(FX + 'live-v5.pcap'), '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const lines = c.stdout().trim().split('\n');
  assert.ok(lines.length > 0);
  for (const l of lines) assert.equal(JSON.parse(l).sampler_address, '127.0.0.1');
});

test('live: SIGTERM right after a burst loses nothing (queue and kernel buffer are drained)', async () => {
  const dgs = await captureDatagrams(FX + 'sflow-v4.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
  // 50 copies back to back, then the signal at once
  const burst = Array.from({ length: 50 }, () => dgs).flat();
  await replay(burst, '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const perCopy = normalise(await offline('sflow-v4.pcap')).length;
  assert.equal(c.stdout().trim().split('\n').length, perCopy * 50);
  assert.match(c.stderr(), new RegExp(`final stats .*datagrams=${burst.length} `));
});

test('live: a sequence gap is reported as upstream loss', async () => {
  const dgs = await captureDatagrams(FX + 'sflow-v4.pcap');
  assert.ok(dgs.length >= 5);
  const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
  await replay([dgs[0]!, dgs[1]!, dgs[4]!], '127.0.0.1', c.port); // 3 and 4 never arrive
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  assert.match(c.stderr(), /final stats .* seq_gaps=1 seq_lost=2 /);
  assert.match(c.stderr(), /final stats sequence stream="sflow 192\.0\.2\.10 7" lost=2/);
});

/** The v9/IPFIX datagram with its template sets removed: data only, as a router sends between
 *  template refreshes. */
function withoutTemplates(b: Buffer): Buffer {
  const version = b.readUInt16BE(0);
  const headerLen = version === 9 ? 20 : 16;
  const parts: Buffer[] = [Buffer.from(b.subarray(0, headerLen))];
  for (let o = headerLen; o + 4 <= b.length;) {
    const id = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    if (len < 4) break;
    if (id >= 256) parts.push(Buffer.from(b.subarray(o, o + len)));
    o += len;
  }
  const out = Buffer.concat(parts);
  if (version === 10) out.writeUInt16BE(out.length, 2);
  return out;
}

for (const file of ['live-v9.pcap', 'live-ipfix.pcap']) {
  test(`live: --template-cache lets a restarted collector decode ${file} data sent without templates`, async () => {
    const dir = tempDir();
    const cache = join(dir, 'templates.json');
    const dgs = await captureDatagrams(FX + file);
    const want = normalise(await offline(file));
    // first run learns the templates and saves them at exit
    const c1 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
    await replay(dgs, '127.0.0.1', c1.port);
    c1.child.kill('SIGTERM');
    assert.equal((await c1.exited).code, 0, c1.stderr());
    assert.ok(existsSync(cache));
    assert.equal(JSON.parse(readFileSync(cache, 'utf8')).format, 'flowmeter-templates');
    const dataOnly = dgs.map((d) => ({ ...d, payload: withoutTemplates(d.payload) }));
    // without the cache the data cannot be decoded …
    const c0 = await startCollector(['-v', '-l', '127.0.0.1:0']);
    await replay(dataOnly, '127.0.0.1', c0.port);
    c0.child.kill('SIGTERM');
    assert.equal((await c0.exited).code, 0);
    assert.equal(c0.stdout(), '');
    assert.match(c0.stderr(), /records=0 /);
    // … with it, at once
    const c2 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
    assert.match(c2.stderr(), /loaded \d+ templates/);
    await replay(dataOnly, '127.0.0.1', c2.port);
    c2.child.kill('SIGTERM');
    assert.equal((await c2.exited).code, 0, c2.stderr());
    assert.deepEqual(normalise(c2.stdout()), want);
  });
}

test('live: -w DIR --rotate writes complete, time-ordered files and never shows a partial one', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(FX + 'sflow-v4.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '2']);
  const seen = new Map<string, string>();
  // send a copy every 0.5 s for ~5 s: the records spread over several 2-second files
  for (let i = 0; i < 10; i++) {
    await replay(dgs, '127.0.0.1', c.port);
    for (const f of readdirSync(dir)) {
      if (!f.startsWith('flows.') || seen.has(f)) continue;
      // a visible file is complete: every line parses, and it never changes afterwards
      const text = readFileSync(join(dir, f), 'utf8');
      assert.ok(text === '' || text.endsWith('\n'), `${f} ends with a newline`);
      for (const l of text.split('\n').filter(Boolean)) JSON.parse(l);
      seen.set(f, text);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(seen.size >= 1, 'files were closed while the collector ran');
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const files = readdirSync(dir).sort();
  assert.ok(
    files.every((f) => /^flows\.\d{14}Z(\.r\d+)?\.ndjson$/.test(f)),
    files.join(' '),
  );
  assert.ok(files.length >= 2, `several files: ${files.join(' ')}`);
  for (const [f, text] of seen)
    assert.equal(readFileSync(join(dir, f), 'utf8'), text, `${f} unchanged after it appeared`);
  let total = 0;
  let lastTime = 0;
  for (const f of files) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const t = JSON.parse(l).time_received_ns as number;
      assert.ok(t >= lastTime, `${f}: records in time order across files`);
      lastTime = t;
      total++;
    }
  }
  assert.equal(total, normalise(await offline('sflow-v4.pcap')).length * 10);
});

test('live: --compress gzip and --exec get the closed file', async () => {
  const dir = tempDir();
  const log = join(dir, 'exec.log');
  writeFileSync(join(dir, 'hook.sh'), `#!/bin/sh\necho "$1" >> ${log}\n`, { mode: 0o755 });
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const out = join(dir, 'out');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out);
  const c = await startCollector([
    '-v',
    '-l',
    '127.0.0.1:0',
    '-w',
    out,
    '--compress',
    'gzip',
    '--exec',
    join(dir, 'hook.sh'),
  ]);
  await replay(dgs, '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const files = readdirSync(out);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^flows\.\d{12}Z\.ndjson\.gz$/);
  const text = gunzipSync(readFileSync(join(out, files[0]!))).toString('utf8');
  assert.deepEqual(normalise(text), normalise(await offline('live-v5.pcap')));
  assert.equal(readFileSync(log, 'utf8').trim(), join(out, files[0]!));
});

test('live: SIGUSR2 prints stats now, SIGHUP closes the file and opens the next', async () => {
  const dir = tempDir();
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '-w', dir, '--rotate', '3600']);
  await replay(dgs, '127.0.0.1', c.port);
  await waitFor(() => /datagrams=1 /.test(statsNow(c)));
  c.child.kill('SIGHUP');
  await waitFor(() => readdirSync(dir).some((f) => f.startsWith('flows.')));
  await replay(dgs, '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, files.join(' '));
  assert.match(files[1]!, /\.r1\.ndjson$/);
  const n = normalise(await offline('live-v5.pcap')).length;
  for (const f of files) assert.equal(readFileSync(join(dir, f), 'utf8').trim().split('\n').length, n);
  // each closed file is reported with the records it got
  assert.equal(c.stderr().match(new RegExp(`closed \\S+ \\(${n} records\\)`, 'g'))?.length, 2, c.stderr());
});

test('live: stdout redirected to a file gets every record (written through its own async stream)', async () => {
  const path = join(tempDir(), 'out.ndjson');
  const fd = openSync(path, 'w');
  const child = spawn(process.execPath, [binPath('flow-capture'), '-v', '-l', '127.0.0.1:0'], {
    cwd: ROOT,
    stdio: ['ignore', fd, 'pipe'],
  });
  closeSync(fd);
  let err = '';
  const stderr = child.stderr!;
  stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    stderr.on('data', (d: string) => {
      err += d;
      const m = /listening on [0-9.]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('close', () => reject(new Error(`collector exited: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const dgs = await captureDatagrams(FX + 'softflowd-ipfix.pcap');
  await replay(Array.from({ length: 20 }, () => dgs).flat(), '127.0.0.1', port);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  const want = normalise(await offline('softflowd-ipfix.pcap'));
  assert.equal(normalise(readFileSync(path, 'utf8')).length, want.length * 20);
});

test('live: --format text prints the lines -r --format text prints', async () => {
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '--format', 'text', '--no-color']);
  await replay(await captureDatagrams(FX + 'softflowd-v9.pcap'), '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const r = await runBin('flow-capture', ['-r', FX + 'softflowd-v9.pcap', '--format', 'text', '--no-color']);
  assert.ok(r.stdout.length > 0);
  assert.deepEqual(c.stdout().split('\n').sort(), r.stdout.split('\n').sort());
});

function statsNow(c: Awaited<ReturnType<typeof startCollector>>): string {
  c.child.kill('SIGUSR2');
  return c.stderr();
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in 10 s');
}

test('live: a port in use is exit 69 naming the address; bad --listen is 64', async () => {
  const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
  const r = await runBin('flow-capture', ['-l', `127.0.0.1:${c.port}`]);
  c.child.kill('SIGTERM');
  await c.exited;
  assert.equal(r.code, 69);
  assert.match(
    r.stderr,
    new RegExp(`^flow-capture: --listen 127\\.0\\.0\\.1:${c.port}: cannot bind .*address already in use`),
  );
  const bad = await runBin('flow-capture', ['-l', 'nonsense']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /--listen nonsense/);
});

test('live: garbage datagrams are counted by reason and the collector keeps going', async () => {
  const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
  const junk = [Buffer.from('hello'), Buffer.from([0, 0, 0, 5, 0, 0, 0, 9]), Buffer.alloc(40, 0xff)];
  const good = await captureDatagrams(FX + 'live-v5.pcap');
  await replay([...junk.map((payload) => ({ ...good[0]!, payload })), ...good], '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  assert.equal(normalise(c.stdout()).length, normalise(await offline('live-v5.pcap')).length);
  assert.match(c.stderr(), /final stats .*decode_errors=3 /);
  assert.match(c.stderr(), /error_unknown_version=\d+/);
  assert.match(c.stderr(), /127\.0\.0\.1:\d+: sFlow v5 header: agent address type 9/);
});

test('live: --counters emits sFlow counter samples; without it they are only counted', async () => {
  // a hand-built sFlow datagram with one generic interface counter sample (sflow_version_5.txt)
  const w = (...v: number[]): Buffer =>
    Buffer.concat(
      v.map((x) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(x >>> 0);
        return b;
      }),
    );
  const generic = w(7, 6, 0, 1000000000, 1, 3, 0, 5000, 50, 1, 2, 0, 0, 0, 0, 9000, 90, 3, 4, 0, 0, 0);
  const sample = Buffer.concat([w(1, 7, 1), w(1, generic.length), generic]);
  const payload = Buffer.concat([w(5, 1), Buffer.from([192, 0, 2, 10]), w(0, 1, 1000, 1), w(2, sample.length), sample]);
  const base = (await captureDatagrams(FX + 'sflow-v4.pcap'))[0]!;
  for (const counters of [true, false]) {
    const c = await startCollector(['-v', '-l', '127.0.0.1:0', ...(counters ? ['--counters'] : [])]);
    await replay([{ ...base, payload }], '127.0.0.1', c.port);
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0, c.stderr());
    assert.match(c.stderr(), /sflow_counter_samples=1 /);
    if (!counters) {
      assert.equal(c.stdout(), '');
      continue;
    }
    const o = JSON.parse(c.stdout());
    assert.equal(o.type, 'SFLOW_5_COUNTERS');
    assert.equal(o.if_index, 7);
    assert.equal(o.if_in_octets, 5000);
    assert.equal(o.if_out_octets, 9000);
  }
});

test('live: piped into head -1, the collector ends quietly with status 0', async () => {
  const { spawn } = await import('node:child_process');
  const sh = spawn(
    '/bin/bash',
    ['-o', 'pipefail', '-c', `"${process.execPath}" bin/flow-capture.js -v -l 127.0.0.1:0 | head -1`],
    { cwd: ROOT },
  );
  let out = '';
  let err = '';
  sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  sh.stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve) =>
    sh.stderr.on('data', (d: string) => {
      err += d;
      const m = /listening on [0-9.]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    }),
  );
  const exited = new Promise<number | null>((r) => sh.on('close', (code) => r(code)));
  const dgs = await captureDatagrams(FX + 'sflow-v4.pcap');
  // keep sending until the pipeline is gone (head exits after one line, the next write fails)
  let done = false;
  void exited.then(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    await replay(dgs, '127.0.0.1', port).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await exited, 0, err);
  assert.equal(out.trim().split('\n').length, 1);
  assert.doesNotMatch(err, /EPIPE|Error/);
});

test('live: a capped receive buffer is reported with the sysctl to raise it', async () => {
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  const ask = rmemMax * 4;
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '--rcvbuf', String(ask)]);
  c.child.kill('SIGINT');
  assert.equal((await c.exited).code, 0);
  assert.match(
    c.stderr(),
    new RegExp(
      `asked for a ${ask}-byte receive buffer, the kernel granted ${rmemMax} .*sysctl -w net\\.core\\.rmem_max=${ask}`,
    ),
  );
});

/** v9: data flowsets only (no templates, no options templates, no options data). */
function dataSetsOnly(b: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from(b.subarray(0, 20))];
  const optionIds = new Set<number>();
  for (let o = 20; o + 4 <= b.length;) {
    const id = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    if (len < 4) break;
    if (id === 1) optionIds.add(b.readUInt16BE(o + 4));
    o += len;
  }
  for (let o = 20; o + 4 <= b.length;) {
    const id = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    if (len < 4) break;
    if (id >= 256 && !optionIds.has(id)) parts.push(Buffer.from(b.subarray(o, o + len)));
    o += len;
  }
  assert.ok(optionIds.size > 0, 'the fixture has an options template');
  return Buffer.concat(parts);
}

test('live: --template-cache also keeps the sampling rate learnt from v9 options data', async () => {
  const dir = tempDir();
  const cache = join(dir, 'templates.json');
  const hex = readFileSync(`${FX}netflow/softflowd-v9-sampled.hex`, 'utf8').trim().split('\n');
  const base = (await captureDatagrams(FX + 'live-v5.pcap'))[0]!;
  const dgs = hex.map((h) => ({ ...base, payload: Buffer.from(h, 'hex') }));
  const c1 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
  await replay(dgs, '127.0.0.1', c1.port);
  c1.child.kill('SIGTERM');
  assert.equal((await c1.exited).code, 0, c1.stderr());
  const first = normalise(c1.stdout());
  assert.ok(
    first.length > 0 && first.every((l) => JSON.parse(l).sampling_rate > 1),
    'records carry the exported sampling rate',
  );
  const c2 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
  await replay(
    dgs.map((d) => ({ ...d, payload: dataSetsOnly(d.payload) })),
    '127.0.0.1',
    c2.port,
  );
  c2.child.kill('SIGTERM');
  assert.equal((await c2.exited).code, 0, c2.stderr());
  assert.deepEqual(normalise(c2.stdout()), first);
});

test('live: -w into a missing directory is exit 73 naming it', async () => {
  const r = await runBin('flow-capture', ['-l', '127.0.0.1:0', '-w', '/nonexistent/flows']);
  assert.equal(r.code, 73);
  assert.match(r.stderr, /^flow-capture: \/nonexistent\/flows\/.*cannot create/);
});

test('live: --stats N prints key=value lines while running', async () => {
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '--stats', '1']);
  await replay(await captureDatagrams(FX + 'live-v5.pcap'), '127.0.0.1', c.port);
  await waitFor(() => /flow-capture: stats uptime=\d+ datagrams=1 bytes=\d+ records=\d+ /.test(c.stderr()));
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0);
  for (const l of c
    .stderr()
    .split('\n')
    .filter((x) => / stats uptime=/.test(x))) {
    assert.match(l, /^flow-capture: (final )?stats( [a-z0-9_]+=[0-9a-z]+)+$/, l);
  }
});

test('live: NetFlow v9, IPFIX and sFlow on one port are told apart per datagram', async () => {
  const files = ['softflowd-v9.pcap', 'softflowd-ipfix.pcap', 'sflow-v4.pcap'];
  const c = await startCollector(['-v', '-l', '127.0.0.1:0']);
  for (const f of files) await replay(await captureDatagrams(FX + f), '127.0.0.1', c.port);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  let want: string[] = [];
  for (const f of files) want = want.concat(normalise(await offline(f), true));
  assert.deepEqual(normalise(c.stdout(), true), want.sort());
  assert.match(c.stderr(), /netflow_v9_datagrams=\d+ ipfix_datagrams=\d+ sflow_datagrams=\d+/);
});

test('live: the template cache is also saved while running (--template-save)', async () => {
  const dir = tempDir();
  const cache = join(dir, 'templates.json');
  const c = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache, '--template-save', '1']);
  await replay(await captureDatagrams(FX + 'softflowd-v9.pcap'), '127.0.0.1', c.port);
  await waitFor(() => existsSync(cache) && JSON.parse(readFileSync(cache, 'utf8')).domains.length > 0);
  assert.equal(c.child.exitCode, null, 'still running');
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
});

/** `n` NetFlow v9 datagrams of one template each, under random source ids (a template flood). */
function templateFlood(n: number): Datagram[] {
  const rnd = rngInt(1);
  const tmpl = set(0, new Bytes().u16(256, 3).u16(8, 4, 12, 4, 1, 4));
  return Array.from({ length: n }, () => {
    return {
      payload: v9([tmpl], { source: rnd(2 ** 32) }),
      exporter: '',
      exporterPort: 0,
      receivedNs: 0,
      source: 'flood',
      packetNo: 0,
      offset: -1,
    };
  });
}

/** Send in chunks, letting the collector read between them (the flood must arrive, not overflow
 *  the socket buffer), with `meanwhile` from 127.0.0.1 after every 2000; then wait until the
 *  collector has decoded everything. Returns how often `meanwhile` was sent. */
async function flood(
  c: Collector,
  dgs: readonly Datagram[],
  from: string,
  meanwhile: readonly Datagram[],
): Promise<number> {
  let sent = 0;
  // in bursts the collector takes in before the next: the kernel's socket buffer (rmem_max, often
  // 208 KiB, ~270 such datagrams) would otherwise drop some on a loaded machine, which this test
  // is not about
  for (let i = 0; i < dgs.length; i += 250) {
    await replay(dgs.slice(i, i + 250), '127.0.0.1', c.port, 4, from);
    await settle(c);
    if ((i + 250) % 2000 === 0 && meanwhile.length > 0) {
      await replay(meanwhile, '127.0.0.1', c.port);
      await settle(c);
      sent++;
    }
  }
  return sent;
}

const times = <T>(n: number, xs: readonly T[]): T[] => Array.from({ length: n }, () => xs).flat();

test('live: a template flood from 127.0.0.2 while 127.0.0.1 exports: nothing lost, a restart decodes at once, --allow denies the flood', async () => {
  const dir = tempDir();
  const cache = join(dir, 'templates.json');
  const legit = await captureDatagrams(FX + 'live-v9.pcap');
  const want = normalise(await offline('live-v9.pcap'));
  const dataOnly = legit.map((d) => ({ ...d, payload: withoutTemplates(d.payload) }));
  const flooding = templateFlood(20000);

  // 127.0.0.2 sends 20,000 template datagrams with random source ids; then 127.0.0.1 exports
  // (templates and data), and goes on sending data alone during a second such flood
  const c1 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
  await flood(c1, flooding, '127.0.0.2', []);
  await replay(legit, '127.0.0.1', c1.port);
  const during = await flood(c1, flooding, '127.0.0.2', dataOnly);
  await replay(legit, '127.0.0.1', c1.port);
  c1.child.kill('SIGTERM');
  assert.equal((await c1.exited).code, 0, c1.stderr());
  assert.equal(during, 10);
  assert.deepEqual(normalise(c1.stdout()), times(12, want).sort(), 'every record of 127.0.0.1 decoded');
  const s1 = /final stats (.*)/.exec(c1.stderr())![1]!;
  assert.match(s1, /decode_errors=0 .*template_exporters=2 /);
  const evicted = Number(/domain_evictions=(\d+)/.exec(s1)![1]);
  assert.ok(evicted >= 10000, `flood domains evicted: ${s1}`);
  // the saved cache holds the exporter's templates and at most one exporter's worth of the flood
  const saved = JSON.parse(readFileSync(cache, 'utf8')) as { domains: { exporter: string }[] };
  assert.ok(saved.domains.some((d) => d.exporter === '127.0.0.1'));
  assert.ok(saved.domains.filter((d) => d.exporter === '127.0.0.2').length <= 1024);

  // restarted with the cache, data sent without templates decodes at once
  const c2 = await startCollector(['-v', '-l', '127.0.0.1:0', '--template-cache', cache]);
  await replay(dataOnly, '127.0.0.1', c2.port);
  c2.child.kill('SIGTERM');
  assert.equal((await c2.exited).code, 0, c2.stderr());
  assert.deepEqual(normalise(c2.stdout()), want);

  // --allow 127.0.0.1/32: the flood is denied, never decoded; the exporter loses nothing
  const c3 = await startCollector(['-v', '-l', '127.0.0.1:0', '--allow', '127.0.0.1/32']);
  await replay(legit, '127.0.0.1', c3.port);
  await flood(c3, flooding, '127.0.0.2', dataOnly);
  c3.child.kill('SIGTERM');
  assert.equal((await c3.exited).code, 0, c3.stderr());
  assert.deepEqual(normalise(c3.stdout()), times(11, want).sort());
  const s3 = /final stats (.*)/.exec(c3.stderr())![1]!;
  const datagrams = Number(/ datagrams=(\d+)/.exec(` ${s3}`)![1]);
  assert.match(s3, new RegExp(` denied=${datagrams - 11 * legit.length} `));
  assert.ok(datagrams - 11 * legit.length > 10000, s3);
  assert.match(s3, / template_exporters=1 .*domain_evictions=0 /);
});

test('-r --allow: datagrams of other exporters are denied, counted in the summary, not an error', async () => {
  const all = await runBin('flow-capture', ['-r', FX + 'live-v9.pcap']);
  const mine = await runBin('flow-capture', [
    '-v',
    '--allow',
    '127.0.0.0/8',
    '--allow',
    '::1',
    '-r',
    FX + 'live-v9.pcap',
  ]);
  assert.equal(mine.code, 0, mine.stderr);
  assert.equal(mine.stdout, all.stdout);
  const other = await runBin('flow-capture', ['--allow', '192.0.2.0/24', '-r', FX + 'live-v9.pcap']);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, '');
  const v = await runBin('flow-capture', ['-v', '--allow', '192.0.2.0/24', '-r', FX + 'live-v9.pcap']);
  assert.match(v.stderr, /1 packets, 0 datagrams, 0 records; 1 datagrams denied \(exporter not in --allow\)/);
  const bad = await runBin('flow-capture', ['--allow', '10.0.0.0/33', '-r', FX + 'live-v9.pcap']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /--allow 10\.0\.0\.0\/33: invalid network mask "33"/);
});
