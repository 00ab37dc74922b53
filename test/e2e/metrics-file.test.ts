// --metrics-file: flow-aggregate, flow-report, meter-label count and hcd-putfile write their run's
// counters as a Prometheus textfile (node_exporter's textfile collector), atomically (the file is
// replaced by a rename, no temporary left), also when the run fails, with the exit status in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { startHcd } from '../helpers/hcd-server.js';
import { needs } from '../helpers/peers.js';
import { parsePromText, sampleValue, type PromFamily } from '../helpers/prom-text.js';

const REPORT = `${ROOT}test/fixtures/report/`;
const FLOWS = readFileSync(`${REPORT}flows.ndjson`, 'utf8');
const FLOW_LINES = FLOWS.trim().split('\n');

function readMetrics(path: string, command: string, run: string): Map<string, PromFamily> {
  const families = parsePromText(readFileSync(path, 'utf8'));
  for (const [name, f] of families) {
    assert.equal(f.type, 'gauge', name);
    for (const s of f.samples) assert.deepEqual([s.labels.command, s.labels.run], [command, run], name);
  }
  return families;
}

/** Exit status, duration and end time: in every file. */
function assertRun(m: Map<string, PromFamily>, exitStatus: number): void {
  assert.equal(sampleValue(m, 'flowmeter_run_exit_status'), exitStatus);
  const d = sampleValue(m, 'flowmeter_run_duration_seconds')!;
  assert.ok(d > 0 && d < 120, `duration ${d}`);
  const t = sampleValue(m, 'flowmeter_run_last_timestamp_seconds')!;
  assert.ok(Math.abs(t - Date.now() / 1000) < 120, `timestamp ${t}`);
}

test('flow-aggregate --metrics-file: records and aggregates, the old file replaced by a rename, no temporary left', async () => {
  const dir = tempDir('metrics-file');
  const prom = join(dir, 'agg-ab.prom');
  writeFileSync(prom, 'old\n');
  const oldInode = statSync(prom).ino;
  const out = join(dir, 'ab.ndjson');
  const r = await runBin('flow-aggregate', [
    '--ab',
    '-n',
    `${REPORT}networks.lst`,
    '-o',
    `ab=${out}`,
    '--metrics-file',
    prom,
    `${REPORT}flows.ndjson`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(statSync(prom).ino, oldInode, 'replaced by a rename, not rewritten in place');
  assert.deepEqual(readdirSync(dir).sort(), ['ab.ndjson', 'agg-ab.prom']);
  const m = readMetrics(prom, 'flow-aggregate', 'agg-ab');
  assertRun(m, 0);
  assert.equal(sampleValue(m, 'flowmeter_run_input_lines'), FLOW_LINES.length);
  assert.equal(sampleValue(m, 'flowmeter_run_records', { kind: 'flow' }), FLOW_LINES.length);
  assert.equal(
    sampleValue(m, 'flowmeter_run_aggregates', { aggregation: 'ab' }),
    readFileSync(out, 'utf8').trim().split('\n').length,
  );
  assert.equal(m.get('flowmeter_run_rejects'), undefined, 'no rejects, no series');
});

test('flow-aggregate --metrics-file: a run that fails (missing input) still writes it, with exit status 66', async () => {
  const dir = tempDir('metrics-file');
  const prom = join(dir, 'agg.prom');
  const r = await runBin('flow-aggregate', ['--ab', '--metrics-file', prom, join(dir, 'no-such-flows.ndjson')]);
  assert.equal(r.code, 66, r.stderr);
  assertRun(readMetrics(prom, 'flow-aggregate', 'agg'), 66);
});

test('flow-report --metrics-file: rejects by reason, accounted bytes, exit status 65', async () => {
  const dir = tempDir('metrics-file');
  const prom = join(dir, 'report.prom');
  const input = `${FLOWS}{"bytes":"lots"}\nnot json\n`;
  const r = await runBin('flow-report', ['--metrics-file', prom], { input });
  assert.equal(r.code, 65, r.stderr);
  const m = readMetrics(prom, 'flow-report', 'report');
  assertRun(m, 65);
  const rejects = m.get('flowmeter_run_rejects')!.samples;
  assert.equal(
    rejects.reduce((n, s) => n + s.value, 0),
    2,
  );
  for (const s of rejects) assert.ok(s.labels.reason && s.labels.reason.length > 0);
  const bytes = FLOW_LINES.reduce((n, l) => n + BigInt((JSON.parse(l) as { bytes: number }).bytes), 0n);
  assert.equal(sampleValue(m, 'flowmeter_run_accounted_bytes'), Number(bytes));
  assert.equal(sampleValue(m, 'flowmeter_run_records', { kind: 'flow' }), FLOW_LINES.length);
});

test('meter-label count --metrics-file: flows, matched flows and samples', async () => {
  const dir = tempDir('metrics-file');
  const db = join(dir, 'store.json');
  for (const args of [
    ['create', 'subs-out'],
    ['rule-create', 'subs-out', '0.0.0.0/0', '--direction', 'egress'],
  ]) {
    const c = await runBin('meter-label', ['--db', db, ...args]);
    assert.equal(c.code, 0, c.stderr);
  }
  const prom = join(dir, 'count.prom');
  const r = await runBin('meter-label', [
    '-v',
    '--db',
    db,
    'count',
    '--subnets',
    `${REPORT}networks.lst`,
    '--metrics-file',
    prom,
    `${REPORT}flows.ndjson`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = readMetrics(prom, 'meter-label', 'count');
  assertRun(m, 0);
  assert.equal(sampleValue(m, 'flowmeter_run_records', { kind: 'flow' }), FLOW_LINES.length);
  assert.equal(
    sampleValue(m, 'flowmeter_run_matched_flows'),
    Number(/matched=(\d+)/.exec(r.stderr)?.[1] ?? NaN),
    r.stderr,
  );
  assert.ok(sampleValue(m, 'flowmeter_run_matched_flows')! > 0);
  assert.equal(sampleValue(m, 'flowmeter_run_samples'), r.stdout.trim().split('\n').length);
});

test('hcd-putfile --metrics-file: what hcd accepted, a duplicate, and a failed upload (exit 75)', async (t) => {
  if (!needs(t, 'python3')) return;
  const dir = tempDir('metrics-file');
  const csv =
    'c39501;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;\nc39502;;1291242554;1291242854;10.5.10.7/32;0.0.0.0/0;123456789;\n';
  const f = join(dir, 'agg-ab.csv');
  writeFileSync(f, csv);
  const hcd = await startHcd({ user: 'hydra', password: 'pw' });
  const env = { HCD_PASSWORD: 'pw' };
  const prom = join(dir, 'hcd.prom');
  const state = join(dir, 'ledger.json');
  try {
    const r = await runBin(
      'hcd-putfile',
      ['-u', hcd.url('hydra'), '-f', f, '--state', state, '--metrics-file', prom, 'agg-ab'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    let m = readMetrics(prom, 'hcd-putfile', 'hcd');
    assertRun(m, 0);
    assert.equal(sampleValue(m, 'flowmeter_run_uploads', { outcome: 'sent' }), 1);
    assert.equal(sampleValue(m, 'flowmeter_run_uploaded_lines'), 2);
    assert.equal(sampleValue(m, 'flowmeter_run_uploaded_bytes'), Buffer.byteLength(csv));
    const again = await runBin(
      'hcd-putfile',
      ['-u', hcd.url('hydra'), '-f', f, '--state', state, '--metrics-file', prom, 'agg-ab'],
      { env },
    );
    assert.equal(again.code, 0, again.stderr);
    m = readMetrics(prom, 'hcd-putfile', 'hcd');
    assert.equal(sampleValue(m, 'flowmeter_run_uploads', { outcome: 'duplicate' }), 1);
    assert.equal(sampleValue(m, 'flowmeter_run_uploads', { outcome: 'sent' }), undefined);
  } finally {
    await hcd.stop();
  }
  // the server is gone: connection refused, a temporary failure
  const down = await runBin(
    'hcd-putfile',
    ['-u', hcd.url('hydra'), '-f', f, '--retries', '0', '--metrics-file', prom, 'agg-ab'],
    { env },
  );
  assert.equal(down.code, 75, down.stderr);
  assertRun(readMetrics(prom, 'hcd-putfile', 'hcd'), 75);
});

test('--metrics-file that cannot be written: the run says so and ends 73, its output still written', async () => {
  const dir = tempDir('metrics-file');
  const out = join(dir, 'ab.ndjson');
  const r = await runBin('flow-aggregate', [
    '--ab',
    '-o',
    out,
    '--metrics-file',
    join(dir, 'no-dir', 'x.prom'),
    `${REPORT}flows.ndjson`,
  ]);
  assert.equal(r.code, 73, r.stderr);
  assert.match(r.stderr, /no-dir\/x\.prom: cannot create/);
  assert.ok(readFileSync(out, 'utf8').length > 0);
});
