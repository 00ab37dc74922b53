// Conformance: every softflowd fixture (test/fixtures/make-fixtures.sh) decoded by tshark's cflow
// dissector (Wireshark, an independent decoder; Debian package tshark, installed by .ci/run) and
// by flow-capture must give the same records, in the same order, field by field. Nothing expected
// is written down here: both sides are computed when the test runs.
//
// Time arithmetic on tshark's side (tshark prints header and field values, not flow times):
//   v5, v9   start = header time (unix_secs[.nsecs]) - sysUpTime + FIRST_SWITCHED (RFC 3954 §5.2)
//   IPFIX    start = systemInitTimeMilliseconds (options data) + FIRST_SWITCHED, or the absolute
//            flowStart{Milli,Micro}seconds tshark prints (RFC 7011 §6.1.7-9, RFC 5102)
// Times are compared to 1 µs: flow-capture keeps ns in doubles (~256 ns steps near 2024), tshark
// prints exact ns.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { captureRecords } from '../helpers/capture.js';
import { ROOT } from '../helpers/spawn.js';

const test = testNeeding('tshark');

/** Fixture → the UDP port it was exported to (make-fixtures.sh). */
const FIXTURES: ReadonlyArray<readonly [string, number]> = [
  ['softflowd-v5.pcap', 9995],
  ['softflowd-v9.pcap', 2055],
  ['softflowd-ipfix.pcap', 4739],
  ['softflowd-ipfix-ms.pcap', 4740],
  ['softflowd-ipfix-us.pcap', 4741],
  ['pmacct-v5.pcap', 2105],
  ['pmacct-v9.pcap', 2109],
  ['pmacct-v10.pcap', 2110],
  ['pmacct-sampled-v9.pcap', 2409],
  ['pmacct-sampled-v10.pcap', 2410],
  ['nfreplay-v5.pcap', 2200],
  ['nfreplay-v9.pcap', 2200],
  ['fprobe-v1.pcap', 2301],
  ['fprobe-v7.pcap', 2307],
];

type Obj = { [k: string]: string | Obj };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tshark's absolute time "Jan 15, 2024 12:00:06.262454000 UTC" → ns since the epoch (exact). */
function absNs(text: string): bigint {
  const m = /^([A-Z][a-z]{2}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{9}) UTC$/.exec(text);
  assert.ok(m, `tshark time "${text}"`);
  const s =
    Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  return BigInt(s) * 1_000_000_000n + BigInt(m[7]!);
}

/** tshark's relative time / epoch "6.241000000" → ns (exact). */
function relNs(text: string): bigint {
  const [s, f = ''] = text.split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
}

interface Expected {
  exporter: string;
  received: bigint;
  sequence: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  bytes: number;
  packets: number;
  start: bigint;
  end: bigint;
  tcpFlags: number;
  tos: number;
  inIf: number;
  outIf: number;
}

/** Walk tshark's JSON for one capture and build the flow records it shows. */
function tsharkRecords(file: string, port: number): Expected[] {
  const json = execFileSync('tshark', ['-r', file, '-n', '-d', `udp.port==${port},cflow`, '-T', 'json'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const frames = JSON.parse(json) as Array<{ _source: { layers: Obj } }>;
  const out: Expected[] = [];
  let sysInit: bigint | undefined; // IPFIX systemInitTimeMilliseconds from options data (per exporter here: one)
  for (const f of frames) {
    const layers = f._source.layers;
    const frame = layers.frame as Obj;
    const ip = layers.ip as Obj;
    const cf = layers.cflow as Obj;
    const version = Number(cf['cflow.version']);
    const header = absNs(cf['cflow.timestamp'] as string);
    const uptime = cf['cflow.sysuptime'] === undefined ? undefined : relNs(cf['cflow.sysuptime'] as string);
    const sequence = Number(cf['cflow.sequence'] ?? 0); // v1 has none
    const flows: Obj[] = [];
    const walk = (o: Obj): void => {
      if (typeof o['cflow.sys_init_time'] === 'string') sysInit = absNs(o['cflow.sys_init_time']);
      if (o['cflow.srcaddr'] !== undefined || o['cflow.srcaddrv6'] !== undefined) {
        flows.push(o);
        return;
      }
      for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
    };
    walk(cf);
    for (const r of flows) {
      const times = (r['cflow.timedelta_tree'] ?? r['cflow.abstimedelta_tree'] ?? r) as Obj;
      // tshark shows a relative FIRST_SWITCHED of 0 as the absolute time "Jan  1, 1970 00:00:00",
      // so a record is relative when either of its times is; an absolute-looking value then is
      // its offset from the epoch (0).
      const relative = times['cflow.timestart'] !== undefined || times['cflow.timeend'] !== undefined;
      const time = (k: 'start' | 'end'): bigint => {
        const rel = times[`cflow.time${k}`];
        const abs = times[`cflow.abstime${k}`] ?? r[`cflow.abstime${k}`];
        return typeof rel === 'string' ? relNs(rel) : absNs(abs as string);
      };
      let start = time('start');
      let end = time('end');
      if (relative && version === 10) {
        assert.ok(sysInit !== undefined, 'IPFIX relative times come with systemInitTime');
        start += sysInit;
        end += sysInit;
      } else if (relative) {
        // FIRST/LAST_SWITCHED - sysUpTime as a signed 32-bit ms difference (the uptime may have
        // wrapped past 2^32 ms since the flow began), as flow-capture, pmacct and goflow2 take
        // it; tshark adds them without a wrap. Seen with pmacctd's nfprobe on an old capture.
        start = header + wrapMs(start - uptime!);
        end = header + wrapMs(end - uptime!);
      }
      const num = (k: string): number => (r[k] === undefined ? 0 : Number(r[k] as string));
      out.push({
        exporter: ip['ip.src'] as string,
        received: relNs(frame['frame.time_epoch'] as string),
        sequence,
        src: (r['cflow.srcaddr'] ?? r['cflow.srcaddrv6']) as string,
        dst: (r['cflow.dstaddr'] ?? r['cflow.dstaddrv6']) as string,
        srcPort: num('cflow.srcport'),
        dstPort: num('cflow.dstport'),
        proto: num('cflow.protocol'),
        bytes: num('cflow.octets'),
        packets: num('cflow.packets'),
        start,
        end,
        tcpFlags: num('cflow.tcpflags'),
        tos: num('cflow.tos'),
        inIf: num('cflow.inputint'),
        outIf: num('cflow.outputint'),
      });
    }
  }
  return out;
}

const WRAP_NS = 4294967296n * 1_000_000n;

/** A difference of 32-bit ms counters (in ns) brought into [-2^31, 2^31) ms. */
function wrapMs(diff: bigint): bigint {
  const r = ((diff % WRAP_NS) + WRAP_NS) % WRAP_NS;
  return r >= WRAP_NS / 2n ? r - WRAP_NS : r;
}

function near(ours: number, theirs: bigint, what: string): void {
  const diff = BigInt(Math.round(ours)) - theirs;
  assert.ok(diff <= 1000n && diff >= -1000n, `${what}: flow-capture ${ours} vs tshark ${theirs} (off by ${diff} ns)`);
}

for (const [name, port] of FIXTURES) {
  test(`${name}: flow-capture and tshark agree on every record`, async () => {
    const file = `${ROOT}test/fixtures/${name}`;
    const expected = tsharkRecords(file, port);
    const ours = (await captureRecords([file])).records;
    assert.ok(expected.length > 0, 'tshark found flows');
    assert.equal(ours.length, expected.length, 'same number of records');
    ours.forEach((o, i) => {
      const e = expected[i]!;
      const at = `${name} record ${i + 1}`;
      assert.equal(o.sampler_address, e.exporter, `${at}: exporter`);
      near(o.time_received_ns, e.received, `${at}: receive time`);
      assert.equal(o.sequence_num, e.sequence, `${at}: sequence`);
      assert.equal(o.src_addr, e.src, `${at}: src_addr`);
      assert.equal(o.dst_addr, e.dst, `${at}: dst_addr`);
      assert.equal(o.proto, e.proto, `${at}: proto`);
      assert.equal(o.src_port, e.srcPort, `${at}: src_port`);
      assert.equal(o.dst_port, e.dstPort, `${at}: dst_port`);
      assert.equal(o.bytes, e.bytes, `${at}: bytes`);
      assert.equal(o.packets, e.packets, `${at}: packets`);
      near(o.time_flow_start_ns, e.start, `${at}: start`);
      near(o.time_flow_end_ns, e.end, `${at}: end`);
      assert.equal(o.tcp_flags, e.tcpFlags, `${at}: tcp_flags`);
      assert.equal(o.ip_tos, e.tos, `${at}: ip_tos`);
      assert.equal(o.in_if, e.inIf, `${at}: in_if`);
      assert.equal(o.out_if, e.outIf, `${at}: out_if`);
    });
  });
}
