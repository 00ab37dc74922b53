// rowOfAggregate: flow-report's own aggregates (-a) become rows directly, the same rows that
// rowFromAggregate reads from their NDJSON lines (aggregateJsonTexts), for every key primitive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, type AggregationSpec } from '../../../lib/aggregate/aggregator.js';
import { aggregateJsonTexts } from '../../../lib/aggregate/aggregate-json.js';
import { parsePrimitiveList } from '../../../lib/aggregate/primitives.js';
import { flowFromObject, parseJsonObject } from '../../../lib/flow/record.js';
import { parseNetworks } from '../../../lib/networks/file.js';
import { rowFromAggregate, rowOfAggregate } from '../../../lib/report/record.js';
import { rngInt } from '../../helpers/prng.js';

const S = 1_000_000_000;
const T0 = 1_700_000_100;
const nets = parseNetworks('10.5.0.0/16\n10.5.2.0/24\n8.8.8.0/24\n2001:db8:5::/48\n').table;

/** Flows with every field a key primitive reads varied; seeded, IPv4 and IPv6, some counters past 2^53. */
function flows(seed: number, n: number): ReturnType<typeof flowFromObject>[] {
  const int = rngInt(seed);
  const v4 = (): string => `${[10, 8, 192][int(3)]}.${int(2) === 0 ? 5 : 8}.${int(3)}.${int(256)}`;
  const v6 = (): string => `2001:db8:${int(2) === 0 ? 5 : 6}::${int(65536).toString(16)}`;
  return Array.from({ length: n }, () => {
    const six = int(4) === 0;
    const start = T0 + int(600);
    return flowFromObject({
      type: 'IPFIX',
      etype: six ? 'IPv6' : 'IPv4',
      src_addr: six ? v6() : v4(),
      dst_addr: six ? v6() : v4(),
      sampler_address: six ? v6() : v4(),
      proto: int(256),
      src_port: int(65536),
      dst_port: int(4) === 0 ? 53 : int(65536),
      in_if: int(3),
      out_if: int(2) * 4294967295,
      src_as: int(70000),
      dst_as: int(3),
      ip_tos: int(256),
      tcp_flags: int(64),
      sampling_rate: int(3),
      bytes: int(50) === 0 ? '9007199254740993' : 1 + int(1500),
      packets: 1 + int(10),
      time_flow_start_ns: start * S,
      time_flow_end_ns: (start + int(120)) * S,
      time_received_ns: (start + 130) * S,
    });
  });
}

const LISTS = [
  'in_iface,out_iface,etype,src_as,dst_as,peer_src_ip,src_host,dst_host,src_port,dst_port,tcpflags,proto,tos,sampling_rate',
  'src_host,dst_net,dst_mask',
  'src_net,src_mask,dst_host',
  'proto,etype',
  'sum_host',
  'sum_port',
  'none',
];

test('rowOfAggregate gives the row rowFromAggregate reads from the aggregate NDJSON line', () => {
  const input = flows(21, 3000);
  let compared = 0;
  for (const list of LISTS) {
    for (const extra of [
      {},
      { networks: nets },
      { networks: nets, interval: 60 },
      { renormalize: true },
    ] as Partial<AggregationSpec>[]) {
      const agg = new Aggregator({ name: 't', primitives: parsePrimitiveList(list), ...extra });
      for (const f of input) agg.addFlow(f);
      const texts = [...aggregateJsonTexts(agg, 'key')];
      const recs = [...agg.results('key')];
      assert.equal(recs.length, texts.length);
      for (const [i, rec] of recs.entries()) {
        const direct = rowOfAggregate(agg.primitives, rec);
        assert.deepEqual(
          direct,
          rowFromAggregate(parseJsonObject(texts[i]!)),
          `${list} ${JSON.stringify(Object.keys(extra))}`,
        );
        compared++;
      }
    }
  }
  assert.ok(compared > 10_000, `${compared} aggregates compared`);
});

test('rowOfAggregate: an ARP aggregate is a row with EtherType 0x0806 (its NDJSON line says "ARP")', () => {
  const agg = new Aggregator({ name: 't', primitives: parsePrimitiveList('etype') });
  agg.addFlow(
    flowFromObject({
      type: 'IPFIX',
      etype: 'ARP',
      bytes: 60,
      packets: 1,
      time_flow_start_ns: T0 * S,
      time_flow_end_ns: T0 * S,
    }),
  );
  const [rec] = agg.results('key');
  assert.equal(
    [...aggregateJsonTexts(agg)][0],
    `{"etype":"ARP","packets":1,"bytes":60,"flows":1,"time_start":${T0},"time_end":${T0}}`,
  );
  assert.deepEqual(rowOfAggregate(agg.primitives, rec!).values, { etype: 0x0806 });
});

test('rowFromAggregate reads the EtherType as flowmeter writes it (IPv4, IPv6, ARP, "") and as pmacct does (hex)', () => {
  const etype = (v: unknown): unknown => rowFromAggregate({ etype: v, packets: 1, bytes: 1 }).values.etype;
  assert.deepEqual(
    ['IPv4', 'IPv6', 'ARP', 'arp', '', '800', '86dd', 2054].map(etype),
    [0x0800, 0x86dd, 0x0806, 0x0806, 0, 0x0800, 0x86dd, 0x0806],
  );
  assert.throws(() => etype('IPX'), /field "etype": expected an integer 0-65535 \(got "IPX"\)/);
});

test('rowFromAggregate keeps a sum_* key (its value checked like its one-way kin)', () => {
  const row = (o: Record<string, unknown>): unknown => rowFromAggregate({ ...o, packets: 1, bytes: 1 }).values;
  assert.deepEqual(row({ sum_host: '10.0.0.1' }), { sum_host: '10.0.0.1' });
  assert.deepEqual(row({ sum_net: '10.5.0.0/16' }), { sum_net: '10.5.0.0' });
  assert.deepEqual(row({ sum_port: 443 }), { sum_port: 443 });
  assert.deepEqual(row({ sum_as: 64512 }), { sum_as: 64512 });
  assert.throws(() => row({ sum_port: 70000 }), /field "sum_port": expected an integer 0-65535/);
  assert.throws(() => row({ sum_host: 'x' }), /field "sum_host": expected an IPv4 or IPv6 address/);
});
