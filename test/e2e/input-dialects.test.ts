// The one input layer, through the real commands: flow-aggregate, flow-report and meter-label read
// goflow2 v2, goflow v1, nfdump's pretty-printed JSON array and pmacct JSON as flowmeter's records
// (the same numbers whichever dialect carried them), refuse a record of no dialect with its place
// (exit 65, nothing counted), honour --input-format, and read gzip from stdin by its magic bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';

const T = 1705320000; // 2024-01-15 12:00:00 UTC

/** One flow (10.5.1.10 → 192.0.2.80, 1500 bytes, 3 packets) in each dialect. */
const GOFLOW2_V2 = JSON.stringify({
  type: 'IPFIX',
  time_received_ns: (T + 5) * 1e9,
  sequence_num: 1,
  sampling_rate: 0,
  flow_direction: 0,
  sampler_address: '192.0.2.1',
  time_flow_start_ns: T * 1e9,
  time_flow_end_ns: (T + 1) * 1e9,
  bytes: 1500,
  packets: 3,
  src_addr: '10.5.1.10',
  dst_addr: '192.0.2.80',
  etype: 'IPv4',
  proto: 'TCP',
  src_port: 40000,
  dst_port: 80,
  in_if: 0,
  out_if: 0,
  src_mac: '00:11:22:33:44:55',
  dst_mac: '66:77:88:99:aa:bb',
  src_vlan: 0,
  dst_vlan: 0,
  vlan_id: 0,
  ip_tos: 0,
  forwarding_status: 0,
  ip_ttl: 64,
  ip_flags: 0,
  tcp_flags: 24,
  icmp_type: 0,
  icmp_code: 0,
  ipv6_flow_label: 0,
  fragment_id: 0,
  fragment_offset: 0,
  src_as: 0,
  dst_as: 0,
  next_hop: '',
  next_hop_as: 0,
  src_net: '0.0.0.0/0',
  dst_net: '0.0.0.0/0',
  bgp_next_hop: '',
  bgp_communities: [],
  as_path: [],
  mpls_ttl: [],
  mpls_label: [],
  mpls_ip: [],
  observation_domain_id: 0,
  observation_point_id: 0,
  layer_stack: ['Ethernet', 'IPv4', 'TCP'],
  layer_size: [14, 20, 20],
  ipv6_routing_header_addresses: [],
  ipv6_routing_header_seg_left: 0,
});
const GOFLOW_V1 = JSON.stringify({
  Type: 'NETFLOW_V9',
  TimeReceived: T + 5,
  SequenceNum: 1,
  SamplingRate: 0,
  SamplerAddress: '192.0.2.1',
  TimeFlowStart: T,
  TimeFlowEnd: T + 1,
  Bytes: 1500,
  Packets: 3,
  SrcAddr: '10.5.1.10',
  DstAddr: '192.0.2.80',
  Etype: 2048,
  Proto: 6,
  SrcPort: 40000,
  DstPort: 80,
  InIf: 0,
  OutIf: 0,
  SrcMac: '00:00:00:00:00:00',
  DstMac: '00:00:00:00:00:00',
  IPTos: 0,
  TCPFlags: 24,
  SrcAS: 0,
  DstAS: 0,
  NextHop: '0.0.0.0',
  SrcNet: 0,
  DstNet: 0,
});
const NFDUMP = `[
{
\t"type" : "FLOW",
\t"sampled" : 0,
\t"export_sysid" : 1,
\t"first" : "2024-01-15T12:00:00.000",
\t"last" : "2024-01-15T12:00:01.000",
\t"received" : "2024-01-15T12:00:05.000",
\t"in_packets" : 3,
\t"in_bytes" : 1500,
\t"proto" : 6,
\t"tcp_flags" : "...AP...",
\t"src_port" : 40000,
\t"dst_port" : 80,
\t"src_tos" : 0,
\t"src4_addr" : "10.5.1.10",
\t"dst4_addr" : "192.0.2.80",
\t"ip4_router" : "192.0.2.1",
\t"label" : "<none>"
}
]
`;

const dir = tempDir('flowmeter-dialects-');
const file = (name: string, text: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
/** meter-label with a store of one label, "web": traffic into 192.0.2.0/24. */
let store: string | undefined;
async function meterLabel(args: string[], input?: string | Buffer): ReturnType<typeof runBin> {
  const env = { METER_LABEL_DB: join(dir, 'labels.json') };
  if (store === undefined) {
    store = env.METER_LABEL_DB;
    for (const step of [
      ['create', 'web', '--tenant-id', 'p1'],
      ['rule-create', 'web', '192.0.2.0/24', '--direction', 'ingress'],
    ]) {
      const r = await runBin('meter-label', step, { env });
      assert.equal(r.code, 0, r.stderr);
    }
  }
  return runBin('meter-label', args, { env, input });
}
const rows = (stdout: string): unknown[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

test('flow-aggregate: the same flow from goflow2 v2, goflow v1 and nfdump (a JSON array over many lines) counts the same', async () => {
  const want = [
    {
      src_host: '10.5.1.10',
      dst_host: '192.0.2.80',
      proto: 'TCP',
      packets: 3,
      bytes: 1500,
      flows: 1,
      time_start: T,
      time_end: T + 1,
    },
  ];
  for (const [name, text] of [
    ['goflow2.ndjson', GOFLOW2_V2 + '\n'],
    ['goflow.ndjson', GOFLOW_V1 + '\n'],
    ['nfdump.json', NFDUMP],
  ] as const) {
    const r = await runBin('flow-aggregate', ['-a', 'src_host,dst_host,proto', file(name, text)], {
      env: { TZ: 'UTC' },
    });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.deepEqual(rows(r.stdout), want, name);
  }
  // all three in one file: three flows of one key
  const all = await runBin(
    'flow-aggregate',
    ['-a', 'src_host', file('all.ndjson', `${GOFLOW2_V2}\n${GOFLOW_V1}\n${NFDUMP}`)],
    { env: { TZ: 'UTC' } },
  );
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(rows(all.stdout), [
    { src_host: '10.5.1.10', packets: 9, bytes: 4500, flows: 3, time_start: T, time_end: T + 1 },
  ]);
});

test('nfdump first/last are read in the local time zone (TZ), as nfdump printed them', async () => {
  const r = await runBin('flow-aggregate', ['-a', 'src_host', file('nfdump-tz.json', NFDUMP)], {
    env: { TZ: 'Asia/Kolkata' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((rows(r.stdout)[0] as { time_start: number }).time_start, T - 5.5 * 3600);
});

test('a record of no dialect is refused with its place, never counted as zero bytes (all three commands)', async () => {
  const path = file('unknown.ndjson', `${GOFLOW_V1}\n{"foo":1,"bar":"x"}\n{}\n`);
  const msg = `${path}:2: not a flow record: no field of flowmeter, goflow2, nfdump or pmacct`;
  const fa = await runBin('flow-aggregate', ['-a', 'src_host', path]);
  assert.equal(fa.code, 65, fa.stderr);
  assert.ok(fa.stderr.includes(msg), fa.stderr);
  assert.ok(fa.stderr.includes('2 of 3 lines rejected'), fa.stderr);
  assert.deepEqual(rows(fa.stdout), [
    { src_host: '10.5.1.10', packets: 3, bytes: 1500, flows: 1, time_start: T, time_end: T + 1 },
  ]);
  const fr = await runBin('flow-report', ['--format', 'csv', path]);
  assert.equal(fr.code, 65, fr.stderr);
  assert.ok(fr.stderr.includes(msg), fr.stderr);
  const strict = await runBin('flow-aggregate', ['--strict', '-a', 'src_host', path]);
  assert.equal(strict.code, 65);
  assert.ok(strict.stderr.includes(msg), strict.stderr);
  assert.equal(strict.stdout, '');
  const ml = await meterLabel(['count', path]);
  assert.equal(ml.code, 65, ml.stderr);
  assert.ok(ml.stderr.includes(msg), ml.stderr);
});

test('--input-format forces a dialect: a line of another one is refused naming the field that dialect needs', async () => {
  const path = file('mixed.ndjson', `${GOFLOW_V1}\n${GOFLOW2_V2}\n`);
  const r = await runBin('flow-aggregate', ['--input-format', 'goflow', '-a', 'src_host', path]);
  assert.equal(r.code, 65, r.stderr);
  assert.ok(r.stderr.includes(`${path}:2: field "Bytes"`), r.stderr);
  assert.deepEqual(rows(r.stdout), [
    { src_host: '10.5.1.10', packets: 3, bytes: 1500, flows: 1, time_start: T, time_end: T + 1 },
  ]);
  const bad = await runBin('flow-aggregate', ['--input-format', 'bogus', path]);
  assert.equal(bad.code, 64, bad.stderr);
});

test('pmacct JSON is aggregate input: flow-aggregate merges it, flow-report bills it', async () => {
  const pm = file(
    'pm.json',
    '{"event_type": "purge", "ip_src": "10.5.1.10", "net_dst": "192.0.2.0", "mask_dst": 24, "packets": 3, "flows": 1, "bytes": 1500}\n' +
      '{"ip_src": "10.5.1.10", "net_dst": "192.0.2.0", "mask_dst": 24, "packets": 1, "bytes": 500}\n',
  );
  const r = await runBin('flow-aggregate', ['-a', 'src_host,dst_net,dst_mask', pm]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r.stdout), [
    {
      src_host: '10.5.1.10',
      dst_net: '192.0.2.0',
      dst_mask: 24,
      packets: 4,
      bytes: 2000,
      flows: 1,
      time_start: 0,
      time_end: 0,
    },
  ]);
  const h = await runBin('flow-report', [
    '--format',
    'hydra',
    '--good-id',
    'c1',
    '--begin',
    String(T),
    '--end',
    String(T + 300),
    pm,
  ]);
  assert.equal(h.code, 0, h.stderr);
  const bytes = h.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(l.split(';')[6]));
  assert.equal(
    bytes.reduce((a, b) => a + b, 0),
    2000,
    h.stdout,
  );
});

test('gzip is told by its magic bytes: on stdin, and in a file whatever its name', async () => {
  const text = `${GOFLOW2_V2}\n${GOFLOW_V1}\n`;
  const plain = await runBin('flow-aggregate', ['-a', 'src_host'], { input: text });
  assert.equal(plain.code, 0, plain.stderr);
  const gz = await runBin('flow-aggregate', ['-a', 'src_host'], { input: gzipSync(text) });
  assert.equal(gz.code, 0, gz.stderr);
  assert.equal(gz.stdout, plain.stdout);
  assert.deepEqual(rows(gz.stdout), [
    { src_host: '10.5.1.10', packets: 6, bytes: 3000, flows: 2, time_start: T, time_end: T + 1 },
  ]);
  const named = await runBin('flow-report', [
    '--format',
    'csv',
    file('flows-no-suffix', gzipSync(text)),
    file('plain.gz', text),
  ]);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(named.stdout.split('\n').filter((l) => l !== '').length, 1 + 4);
  const ml = await meterLabel(['count'], gzipSync(text));
  assert.equal(ml.code, 0, ml.stderr);
  const samples = ml.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { payload: { label_name: string; bytes: number; pkts: number } });
  assert.deepEqual(
    samples.map((x) => [x.payload.label_name, x.payload.bytes, x.payload.pkts]),
    [['web', 3000, 6]],
  );
});
