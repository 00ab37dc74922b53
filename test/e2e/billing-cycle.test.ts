// examples/billing/billing-cycle.sh under fault injection, with real processes and a real XML-RPC
// server: the cycle is killed with SIGKILL after each of its steps in turn, runs into a held lock,
// meets hcd answering 429 (busy) and then hcd gone (the spool fills, even with the same file spooled
// twice), and is run again until idle. Afterwards the bytes hcd received, per subscriber, remote
// network and direction, equal what flow-aggregate computes over all the captures at once, and no
// statistics file reached hcd twice.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, runBin, runProcess, runShell, type RunResult } from '../helpers/spawn.js';
import { startHcd, type HcdCall, type HcdServer } from '../helpers/hcd-server.js';
import { CYCLE_NETWORKS, CYCLE_SCRIPT, CYCLE_SUBSCRIBERS, cycleSetup, runCycle, type CycleSetup } from '../helpers/billing-cycle.js';

const test = testNeeding('python3');

const SCRIPT = CYCLE_SCRIPT;
const NETWORKS = CYCLE_NETWORKS;
const SUBSCRIBERS = CYCLE_SUBSCRIBERS;
const PCAPS = [
  'test/fixtures/aggregate/nf5.pcap',
  'test/fixtures/aggregate/nf9.pcap',
  'test/fixtures/report/netflow-v9.pcap',
  'examples/softflowd-v9.pcap',
  'examples/softflowd-ipfix.pcap',
];
// Every point where the script can be told to kill itself, in the order a file meets them.
const CRASH_POINTS = [
  'flush', 'aggregate', 'aggregate-mark', 'report', 'report-mark', 'upload-ab', 'upload-ab-mark',
  'upload-ba', 'upload-ba-mark', 'done-mark', 'cleanup',
];

type Setup = CycleSetup;
const setup = (): Setup => cycleSetup();

/** Split NDJSON lines into `n` rotated capture files named from minute `first` on. */
function writeCaptures(s: Setup, lines: string[], n: number, first: number, gzipIndex = -1): string[] {
  const names: string[] = [];
  const per = Math.ceil(lines.length / n);
  for (let i = 0; i < n; i++) {
    const chunk = lines.slice(i * per, (i + 1) * per);
    const body = chunk.length ? chunk.join('\n') + '\n' : '';
    const base = `flows.20260115${String(1200 + first + i).padStart(4, '0')}.ndjson`;
    if (i === gzipIndex) {
      writeFileSync(join(s.capture, `${base}.gz`), gzipSync(body));
      names.push(`${base}.gz`);
    } else {
      writeFileSync(join(s.capture, base), body);
      names.push(base);
    }
  }
  return names;
}

function cycle(s: Setup, hcd: HcdServer, env: Record<string, string> = {}): Promise<RunResult> {
  return runCycle(s, hcd.url(), env);
}

type Totals = Map<string, number>;

function add(m: Totals, key: string, bytes: number): void {
  m.set(key, (m.get(key) ?? 0) + bytes);
}

/** Bytes per direction, subscriber and remote network from the billing lines hcd received. */
function receivedTotals(calls: HcdCall[]): Totals {
  const m: Totals = new Map();
  for (const c of calls) {
    const dir = c.name.slice(-2);
    for (const line of Buffer.from(c.content_b64, 'base64').toString('utf8').split('\n')) {
      if (!line) continue;
      const f = line.split(';');
      const [a1, a2, bytes] = [f[4]!, f[5]!, Number(f[6])];
      add(m, dir === 'ab' ? `ab ${a1} ${a2}` : `ba ${a2} ${a1}`, bytes);
    }
  }
  return m;
}

/** The same, computed directly by flow-aggregate over every flow of every capture at once. */
async function expectedTotals(s: Setup, allFlows: string): Promise<Totals> {
  const conf = join(s.dir, 'expect.conf');
  const src = SUBSCRIBERS.split(' ').map((n) => `src net ${n}`).join(' or ');
  const dst = SUBSCRIBERS.split(' ').map((n) => `dst net ${n}`).join(' or ');
  writeFileSync(conf, `aggregate[ab]: src_host,dst_net,dst_mask\naggregate_filter[ab]: ${src}\n` +
    `aggregate[ba]: src_net,src_mask,dst_host\naggregate_filter[ba]: ${dst}\n`);
  const ab = join(s.dir, 'expect-ab.ndjson');
  const ba = join(s.dir, 'expect-ba.ndjson');
  const r = await runBin('flow-aggregate', ['-c', conf, '-n', NETWORKS, '-o', `ab=${ab}`, '-o', `ba=${ba}`, allFlows]);
  assert.equal(r.code, 0, r.stderr);
  const m: Totals = new Map();
  const host = (a: string): string => `${a}/${a.includes(':') ? 128 : 32}`;
  for (const line of readFileSync(ab, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { src_host: string; dst_net: string; dst_mask: number; bytes: number };
    if (o.bytes) add(m, `ab ${host(o.src_host)} ${o.dst_net}/${o.dst_mask}`, o.bytes);
  }
  for (const line of readFileSync(ba, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { src_net: string; src_mask: number; dst_host: string; bytes: number };
    if (o.bytes) add(m, `ba ${host(o.dst_host)} ${o.src_net}/${o.src_mask}`, o.bytes);
  }
  return m;
}

function spoolFiles(s: Setup): string[] {
  const d = join(s.state, 'hcd-spool');
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.hcd')) : [];
}

test('billing cycle: killed after every step, lock held, hcd failing and gone: every byte billed once', { timeout: 600_000 }, async () => {
  const s = setup();
  // The flows of several real captures, decoded by flow-capture, in arrival order, cut into
  // rotated files the way flow-capture -w --rotate writes them (one gzip-compressed, one empty).
  const allFlows = join(s.dir, 'all.ndjson');
  const cap = await runBin('flow-capture', ['-o', allFlows, ...PCAPS.flatMap((p) => ['-r', join(ROOT, p)])]);
  assert.equal(cap.code, 0, cap.stderr);
  const lines = readFileSync(allFlows, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length > 1000, `only ${lines.length} flows`);
  const firstHalf = lines.slice(0, Math.floor(lines.length * 0.6));
  const secondHalf = lines.slice(firstHalf.length);
  writeCaptures(s, firstHalf, 6, 0, 2);
  writeFileSync(join(s.capture, 'flows.202601151206.ndjson'), ''); // an interval without traffic
  // Not a closed capture file: flow-capture's temporary name and an unrelated file are ignored.
  writeFileSync(join(s.capture, '.flows.202601151207.ndjson.tmp-123-abc'), lines[0] + '\n');
  writeFileSync(join(s.capture, 'notes.txt'), 'not flows\n');

  let hcd = await startHcd();
  const port = hcd.port;
  const received: HcdCall[] = [];

  // 1. Killed right after each step in turn (the hook sends SIGKILL to the script itself).
  for (const point of CRASH_POINTS) {
    const r = await cycle(s, hcd, { BILLING_CYCLE_CRASH_AFTER: point });
    assert.equal(r.signal, 'SIGKILL', `crash after ${point}: ${r.code} ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`test hook: kill -9 after ${point}\\n`));
  }

  // 2. Another run holds the lock: exit 75, nothing done. (The trailing `exit` keeps bash from
  // exec-ing the script in its own process, which would drop the shell's hold on the lock.)
  const lock = join(s.state, 'billing-cycle.lock');
  const held = await runShell(`exec 9>>'${lock}'; flock 9; HCD_URL='${hcd.url()}' /bin/sh '${SCRIPT}' '${s.config}'; exit $?`);
  assert.equal(held.code, 75, held.stderr);
  assert.match(held.stderr, /another run holds/);

  // 3. hcd answers 429 (busy: provably not taken) to everything: the files of this run wait in
  // the spool (exit 75). (A 5xx would leave each upload in doubt, for the operator to settle.)
  writeCaptures(s, secondHalf.slice(0, Math.floor(secondHalf.length / 2)), 3, 10);
  await hcd.control('mode=status&code=429&count=0');
  const failing = await cycle(s, hcd);
  assert.equal(failing.code, 75, failing.stderr);
  assert.ok(spoolFiles(s).length > 0, 'nothing spooled');
  received.push(...(await hcd.calls()).calls);

  // 4. hcd gone (connection refused): more files, killed after spooling one upload but before its
  // marker, so that the next run spools the same content a second time.
  await hcd.stop();
  writeCaptures(s, secondHalf.slice(Math.floor(secondHalf.length / 2)), 3, 20);
  const gone = await cycle(s, hcd, { BILLING_CYCLE_CRASH_AFTER: 'upload-ab' });
  assert.equal(gone.signal, 'SIGKILL', gone.stderr);
  const before = spoolFiles(s).length;
  const gone2 = await cycle(s, hcd);
  assert.equal(gone2.code, 75, gone2.stderr);
  assert.match(gone2.stderr, /connection refused/);
  assert.ok(spoolFiles(s).length > before, 'the spool did not grow');

  // 5. hcd back on the same port: run until the cycle has nothing left to do.
  hcd = await startHcd({ port });
  let last: RunResult | undefined;
  for (let i = 0; i < 5; i++) {
    last = await cycle(s, hcd);
    if (last.code === 0) break;
  }
  assert.equal(last?.code, 0, last?.stderr);
  assert.deepEqual(spoolFiles(s), []);
  const again = await cycle(s, hcd); // idle: nothing more is sent
  assert.equal(again.code, 0, again.stderr);
  received.push(...(await hcd.calls()).calls);

  // Every capture file is marked done, no work directory is left.
  const captures = readdirSync(s.capture).filter((f) => /^flows\.\d{12}\.ndjson(\.gz)?$/.test(f)).sort();
  assert.deepEqual(readdirSync(join(s.state, 'done')).sort(), captures);
  assert.deepEqual(readdirSync(join(s.state, 'work')), []);

  // No statistics file reached hcd twice.
  const seen = new Set<string>();
  for (const c of received) {
    const key = `${c.name} ${createHash('sha256').update(Buffer.from(c.content_b64, 'base64')).digest('hex')}`;
    assert.ok(!seen.has(key), `received twice: ${key}`);
    seen.add(key);
  }
  // The bytes hcd received equal the bytes in the captures, per subscriber, remote network and
  // direction.
  const got = receivedTotals(received);
  const want = await expectedTotals(s, allFlows);
  assert.ok(want.size > 20, `only ${want.size} keys`);
  assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()));
});

test('billing cycle: a bad capture file stops the run with its status and is retried', async () => {
  const s = setup();
  const hcd = await startHcd();
  writeFileSync(join(s.capture, 'flows.202601151200.ndjson'), '{"bytes":"12a"}\n');
  const r = await cycle(s, hcd);
  assert.equal(r.code, 65, r.stderr);
  assert.match(r.stderr, /flows\.202601151200\.ndjson: flow-aggregate exited 65; the file is retried by the next run/);
  assert.deepEqual(readdirSync(join(s.state, 'done')), []);
  assert.equal((await hcd.calls()).calls.length, 0);
  const noUrl = await runProcess('/bin/sh', [SCRIPT, s.config], { env: { HCD_URL: '' } });
  assert.equal(noUrl.code, 78);
  assert.match(noUrl.stderr, /HCD_URL is not set/);
});

test('billing cycle: AFTER=delete removes billed files and their done markers; MAX_FILES bounds a run', async () => {
  const s = setup();
  const hcd = await startHcd();
  const cap = await runBin('flow-capture', ['-r', join(ROOT, 'examples/softflowd-v9.pcap')]);
  assert.equal(cap.code, 0, cap.stderr);
  const names = writeCaptures(s, cap.stdout.split('\n').filter(Boolean), 3, 0);
  writeFileSync(s.config, readFileSync(s.config, 'utf8') + 'AFTER=delete\nMAX_FILES=2\n');
  const first = await cycle(s, hcd);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /billed 2 file\(s\)/);
  assert.deepEqual(readdirSync(s.capture), [names[2]]); // oldest first
  assert.deepEqual(readdirSync(join(s.state, 'done')), []); // markers of deleted files pruned
  const second = await cycle(s, hcd);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(readdirSync(s.capture), []);
  assert.equal((await hcd.calls()).calls.length, 6);
});
