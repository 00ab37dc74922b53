// lib/flow/dialects.ts: records of goflow2 v2, goflow v1, nfdump and pmacct as flowmeter's; a
// record of no dialect refused, never read as an empty flow; a dialect's missing counter named.
// The v2 and v1 records are built from goflow2's documented formats (pb/flow.proto field names
// rendered by producer/proto/render.go; v1: docs/protocols.md CamelCase names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIALECTS,
  NotARecordError,
  detectDialect,
  localTimeNs,
  recordFromObject,
  type InputRecord,
} from '../../../lib/flow/dialects.js';
import { FieldError, intText, type FlowRecord } from '../../../lib/flow/record.js';
import { JsonArraySplitter } from '../../../lib/cli/ndjson-input.js';

const flow = (r: InputRecord): FlowRecord => {
  assert.equal(r.kind, 'flow');
  return (r as { flow: FlowRecord }).flow;
};
const aggregate = (r: InputRecord): Record<string, unknown> => {
  assert.equal(r.kind, 'aggregate');
  return (r as { obj: Record<string, unknown> }).obj;
};
const fieldError =
  (field: string) =>
  (e: unknown): boolean =>
    e instanceof FieldError && e.field === field;

/** Every field of goflow2 v2's default JSON output, arrays included. */
const GOFLOW2_V2 = {
  type: 'IPFIX',
  time_received_ns: 1705320006262454000,
  sequence_num: 45,
  sampling_rate: 100,
  flow_direction: 0,
  sampler_address: '192.0.2.1',
  time_flow_start_ns: 1705320002944000000,
  time_flow_end_ns: 1705320003225000000,
  bytes: 1500,
  packets: 3,
  src_addr: '2001:db8::1',
  dst_addr: '2001:db8:ffff::80',
  etype: 'IPv6',
  proto: 'TCP',
  src_port: 41000,
  dst_port: 443,
  in_if: 1,
  out_if: 2,
  src_mac: '00:11:22:33:44:55',
  dst_mac: '66:77:88:99:aa:bb',
  src_vlan: 0,
  dst_vlan: 0,
  vlan_id: 0,
  ip_tos: 0,
  forwarding_status: 64,
  ip_ttl: 63,
  ip_flags: 0,
  tcp_flags: 24,
  icmp_type: 0,
  icmp_code: 0,
  ipv6_flow_label: 12345,
  fragment_id: 0,
  fragment_offset: 0,
  src_as: 64512,
  dst_as: 15169,
  next_hop: '2001:db8::fe',
  next_hop_as: 0,
  src_net: '2001:db8::/32',
  dst_net: '::/0',
  bgp_next_hop: '',
  bgp_communities: [4259840100],
  as_path: [64512, 15169],
  mpls_ttl: [64, 63],
  mpls_label: [16, 17],
  mpls_ip: ['10.0.0.1', '10.0.0.2'],
  observation_domain_id: 1,
  observation_point_id: 0,
  layer_stack: ['Ethernet', 'IPv6', 'TCP'],
  layer_size: [14, 40, 20],
  ipv6_routing_header_addresses: ['2001:db8::9'],
  ipv6_routing_header_seg_left: 0,
};

test('goflow2 v2: every field of its default output is read, arrays it does not use skipped', () => {
  assert.equal(detectDialect(GOFLOW2_V2), 'flowmeter');
  const f = flow(recordFromObject(GOFLOW2_V2));
  assert.equal(f.bytes, 1500);
  assert.equal(f.packets, 3);
  assert.equal(f.sampling_rate, 100);
  assert.equal(f.src_addr, '2001:db8::1');
  assert.equal(f.etype, 0x86dd);
  assert.equal(f.proto, 6);
  assert.equal(f.time_flow_start_ns, 1705320002944000000);
  assert.deepEqual(f.as_path, [64512, 15169]);
  assert.deepEqual(f.mpls_label, [16, 17]);
  assert.equal(f.layer_size, undefined, 'goflow2 layer_size (an array) is not our layer_size');
  assert.equal(f.src_net, '2001:db8::/32');
  // forced, the same
  assert.deepEqual(flow(recordFromObject(GOFLOW2_V2, 'goflow2')), f);
});

test('goflow2 v2: proto "" (no name in its renderer) is 255, etype "" follows the address; IPv4 with numbers', () => {
  const f = flow(
    recordFromObject({
      ...GOFLOW2_V2,
      proto: '',
      etype: '',
      src_addr: '10.0.0.1',
      dst_addr: '10.0.0.2',
      src_net: '10.0.0.0/8',
    }),
  );
  assert.equal(f.proto, 255);
  assert.equal(f.etype, 0x0800);
  assert.equal(flow(recordFromObject({ ...GOFLOW2_V2, proto: 47, etype: 34525 })).proto, 47);
});

/** goflow v1 (CamelCase) JSON as goflow2 v1 and cloudflare/goflow write it. */
const GOFLOW_V1 = {
  Type: 'NETFLOW_V9',
  TimeReceived: 1705320006,
  SequenceNum: 7,
  SamplingRate: 0,
  SamplerAddress: '192.0.2.1',
  TimeFlowStart: 1705320002,
  TimeFlowEnd: 1705320003,
  Bytes: 1500,
  Packets: 2,
  SrcAddr: '10.5.1.10',
  DstAddr: '192.0.2.80',
  Etype: 2048,
  Proto: 6,
  SrcPort: 40000,
  DstPort: 80,
  InIf: 3,
  OutIf: 4,
  SrcMac: '00:00:00:00:00:00',
  DstMac: '00:00:00:00:00:00',
  SrcVlan: 0,
  DstVlan: 0,
  VlanId: 0,
  IngressVrfID: 0,
  EgressVrfID: 0,
  IPTos: 8,
  ForwardingStatus: 0,
  IPTTL: 0,
  TCPFlags: 27,
  IcmpType: 0,
  IcmpCode: 0,
  IPv6FlowLabel: 0,
  FragmentId: 0,
  FragmentOffset: 0,
  BiFlowDirection: 0,
  SrcAS: 64512,
  DstAS: 0,
  NextHop: '0.0.0.0',
  NextHopAS: 0,
  SrcNet: 16,
  DstNet: 0,
};

test('goflow v1: CamelCase names, times in seconds, SrcNet/DstNet masks, numbers for Etype and Proto', () => {
  assert.equal(detectDialect(GOFLOW_V1), 'goflow');
  const f = flow(recordFromObject(GOFLOW_V1));
  assert.deepEqual(
    [
      f.type,
      f.bytes,
      f.packets,
      f.src_addr,
      f.dst_addr,
      f.proto,
      f.etype,
      f.src_port,
      f.dst_port,
      f.in_if,
      f.out_if,
      f.ip_tos,
      f.tcp_flags,
      f.src_as,
    ],
    ['NETFLOW_V9', 1500, 2, '10.5.1.10', '192.0.2.80', 6, 0x0800, 40000, 80, 3, 4, 8, 27, 64512],
  );
  assert.equal(f.time_received_ns, 1705320006e9);
  assert.equal(f.time_flow_start_ns, 1705320002e9);
  assert.equal(f.sampler_address, '192.0.2.1');
  assert.equal(f.src_net, '10.5.0.0/16');
  assert.equal(f.dst_net, '0.0.0.0/0');
  assert.equal(f.src_mac, undefined, 'an all-zero MAC is no MAC');
});

test('goflow v1: IPv6, TimeFlowStartMs, sampling; missing Bytes and bad fields named as goflow names them', () => {
  const f = flow(
    recordFromObject({
      ...GOFLOW_V1,
      SrcAddr: '2001:db8::1',
      DstAddr: '2001:db8::2',
      Etype: 34525,
      SrcNet: 48,
      SamplingRate: 64,
      TimeFlowStartMs: 1705320002944,
    }),
  );
  assert.equal(f.etype, 0x86dd);
  assert.equal(f.src_net, '2001:db8::/48');
  assert.equal(f.sampling_rate, 64);
  assert.equal(f.time_flow_start_ns, 1705320002944e6);
  const { Bytes: _b, ...noBytes } = GOFLOW_V1;
  assert.throws(() => recordFromObject(noBytes), fieldError('Bytes'));
  assert.throws(() => recordFromObject({ ...GOFLOW_V1, SrcAddr: 'nope' }), fieldError('SrcAddr'));
  assert.throws(() => recordFromObject({ ...GOFLOW_V1, TimeReceived: -1 }), fieldError('TimeReceived'));
});

/** A record as Debian's nfdump 1.7.1 `-o json` prints it. */
const NFDUMP = {
  type: 'FLOW',
  sampled: 0,
  export_sysid: 1,
  first: '2024-01-15T12:00:00.115',
  last: '2024-01-15T12:00:00.289',
  received: '2024-01-15T12:00:05.447',
  in_packets: 2,
  in_bytes: 1030,
  proto: 6,
  tcp_flags: '...AP..F',
  src_port: 41000,
  dst_port: 443,
  src_tos: 0,
  src6_addr: '2001:db8:5:1::10',
  dst6_addr: '2001:db8:ffff::80',
  input_snmp: 0,
  output_snmp: 0,
  src_mask: 0,
  dst_mask: 0,
  src_net: '',
  dst_net: '',
  fwd_status: 0,
  direction: 0,
  dst_tos: 0,
  ip4_router: '127.0.0.1',
  label: '<none>',
};

test('nfdump: IPv6, local-time first/last with ms, flag letters, router as exporter', () => {
  assert.equal(detectDialect(NFDUMP), 'nfdump');
  const f = flow(recordFromObject(NFDUMP));
  assert.equal(f.src_addr, '2001:db8:5:1::10');
  assert.equal(f.etype, 0x86dd);
  assert.equal(f.bytes, 1030);
  assert.equal(f.packets, 2);
  assert.equal(f.tcp_flags, 0x19);
  assert.equal(f.sampler_address, '127.0.0.1');
  assert.equal(
    f.time_flow_start_ns,
    new Date(2024, 0, 15, 12, 0, 0, 115).getTime() * 1e6,
    'read in the local time zone',
  );
  assert.equal(
    intText(f.time_flow_end_ns),
    `${new Date(2024, 0, 15, 12, 0, 0, 289).getTime()}000000`,
    'the ms as nfdump printed them',
  );
  assert.equal(f.src_net, '::/0');
});

test('nfdump: ICMP type/code back in dst_port, masks as nets, out_bytes added; missing in_bytes named', () => {
  const { src6_addr: _s, dst6_addr: _d, src_port: _p, dst_port: _q, ...v4 } = NFDUMP;
  const icmp = {
    ...v4,
    proto: 1,
    icmp_type: 8,
    icmp_code: 0,
    src4_addr: '10.5.3.7',
    dst4_addr: '198.51.100.7',
    src_mask: 16,
    dst_mask: 24,
    tcp_flags: '........',
  };
  const f = flow(recordFromObject(icmp));
  assert.equal(f.dst_port, 8 * 256);
  assert.equal(f.src_port, 0);
  assert.equal(f.src_net, '10.5.0.0/16');
  assert.equal(f.dst_net, '198.51.100.0/24');
  assert.equal(flow(recordFromObject({ ...icmp, out_bytes: 70, out_packets: 1 })).bytes, 1030 + 70);
  const { in_bytes: _b, ...noBytes } = icmp;
  assert.throws(() => recordFromObject(noBytes), fieldError('in_bytes'));
  assert.throws(() => recordFromObject({ ...icmp, first: '15.01.2024 12:00' }), fieldError('first'));
  assert.throws(() => recordFromObject({ ...icmp, src4_addr: 'x' }), fieldError('src4_addr'));
});

test('local time text: the local zone, fraction to the ns; Unix seconds as digits', () => {
  assert.equal(localTimeNs({ t: '2024-01-15 12:00:00' }, 't'), new Date(2024, 0, 15, 12).getTime() * 1e6);
  assert.equal(
    localTimeNs({ t: '2024-01-15T12:00:00.123456' }, 't'),
    new Date(2024, 0, 15, 12).getTime() * 1e6 + 123456000,
  );
  assert.equal(localTimeNs({ t: '1705320000.5' }, 't'), 1705320000500000000);
  assert.equal(localTimeNs({}, 't'), undefined);
});

test('pmacct print plugin JSON: aggregate record with our primitive names, its protocol names and hex etype', () => {
  const line = {
    event_type: 'purge',
    ip_src: '10.5.1.10',
    net_dst: '192.0.2.0',
    mask_dst: 24,
    ip_proto: 'ipv6-icmp',
    etype: '86dd',
    tcp_flags: '24',
    packets: 3,
    bytes: 180,
    flows: 2,
  };
  assert.equal(detectDialect(line), 'pmacct');
  assert.deepEqual(aggregate(recordFromObject(line)), {
    bytes: 180,
    packets: 3,
    flows: 2,
    src_host: '10.5.1.10',
    dst_net: '192.0.2.0',
    dst_mask: 24,
    proto: 58,
    etype: 0x86dd,
    tcpflags: 24,
  });
});

test('pmacct -s -O json: no event_type; flows 0 when not counted; timestamps as Unix seconds; missing bytes named', () => {
  const line = {
    ip_src: '2001:db8::1',
    ip_dst: '2001:db8::2',
    ip_proto: 'tcp',
    timestamp_start: '2024-01-15 12:00:00.000000',
    timestamp_end: '2024-01-15 12:05:00.000000',
    packets: 1,
    bytes: 60,
  };
  const o = aggregate(recordFromObject(line));
  assert.equal(o.flows, 0);
  assert.equal(o.proto, 6);
  assert.equal(o.time_start, new Date(2024, 0, 15, 12).getTime() / 1000);
  assert.equal((o.time_end as number) - (o.time_start as number), 300);
  assert.throws(() => recordFromObject({ ip_src: '10.0.0.1', packets: 1 }), fieldError('bytes'));
  assert.throws(() => recordFromObject({ ip_src: '10.0.0.1', bytes: 1 }), fieldError('packets'));
});

test('no field of any dialect: refused as not a flow record, never an empty flow', () => {
  for (const o of [{}, { foo: 1 }, { type: 'IPFIX' }, { proto: 6, src_port: 80 }, { label: 'x', event: 'y' }]) {
    assert.equal(detectDialect(o), undefined);
    for (const format of ['auto', 'flowmeter'] as const) {
      assert.throws(
        () => recordFromObject(o, format),
        (e: unknown) =>
          e instanceof NotARecordError &&
          e.message === 'not a flow record: no field of flowmeter, goflow2, nfdump or pmacct',
        JSON.stringify(o),
      );
    }
  }
});

test('flowmeter records: flows, an address without bytes is named; aggregates without bytes named', () => {
  assert.equal(flow(recordFromObject({ src_addr: '10.0.0.1', bytes: 5 })).bytes, 5);
  assert.throws(() => recordFromObject({ src_addr: '10.0.0.1', packets: 5 }), fieldError('bytes'));
  assert.deepEqual(aggregate(recordFromObject({ src_host: '10.0.0.1', bytes: 1, packets: 1, flows: 1 })), {
    src_host: '10.0.0.1',
    bytes: 1,
    packets: 1,
    flows: 1,
  });
  assert.throws(() => recordFromObject({ src_host: '10.0.0.1', flows: 1 }), fieldError('bytes'));
});

test("a forced format reads every line as that dialect: another dialect's line names the missing field", () => {
  assert.throws(() => recordFromObject({ src_addr: '10.0.0.1', bytes: 5 }, 'nfdump'), fieldError('in_bytes'));
  assert.throws(() => recordFromObject({ src_addr: '10.0.0.1', bytes: 5 }, 'goflow'), fieldError('Bytes'));
  assert.throws(() => recordFromObject(GOFLOW_V1, 'pmacct'), fieldError('bytes'));
  assert.equal(recordFromObject({ ip_src: '10.0.0.1', bytes: 1, packets: 1 }, 'pmacct').kind, 'aggregate');
  assert.deepEqual([...DIALECTS], ['flowmeter', 'goflow2', 'goflow', 'nfdump', 'pmacct']);
});

test('JSON array over many lines (nfdump -o json): objects with their first line; braces in strings; one-line arrays', () => {
  const text = '[\n{\n\t"a" : "}{[",\n\t"b" : 1\n},\n{\n\t"c" : "\\"}"\n}\n]';
  const got: Array<[string, number]> = [];
  const s = new JsonArraySplitter();
  text.split('\n').forEach((l, i) =>
    assert.equal(
      s.feed(l, i + 1, (t, n) => got.push([t, n])),
      undefined,
    ),
  );
  assert.equal(s.open, false);
  assert.deepEqual(
    got.map(([t, n]) => [JSON.parse(t), n]),
    [
      [{ a: '}{[', b: 1 }, 2],
      [{ c: '"}' }, 6],
    ],
  );
  const one: unknown[] = [];
  new JsonArraySplitter().feed('[{"x":[1,{"y":2}]},{"z":3}]', 1, (t) => one.push(JSON.parse(t)));
  assert.deepEqual(one, [{ x: [1, { y: 2 }] }, { z: 3 }]);
  assert.equal(
    new JsonArraySplitter().feed('[1, 2]', 1, () => assert.fail('no object')),
    '[1, 2]',
  );
});
