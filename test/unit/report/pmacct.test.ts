// Formatting units of the pmacct tables; the byte-exact comparison with pmacct itself is
// test/e2e/flow-report-pmacct.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PmacctFormatter, HcdTableFormatter, isEmptyEntry } from '../../../lib/report/pmacct.js';
import { rowFromAggregate, rowFromFlow, PMACCT_PROTOCOLS } from '../../../lib/report/record.js';
import { flowFromObject } from '../../../lib/flow/record.js';

test("columns follow pmacct's canonical order, not the order given", () => {
  const f = new PmacctFormatter({ primitives: ['dst_mask', 'dst_net', 'src_host'], flows: false });
  assert.match(f.header(), /^SRC_IP {41}DST_NET {40}DST_MASK  PACKETS {15}BYTES$/);
  assert.equal(f.csvHeader(), 'SRC_IP,DST_NET,DST_MASK,PACKETS,BYTES');
});

test('an unset address prints 0 in the table, "" in csv and json; FLOWS only when asked', () => {
  const r = rowFromAggregate({ peer_dst_ip: '', src_host: '10.0.0.1', proto: 'tcp', packets: 2, bytes: 30, flows: 1 });
  const f = new PmacctFormatter({ primitives: ['peer_dst_ip', 'src_host', 'proto'], flows: true });
  assert.equal(
    f.row(r),
    `${'0'.padEnd(47)}${'10.0.0.1'.padEnd(47)}${'tcp'.padEnd(12)}${'2'.padEnd(22)}${'1'.padEnd(22)}30`,
  );
  assert.equal(f.csvRow(r), ',10.0.0.1,tcp,2,1,30');
  assert.equal(
    f.jsonRow(r),
    '{"peer_ip_dst": "", "ip_src": "10.0.0.1", "ip_proto": "tcp", "packets": 2, "flows": 1, "bytes": 30}',
  );
});

test("pmacct protocol names are pmacct's, not IANA's", () => {
  assert.equal(PMACCT_PROTOCOLS[89], 'ospf');
  assert.equal(PMACCT_PROTOCOLS[108], 'IPcomp');
  assert.equal(PMACCT_PROTOCOLS[0], '0');
  assert.equal(PMACCT_PROTOCOLS[200], '200');
  const r = rowFromAggregate({ proto: 'OSPFIGP', tcpflags: 27, etype: 'IPv6', packets: 1, bytes: 1, flows: 1 });
  const f = new PmacctFormatter({ primitives: ['proto', 'tcpflags', 'etype'], flows: false });
  assert.equal(f.jsonRow(r), '{"etype": "86dd", "tcp_flags": "27", "ip_proto": "ospf", "packets": 1, "bytes": 1}');
  assert.equal(
    new PmacctFormatter({ primitives: ['proto'], flows: false, numericProtocols: true }).jsonRow(r),
    '{"ip_proto": 89, "packets": 1, "bytes": 1}',
  );
});

test('all-zero entries are skipped like pmacct; 0.0.0.0 is an address, not empty', () => {
  const zero = rowFromAggregate({ src_as: 0, in_iface: 0, packets: 1, bytes: 1, flows: 1 });
  assert.equal(isEmptyEntry(zero, ['src_as', 'in_iface']), true);
  const net = rowFromAggregate({ dst_net: '0.0.0.0', dst_mask: 0, packets: 1, bytes: 1, flows: 1 });
  assert.equal(isEmptyEntry(net, ['dst_net', 'dst_mask']), false);
});

test('a CIDR net carries its mask; host bits are cleared', () => {
  const r = rowFromAggregate({ dst_net: '10.5.1.7/16', packets: 1, bytes: 1, flows: 1 });
  assert.equal(r.values.dst_net, '10.5.0.0');
  assert.equal(r.values.dst_mask, 16);
});

test('hcd-table puts the net under the address column', () => {
  const h = new HcdTableFormatter(['src_net', 'src_mask', 'dst_host']);
  assert.deepEqual(h.header().split(/\s+/), ['SRC_IP', 'DST_IP', 'SRC_MASK', 'PACKETS', 'BYTES']);
  assert.throws(() => new HcdTableFormatter(['src_host', 'src_net']), /share the SRC_IP column/);
  assert.throws(() => new HcdTableFormatter(['src_port']), /only src\/dst host, net and mask/);
});

test('a flow becomes a one-flow row with its time span', () => {
  const r = rowFromFlow(
    flowFromObject({
      src_addr: '10.0.0.1',
      dst_addr: '10.0.0.2',
      bytes: 100,
      packets: 2,
      time_flow_start_ns: 1_700_000_000_500_000_000,
      time_flow_end_ns: 1_700_000_002_000_000_000,
      src_net: '10.0.0.0/8',
    }),
  );
  assert.equal(r.flows, 1);
  assert.equal(r.time_start, 1_700_000_000);
  assert.equal(r.time_end, 1_700_000_002);
  assert.equal(r.duration_ms, 1500);
  assert.equal(r.values.src_net, '10.0.0.0');
  assert.equal(r.values.src_mask, 8);
});
