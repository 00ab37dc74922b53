// examples/billing/billing-cycle.sh under fault injection, with real processes and a real XML-RPC
// server: the cycle is killed with SIGKILL after each of its steps in turn, runs into a held lock,
// meets hcd answering 429 (busy) and then hcd gone (the spool fills, even with the same file spooled
// twice), and is run again until idle. Afterwards the bytes hcd received, per subscriber, remote
// network and direction, equal what flow-aggregate computes over all the captures at once, and no
// statistics file reached hcd twice. With METRICS_DIR, every stage leaves a textfile, and the
// reconciliation after each round agrees with the flows, or names the bytes of a lost upload.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin, runProcess, runShell, type RunResult } from '../helpers/spawn.js';
import { startHcd, type HcdCall } from '../helpers/hcd-server.js';
import {
  cycle,
  expectedTotals,
  PCAPS,
  receivedTotals,
  SCRIPT,
  setup,
  spoolFiles,
  writeCaptures,
} from '../helpers/billing.js';
import { parsePromText, sampleValue, type PromFamily } from '../helpers/prom-text.js';

const test = testNeeding('python3');

// Every point where the script can be told to kill itself, in the order a file meets them.
const CRASH_POINTS = [
  'flush',
  'aggregate',
  'aggregate-mark',
  'report',
  'report-mark',
  'upload-ab',
  'upload-ab-mark',
  'upload-ba',
  'upload-ba-mark',
  'done-mark',
  'cleanup',
];

test(
  'billing cycle: killed after every step, lock held, hcd failing and gone: every byte billed once',
  { timeout: 600_000 },
  async () => {
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
    const held = await runShell(
      `exec 9>>'${lock}'; flock 9; HCD_URL='${hcd.url()}' /bin/sh '${SCRIPT}' '${s.config}'; exit $?`,
    );
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
    const captures = readdirSync(s.capture)
      .filter((f) => /^flows\.\d{12}\.ndjson(\.gz)?$/.test(f))
      .sort();
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
  },
);

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
  const noDir = await cycle(s, hcd, { METRICS_DIR: join(s.dir, 'no-such-dir') });
  assert.equal(noDir.code, 78, noDir.stderr);
  assert.match(noDir.stderr, /METRICS_DIR .*no-such-dir: no such directory/);
  const badCount = await cycle(s, hcd, { RECONCILE_FILES: 'all' });
  assert.equal(badCount.code, 78, badCount.stderr);
  assert.match(badCount.stderr, /RECONCILE_FILES must be a number \(got "all"\)/);
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

/** Σ of a field of NDJSON flow lines, exactly. */
function sumBytes(lines: string[]): bigint {
  return lines.reduce((n, l) => n + BigInt((JSON.parse(l) as { bytes: number }).bytes), 0n);
}

/** Σ BYTES of the billing lines hcd received, per direction. */
function billedBytes(calls: HcdCall[]): { ab: bigint; ba: bigint } {
  const t = { ab: 0n, ba: 0n };
  for (const c of calls) {
    for (const l of Buffer.from(c.content_b64, 'base64').toString('utf8').split('\n').filter(Boolean))
      t[c.name.endsWith('-ab') ? 'ab' : 'ba'] += BigInt(l.split(';')[6]!);
  }
  return t;
}

const STAGES = ['flush', 'aggregate', 'report', 'upload-ab', 'upload-ba', 'reconcile'];

/** The cycle's textfiles, parsed (strictly), by stage ('cycle': the run's own). */
function stageMetrics(dir: string): Map<string, Map<string, PromFamily>> {
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['billing-cycle.prom', ...STAGES.map((st) => `billing-cycle-${st}.prom`)].sort(),
  );
  const read = (name: string): Map<string, PromFamily> => parsePromText(readFileSync(join(dir, name), 'utf8'));
  return new Map([
    ...STAGES.map((st): [string, Map<string, PromFamily>] => [st, read(`billing-cycle-${st}.prom`)]),
    ['cycle', read('billing-cycle.prom')],
  ]);
}

test(
  'billing cycle: METRICS_DIR textfiles per stage; the reconciliation after each round: 0 when complete, the missing bytes and exit 1 when an upload is lost',
  { timeout: 300_000 },
  async () => {
    const s = setup('billing-cycle-metrics-');
    const metrics = join(s.dir, 'metrics');
    mkdirSync(metrics);
    writeFileSync(s.config, readFileSync(s.config, 'utf8') + `METRICS_DIR=${metrics}\n`);
    const allFlows = join(s.dir, 'all.ndjson');
    const cap = await runBin('flow-capture', [
      '-o',
      allFlows,
      '-r',
      join(ROOT, 'test/fixtures/aggregate/nf9.pcap'),
      '-r',
      join(ROOT, 'test/fixtures/report/netflow-v9.pcap'),
    ]);
    assert.equal(cap.code, 0, cap.stderr);
    const lines = readFileSync(allFlows, 'utf8').split('\n').filter(Boolean);
    const first = lines.slice(0, Math.floor(lines.length * 0.7));
    const names = writeCaptures(s, first, 3, 0, 1);
    const hcd = await startHcd();

    // 1. A complete round: every stage leaves its textfile, the reconciliation agrees (difference 0)
    // and its figures are the flows' bytes and the bytes hcd received.
    const ok = await cycle(s, hcd);
    assert.equal(ok.code, 0, ok.stderr);
    const calls = (await hcd.calls()).calls;
    assert.equal(calls.length, 6);
    const billed = billedBytes(calls);
    assert.match(
      ok.stderr,
      new RegExp(
        `billing-cycle: reconciled the last 3 billed file\\(s\\): flows ${sumBytes(first)} bytes, billed ab ${billed.ab} ba ${billed.ba} \\(both ways \\d+\\), no subscriber \\d+, not yet billed 0, difference 0\\n`,
      ),
    );
    let m = stageMetrics(metrics);
    for (const [st, fam] of m) {
      assert.equal(sampleValue(fam, 'flowmeter_run_exit_status'), 0, st);
      const run = fam.get('flowmeter_run_exit_status')!.samples[0]!.labels;
      assert.equal(run.run, st === 'cycle' ? 'billing-cycle' : `billing-cycle-${st}`);
      assert.equal(
        run.command,
        st === 'cycle'
          ? 'billing-cycle'
          : st === 'aggregate'
            ? 'flow-aggregate'
            : st === 'report' || st === 'reconcile'
              ? 'flow-report'
              : 'hcd-putfile',
      );
    }
    const cycleEnd = sampleValue(m.get('cycle')!, 'flowmeter_run_last_timestamp_seconds')!;
    assert.ok(Math.abs(cycleEnd - Date.now() / 1000) < 60, `the run's end time: ${cycleEnd}`);
    assert.ok(sampleValue(m.get('cycle')!, 'flowmeter_run_duration_seconds')! >= 0);
    const rec = m.get('reconcile')!;
    assert.equal(sampleValue(rec, 'flowmeter_reconcile_difference_bytes'), 0);
    assert.equal(sampleValue(rec, 'flowmeter_reconcile_not_yet_billed_bytes'), 0);
    assert.equal(BigInt(sampleValue(rec, 'flowmeter_reconcile_flow_bytes')!), sumBytes(first));
    assert.equal(BigInt(sampleValue(rec, 'flowmeter_reconcile_billed_bytes', { direction: 'ab' })!), billed.ab);
    assert.equal(BigInt(sampleValue(rec, 'flowmeter_reconcile_billed_bytes', { direction: 'ba' })!), billed.ba);
    // the last upload's textfile: what hcd-putfile sent of agg-ba of the last capture file
    const lastBa = calls.filter((c) => c.name === 'agg-ba').at(-1)!;
    assert.equal(
      sampleValue(m.get('upload-ba')!, 'flowmeter_run_uploaded_bytes'),
      Buffer.from(lastBa.content_b64, 'base64').length,
    );

    // The alert rules name only metrics these textfiles hold, with the labels their summaries use;
    // the reconciliation alert's expression (difference != 0) is quiet now.
    const rules = readFileSync(join(ROOT, 'examples/prometheus/flowmeter.rules.yml'), 'utf8');
    const billingRules = rules.slice(rules.indexOf('- name: flowmeter-billing'));
    const used = new Set(
      [...billingRules.matchAll(/^\s*expr: (.*)$/gm)].flatMap((x) =>
        [...x[1]!.matchAll(/\bflowmeter_[a-z0-9_]+/g)].map((n) => n[0]),
      ),
    );
    assert.ok(used.has('flowmeter_reconcile_difference_bytes') && used.size >= 3, [...used].join(' '));
    for (const name of used) {
      const holders = [...m].filter(([, fam]) => fam.has(name));
      assert.ok(holders.length > 0, `${name} (flowmeter.rules.yml) is in none of the cycle's textfiles`);
      for (const [, fam] of holders)
        for (const sample of fam.get(name)!.samples)
          assert.ok(sample.labels.run && sample.labels.command, `${name}: no run/command label`);
    }
    assert.match(billingRules, /expr: flowmeter_reconcile_difference_bytes != 0\n/);

    // 2. An upload lost: agg-ba of the first capture file is no longer among what hcd accepted (the
    // ledger); the next round bills a new file and the reconciliation finds the first one's ba bytes
    // missing: it names the interval on stderr, the gauge holds them, the run exits 1.
    const ledgerPath = join(s.state, 'hcd-ledger.json');
    const doc = JSON.parse(readFileSync(ledgerPath, 'utf8')) as {
      entries: Array<{ name: string; source: string; bytes: number }>;
    };
    const lost = doc.entries.find((e) => e.name === 'agg-ba' && e.source.includes(`/${names[0]}/`))!;
    doc.entries = doc.entries.filter((e) => e !== lost);
    writeFileSync(ledgerPath, JSON.stringify(doc));
    const lostBytes = billedBytes(calls.filter((c) => c.name === 'agg-ba').slice(0, 1)).ba;
    assert.ok(lostBytes > 0n);
    writeCaptures(s, lines.slice(first.length), 1, 10);
    const bad = await cycle(s, hcd);
    assert.equal(bad.code, 1, bad.stderr);
    const interval = names[0]!.slice('flows.'.length, 'flows.'.length + 12);
    assert.match(
      bad.stderr,
      new RegExp(
        `billing-cycle: reconciliation: interval ${interval} \\(1 file\\(s\\)\\): difference: difference ${lostBytes} bytes \\(ab 0, ba ${lostBytes}\\)`,
      ),
    );
    assert.match(bad.stderr, new RegExp(`reconciled the last 4 billed file\\(s\\): .*difference ${lostBytes}\\n`));
    assert.match(bad.stderr, /the bills disagree with the flows .*this run exits 1\n/);
    assert.equal((await hcd.calls()).calls.length, 8); // the new file was billed all the same
    m = stageMetrics(metrics);
    assert.equal(BigInt(sampleValue(m.get('reconcile')!, 'flowmeter_reconcile_difference_bytes')!), lostBytes);
    assert.equal(sampleValue(m.get('reconcile')!, 'flowmeter_run_exit_status'), 1);
    assert.equal(sampleValue(m.get('aggregate')!, 'flowmeter_run_exit_status'), 0);
    assert.equal(sampleValue(m.get('cycle')!, 'flowmeter_run_exit_status'), 1, 'the run: exit 1');

    // 3. RECONCILE_FILES bounds the files checked: the last 2 no longer include the lost upload's.
    writeFileSync(s.config, readFileSync(s.config, 'utf8') + 'RECONCILE_FILES=2\n');
    const recent = await cycle(s, hcd);
    assert.equal(recent.code, 0, recent.stderr);
    assert.match(recent.stderr, /reconciled the last 2 billed file\(s\): .*difference 0\n/);
  },
);
