// flow-report --reconcile on bills made by the real commands: flow-capture decodes real pcaps,
// the flows are cut into rotated capture files, and each is billed as billing-cycle.sh does
// (flow-aggregate -c with the SUBSCRIBERS filters and -n, flow-report --format hydra --split into
// work/FILE/report/), or by billing-cycle.sh itself against a real XML-RPC hcd (its ledger and
// spool). The reconciliation's figures are checked against sums taken here from the flow files
// and the billing files themselves.
import { after, test } from 'node:test';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { testNeeding } from '../helpers/peers.js';
import { startHcd } from '../helpers/hcd-server.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';
import { cycle as runCycle, NETWORKS, setup as cycleSetup, SUBSCRIBERS } from '../helpers/billing.js';

const PCAPS = ['test/fixtures/aggregate/nf9.pcap', 'test/fixtures/report/netflow-v9.pcap'];

interface Row {
  interval: string;
  files: number;
  flows: number;
  billed_ab: number;
  billed_ba: number;
  twice: number;
  no_subscriber: number;
  not_yet_billed: number;
  difference_ab: number;
  difference_ba: number;
  difference: number;
  status: string;
}

/** Flow lines of real captures, decoded by flow-capture. */
async function realFlows(dir: string): Promise<string[]> {
  const out = join(dir, 'all.ndjson');
  const r = await runBin('flow-capture', ['-o', out, ...PCAPS.flatMap((p) => ['-r', join(ROOT, p)])]);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length > 100, `only ${lines.length} flows`);
  return lines;
}

/** `lines` cut into `n` capture files flows.20260115HHMM.ndjson, 5 minutes apart from minute
 *  `first` (the second one gzipped). */
function writeCaptures(dir: string, lines: string[], n: number, first = 0): string[] {
  const per = Math.ceil(lines.length / n);
  return Array.from({ length: n }, (_, i) => {
    const body = lines.slice(i * per, (i + 1) * per).join('\n') + '\n';
    const base = `flows.20260115${String(1200 + first + 5 * i).padStart(4, '0')}.ndjson`;
    if (i === 1) {
      writeFileSync(join(dir, `${base}.gz`), gzipSync(body));
      return `${base}.gz`;
    }
    writeFileSync(join(dir, base), body);
    return base;
  });
}

/** Bill one capture file as billing-cycle.sh does: WORK/FILE/report/agg-ab, agg-ba. `how`: the
 *  aggregations (-c CONF with the subscriber filters, or --ab --ba without them). */
async function bill(capture: string, work: string, file: string, how: string[]): Promise<void> {
  const w = join(work, file);
  mkdirSync(join(w, 'report'), { recursive: true });
  const agg = await runBin('flow-aggregate', [
    '-q',
    ...how,
    '-n',
    NETWORKS,
    '-o',
    `ab=${w}/agg-ab.ndjson`,
    '-o',
    `ba=${w}/agg-ba.ndjson`,
    join(capture, file),
  ]);
  assert.equal(agg.code, 0, agg.stderr);
  const rep = await runBin('flow-report', [
    '-q',
    '--format',
    'hydra',
    '--split',
    join(w, 'report'),
    `${w}/agg-ab.ndjson`,
    `${w}/agg-ba.ndjson`,
  ]);
  assert.equal(rep.code, 0, rep.stderr);
}

function subscriberConf(dir: string): string {
  const nets = SUBSCRIBERS.split(' ');
  const conf = join(dir, 'aggregate.conf');
  writeFileSync(
    conf,
    `aggregate[ab]: src_host,dst_net,dst_mask\naggregate_filter[ab]: ${nets.map((n) => `src net ${n}`).join(' or ')}\n` +
      `aggregate[ba]: src_net,src_mask,dst_host\naggregate_filter[ba]: ${nets.map((n) => `dst net ${n}`).join(' or ')}\n`,
  );
  return conf;
}

/** Bytes of a flow file, summed here with BigInt. */
function flowBytes(path: string): number {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  let s = 0n;
  for (const l of text.split('\n').filter(Boolean)) s += BigInt((JSON.parse(l) as { bytes: number }).bytes);
  return Number(s);
}

/** Σ BYTES of a Hydra billing file. */
function billedBytes(path: string): number {
  let s = 0n;
  for (const l of readFileSync(path, 'utf8').split('\n').filter(Boolean)) s += BigInt(l.split(';')[6]!);
  return Number(s);
}

async function reconcileRows(args: string[]): Promise<{ code: number | null; rows: Row[]; stderr: string }> {
  const r = await runBin('flow-report', ['--reconcile', '--format', 'ndjson', '--subscribers', SUBSCRIBERS, ...args]);
  const rows = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
  return { code: r.code, rows, stderr: r.stderr };
}

/** flows = billed_ab + billed_ba - twice + no_subscriber + not_yet_billed + difference, every row. */
function assertIdentity(rows: Row[]): void {
  for (const r of rows) {
    assert.equal(
      r.billed_ab + r.billed_ba - r.twice + r.no_subscriber + r.not_yet_billed + r.difference,
      r.flows,
      JSON.stringify(r),
    );
    assert.equal(r.difference, r.difference_ab + r.difference_ba);
  }
}

/** Capture files and their bills, made once; every test gets a copy of its own. */
let base: Promise<{ dir: string; files: string[] }> | undefined;
let baseDir: string | undefined;
after(() => baseDir && rmSync(baseDir, { recursive: true, force: true })); // tempDir would go with the first test
function makeBase(): Promise<{ dir: string; files: string[] }> {
  base ??= (async () => {
    const dir = (baseDir = mkdtempSync(join(tmpdir(), 'reconcile-base-')));
    mkdirSync(join(dir, 'capture'));
    const files = writeCaptures(join(dir, 'capture'), await realFlows(dir), 3);
    const conf = subscriberConf(dir);
    for (const f of files) await bill(join(dir, 'capture'), join(dir, 'work'), f, ['-c', conf]);
    return { dir, files };
  })();
  return base;
}

async function hydraSetup(): Promise<{ capture: string; work: string; files: string[]; paths: string[] }> {
  const b = await makeBase();
  const dir = tempDir('reconcile-');
  for (const d of ['capture', 'work']) cpSync(join(b.dir, d), join(dir, d), { recursive: true });
  const capture = join(dir, 'capture');
  return { capture, work: join(dir, 'work'), files: b.files, paths: b.files.map((f) => join(capture, f)) };
}

test('reconcile: a complete period: difference 0 in every interval, figures as summed from the files', async () => {
  const s = await hydraSetup();
  const r = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.rows.length, 4);
  assertIdentity(r.rows);
  s.files.forEach((f, i) => {
    const row = r.rows[i]!;
    assert.equal(row.interval, f.slice(6, 18));
    assert.equal(row.status, 'billed');
    assert.equal(row.flows, flowBytes(s.paths[i]!));
    assert.equal(row.billed_ab, billedBytes(join(s.work, f, 'report/agg-ab')));
    assert.equal(row.billed_ba, billedBytes(join(s.work, f, 'report/agg-ba')));
    assert.equal(row.difference, 0);
    assert.equal(row.not_yet_billed, 0);
  });
  const total = r.rows[3]!;
  assert.equal(total.interval, 'total');
  assert.equal(
    total.flows,
    s.paths.reduce((a, p) => a + flowBytes(p), 0),
  );
  assert.ok(total.no_subscriber > 0 && total.billed_ab > 0 && total.billed_ba > 0, JSON.stringify(total));

  // the table for people and csv say the same
  const text = await runBin('flow-report', [
    '--reconcile',
    '--subscribers',
    SUBSCRIBERS,
    '--bills',
    s.work,
    ...s.paths,
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^INTERVAL +FILES +FLOWS +BILLED AB +BILLED BA +TWICE +NO SUBSCRIBER +NOT YET BILLED +DIFF AB +DIFF BA +DIFFERENCE +STATUS\n/,
  );
  assert.match(
    text.stdout,
    new RegExp(
      `\\ntotal +3 +${total.flows} +${total.billed_ab} +${total.billed_ba} +${total.twice} +${total.no_subscriber} +0 +0 +0 +0 +total\\n$`,
    ),
  );
  const csv = await runBin('flow-report', [
    '--reconcile',
    '-F',
    'csv',
    '--subscribers',
    SUBSCRIBERS,
    '--bills',
    s.work,
    ...s.paths,
  ]);
  assert.equal(csv.code, 0, csv.stderr);
  const csvLines = csv.stdout.trim().split('\n');
  assert.equal(
    csvLines[0],
    'interval;files;flows;billed_ab;billed_ba;twice;no_subscriber;not_yet_billed;difference_ab;difference_ba;difference;status',
  );
  assert.equal(
    csvLines[4],
    `total;3;${total.flows};${total.billed_ab};${total.billed_ba};${total.twice};${total.no_subscriber};0;0;0;0;total`,
  );
});

test('reconcile: one billing file removed: its bytes are the difference of its interval, exit 1', async () => {
  const s = await hydraSetup();
  const lost = join(s.work, s.files[1]!, 'report/agg-ab');
  const lostBytes = billedBytes(lost);
  assert.ok(lostBytes > 0);
  rmSync(lost);
  const r = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`flows and bills disagree: difference ${lostBytes} bytes \\(ab ${lostBytes}, ba 0\\)`),
  );
  assertIdentity(r.rows);
  assert.deepEqual(
    r.rows.map((x) => [x.status, x.difference_ab, x.difference_ba]),
    [
      ['billed', 0, 0],
      ['difference', lostBytes, 0],
      ['billed', 0, 0],
      ['total', lostBytes, 0],
    ],
  );
  assert.equal(r.rows[1]!.billed_ab, 0);

  // --metrics-file: the totals as gauges, the difference for the alert rule, the exit status
  const prom = join(s.work, 'reconcile.prom');
  const withMetrics = await runBin('flow-report', [
    '--reconcile',
    '-q',
    '-F',
    'ndjson',
    '--subscribers',
    SUBSCRIBERS,
    '--metrics-file',
    prom,
    '--bills',
    s.work,
    ...s.paths,
  ]);
  assert.equal(withMetrics.code, 1, withMetrics.stderr);
  const fam = parsePromText(readFileSync(prom, 'utf8'));
  const total = r.rows[3]!;
  assert.equal(sampleValue(fam, 'flowmeter_reconcile_difference_bytes'), lostBytes);
  assert.equal(sampleValue(fam, 'flowmeter_reconcile_flow_bytes'), total.flows);
  assert.equal(sampleValue(fam, 'flowmeter_reconcile_billed_bytes', { direction: 'ab' }), total.billed_ab);
  assert.equal(sampleValue(fam, 'flowmeter_reconcile_billed_bytes', { direction: 'ba' }), total.billed_ba);
  assert.equal(sampleValue(fam, 'flowmeter_reconcile_no_subscriber_bytes'), total.no_subscriber);
  assert.equal(sampleValue(fam, 'flowmeter_run_exit_status'), 1);

  // both billing files of that capture file gone while a later one is billed: its bills are missing
  rmSync(join(s.work, s.files[1]!), { recursive: true });
  const m = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(m.code, 1, m.stderr);
  assertIdentity(m.rows);
  assert.equal(m.rows[1]!.status, 'missing');
  assert.equal(m.rows[1]!.not_yet_billed, 0);
  assert.ok(m.rows[1]!.difference_ba > 0);
});

test('reconcile: capture files the cycle has not billed yet are "not yet billed", not a difference', async () => {
  const s = await hydraSetup();
  // the newest interval: captured, its bills not made yet (the cycle bills oldest first)
  rmSync(join(s.work, s.files[2]!), { recursive: true });
  const r = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(r.code, 0, r.stderr);
  assertIdentity(r.rows);
  const newest = r.rows[2]!;
  assert.equal(newest.status, 'not yet billed');
  assert.equal(newest.billed_ab + newest.billed_ba + newest.difference, 0);
  assert.equal(newest.not_yet_billed, newest.flows - newest.no_subscriber);
  assert.ok(newest.not_yet_billed > 0);
  assert.equal(r.rows[3]!.not_yet_billed, newest.not_yet_billed);

  // --period last:N --dir reads the closed files only: flow-capture's temporary (the interval
  // still being written) is not an interval of the period
  writeFileSync(join(s.capture, '.flows.202601151215.ndjson.tmp-123-abc'), readFileSync(s.paths[0]!));
  const p = await reconcileRows(['--bills', s.work, '--period', 'last:3', '--dir', s.capture]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(p.rows, r.rows);
});

test('reconcile: bad input is refused with its place; usage errors', async () => {
  const s = await hydraSetup();
  // a billing file kept under the wrong capture file: its times are not those of its flows
  const third = join(s.work, s.files[2]!, 'report/agg-ab');
  const thirdText = readFileSync(third);
  writeFileSync(third, readFileSync(join(s.work, s.files[0]!, 'report/agg-ab')));
  const moved = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(moved.code, 65, moved.stderr);
  assert.match(
    moved.stderr,
    new RegExp(
      `agg-ab:\\d+: D_BEGIN\\.\\.D_END \\d+\\.\\.\\d+ is not within the flows of ${s.paths[2]!.replace(/\./g, '\\.')} \\(\\d+\\.\\.\\d+\\): a billing file of another capture file\\?`,
    ),
  );
  writeFileSync(third, thirdText);

  const ab = join(s.work, s.files[0]!, 'report/agg-ab');
  writeFileSync(ab, readFileSync(ab, 'utf8') + ';;1768478400;1768478400;10.5.0.1/32;0.0.0.0/0;12x;\n');
  const r = await reconcileRows(['--bills', s.work, ...s.paths]);
  assert.equal(r.code, 65, r.stderr);
  assert.match(r.stderr, /agg-ab:\d+: field "BYTES": expected a non-negative integer/);
  for (const [args, re] of [
    [['--reconcile', ...s.paths], /needs the bills/],
    [['--reconcile', '--bills', s.work, '-F', 'hydra', ...s.paths], /--reconcile prints text, csv, ndjson/],
    [['--bills', s.work, ...s.paths], /apply to --reconcile/],
    [['--reconcile', '--subscribers', '10.5.0.0/33', '--bills', s.work, ...s.paths], /--subscribers: 10\.5\.0\.0\/33/],
    [['--reconcile', '--bills', s.work], /needs flow-capture files/],
    [['--reconcile', '--bills', s.work, '--since', '1794489282', ...s.paths], /no --since, --until, --sort or --top/],
  ] as const) {
    const u = await runBin('flow-report', [...args]);
    assert.equal(u.code, 64, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, re);
  }
});

const withPython = testNeeding('python3');

withPython('reconcile: against the ledger and spool of a real billing-cycle.sh run', { timeout: 300_000 }, async () => {
  const { dir, capture, state, config } = cycleSetup('reconcile-cycle-');
  const lines = await realFlows(dir);
  const files = writeCaptures(capture, lines.slice(0, Math.floor(lines.length * 0.75)), 3);
  const hcd = await startHcd();
  const cycle = (): ReturnType<typeof runCycle> => runCycle({ dir, capture, state, config }, hcd);
  const first = await cycle();
  assert.equal(first.code, 0, first.stderr);
  const ledgerArgs = ['-n', NETWORKS, '--ledger', join(state, 'hcd-ledger.json'), '--spool', join(state, 'hcd-spool')];
  const paths = (): string[] => files.map((f) => join(capture, f));

  // everything delivered: billed bytes are what hcd received
  const ok = await reconcileRows([...ledgerArgs, ...paths()]);
  assert.equal(ok.code, 0, ok.stderr);
  assertIdentity(ok.rows);
  assert.deepEqual(
    ok.rows.map((r) => r.status),
    ['billed', 'billed', 'billed', 'total'],
  );
  const received = { ab: 0n, ba: 0n };
  for (const c of (await hcd.calls()).calls) {
    for (const l of Buffer.from(c.content_b64, 'base64').toString('utf8').split('\n').filter(Boolean))
      received[c.name.endsWith('-ab') ? 'ab' : 'ba'] += BigInt(l.split(';')[6]!);
  }
  const total = ok.rows[3]!;
  assert.deepEqual([total.billed_ab, total.billed_ba], [Number(received.ab), Number(received.ba)]);
  assert.equal(
    total.flows,
    paths().reduce((a, p) => a + flowBytes(p), 0),
  );
  assert.equal(total.difference, 0);

  // hcd busy: a newer capture file's bills wait in the spool: not yet billed, exit 0
  await hcd.control('mode=status&code=429&count=0');
  files.push(...writeCaptures(capture, lines.slice(Math.floor(lines.length * 0.75)), 1, 15));
  const busy = await cycle();
  assert.equal(busy.code, 75, busy.stderr);
  const spooled = await reconcileRows(['-v', ...ledgerArgs, ...paths()]);
  assert.equal(spooled.code, 0, spooled.stderr);
  assertIdentity(spooled.rows);
  const waiting = spooled.rows[3]!;
  assert.equal(waiting.status, 'not yet billed');
  assert.ok(waiting.not_yet_billed > 0);
  assert.equal(waiting.not_yet_billed, waiting.flows - waiting.no_subscriber);
  assert.match(spooled.stderr, new RegExp(`${files[3]!.replace(/\./g, '\\.')}: its billing file waits in the spool`));
  assert.deepEqual(spooled.rows.slice(0, 3), ok.rows.slice(0, 3));

  // an upload of an older file missing from the ledger: its bytes are the difference, exit 1
  const ledgerPath = join(state, 'hcd-ledger.json');
  const doc = JSON.parse(readFileSync(ledgerPath, 'utf8')) as {
    entries: Array<{ name: string; source: string; state: string }>;
  };
  const before = doc.entries.length;
  doc.entries = doc.entries.filter((e) => !(e.name === 'agg-ba' && e.source.includes(`/${files[0]}/`)));
  assert.equal(doc.entries.length, before - 1);
  writeFileSync(ledgerPath, JSON.stringify({ ...doc }));
  const lost = await reconcileRows([...ledgerArgs, ...paths()]);
  assert.equal(lost.code, 1, lost.stderr);
  assertIdentity(lost.rows);
  assert.deepEqual(
    [lost.rows[0]!.status, lost.rows[0]!.difference_ab, lost.rows[0]!.difference_ba],
    ['difference', 0, ok.rows[0]!.billed_ba],
  );

  // an upload hcd may or may not have stored (in doubt): not yet billed until an operator settles it
  const doubtful = doc.entries.find((e) => e.name === 'agg-ab' && e.source.includes(`/${files[1]}/`))!;
  doubtful.state = 'in-doubt';
  writeFileSync(ledgerPath, JSON.stringify(doc));
  const doubt = await reconcileRows([...ledgerArgs, ...paths()]);
  assert.equal(doubt.code, 1, doubt.stderr); // the lost upload above is still a difference
  assertIdentity(doubt.rows);
  assert.equal(doubt.rows[1]!.status, 'in doubt');
  assert.equal(doubt.rows[1]!.not_yet_billed, ok.rows[1]!.flows - ok.rows[1]!.no_subscriber);
});

test('reconcile: without --subscribers every flow is billed both ways; counters past 2^53 and 2^64 are summed exactly', async () => {
  const dir = tempDir('reconcile-u64-');
  const capture = join(dir, 'capture');
  mkdirSync(capture);
  const flow = (bytes: string, src: string, dst: string): string =>
    `{"type":"IPFIX","time_received_ns":1794489282000000000,"sampler_address":"127.0.0.1","time_flow_start_ns":1794489282000000000,"time_flow_end_ns":1794489283000000000,"bytes":${bytes},"packets":1,"src_addr":"${src}","dst_addr":"${dst}","etype":"IPv4","proto":"udp","src_port":1,"dst_port":2}`;
  const file = 'flows.202612030000.ndjson';
  writeFileSync(
    join(capture, file),
    [flow('18446744073709551615', '10.5.10.5', '8.8.8.8'), flow('9007199254740993', '10.5.10.6', '10.5.10.5')].join(
      '\n',
    ) + '\n',
  );
  // the cycle without SUBSCRIBERS: flow-aggregate --ab --ba -n NETWORKS
  await bill(capture, join(dir, 'work'), file, ['--ab', '--ba']);
  const r = await runBin('flow-report', [
    '--reconcile',
    '-F',
    'ndjson',
    '--bills',
    join(dir, 'work'),
    join(capture, file),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const sum = String(18446744073709551615n + 9007199254740993n); // 18455751272964292608: past 2^64
  const total = r.stdout.trim().split('\n')[1]!;
  assert.equal(
    total,
    `{"interval":"total","files":1,"flows":${sum},"billed_ab":${sum},"billed_ba":${sum},"twice":${sum},"no_subscriber":0,"not_yet_billed":0,"difference_ab":0,"difference_ba":0,"difference":0,"status":"total"}`,
  );
  // with a subscriber space the flow to 8.8.8.8 is ab only and nobody's ba: the bills (of every
  // flow both ways) hold more than the subscribers' flows, a negative difference
  const sub = await runBin('flow-report', [
    '--reconcile',
    '-F',
    'csv',
    '--subscribers',
    '10.5.10.0/24',
    '--bills',
    join(dir, 'work'),
    join(capture, file),
  ]);
  assert.equal(sub.code, 1, sub.stderr);
  assert.equal(
    sub.stdout.trim().split('\n')[2],
    `total;1;${sum};${sum};${sum};9007199254740993;0;0;0;-18446744073709551615;-18446744073709551615;total`,
  );
});
