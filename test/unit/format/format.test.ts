// lib/format: the byte-level NDJSON writer equals flowToJson byte for byte; CSV and text
// renderings; --fields parsing; ByteBatch honours batch boundaries and drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { flowToJson, parseFlowLine, type FlowRecord } from '../../../lib/flow/record.js';
import { writeFlowJsonLine, optionalJson, viewOf, MAX_CORE_BYTES } from '../../../lib/format/ndjson-bytes.js';
import { ByteBatch } from '../../../lib/format/bytes.js';
import { CsvFormatter } from '../../../lib/format/csv.js';
import { TextFormatter, tcpFlagLetters } from '../../../lib/format/text.js';
import { parseFields, DEFAULT_FIELDS } from '../../../lib/format/fields.js';
import { formatTimeNs, formatDurationNs } from '../../../lib/format/time.js';
import { makeChalk } from '../../../lib/cli/color.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { rng } from '../../helpers/prng.js';

function base(): FlowRecord {
  return {
    type: 'IPFIX',
    time_received_ns: 1705320006262454000,
    sequence_num: 45,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: 1705320002944454100,
    time_flow_end_ns: 1705320003225454000,
    bytes: 676,
    packets: 5,
    src_addr: '10.5.3.7',
    dst_addr: '203.0.113.123',
    etype: 0x0800,
    proto: 6,
    src_port: 50003,
    dst_port: 443,
    in_if: 1,
    out_if: 2,
    ip_tos: 0,
    tcp_flags: 0x1a,
    src_as: 64512,
    dst_as: 15169,
    next_hop: '',
    src_net: '10.5.0.0/16',
    dst_net: '0.0.0.0/0',
  };
}

const EDGE = [
  0,
  1,
  9,
  10,
  99,
  100,
  4294967295,
  4294967296,
  999999999,
  1000000000,
  1e15 - 1,
  1e15,
  2 ** 53 - 1,
  2 ** 53,
  1795317258973870080,
  1.8e19,
  1e21,
  1.5,
];

test('writeFlowJsonLine writes exactly flowToJson + "\\n"', () => {
  const r = rng(7);
  const buf = Buffer.alloc(1 << 16);
  const records: FlowRecord[] = [base()];
  for (const n of EDGE) {
    for (const k of [
      'time_received_ns',
      'time_flow_start_ns',
      'time_flow_end_ns',
      'bytes',
      'packets',
      'sequence_num',
      'src_as',
    ] as const) {
      records.push({ ...base(), [k]: n });
    }
  }
  for (let i = 0; i < 2000; i++) {
    const rec: FlowRecord = {
      ...base(),
      time_received_ns: Math.floor(r() * 2e18),
      time_flow_start_ns: Math.floor(r() * 2 ** 62),
      bytes: Math.floor(r() * 2 ** 53),
      packets: Math.floor(r() * 2 ** 33),
      proto: Math.floor(r() * 256),
      etype: [0, 0x0800, 0x86dd, 0x0806][i % 4]!,
      src_addr: i % 2 ? '2001:db8::1' : '198.51.100.255',
      next_hop: i % 3 ? '' : 'fe80::1',
      type: i % 5 ? 'NETFLOW_V9' : 'SFLOW_5',
    };
    if (i % 7 === 0)
      Object.assign(rec, {
        src_mac: '02:00:5e:00:00:01',
        vlan_id: 100,
        as_path: [64512, 3356],
        bgp_communities: [1, 2],
      });
    if (i % 11 === 0) Object.assign(rec, { observation_domain_id: 4294967295, mpls_label: [16, 17] });
    records.push(rec);
  }
  for (const rec of records) {
    const opt = optionalJson(rec);
    const end = writeFlowJsonLine(buf, viewOf(buf), 0, rec, opt);
    assert.ok(end <= MAX_CORE_BYTES + opt.length * 3 + 2);
    assert.equal(buf.toString('utf8', 0, end), flowToJson(rec) + '\n');
  }
});

test('ByteBatch: lines are written whole, in order, flush due at the batch size, drain awaited', async () => {
  const chunks: Buffer[] = [];
  let drains = 0;
  const out = new Writable({
    highWaterMark: 1024,
    write(c: Buffer, _e, cb): void {
      chunks.push(Buffer.from(c));
      setImmediate(cb);
    },
  });
  out.on('drain', () => drains++);
  const b = new ByteBatch(out, 4096);
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const l = `line ${i} ${'é'.repeat(i % 50)} ${'x'.repeat(i % 300)}`;
    lines.push(l);
    if (b.line(l)) await b.flush();
  }
  const huge = 'y'.repeat(1 << 19); // larger than one buffer
  lines.push(huge);
  b.line(huge);
  await b.flush();
  await new Promise<void>((res) => out.end(res));
  assert.equal(Buffer.concat(chunks).toString('utf8'), lines.join('\n') + '\n');
  assert.ok(drains > 0, 'backpressure was honoured');
});

test('CSV: ; separated, header once, quoting by csv-stringify, batches concatenate', () => {
  const f = new CsvFormatter(['src_addr', 'proto', 'as_path', 'bytes'], 3);
  assert.equal(f.header(), 'src_addr;proto;as_path;bytes\n');
  let text = '';
  for (let i = 0; i < 7; i++)
    if (f.add({ ...base(), bytes: i, as_path: i % 2 ? [1, 2] : undefined } as FlowRecord)) text += f.take();
  text += f.take();
  assert.equal(text.split('\n').length, 8);
  assert.equal(text.split('\n')[0], '10.5.3.7;TCP;;0');
  assert.equal(text.split('\n')[1], '10.5.3.7;TCP;1,2;1');
  assert.equal(DEFAULT_FIELDS.length, 24);
});

test('text: tcpdump-like line, dot style for IPv6, flags letters, colour only with a level', () => {
  const t = new TextFormatter(makeChalk(0));
  assert.equal(
    t.line(base()),
    '2024-01-15 12:00:02.944 192.0.2.1 TCP 10.5.3.7.50003 > 203.0.113.123.443: 5 pkts 676 bytes [SP.] 0.281s',
  );
  const six = {
    ...base(),
    proto: 17,
    src_addr: '2001:db8::1',
    dst_addr: '2001:db8::2',
    etype: 0x86dd,
    sampling_rate: 100,
  };
  assert.equal(
    t.line(six),
    '2024-01-15 12:00:02.944 192.0.2.1 UDP 2001:db8::1.50003 > 2001:db8::2.443: 5 pkts 676 bytes 0.281s sampled 1:100',
  );
  const icmp = { ...base(), proto: 1, icmp_type: 8, icmp_code: 0, time_flow_start_ns: 0, time_flow_end_ns: 0 };
  assert.equal(
    t.line(icmp),
    '2024-01-15 12:00:06.262 192.0.2.1 ICMP 10.5.3.7 > 203.0.113.123: 5 pkts 676 bytes icmp 8/0 0.000s',
  );
  assert.equal(tcpFlagLetters(0xff), 'FSRP.UEW');
  assert.equal(tcpFlagLetters(0), 'none');
  assert.ok(!t.line(base()).includes('\x1b['));
  assert.ok(new TextFormatter(makeChalk(1)).line(base()).includes('\x1b['));
  const tf = new TextFormatter(makeChalk(0), ['src_addr', 'time_flow_end_ns', 'icmp_type']);
  assert.equal(tf.line(base()), '10.5.3.7 2024-01-15 12:00:03.225 -');
  assert.equal(formatTimeNs(0), '1970-01-01 00:00:00.000');
  assert.equal(formatDurationNs(61_234_600_000), '61.235s');
});

test('--fields: names from the record, usage errors for unknown or repeated ones', () => {
  assert.deepEqual(parseFields('src_addr, dst_addr,bytes'), ['src_addr', 'dst_addr', 'bytes']);
  for (const bad of ['nope', 'src_addr,src_addr', '', ',']) {
    assert.throws(
      () => parseFields(bad),
      (e: unknown) => e instanceof FlowmeterError && e.kind === 'usage',
    );
  }
  parseFlowLine(flowToJson(base())); // the base record is valid
});

test('ByteBatch write-behind: one write at a time, in order, buffers reused only once written, a failure thrown by the next flush or end', async () => {
  const written: Buffer[] = [];
  let inFlight = 0;
  let most = 0;
  const slowWriter = async (c: Buffer): Promise<void> => {
    inFlight++;
    most = Math.max(most, inFlight);
    const copyAtStart = Buffer.from(c);
    await new Promise((r) => setTimeout(r, 1));
    // the chunk must not have been overwritten by the next batch while it was being written
    assert.ok(copyAtStart.equals(c), 'a chunk changed while it was being written');
    written.push(Buffer.from(c));
    inFlight--;
  };
  const b = new ByteBatch(slowWriter, 4096, true, true);
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const l = `line ${i} ${'z'.repeat(i % 200)}`;
    lines.push(l);
    if (b.line(l)) await b.flush();
  }
  await b.end();
  assert.equal(most, 1);
  assert.equal(inFlight, 0);
  assert.equal(Buffer.concat(written).toString(), lines.join('\n') + '\n');

  let calls = 0;
  const failing = async (): Promise<void> => {
    calls++;
    await new Promise((r) => setTimeout(r, 1));
    throw new Error('disk full');
  };
  const f = new ByteBatch(failing, 16, true, true);
  f.line('a');
  await f.flush(); // the write is under way: not failed yet
  f.line('b');
  await assert.rejects(f.flush(), /disk full/);
  assert.equal(calls, 1, 'nothing written after a failed write');
  const g = new ByteBatch(failing, 16, true, true);
  g.line('a');
  await g.flush();
  await assert.rejects(g.end(), /disk full/);
});
