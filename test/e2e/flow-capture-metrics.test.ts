// flow-capture's /metrics and --tee with real processes and sockets: a live replay is scraped over
// HTTP and the exposition, read by a strict text-format reader, must agree with the stats line
// (SIGUSR2) and with the records written; exporters past --metrics-max-exporters are summed as
// "other"; every datagram reaches two tee receivers (flow-capture, and nfcapd where installed)
// while a receiver that stops costs the main collector nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { ROOT, runBin, runProcess } from '../helpers/spawn.js';
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
import { parsePromText, sampleValue, type PromFamily } from '../helpers/prom-text.js';
import { needs, withPeers } from '../helpers/peers.js';
import { freePort, udpBound } from '../helpers/nfcapd.js';

const FX = `${ROOT}test/fixtures/`;

// A test that fails midway must not leave its collector running: the file would never end.
const collectors: Collector[] = [];
after(() => collectors.forEach((c) => c.child.kill('SIGKILL')));
async function collector(args: string[]): Promise<Collector> {
  const c = await startCollector(args);
  collectors.push(c);
  return c;
}

/** The port of the collector's /metrics, from its -v line. */
async function metricsPort(c: Collector): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const m = /metrics on http:\/\/[^ ]*:(\d+)\/metrics/.exec(c.stderr());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no "metrics on" line: ${c.stderr()}`);
}

async function scrape(port: number): Promise<{ text: string; families: Map<string, PromFamily>; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, families: parsePromText(text), type: res.headers.get('content-type') };
}

async function offlineRecords(file: string): Promise<string[]> {
  const r = await runBin('flow-capture', ['-r', FX + file]);
  assert.equal(r.code, 0, r.stderr);
  return normalise(r.stdout);
}

test('metrics: a scrape during and after a live replay agrees with the stats line and the records written', async () => {
  const dgs = [...(await captureDatagrams(FX + 'live-v9.pcap')), ...(await captureDatagrams(FX + 'live-v5.pcap'))];
  const c = await collector(['-v', '-l', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
  const port = await metricsPort(c);
  const half = Math.floor(dgs.length / 2);
  await replay(dgs.slice(0, half), '127.0.0.1', c.port);
  const during = await scrape(port);
  assert.match(during.type ?? '', /^text\/plain; version=0\.0\.4/);
  await replay(dgs.slice(half), '127.0.0.1', c.port);
  await settle(c);
  const { families, text } = await scrape(port);
  const stats = await countersNow(c);
  // the same counters: every number of the stats line is in the exposition under its metric
  const v = (name: string, labels?: Record<string, string>): number | undefined => sampleValue(families, name, labels);
  assert.equal(stats.get('datagrams'), dgs.length);
  assert.equal(v('flowmeter_capture_datagrams_total'), dgs.length);
  assert.equal(v('flowmeter_capture_received_bytes_total'), stats.get('bytes'));
  assert.equal(v('flowmeter_capture_records_total'), stats.get('records'));
  assert.equal(v('flowmeter_capture_seq_lost_total'), stats.get('seq_lost'));
  assert.equal(v('flowmeter_capture_queue_drops_total'), stats.get('queue_drops'));
  assert.equal(v('flowmeter_capture_kernel_drops_total'), stats.get('kernel_drops'));
  assert.equal(v('flowmeter_capture_templates'), stats.get('templates'));
  assert.equal(v('flowmeter_capture_decode_errors_total'), stats.get('decode_errors'));
  for (const p of ['netflow_v5', 'netflow_v9']) {
    assert.equal(v('flowmeter_capture_decoded_datagrams_total', { protocol: p }), stats.get(`${p}_datagrams`), p);
    assert.equal(
      v('flowmeter_capture_exporter_datagrams_total', { exporter: '127.0.0.1', protocol: p }),
      stats.get(`${p}_datagrams`),
      p,
    );
  }
  assert.equal(
    v('flowmeter_capture_exporter_records_total'),
    stats.get('records'),
    'the per-exporter records sum to the total',
  );
  assert.equal(v('flowmeter_capture_exporter_bytes_total'), stats.get('bytes'));
  // counters only grow between the two scrapes
  for (const [name, f] of during.families) {
    if (f.type !== 'counter' || !name.startsWith('flowmeter_')) continue;
    assert.ok((sampleValue(during.families, name) ?? 0) <= (v(name) ?? 0), name);
  }
  // process metrics from prom-client, HELP and TYPE for every family
  assert.ok(families.get('process_cpu_user_seconds_total')?.type === 'counter', text);
  assert.ok(
    families.get('process_resident_memory_bytes') !== undefined ||
      families.get('nodejs_heap_size_used_bytes') !== undefined,
  );
  for (const [name, f] of families) assert.ok(f.help !== undefined && f.type !== undefined, name);
  const other = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(other.status, 404);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  // and the records written are the records counted, and those of -r
  const written = normalise(c.stdout());
  assert.equal(written.length, stats.get('records'));
  assert.deepEqual(
    written,
    [...(await offlineRecords('live-v9.pcap')), ...(await offlineRecords('live-v5.pcap'))].sort(),
  );
});

test('metrics: past --metrics-max-exporters, further exporters are summed under exporter="other"', async () => {
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const c = await collector(['-v', '-l', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--metrics-max-exporters', '2']);
  const port = await metricsPort(c);
  const from = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  for (const a of from) await replay(dgs, '127.0.0.1', c.port, 4, a);
  await settle(c);
  const { families } = await scrape(port);
  const series = families.get('flowmeter_capture_exporter_datagrams_total')!.samples;
  assert.deepEqual(series.map((s) => s.labels.exporter).sort(), ['127.0.0.2', '127.0.0.3', 'other']);
  assert.equal(
    sampleValue(families, 'flowmeter_capture_exporter_datagrams_total', { exporter: 'other' }),
    2 * dgs.length,
  );
  assert.equal(sampleValue(families, 'flowmeter_capture_exporter_datagrams_total'), 4 * dgs.length);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
});

test('metrics: an address already in use is exit 69 naming --metrics; --metrics without --listen is exit 64', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await runBin('flow-capture', ['-l', '127.0.0.1:0', '--metrics', `127.0.0.1:${port}`], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`--metrics 127\\.0\\.0\\.1:${port}: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`),
    );
  } finally {
    busy.close();
  }
  const u = await runBin('flow-capture', ['-r', FX + 'live-v5.pcap', '--metrics', '9555']);
  assert.equal(u.code, 64, u.stderr);
  const bad = await runBin('flow-capture', ['-l', '127.0.0.1:0', '--tee', 'nohostport']);
  assert.equal(bad.code, 64, bad.stderr);
  assert.match(bad.stderr, /--tee nohostport: expected HOST:PORT/);
});

test('tee: two receivers get every datagram; one that stops costs the main collector no record', async (t) => {
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const want = await offlineRecords('live-v5.pcap');
  const receiver = await collector(['-v', '-l', '127.0.0.1:0']);
  const stopping = await collector(['-v', '-l', '127.0.0.1:0']);
  const nfcapd = needs(t, 'nfcapd', 'nfdump') ? await startNfcapd() : undefined;
  const targets = [receiver.port, stopping.port, ...(nfcapd ? [nfcapd.port] : [])];
  const main = await collector([
    '-v',
    '-l',
    '127.0.0.1:0',
    '--metrics',
    '127.0.0.1:0',
    ...targets.flatMap((p) => ['--tee', `127.0.0.1:${p}`]),
  ]);
  await replay(dgs, '127.0.0.1', main.port);
  await settle(receiver);
  // the second receiver goes away; the main collector goes on receiving and forwarding
  stopping.child.kill('SIGKILL');
  await stopping.exited;
  await replay(dgs, '127.0.0.1', main.port);
  await settle(main);
  await settle(receiver);
  const { families } = await scrape(await metricsPort(main));
  for (const p of targets) {
    assert.equal(
      sampleValue(families, 'flowmeter_capture_tee_datagrams_total', { target: `127.0.0.1:${p}` }),
      2 * dgs.length,
      `tee to ${p}`,
    );
    assert.equal(sampleValue(families, 'flowmeter_capture_tee_drops_total', { target: `127.0.0.1:${p}` }), 0);
  }
  main.child.kill('SIGTERM');
  receiver.child.kill('SIGTERM');
  assert.equal((await main.exited).code, 0, main.stderr());
  assert.equal((await receiver.exited).code, 0, receiver.stderr());
  assert.deepEqual(normalise(main.stdout()), [...want, ...want].sort(), 'the main collector lost nothing');
  // unchanged: the receiver decodes the very records (the tee sends from 127.0.0.1 like the replay)
  assert.deepEqual(
    normalise(receiver.stdout()),
    [...want, ...want].sort(),
    'the receiver got every datagram unchanged',
  );
  assert.match(
    main.stderr(),
    new RegExp(`final stats tee target=127\\.0\\.0\\.1:${receiver.port} sent=${2 * dgs.length} drops=0 errors=0`),
  );
  if (nfcapd) assert.equal(await nfcapd.flows(), 2 * want.length, 'nfcapd stored every flow');
});

test('tee: datagrams from exporters outside --allow are not forwarded', async () => {
  const dgs = await captureDatagrams(FX + 'live-v5.pcap');
  const receiver = await collector(['-v', '-l', '127.0.0.1:0']);
  const main = await collector([
    '-v',
    '-l',
    '127.0.0.1:0',
    '--allow',
    '127.0.0.2/32',
    '--tee',
    `127.0.0.1:${receiver.port}`,
  ]);
  await replay(dgs, '127.0.0.1', main.port);
  await replay(dgs, '127.0.0.1', main.port, 4, '127.0.0.2');
  await settle(main);
  await settle(receiver);
  const r = await countersNow(receiver);
  assert.equal(r.get('datagrams'), dgs.length, "only the allowed exporter's datagrams were forwarded");
  main.child.kill('SIGTERM');
  receiver.child.kill('SIGTERM');
  assert.equal((await main.exited).code, 0, main.stderr());
  assert.equal((await receiver.exited).code, 0);
  assert.match(main.stderr(), new RegExp(`denied=${dgs.length} `));
});

/** A real nfcapd on a free loopback port; flows() stops it and counts what it stored. */
async function startNfcapd(): Promise<{ port: number; flows: () => Promise<number> }> {
  const dir = tempDir('tee-nfcapd');
  const port = await freePort();
  const child = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await udpBound(port);
  return {
    port,
    async flows() {
      child.kill('SIGTERM'); // it writes its file at exit
      await exited;
      const r = await runProcess('nfdump', ['-R', dir, '-q', '-o', 'csv']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter((l) => /^\d/.test(l)).length;
    },
  };
}

test('examples/prometheus/flowmeter.rules.yml names only metrics flowmeter exposes', async () => {
  const rules = readFileSync(`${ROOT}examples/prometheus/flowmeter.rules.yml`, 'utf8');
  const used = new Set(
    [...rules.matchAll(/^\s*expr: (.*)$/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/\bflowmeter_[a-z0-9_]+/g)].map((n) => n[0]),
    ),
  );
  assert.ok(used.size >= 8, [...used].join(' '));
  // what a collector with a tee serves, and what a --metrics-file run writes
  const c = await collector(['-v', '-l', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--tee', '127.0.0.1:9']);
  const { families } = await scrape(await metricsPort(c));
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0, c.stderr());
  const prom = `${tempDir('rules')}/agg.prom`;
  const r = await runBin('flow-aggregate', ['--metrics-file', prom], { input: '' });
  assert.equal(r.code, 0, r.stderr);
  const known = new Set([...families.keys(), ...parsePromText(readFileSync(prom, 'utf8')).keys()]);
  // flow-report --reconcile's, written through the same textfile helper
  known.add('flowmeter_reconcile_difference_bytes');
  for (const name of used) assert.ok(known.has(name), `${name} is not a metric flowmeter exposes`);
});

test('examples/prometheus/flowmeter.rules.yml passes promtool check rules', withPeers('promtool'), async () => {
  const check = await runProcess('promtool', ['check', 'rules', `${ROOT}examples/prometheus/flowmeter.rules.yml`]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test(
  'FlowmeterRunStale: the cycle stopped fires, a stage with nothing to do does not (promtool test rules)',
  withPeers('promtool'),
  async () => {
    const check = await runProcess('promtool', ['test', 'rules', 'run-stale.test.yml'], {
      cwd: `${ROOT}test/fixtures/prometheus`,
    });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS/);
  },
);
