// The parts of /metrics, --tee and --metrics-file that need no collector: the exporter cap, the
// protocol a datagram claims, --tee's syntax and its bounded queue (a real socket), the textfile
// of a run, and the strict exposition reader the e2e tests rely on (it must refuse bad text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { ExporterTable, OTHER_EXPORTERS, protocolOf } from '../../../lib/capture/exporters.js';
import { TeeTarget, parseTee } from '../../../lib/capture/tee.js';
import { RunReport, runName } from '../../../lib/cli/metrics.js';
import { Log } from '../../../lib/cli/log.js';
import type { Datagram } from '../../../lib/capture/datagram.js';
import { parsePromText, sampleValue } from '../../helpers/prom-text.js';
import { Writable } from 'node:stream';

function dg(exporter: string, payload: Buffer): Datagram {
  return { payload, exporter, exporterPort: 2055, receivedNs: 0, source: 'udp', packetNo: 0, offset: -1 };
}

const header = (version: number): Buffer => {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(version, 0);
  return b;
};

test('protocolOf names the version as the stats line does', () => {
  assert.equal(protocolOf(header(5)), 'netflow_v5');
  assert.equal(protocolOf(header(9)), 'netflow_v9');
  assert.equal(protocolOf(header(10)), 'ipfix');
  const sflow = Buffer.alloc(8);
  sflow.writeUInt32BE(5, 0);
  assert.equal(protocolOf(sflow), 'sflow');
  assert.equal(protocolOf(header(42)), 'unknown');
  assert.equal(protocolOf(Buffer.alloc(2)), 'unknown');
});

test('ExporterTable: past the cap, new exporters share "other"; known ones keep their own', () => {
  const t = new ExporterTable(2);
  for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.1'])
    t.countsFor(dg(a, header(5))).datagrams++;
  t.countsFor(dg('192.0.2.2', header(10))).datagrams++;
  const rows = [...t.entries()].map(([e, p, c]) => `${e} ${p} ${c.datagrams}`);
  assert.deepEqual(rows, [
    '192.0.2.1 netflow_v5 2',
    '192.0.2.2 netflow_v5 1',
    '192.0.2.2 ipfix 1',
    `${OTHER_EXPORTERS} netflow_v5 2`,
  ]);
});

test('parseTee: HOST:PORT and [IPv6]:PORT; anything else is a usage error', () => {
  assert.deepEqual(parseTee('192.0.2.7:2055'), { text: '192.0.2.7:2055', host: '192.0.2.7', port: 2055 });
  assert.deepEqual(parseTee('[2001:db8::7]:9995'), { text: '[2001:db8::7]:9995', host: '2001:db8::7', port: 9995 });
  assert.equal(parseTee('collector.example.net:2055').host, 'collector.example.net');
  for (const bad of ['2055', ':2055', '2001:db8::7:2055', '[::1]', 'h:0', 'h:65536', 'h:x']) {
    assert.throws(
      () => parseTee(bad),
      (e: { kind?: string }) => e.kind === 'usage',
      bad,
    );
  }
});

test('TeeTarget: what does not fit its queue is dropped and counted, never waited for', async () => {
  const rx = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(m));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const t = await TeeTarget.open({ text: 'rx', host: '127.0.0.1', port: rx.address().port }, 250);
  const payloads = [0, 1, 2, 3].map((i) => Buffer.alloc(100, i));
  for (const p of payloads) t.forward(p); // synchronously: the first two are still in flight
  assert.equal(t.drops, 2);
  await t.close();
  assert.equal(t.sent, 2);
  for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  rx.close();
  assert.deepEqual(got, payloads.slice(0, 2), 'forwarded unchanged');
  assert.equal(t.statsLine(), 'target=rx sent=2 drops=2 errors=0');
});

test('RunReport: the textfile of a run, labelled command and run, rejects from the log, sums with add()', async () => {
  const log = new Log('flow-report', new Writable({ write: (_c, _e, cb) => cb() }));
  log.reject('bad "json"', 'x', 'f:1');
  log.reject('bad "json"', 'x', 'f:2');
  const r = new RunReport();
  r.enable('/var/lib/node_exporter/textfile/report-daily.prom', log);
  r.gauge('flowmeter_run_records', 'Records', 7, { kind: 'flow' });
  r.add('flowmeter_run_uploads', 'Uploads', 1, { outcome: 'sent' });
  r.add('flowmeter_run_uploads', 'Uploads', 1, { outcome: 'sent' });
  r.gauge('flowmeter_reconcile_difference_bytes', 'Difference', 2n ** 40n);
  const m = parsePromText(await r.text('flow-report', 65, 1_700_000_000_000));
  assert.equal(
    sampleValue(m, 'flowmeter_run_records', { kind: 'flow', command: 'flow-report', run: 'report-daily' }),
    7,
  );
  assert.equal(sampleValue(m, 'flowmeter_run_uploads', { outcome: 'sent' }), 2);
  assert.equal(sampleValue(m, 'flowmeter_run_rejects', { reason: 'bad "json"' }), 2, 'a quote in a reason is escaped');
  assert.equal(sampleValue(m, 'flowmeter_run_exit_status'), 65);
  assert.equal(sampleValue(m, 'flowmeter_run_last_timestamp_seconds'), 1_700_000_000);
  assert.equal(sampleValue(m, 'flowmeter_reconcile_difference_bytes'), 2 ** 40);
  assert.equal(runName('agg.prom'), 'agg');
  assert.equal(runName('x/agg.txt'), 'agg.txt');
});

test('the exposition reader refuses what Prometheus would refuse', () => {
  const ok = '# HELP a_total A\n# TYPE a_total counter\na_total{x="1"} 2\n';
  assert.equal(sampleValue(parsePromText(ok), 'a_total'), 2);
  const bad: Record<string, string> = {
    'no TYPE': 'a_total 1\n',
    'counter not _total': '# TYPE a counter\na 1\n',
    'series twice': '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n',
    'unescaped quote': '# TYPE a gauge\na{x="1"2"} 1\n',
    'bad value': '# TYPE a gauge\na one\n',
    'label without quotes': '# TYPE a gauge\na{x=1} 1\n',
    'second TYPE': '# TYPE a gauge\n# TYPE a gauge\na 1\n',
    'no final newline': '# TYPE a gauge\na 1',
    'HELP after samples': '# TYPE a gauge\na 1\n# HELP a late\n',
  };
  for (const [why, text] of Object.entries(bad)) assert.throws(() => parsePromText(text), Error, why);
});
