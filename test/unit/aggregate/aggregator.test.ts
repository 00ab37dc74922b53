// Aggregator: keys, networks, sums, time bins, pro-rating, renormalisation, exact merges, ordering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, MAX_PRO_RATE_BINS, type AggregationSpec } from '../../../lib/aggregate/aggregator.js';
import { aggregateCsvRow } from '../../../lib/aggregate/aggregate-csv.js';
import { aggregateJsonTexts } from '../../../lib/aggregate/aggregate-json.js';
import { parsePrimitiveList, SHORTHANDS } from '../../../lib/aggregate/primitives.js';
import { parseNetworks } from '../../../lib/networks/file.js';
import { flowFromObject, FieldError } from '../../../lib/flow/record.js';
import { compileFilter } from '../../../lib/filter/filter.js';
import { parseIP } from '../../../lib/net/ip.js';
import { rng, rngInt } from '../../helpers/prng.js';

const S = 1_000_000_000;
const T0 = 1_700_000_100; // a multiple of 300 is 1_700_000_100 - 100

function fl(o: Record<string, unknown>): ReturnType<typeof flowFromObject> {
  return flowFromObject({
    type: 'NETFLOW_V5',
    etype: 'IPv4',
    proto: 'TCP',
    time_flow_start_ns: T0 * S,
    time_flow_end_ns: T0 * S,
    time_received_ns: (T0 + 60) * S,
    ...o,
  });
}

function lines(agg: Aggregator, sort: 'key' | 'bytes' | 'packets' = 'key'): string[] {
  return [...aggregateJsonTexts(agg, sort)];
}

const nets = parseNetworks('10.5.0.0/16\n10.5.2.0/24\n8.8.8.0/24\n2001:db8:5::/48\n').table;

test('primitive lists: canonical order, shorthands, pseudo primitives, errors', () => {
  assert.deepEqual(parsePrimitiveList('dst_mask, dst_net,src_host'), ['src_host', 'dst_net', 'dst_mask']);
  assert.deepEqual(parsePrimitiveList('src_host,dst_net,dst_mask'), [...SHORTHANDS.ab]);
  assert.deepEqual(parsePrimitiveList('src_net src_mask dst_host flows'), [...SHORTHANDS.ba]);
  assert.deepEqual(SHORTHANDS.ba, ['src_net', 'dst_host', 'src_mask']); // pmacct column order
  assert.deepEqual(parsePrimitiveList('none'), []);
  assert.throws(() => parsePrimitiveList('src_host,bogus'), /unknown primitive "bogus"/);
  assert.throws(() => parsePrimitiveList('none,src_host'), /cannot be combined/);
  assert.throws(() => parsePrimitiveList('sum_host,proto'), /sums both directions/);
  assert.throws(() => parsePrimitiveList(' , '), /empty/);
});

test('--ab with a networks file: longest prefix, unmatched = 0.0.0.0/0, IPv6', () => {
  const agg = new Aggregator({ name: 'ab', primitives: SHORTHANDS.ab, networks: nets });
  agg.addFlow(fl({ src_addr: '10.5.1.2', dst_addr: '8.8.8.8', bytes: 100, packets: 1 }));
  agg.addFlow(fl({ src_addr: '10.5.1.2', dst_addr: '8.8.8.9', bytes: 50, packets: 2 }));
  agg.addFlow(fl({ src_addr: '10.5.1.2', dst_addr: '10.5.2.7', bytes: 7, packets: 1 }));
  agg.addFlow(fl({ src_addr: '10.5.1.2', dst_addr: '10.5.3.7', bytes: 3, packets: 1 }));
  agg.addFlow(fl({ src_addr: '10.5.1.2', dst_addr: '1.1.1.1', bytes: 1, packets: 1 }));
  agg.addFlow(fl({ src_addr: '2001:db8:5::1', dst_addr: '2001:db8:5:1::9', etype: 'IPv6', bytes: 11, packets: 1 }));
  agg.addFlow(fl({ src_addr: '2001:db8:5::1', dst_addr: '2606:4700::1', etype: 'IPv6', bytes: 13, packets: 1 }));
  const t = `"time_start":${T0},"time_end":${T0}`;
  assert.deepEqual(lines(agg), [
    `{"src_host":"10.5.1.2","dst_net":"0.0.0.0","dst_mask":0,"packets":1,"bytes":1,"flows":1,${t}}`,
    `{"src_host":"10.5.1.2","dst_net":"8.8.8.0","dst_mask":24,"packets":3,"bytes":150,"flows":2,${t}}`,
    `{"src_host":"10.5.1.2","dst_net":"10.5.0.0","dst_mask":16,"packets":1,"bytes":3,"flows":1,${t}}`,
    `{"src_host":"10.5.1.2","dst_net":"10.5.2.0","dst_mask":24,"packets":1,"bytes":7,"flows":1,${t}}`,
    `{"src_host":"2001:db8:5::1","dst_net":"::","dst_mask":0,"packets":1,"bytes":13,"flows":1,${t}}`,
    `{"src_host":"2001:db8:5::1","dst_net":"2001:db8:5::","dst_mask":48,"packets":1,"bytes":11,"flows":1,${t}}`,
  ]);
});

test('nets without a file come from the exporter; --net-source longest takes the longer', () => {
  const f1 = fl({ src_addr: '10.5.1.2', dst_addr: '8.8.8.8', dst_net: '8.8.0.0/16', bytes: 1 });
  const f2 = fl({ src_addr: '10.5.1.2', dst_addr: '10.5.2.9', dst_net: '10.5.2.0/25', bytes: 2 });
  const exp = new Aggregator({ name: 'x', primitives: ['dst_net', 'dst_mask'] });
  exp.addFlow(f1);
  exp.addFlow(f2);
  assert.deepEqual(
    exp.results().map((r) => r.values),
    [
      ['8.8.0.0', 16],
      ['10.5.2.0', 25],
    ],
  );
  const longest = new Aggregator({
    name: 'x',
    primitives: ['dst_net', 'dst_mask'],
    networks: nets,
    netSource: 'longest',
  });
  longest.addFlow(f1);
  longest.addFlow(f2);
  assert.deepEqual(
    longest.results().map((r) => r.values),
    [
      ['8.8.8.0', 24],
      ['10.5.2.0', 25],
    ],
  );
  const net = new Aggregator({ name: 'x', primitives: ['dst_net'], networks: nets });
  net.addFlow(fl({ dst_addr: '10.5.2.1', bytes: 1 }));
  net.addFlow(fl({ dst_addr: '10.5.9.1', bytes: 1 }));
  assert.deepEqual(
    net.results().map((r) => r.values),
    [['10.5.0.0'], ['10.5.2.0']],
    'net without mask keeps /16 and /24 apart by address',
  );
});

test('every primitive takes its value from the right field; tcpflags are ORed, not keyed', () => {
  const agg = new Aggregator({
    name: 'x',
    primitives: parsePrimitiveList(
      'in_iface,out_iface,etype,src_as,dst_as,peer_src_ip,src_port,dst_port,tcpflags,proto,tos,sampling_rate',
    ),
  });
  const base = {
    sampler_address: '192.0.2.1',
    in_if: 3,
    out_if: 4,
    src_as: 65001,
    dst_as: 15169,
    src_port: 1234,
    dst_port: 443,
    ip_tos: 8,
    sampling_rate: 100,
    bytes: 10,
    packets: 1,
  };
  agg.addFlow(fl({ ...base, tcp_flags: 0x02 }));
  agg.addFlow(fl({ ...base, tcp_flags: 0x10 }));
  const [r] = agg.results();
  assert.equal(agg.size, 1);
  assert.equal(
    lines(agg)[0],
    `{"in_iface":3,"out_iface":4,"etype":"IPv4","src_as":65001,"dst_as":15169,"peer_src_ip":"192.0.2.1","src_port":1234,"dst_port":443,"tcpflags":18,"proto":"TCP","tos":8,"sampling_rate":100,"packets":2,"bytes":20,"flows":2,"time_start":${T0},"time_end":${T0}}`,
  );
  assert.deepEqual(aggregateCsvRow(agg.primitives, r!), [
    3,
    4,
    'IPv4',
    65001,
    15169,
    '192.0.2.1',
    1234,
    443,
    18,
    'TCP',
    8,
    100,
    2,
    20,
    2,
    T0,
    T0,
  ]);
});

test('sum_host counts a flow for both of its hosts; none is the grand total', () => {
  const sum = new Aggregator({ name: 's', primitives: ['sum_host'] });
  const total = new Aggregator({ name: 't', primitives: [] });
  for (const f of [
    fl({ src_addr: '10.0.0.1', dst_addr: '10.0.0.2', bytes: 5, packets: 1 }),
    fl({ src_addr: '10.0.0.2', dst_addr: '10.0.0.3', bytes: 7, packets: 1 }),
  ]) {
    sum.addFlow(f);
    total.addFlow(f);
  }
  assert.deepEqual(
    sum.results().map((r) => [r.values[0], r.bytes, r.flows]),
    [
      ['10.0.0.1', 5, 1],
      ['10.0.0.2', 12, 2],
      ['10.0.0.3', 7, 1],
    ],
  );
  assert.deepEqual(
    total.results().map((r) => [r.values, r.bytes, r.packets, r.flows]),
    [[[], 12, 2, 2]],
  );
});

test('time_start/time_end: earliest start, latest end; arrival time with --time arrival', () => {
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'] });
  agg.addFlow(
    fl({ src_addr: '10.0.0.1', time_flow_start_ns: (T0 + 5) * S + 999, time_flow_end_ns: (T0 + 20) * S + 5e8 }),
  );
  agg.addFlow(fl({ src_addr: '10.0.0.1', time_flow_start_ns: T0 * S + 1, time_flow_end_ns: (T0 + 10) * S }));
  const [r] = agg.results();
  assert.equal(r!.time_start, T0);
  assert.equal(r!.time_end, T0 + 20);
  const arr = new Aggregator({ name: 'x', primitives: ['src_host'], time: 'arrival' });
  arr.addFlow(fl({ src_addr: '10.0.0.1', time_received_ns: (T0 + 300) * S }));
  arr.addFlow(fl({ src_addr: '10.0.0.1', time_received_ns: (T0 + 400) * S }));
  assert.deepEqual([arr.results()[0]!.time_start, arr.results()[0]!.time_end], [T0 + 300, T0 + 400]);
  const noStart = new Aggregator({ name: 'x', primitives: ['src_host'] });
  noStart.addFlow(
    fl({ src_addr: '10.0.0.1', time_flow_start_ns: 0, time_flow_end_ns: 0, time_received_ns: (T0 + 7) * S }),
  );
  assert.deepEqual([noStart.results()[0]!.time_start, noStart.results()[0]!.time_end], [T0 + 7, T0 + 7]);
});

test('--interval bins by flow start, aligned to the epoch', () => {
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'], interval: 300 });
  const bin = T0 - (T0 % 300);
  agg.addFlow(fl({ src_addr: '10.0.0.1', time_flow_start_ns: bin * S, time_flow_end_ns: (bin + 900) * S, bytes: 10 }));
  agg.addFlow(
    fl({ src_addr: '10.0.0.1', time_flow_start_ns: (bin + 299) * S, time_flow_end_ns: (bin + 299) * S, bytes: 20 }),
  );
  agg.addFlow(
    fl({ src_addr: '10.0.0.1', time_flow_start_ns: (bin + 300) * S, time_flow_end_ns: (bin + 300) * S, bytes: 40 }),
  );
  assert.deepEqual(
    agg.results().map((r) => [r.time_start, r.time_end, r.bytes, r.flows]),
    [
      [bin, bin + 300, 30, 2],
      [bin + 300, bin + 600, 40, 1],
    ],
  );
  const arr = new Aggregator({ name: 'x', primitives: ['src_host'], interval: 60, time: 'arrival' });
  arr.addFlow(fl({ src_addr: '10.0.0.1', time_received_ns: (bin + 61) * S, bytes: 1 }));
  assert.deepEqual(
    arr.results().map((r) => r.time_start),
    [bin + 60],
  );
});

test('--pro-rate spreads a flow over its bins (pmacct: 1000 s, 1000 bytes, 5m bins → 300/300/300/100)', () => {
  const bin = T0 - (T0 % 300);
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'], interval: 300, proRate: true });
  agg.addFlow(
    fl({
      src_addr: '10.0.0.1',
      time_flow_start_ns: bin * S,
      time_flow_end_ns: (bin + 1000) * S,
      bytes: 1000,
      packets: 10,
    }),
  );
  assert.deepEqual(
    agg.results().map((r) => [r.time_start - bin, r.bytes, r.packets, r.flows]),
    [
      [0, 300, 3, 1],
      [300, 300, 3, 0],
      [600, 300, 3, 0],
      [900, 100, 1, 0],
    ],
  );
});

test('--pro-rate leaves a flow spanning more than MAX_PRO_RATE_BINS whole in its first bin, counted', () => {
  const bin = T0 - (T0 % 60);
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'], interval: 60, proRate: true });
  const end = (bin + 60 * (MAX_PRO_RATE_BINS + 1)) * S;
  agg.addFlow(
    fl({ src_addr: '10.0.0.1', time_flow_start_ns: bin * S, time_flow_end_ns: end, bytes: 1000, packets: 10 }),
  );
  agg.addFlow(
    fl({
      src_addr: '10.0.0.1',
      time_flow_start_ns: bin * S,
      time_flow_end_ns: (bin + 60 * MAX_PRO_RATE_BINS) * S,
      bytes: 7,
      packets: 1,
    }),
  );
  const rs = agg.results();
  assert.equal(agg.stats.notProRated, 1);
  assert.deepEqual([rs[0]!.time_start - bin, rs[0]!.bytes, rs[0]!.flows], [0, 1000, 2]);
  assert.equal(rs.length, MAX_PRO_RATE_BINS, 'the flow at the limit is still spread');
  assert.equal(
    rs.reduce((n, r) => n + Number(r.bytes), 0),
    1007,
  );
});

test('--pro-rate never loses or invents a byte (random flows, awkward numbers)', () => {
  const rand = rng(7);
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'], interval: 60, proRate: true });
  let bytes = 0;
  let packets = 0;
  for (let i = 0; i < 500; i++) {
    const start = T0 * S + Math.floor(rand() * 3600 * S);
    const dur = Math.floor(rand() * 1000 * S);
    const b = Math.floor(rand() * 1e12);
    const p = Math.floor(rand() * 1e6);
    bytes += b;
    packets += p;
    agg.addFlow(
      fl({
        src_addr: `10.0.${i % 3}.1`,
        time_flow_start_ns: start,
        time_flow_end_ns: start + dur,
        bytes: b,
        packets: p,
      }),
    );
  }
  const rs = agg.results();
  assert.equal(
    rs.reduce((s, r) => s + Number(r.bytes), 0),
    bytes,
  );
  assert.equal(
    rs.reduce((s, r) => s + Number(r.packets), 0),
    packets,
  );
  assert.equal(
    rs.reduce((s, r) => s + Number(r.flows), 0),
    500,
  );
  assert.ok(rs.every((r) => r.time_end - r.time_start === 60 && r.time_start % 60 === 0));
});

test('--renormalize multiplies by the sampling rate; rate 0 is counted, not applied', () => {
  const agg = new Aggregator({ name: 'x', primitives: ['src_host', 'sampling_rate'], renormalize: true });
  agg.addFlow(fl({ src_addr: '10.0.0.1', sampling_rate: 100, bytes: 64, packets: 1 }));
  agg.addFlow(fl({ src_addr: '10.0.0.1', sampling_rate: 1, bytes: 6, packets: 1 }));
  agg.addFlow(fl({ src_addr: '10.0.0.2', sampling_rate: 0, bytes: 5, packets: 1 }));
  assert.deepEqual(
    agg.results().map((r) => [...r.values, r.bytes, r.packets]),
    [
      ['10.0.0.1', 1, 6406, 101],
      ['10.0.0.2', 0, 5, 1],
    ],
  );
  assert.equal(agg.stats.renormalized, 2);
  assert.equal(agg.stats.unknownSamplingRate, 1);
});

test('filters: a flow passes if any filter matches; the rest are counted as filtered', () => {
  const agg = new Aggregator({
    name: 'x',
    primitives: ['src_host'],
    filters: [compileFilter('udp').test, compileFilter('src net 10.1.0.0/16').test],
  });
  assert.equal(agg.addFlow(fl({ src_addr: '10.0.0.1', proto: 'UDP', bytes: 1 })), true);
  assert.equal(agg.addFlow(fl({ src_addr: '10.1.0.1', proto: 'TCP', bytes: 2 })), true);
  assert.equal(agg.addFlow(fl({ src_addr: '10.2.0.1', proto: 'TCP', bytes: 4 })), false);
  assert.equal(agg.stats.filtered, 1);
  assert.equal(
    agg.results().reduce((s, r) => s + Number(r.bytes), 0),
    3,
  );
});

test('merging aggregate records is exact and equals aggregating all flows at once', () => {
  const spec: AggregationSpec = { name: 'ab', primitives: SHORTHANDS.ab, networks: nets, interval: 300 };
  const all = new Aggregator(spec);
  const shards = [new Aggregator(spec), new Aggregator(spec), new Aggregator(spec)];
  const rand = rng(11);
  for (let i = 0; i < 3000; i++) {
    const f = fl({
      src_addr: `10.5.${Math.floor(rand() * 4)}.${1 + Math.floor(rand() * 5)}`,
      dst_addr: `8.8.${7 + Math.floor(rand() * 3)}.${Math.floor(rand() * 255)}`,
      time_flow_start_ns: (T0 + Math.floor(rand() * 1800)) * S,
      bytes: Math.floor(rand() * 1e9),
      packets: 1 + Math.floor(rand() * 1000),
      tcp_flags: 1 << Math.floor(rand() * 6),
    });
    all.addFlow(f);
    shards[i % 3]!.addFlow(f);
  }
  const merged = new Aggregator(spec);
  for (const s of shards) for (const line of lines(s)) merged.addAggregate(JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines(merged), lines(all));
  // merging again (idempotent shape) and re-aggregating on fewer primitives
  const coarse = new Aggregator({ name: 'c', primitives: ['dst_net', 'dst_mask'] });
  const coarseFlows = new Aggregator({ name: 'c', primitives: ['dst_net', 'dst_mask'], networks: nets });
  for (const line of lines(all)) coarse.addAggregate(JSON.parse(line) as Record<string, unknown>);
  for (const line of lines(all)) coarseFlows.addAggregate(JSON.parse(line) as Record<string, unknown>);
  assert.equal(
    coarse.results().reduce((s, r) => s + Number(r.bytes), 0),
    all.results().reduce((s, r) => s + Number(r.bytes), 0),
  );
});

test('merging: time bounds take min/max, tcpflags OR, bad or missing fields are FieldErrors', () => {
  const agg = new Aggregator({ name: 'x', primitives: ['src_host', 'proto', 'tcpflags'] });
  agg.addAggregate({
    src_host: '10.0.0.1',
    proto: 'TCP',
    tcpflags: 2,
    packets: 1,
    bytes: 10,
    flows: 1,
    time_start: 200,
    time_end: 300,
  });
  agg.addAggregate({
    src_host: '10.0.0.1',
    proto: 6,
    tcpflags: 16,
    packets: 2,
    bytes: 20,
    flows: 3,
    time_start: 100,
    time_end: 250,
  });
  assert.deepEqual(lines(agg), [
    '{"src_host":"10.0.0.1","tcpflags":18,"proto":"TCP","packets":3,"bytes":30,"flows":4,"time_start":100,"time_end":300}',
  ]);
  const bad = (o: Record<string, unknown>): FieldError => {
    try {
      agg.addAggregate(o);
    } catch (e) {
      assert.ok(e instanceof FieldError);
      return e;
    }
    assert.fail('accepted');
  };
  assert.equal(bad({ proto: 6, packets: 1, bytes: 1, flows: 1 }).field, 'src_host');
  assert.equal(bad({ src_host: '10.0.0.256', proto: 6, packets: 1, bytes: 1, flows: 1 }).field, 'src_host');
  assert.equal(bad({ src_host: '10.0.0.1', proto: 'nope', packets: 1, bytes: 1, flows: 1 }).field, 'proto');
  assert.equal(bad({ src_host: '10.0.0.1', proto: 6, packets: -1, bytes: 1, flows: 1 }).field, 'packets');
  assert.equal(bad({ src_host: '10.0.0.1', proto: 6, packets: 1, flows: 1 }).field, 'bytes');
  assert.equal(agg.results()[0]!.bytes, 30, 'rejected records changed nothing');
});

test('ordering: by key with addresses in numeric order, or by bytes/packets', () => {
  const agg = new Aggregator({ name: 'x', primitives: ['src_host'] });
  for (const [a, b, p] of [
    ['10.0.0.10', 5, 9],
    ['10.0.0.9', 50, 1],
    ['2001:db8::1', 7, 7],
    ['9.255.0.1', 1, 3],
  ] as const) {
    agg.addFlow(fl({ src_addr: a, bytes: b, packets: p }));
  }
  assert.deepEqual(
    agg.results('key').map((r) => r.values[0]),
    ['9.255.0.1', '10.0.0.9', '10.0.0.10', '2001:db8::1'],
  );
  assert.deepEqual(
    agg.results('bytes').map((r) => r.values[0]),
    ['10.0.0.9', '2001:db8::1', '10.0.0.10', '9.255.0.1'],
  );
  assert.deepEqual(
    agg.results('packets').map((r) => r.values[0]),
    ['10.0.0.10', '2001:db8::1', '9.255.0.1', '10.0.0.9'],
  );
});

test('ordering on 20,000 random keys (IPv4, IPv6, missing addresses, numbers): every sort and binning agrees with a plain reference sort', () => {
  const rnd = rngInt(12345);
  const addrs = (): string => {
    const x = rnd(10);
    if (x === 0) return '';
    if (x === 1) return ['2001:db8::1', '2001:db8::2', '::1', 'fe80::9', '2001:db8:5::1'][rnd(5)]!;
    return `${rnd(3) === 0 ? 255 : rnd(256)}.${rnd(4)}.${rnd(4)}.${rnd(256)}`;
  };
  // reference: numbers numerically; addresses IPv4 by value, then "", then IPv6 by bytes
  const addrKey = (s: string): [number, string] => {
    if (s === '') return [1, ''];
    if (!s.includes(':'))
      return [
        0,
        s
          .split('.')
          .map((o) => o.padStart(3, '0'))
          .join('.'),
      ];
    const ip = parseIP(s)!;
    return [2, Buffer.from(ip.bytes).toString('hex')];
  };
  const cmpVal = (x: string | number, y: string | number): number => {
    if (typeof x === 'number') return x - (y as number);
    const [rx, kx] = addrKey(x);
    const [ry, ky] = addrKey(y as string);
    return rx !== ry ? rx - ry : kx < ky ? -1 : kx > ky ? 1 : 0;
  };
  for (const prims of [
    ['src_host', 'dst_port'],
    ['src_port', 'dst_host'],
    ['in_iface', 'src_host'],
    ['dst_net', 'dst_mask'],
    ['src_port', 'src_host', 'dst_host', 'dst_port'],
  ] as const) {
    for (const interval of [0, 60]) {
      const agg = new Aggregator({
        name: 'x',
        primitives: parsePrimitiveList(prims.join(',')),
        interval,
        networks: prims[0] === 'dst_net' ? nets : undefined,
      });
      for (let i = 0; i < 20_000; i++) {
        const t = T0 + rnd(600);
        agg.addFlow(
          fl({
            src_addr: addrs(),
            dst_addr: addrs(),
            etype: '',
            src_port: rnd(50),
            dst_port: rnd(50),
            in_if: rnd(3) * 2 ** 33 + rnd(5),
            bytes: rnd(1000),
            packets: rnd(10),
            time_flow_start_ns: t * S,
            time_flow_end_ns: (t + rnd(100)) * S,
          }),
        );
      }
      for (const sort of ['key', 'bytes', 'packets'] as const) {
        const got = agg.results(sort);
        assert.equal(got.length, agg.size);
        const want = [...got].sort((a, b) => {
          if (interval > 0 && a.time_start !== b.time_start) return a.time_start - b.time_start;
          if (sort === 'bytes' && a.bytes !== b.bytes) return Number(b.bytes) - Number(a.bytes);
          if (sort === 'packets' && a.packets !== b.packets) return Number(b.packets) - Number(a.packets);
          for (let i = 0; i < a.values.length; i++) {
            const c = cmpVal(a.values[i]!, b.values[i]!);
            if (c !== 0) return c;
          }
          return a.time_start - b.time_start;
        });
        // equal under the reference = the same key, so the order is fully determined
        assert.deepEqual(
          got.map((r) => r.values.join('|') + '@' + r.time_start),
          want.map((r) => r.values.join('|') + '@' + r.time_start),
          `${prims} interval ${interval} sort ${sort}`,
        );
      }
    }
  }
});
