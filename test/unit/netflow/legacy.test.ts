import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, decoder, dgram } from './helpers.js';
import { flowToJson } from '../../../lib/flow/record.js';

const UPTIME = 3_600_000; // ms
const SECS = 1_700_000_000;
const NSECS = 250_000_000;

function v5record(b: Bytes, i: number): Bytes {
  return b
    .ip4(`10.0.0.${i}`)
    .ip4('192.0.2.77')
    .ip4('10.255.0.1')
    .u16(3, 4) // input, output
    .u32(10 + i, 1500 + i) // dPkts, dOctets
    .u32(UPTIME - 5000, UPTIME - 1000) // First, Last
    .u16(40000 + i, 443) // ports
    .u8(0, 0x1b, 6, 0x28) // pad1, tcp_flags, prot, tos
    .u16(64512, 15169) // src_as, dst_as
    .u8(8, 24) // masks
    .u16(0); // pad2
}

function v5(count: number, seq = 1000, sampling = 0x4064, records = count): Buffer {
  const b = new Bytes().u16(5, count).u32(UPTIME, SECS, NSECS, seq).u8(1, 2).u16(sampling);
  for (let i = 1; i <= records; i++) v5record(b, i);
  return b.build();
}

test('NetFlow v5: every field of a hand-built datagram', () => {
  const { dec, run } = decoder();
  const recs = run(v5(2));
  assert.equal(recs.length, 2);
  const base = SECS * 1e9 + NSECS;
  assert.deepEqual(recs[0], {
    type: 'NETFLOW_V5',
    time_received_ns: 1700000000500000000,
    sequence_num: 1000,
    sampling_rate: 100, // 0x4064: mode 1 in the top 2 bits, interval 100
    sampler_address: '192.0.2.1',
    time_flow_start_ns: base - 5000 * 1e6,
    time_flow_end_ns: base - 1000 * 1e6,
    bytes: 1501,
    packets: 11,
    src_addr: '10.0.0.1',
    dst_addr: '192.0.2.77',
    etype: 0x800,
    proto: 6,
    src_port: 40001,
    dst_port: 443,
    in_if: 3,
    out_if: 4,
    ip_tos: 0x28,
    tcp_flags: 0x1b,
    src_as: 64512,
    dst_as: 15169,
    next_hop: '10.255.0.1',
    src_net: '10.0.0.0/8',
    dst_net: '192.0.2.0/24',
  });
  assert.equal(recs[1]!.src_addr, '10.0.0.2');
  assert.equal(dec.stats.records, 2);
  assert.equal(dec.stats.byVersion.netflow_v5.datagrams, 1);
  const o = JSON.parse(flowToJson(recs[0]!)) as Record<string, unknown>;
  assert.equal(o.proto, 'TCP');
});

test('NetFlow v5: sequence gaps count flows, wrap is not a gap, a jump back is a reset', () => {
  const { dec, run } = decoder();
  run(v5(2, 100)); // next expected 102
  run(v5(2, 102));
  assert.equal(dec.stats.sequenceGaps, 0);
  run(v5(2, 110)); // 104..109 missing: 6 flows
  assert.equal(dec.stats.sequenceGaps, 1);
  assert.equal(dec.stats.sequenceMissing, 6);
  run(v5(2, 0x80000000)); // far away: a reset, not 2 billion missing flows
  assert.equal(dec.stats.sequenceResets, 1);
  run(v5(2, 0xfffffffe));
  assert.equal(dec.stats.sequenceResets, 2);
  run(v5(2, 0)); // 0xfffffffe + 2 wraps to 0
  assert.equal(dec.stats.sequenceGaps, 1);
  assert.equal(dec.stats.sequenceMissing, 6);
  run(v5(2, 1)); // late/duplicate: not a gap, does not move the expectation back
  assert.equal(dec.stats.sequenceLate, 1);
  run(v5(2, 2));
  assert.equal(dec.stats.sequenceGaps, 1);
});

test('NetFlow v5: bad counts and truncation are rejected with the place named', () => {
  const { dec, run, text } = decoder();
  assert.deepEqual(run(v5(0, 1, 0, 0)), []);
  assert.deepEqual(run(v5(31, 1, 0, 31)), []);
  assert.deepEqual(run(v5(3, 1, 0, 2)), []);
  assert.deepEqual(run(v5(1).subarray(0, 20)), []);
  assert.equal(dec.stats.rejects.get('bad count'), 2);
  assert.equal(dec.stats.rejects.get('truncated'), 2);
  assert.match(
    text(),
    /test\.pcap: packet 1 \(offset 0x18\), exporter 192\.0\.2\.1:2055: NetFlow v5 header at offset 0x2: count 3 needs 168 bytes, datagram has 120/,
  );
  // extra trailing bytes after the counted records are ignored
  assert.equal(run(Buffer.concat([v5(1), Buffer.alloc(7)])).length, 1);
});

test('NetFlow v1: 16-byte header, flags at 40, no AS or masks', () => {
  const b = new Bytes().u16(1, 1).u32(UPTIME, SECS, 0);
  b.ip4('10.1.1.1')
    .ip4('10.2.2.2')
    .ip4('0.0.0.0')
    .u16(1, 2)
    .u32(5, 500, UPTIME - 2000, UPTIME)
    .u16(53, 5353)
    .u16(0)
    .u8(17, 0x10, 0x00)
    .u8(0, 0, 0)
    .u32(0);
  const { run } = decoder();
  const [r] = run(b.build());
  assert.ok(r);
  assert.equal(r.type, 'NETFLOW_V1');
  assert.equal(r.sequence_num, 0);
  assert.equal(r.proto, 17);
  assert.equal(r.ip_tos, 0x10);
  assert.equal(r.src_port, 53);
  assert.equal(r.dst_port, 5353);
  assert.equal(r.bytes, 500);
  assert.equal(r.packets, 5);
  assert.equal(r.time_flow_start_ns, SECS * 1e9 - 2000e6);
  assert.equal(r.time_flow_end_ns, SECS * 1e9);
  assert.equal(r.src_net, '0.0.0.0/0');
  assert.equal(r.next_hop, '0.0.0.0');
});

test('NetFlow v7: 52-byte records, router_sc ignored', () => {
  const b = new Bytes().u16(7, 2).u32(UPTIME, SECS, 0, 77).u32(0);
  for (let i = 1; i <= 2; i++) {
    b.ip4(`172.16.0.${i}`)
      .ip4('172.17.0.1')
      .ip4('172.18.0.1')
      .u16(7, 8)
      .u32(2, 120, UPTIME - 10, UPTIME - 5)
      .u16(1000, 2000)
      .u8(0, 0x02, 6, 0)
      .u16(100, 200)
      .u8(12, 16)
      .u16(0)
      .ip4('172.19.0.1');
  }
  const { dec, run } = decoder();
  const recs = run(b.build());
  assert.equal(recs.length, 2);
  assert.equal(recs[1]!.type, 'NETFLOW_V7');
  assert.equal(recs[1]!.src_addr, '172.16.0.2');
  assert.equal(recs[1]!.src_net, '172.16.0.0/12');
  assert.equal(recs[1]!.dst_net, '172.17.0.0/16');
  assert.equal(recs[1]!.src_as, 100);
  assert.equal(recs[1]!.tcp_flags, 2);
  assert.equal(recs[1]!.sequence_num, 77);
  assert.equal(dec.stats.byVersion.netflow_v7.records, 2);
});

test('unknown versions and runts are rejected, sFlow needs a registered decoder', () => {
  const { dec, run, text } = decoder();
  run(Buffer.from([0, 3, 0, 0, 0, 0]));
  run(Buffer.from([0, 0, 0, 5, 0, 0, 0, 1]));
  run(Buffer.from([9]));
  assert.equal(dec.stats.rejects.get('unknown version'), 2);
  assert.equal(dec.stats.rejects.get('truncated'), 1);
  assert.match(text(), /unknown version 3/);
  assert.match(text(), /sFlow v5 header: no sFlow decoder is enabled/);
  let seen = 0;
  dec.registerDecoder('sflow', (_d, v) => {
    seen = v.getUint32(4);
  });
  dec.decode(dgram(Buffer.from([0, 0, 0, 5, 0, 0, 0, 1])), () => {});
  assert.equal(seen, 1);
  assert.equal(dec.stats.byVersion.sflow.datagrams, 1);
});
