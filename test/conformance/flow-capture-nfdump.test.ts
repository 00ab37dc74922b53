// Conformance with nfdump (Debian nfdump 1.7 and nfdump-sflow, installed by .ci/run), a second
// independent decoder: every fixture's export datagrams are sent to a real nfcapd (sFlow: sfcapd)
// over UDP on loopback (Debian's collectors cannot read pcap files), `nfdump -o json` prints what it stored, and
// flow-capture -r must give the same records in the same order: exporter, addresses, ports,
// protocol, bytes, packets, ToS, TCP flags, interfaces, AS numbers, masks, and start/end times
// to the millisecond (nfdump keeps ms) where nfdump decodes them right.
//
// Where nfdump 1.7.1 gets times wrong (tshark, flow-capture-tshark.test.ts, agrees with us):
// - IPFIX sysUpTime-relative times with systemInitTime in options data: first and last swapped;
// - IPFIX flowStart/EndMicroseconds (NTP format): not decoded, printed as 1970;
// - NetFlow v9 FIRST/LAST_SWITCHED ahead of sysUpTime: added without the 2^32 ms uptime wrap,
//   giving flows 49.7 days in the future.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { captureRecords } from '../helpers/capture.js';
import { ROOT } from '../helpers/spawn.js';
import { nfdumpJson } from '../helpers/nfcapd.js';
import { protoNumber } from '../../lib/flow/proto.js';

const test = testNeeding('nfcapd', 'sfcapd', 'nfdump');

interface Fixture {
  name: string;
  /** nfcapd for NetFlow/IPFIX, sfcapd (Debian nfdump-sflow) for sFlow. */
  collector: 'nfcapd' | 'sfcapd';
  /** Whether nfdump's times can be compared (see above). */
  times: boolean;
  /** flow-capture's exit status: 65 where the capture holds a malformed datagram. */
  exit?: number;
}

// sFlow: no flow times (both sides use the receive time: nfdump the replay's, flow-capture the
// capture's); nfdump names the UDP source as the exporter, flow-capture (as goflow2) the agent.
const FIXTURES: readonly Fixture[] = [
  { name: 'softflowd-v5.pcap', collector: 'nfcapd', times: true },
  { name: 'softflowd-v9.pcap', collector: 'nfcapd', times: true },
  { name: 'softflowd-ipfix.pcap', collector: 'nfcapd', times: false },
  { name: 'softflowd-ipfix-ms.pcap', collector: 'nfcapd', times: true },
  { name: 'softflowd-ipfix-us.pcap', collector: 'nfcapd', times: false },
  { name: 'pmacct-v5.pcap', collector: 'nfcapd', times: true },
  { name: 'pmacct-v9.pcap', collector: 'nfcapd', times: true },
  { name: 'pmacct-v10.pcap', collector: 'nfcapd', times: true },
  { name: 'pmacct-sampled-v9.pcap', collector: 'nfcapd', times: true },
  { name: 'pmacct-sampled-v10.pcap', collector: 'nfcapd', times: true },
  { name: 'live-v5.pcap', collector: 'nfcapd', times: true },
  { name: 'live-v9.pcap', collector: 'nfcapd', times: false },
  { name: 'live-ipfix.pcap', collector: 'nfcapd', times: false },
  { name: 'nfreplay-v5.pcap', collector: 'nfcapd', times: true },
  { name: 'nfreplay-v9.pcap', collector: 'nfcapd', times: true },
  { name: 'fprobe-v1.pcap', collector: 'nfcapd', times: true },
  { name: 'fprobe-v7.pcap', collector: 'nfcapd', times: true },
  { name: 'sflow-v4.pcap', collector: 'sfcapd', times: false },
  { name: 'sflow-v6.pcap', collector: 'sfcapd', times: false, exit: 65 },
];

type NfdumpRecord = Record<string, string | number | undefined>;

/** What nfcapd (sfcapd) stores of the capture, as `nfdump -o json` prints it. */
async function nfdumpRecords(file: string, collector: Fixture['collector']): Promise<NfdumpRecord[]> {
  return JSON.parse(await nfdumpJson(file, collector, 'UTC')) as NfdumpRecord[]; // it prints local time
}

/** nfdump's "...AP.S." flag text → the TCP flags byte. */
function tcpFlags(text: string | number | undefined): number {
  if (typeof text !== 'string') return 0;
  let v = 0;
  for (let i = 0; i < 8; i++) if (text[i] !== '.') v |= 1 << (7 - i);
  return v;
}

/** nfdump's time text (run with TZ=UTC) with ms → ms since the epoch. */
const ms = (text: string | number | undefined): number => Date.parse(`${String(text)}Z`);

const maskOf = (net: string): number => Number(net.slice(net.indexOf('/') + 1));

for (const { name, collector, times, exit = 0 } of FIXTURES) {
  test(`${name}: flow-capture and nfdump (${collector}) agree on every record`, async () => {
    const file = `${ROOT}test/fixtures/${name}`;
    const theirs = await nfdumpRecords(file, collector);
    const ours = (await captureRecords([file], exit)).records;
    assert.ok(theirs.length > 0, 'nfdump found flows');
    assert.equal(ours.length, theirs.length, 'same number of records');
    ours.forEach((o, i) => {
      const e = theirs[i]!;
      const at = `${name} record ${i + 1}`;
      const num = (k: string): number => (e[k] === undefined ? 0 : Number(e[k]));
      const proto = protoNumber(o.proto);
      if (collector === 'nfcapd') assert.equal(o.sampler_address, e.ip4_router ?? e.ip6_router, `${at}: exporter`);
      assert.equal(o.src_addr, e.src4_addr ?? e.src6_addr, `${at}: src_addr`);
      assert.equal(o.dst_addr, e.dst4_addr ?? e.dst6_addr, `${at}: dst_addr`);
      assert.equal(proto, num('proto'), `${at}: proto`);
      // nfdump shows ICMP type/code instead of ports; flow-capture passes the port fields through
      if (proto !== 1 && proto !== 58) {
        assert.equal(o.src_port, num('src_port'), `${at}: src_port`);
        assert.equal(o.dst_port, num('dst_port'), `${at}: dst_port`);
      }
      assert.equal(o.bytes, num('in_bytes'), `${at}: bytes`);
      assert.equal(o.packets, num('in_packets'), `${at}: packets`);
      assert.equal(o.ip_tos, num('src_tos'), `${at}: ip_tos`);
      assert.equal(o.tcp_flags & 0xff, tcpFlags(e.tcp_flags), `${at}: tcp_flags`);
      assert.equal(o.in_if, num('input_snmp'), `${at}: in_if`);
      assert.equal(o.out_if, num('output_snmp'), `${at}: out_if`);
      assert.equal(o.src_as, num('src_as'), `${at}: src_as`);
      assert.equal(o.dst_as, num('dst_as'), `${at}: dst_as`);
      assert.equal(maskOf(o.src_net), num('src_mask'), `${at}: src mask`);
      assert.equal(maskOf(o.dst_net), num('dst_mask'), `${at}: dst mask`);
      if (times) {
        // nfdump keeps ms; v9 headers carry whole seconds, so either side may round the other way
        assert.ok(
          Math.abs(Math.floor(o.time_flow_start_ns / 1e6) - ms(e.first)) <= 1,
          `${at}: start ${o.time_flow_start_ns} vs nfdump ${String(e.first)}`,
        );
        assert.ok(
          Math.abs(Math.floor(o.time_flow_end_ns / 1e6) - ms(e.last)) <= 1,
          `${at}: end ${o.time_flow_end_ns} vs nfdump ${String(e.last)}`,
        );
      }
    });
  });
}
