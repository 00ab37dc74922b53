// The aggregate line writer against JSON.stringify of the records (test/helpers/aggregate-json.ts): every
// primitive, IPv6 and "" addresses, etype without a name, tcpflags, 64-bit key values, sums past
// 2^53, merged records without times, bins, and the output order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, type AggregationSpec } from '../../../lib/aggregate/aggregator.js';
import { aggregateJsonTexts, aggregateLineWriter, MAX_AGGREGATE_BYTES } from '../../../lib/aggregate/aggregate-json.js';
import { expectedAggregateJson } from '../../helpers/aggregate-json.js';
import { parsePrimitiveList, SHORTHANDS } from '../../../lib/aggregate/primitives.js';
import { parseNetworks } from '../../../lib/networks/file.js';
import { flowFromObject } from '../../../lib/flow/record.js';
import { viewOf } from '../../../lib/format/ndjson-bytes.js';
import { randomRecord } from '../../helpers/flow-lines.js';
import { rng } from '../../helpers/prng.js';

const nets = parseNetworks(
  '10.0.0.0/8\n10.0.3.0/24\n8.8.8.0/24\n2001:db8::/32\n2001:db8:5::/48\n::ffff:0:0/96\n',
).table;
const ALL =
  'in_iface,out_iface,etype,src_as,dst_as,peer_src_ip,src_host,src_net,dst_host,dst_net,src_mask,dst_mask,src_port,dst_port,tcpflags,proto,tos,sampling_rate';

/** The writer's bytes for every aggregate, in output order, as text. */
function written(agg: Aggregator): string[] {
  const write = aggregateLineWriter(agg);
  const buf = Buffer.alloc(MAX_AGGREGATE_BYTES);
  return Array.from(agg.order('key'), (i) => {
    buf.fill(0xff);
    const end = write(viewOf(buf), 0, i);
    return buf.toString('latin1', 0, end);
  });
}

function expected(agg: Aggregator): string[] {
  return agg.results('key').map((r) => expectedAggregateJson(agg.primitives, r) + '\n');
}

function fed(spec: Omit<AggregationSpec, 'name'>, seed: number, n: number): Aggregator {
  const agg = new Aggregator({ name: 't', ...spec });
  const r = rng(seed);
  for (let i = 0; i < n; i++) agg.addFlow(randomRecord(r));
  return agg;
}

test('aggregate lines: the bytes of JSON.stringify for random flows in every primitive set', () => {
  const lists = [
    ALL,
    'src_host',
    'dst_host,proto',
    'etype,tcpflags',
    'sum_host',
    'sum_port',
    'sum_net',
    'sum_as',
    'none',
  ];
  for (const [k, list] of lists.entries()) {
    for (const networks of [undefined, nets]) {
      const agg = fed({ primitives: parsePrimitiveList(list), networks }, 100 + k, 3000);
      assert.ok(agg.size > 0);
      assert.deepEqual(written(agg), expected(agg), list);
    }
  }
  const ab = fed({ primitives: SHORTHANDS.ab, networks: nets, interval: 60, proRate: true }, 9, 3000);
  assert.deepEqual(written(ab), expected(ab));
});

test('aggregate lines: odd values (64-bit keys, huge sums, no times, unnamed etype, IPv6 forms)', () => {
  const agg = new Aggregator({
    name: 't',
    primitives: parsePrimitiveList('src_host,dst_host,etype,in_iface,src_as,tcpflags,proto'),
  });
  const base = {
    src_host: '10.0.0.1',
    dst_host: '::',
    etype: 'IPv4',
    in_iface: 0,
    src_as: 0,
    tcpflags: 2,
    proto: 'TCP',
    packets: 1,
    bytes: 1,
    flows: 1,
  };
  const records: Array<Record<string, unknown>> = [
    base,
    { ...base, src_host: '', dst_host: '::ffff:1.2.3.4', etype: 0x1234, in_iface: 4294967295, src_as: 4294967295 },
    {
      ...base,
      dst_host: '2001:db8:0:0:1:0:0:1',
      proto: 200,
      bytes: Number.MAX_SAFE_INTEGER,
      packets: Number.MAX_SAFE_INTEGER,
    },
    { ...base, dst_host: '2001:db8:1:2:3:4:5:6', time_start: 1_700_000_000, time_end: 1_700_000_060, proto: 'UDP' },
  ];
  for (const o of records) agg.addAggregate(o);
  agg.addAggregate(records[2]!); // sums past 2^53
  agg.addFlow(
    flowFromObject({
      src_addr: 'fe80::1',
      dst_addr: '2001:db8::5',
      etype: 'IPv6',
      proto: 'ICMPv6',
      bytes: 3,
      packets: 1,
      tcp_flags: 17,
    }),
  );
  const lines = written(agg);
  assert.deepEqual(lines, expected(agg));
  assert.ok(lines.some((l) => l.includes('"bytes":18014398509481982')));
  assert.ok(lines.some((l) => l.includes('"etype":4660')));
});

test('aggregate lines: past the first counter segment (65,536 rows) and a key table rehash', () => {
  const agg = new Aggregator({ name: 't', primitives: parsePrimitiveList('src_host') });
  const n = 140_000;
  for (let i = 0; i < n; i++)
    agg.addAggregate({
      src_host: `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`,
      packets: 1,
      bytes: i,
      flows: 1,
      time_start: i,
      time_end: i + 1,
    });
  agg.addAggregate({ src_host: '10.2.34.95', packets: 1, bytes: 1, flows: 1, time_start: 1, time_end: 1 }); // i = 139,871 again
  assert.equal(agg.size, n);
  const lines = written(agg);
  assert.deepEqual(lines, expected(agg));
  assert.equal(
    lines[139_871],
    '{"src_host":"10.2.34.95","packets":2,"bytes":139872,"flows":2,"time_start":1,"time_end":139872}\n',
  );
});

test('aggregate lines as text: the written lines without their newline, in each sort order', () => {
  const agg = fed({ primitives: parsePrimitiveList('src_host,dst_host,proto,tcpflags'), networks: nets }, 5, 2000);
  assert.deepEqual(
    [...aggregateJsonTexts(agg)].map((l) => l + '\n'),
    written(agg),
  );
  for (const sort of ['bytes', 'packets'] as const) {
    assert.deepEqual(
      [...aggregateJsonTexts(agg, sort)],
      agg.results(sort).map((r) => expectedAggregateJson(agg.primitives, r)),
      sort,
    );
  }
});
