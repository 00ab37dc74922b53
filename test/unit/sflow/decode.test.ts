// sFlow v5 decoder: hand-built datagrams for every record kind we read (built field by field from
// sflow_version_5.txt), the real pmacct captures, malformed and fuzzed input (never a throw).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { FlowDecoder } from '../../../lib/decode/decoder.js';
import { Log } from '../../../lib/cli/log.js';
import type { Datagram } from '../../../lib/capture/datagram.js';
import type { FlowRecord } from '../../../lib/flow/record.js';
import { SflowDecoder } from '../../../lib/sflow/decode.js';
import { counterToJson, type CounterSample } from '../../../lib/sflow/counters.js';
import { flowToJson } from '../../../lib/flow/record.js';
import { captureDatagrams } from '../../helpers/udp-replay.js';
import { ROOT } from '../../helpers/spawn.js';
import { rngInt } from '../../helpers/prng.js';

/** XDR builder: big-endian u32 words, addresses, opaque data padded to 4. */
class X {
  parts: Buffer[] = [];
  u32(...vs: number[]): this {
    for (const v of vs) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v >>> 0);
      this.parts.push(b);
    }
    return this;
  }
  u64(v: number): this {
    return this.u32(Math.floor(v / 2 ** 32), v % 2 ** 32);
  }
  bytes(b: Buffer | number[]): this {
    const buf = Buffer.from(b);
    this.parts.push(buf);
    if (buf.length % 4) this.parts.push(Buffer.alloc(4 - (buf.length % 4)));
    return this;
  }
  ip4(a: string): this {
    return this.bytes(a.split('.').map(Number));
  }
  get buf(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function record(tag: number, body: Buffer): Buffer {
  return new X().u32(tag, body.length).bytes(body).buf;
}

function datagram(samples: Buffer[], seq = 7, agentV6 = false): Buffer {
  const x = new X().u32(5);
  if (agentV6) x.u32(2).bytes([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
  else x.u32(1).ip4('192.0.2.10');
  x.u32(3, seq, 123456, samples.length);
  for (const s of samples) x.bytes(s);
  return x.buf;
}

function harness(counters?: (c: CounterSample) => void) {
  const messages: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (messages.push(String(c)), cb()) });
  const sf = new SflowDecoder(counters ? { onCounters: counters } : {});
  const fd = new FlowDecoder({ rejects: new Log('t', sink, {}), sflow: (d, v, e, c) => sf.decode(d, v, e, c) });
  const records: FlowRecord[] = [];
  const feed = (payload: Buffer, receivedNs = 1_700_000_000_000_000_000): void =>
    fd.decode(
      {
        payload,
        exporter: '198.51.100.1',
        exporterPort: 6343,
        receivedNs,
        source: 'udp',
        packetNo: 0,
        offset: -1,
      } as Datagram,
      (r) => records.push(r),
    );
  return { sf, fd, records, messages, feed };
}

// An Ethernet + 802.1Q + IPv4 + TCP header as a switch would sample it (cut at 64 bytes).
function ethVlanTcp(): Buffer {
  const eth = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
  ];
  const ip = [0x45, 0xb8, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x3f, 0x06, 0, 0, 10, 1, 2, 3, 203, 0, 113, 9];
  const tcp = [0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0];
  return Buffer.from([...eth, ...ip, ...tcp, ...new Array(64 - eth.length - ip.length - tcp.length).fill(0)]);
}

test('flow sample with an Ethernet/VLAN/IPv4/TCP header and extended switch, router, gateway records', () => {
  const hdr = ethVlanTcp();
  const raw = new X().u32(1, 1518, 4, hdr.length).bytes(hdr).buf;
  const sw = new X().u32(100, 0, 200, 0).buf;
  const router = new X().u32(1).ip4('10.1.2.254').u32(16, 24).buf;
  const gw = new X()
    .u32(1)
    .ip4('192.0.2.254')
    .u32(64500, 64501, 64502)
    .u32(2) // segments
    .u32(2, 2, 64510, 64511) // AS_SEQUENCE of 2
    .u32(1, 1, 64999) // AS_SET of 1
    .u32(2, 0xfde80001, 0xfde80002) // communities
    .u32(100).buf; // localpref
  const sample = new X()
    .u32(42, (0 << 24) | 5, 1024, 99999, 3, 5, 7, 4)
    .bytes(record(1, raw))
    .bytes(record(1001, sw))
    .bytes(record(1002, router))
    .bytes(record(1003, gw)).buf;
  const h = harness();
  h.feed(datagram([record(1, sample)]));
  assert.equal(h.records.length, 1);
  const r = h.records[0]!;
  assert.deepEqual(
    { ...r },
    {
      type: 'SFLOW_5',
      time_received_ns: 1_700_000_000_000_000_000,
      sequence_num: 7,
      sampling_rate: 1024,
      sampler_address: '192.0.2.10',
      time_flow_start_ns: 1_700_000_000_000_000_000,
      time_flow_end_ns: 1_700_000_000_000_000_000,
      bytes: 1518,
      packets: 1,
      src_addr: '10.1.2.3',
      dst_addr: '203.0.113.9',
      etype: 0x0800,
      proto: 6,
      src_port: 50000,
      dst_port: 443,
      in_if: 5,
      out_if: 7,
      ip_tos: 0xb8,
      tcp_flags: 0x18,
      src_as: 64501,
      dst_as: 64999,
      next_hop: '10.1.2.254',
      src_net: '10.1.0.0/16',
      dst_net: '203.0.113.0/24',
      src_mac: '66:77:88:99:aa:bb',
      dst_mac: '00:11:22:33:44:55',
      vlan_id: 100,
      src_vlan: 100,
      dst_vlan: 200,
      ip_ttl: 63,
      ip_flags: 2,
      fragment_id: 0x1234,
      fragment_offset: 0,
      bgp_next_hop: '192.0.2.254',
      bgp_communities: [0xfde80001, 0xfde80002],
      as_path: [64510, 64511, 64999],
      next_hop_as: 64510,
    },
  );
  // and it serialises to valid JSON
  assert.equal(JSON.parse(flowToJson(r)).proto, 'TCP');
});

test('expanded flow sample with a sampled IPv6 record, IPv6 agent; gateway without a path uses its own AS', () => {
  const v6 = new X()
    .u32(1280, 17)
    .bytes([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    .bytes([0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
    .u32(5353, 53, 0, 0x20).buf;
  const gw = new X().u32(0).u32(65000, 0, 0, 0, 0, 0).buf;
  const sample = new X().u32(9, 0, 77, 512, 1000, 0, 0, 11, 0, 12, 2).bytes(record(4, v6)).bytes(record(1003, gw)).buf;
  const h = harness();
  h.feed(datagram([record(3, sample)], 1, true));
  const r = h.records[0]!;
  assert.equal(r.sampler_address, '2001:db8::10');
  assert.equal(r.sampling_rate, 512);
  assert.equal(r.in_if, 11);
  assert.equal(r.out_if, 12);
  assert.equal(r.src_addr, '2001:db8:1::1');
  assert.equal(r.dst_addr, '2001:db8:2::2');
  assert.equal(r.etype, 0x86dd);
  assert.equal(r.proto, 17);
  assert.equal(r.bytes, 1280);
  assert.equal(r.ip_tos, 0x20);
  assert.equal(r.src_port, 5353);
  assert.equal(r.dst_as, 65000);
  assert.equal(r.src_as, 65000);
  assert.equal(r.src_net, '::/0');
});

test('counter samples are counted, and emitted as SFLOW_5_COUNTERS only when asked', () => {
  const generic = new X()
    .u32(4, 6)
    .u64(10_000_000_000)
    .u32(1, 3)
    .u64(2 ** 40 + 5)
    .u32(1, 2, 3, 4, 5, 6)
    .u64(777)
    .u32(7, 8, 9, 10, 11, 1).buf;
  const eth = new X().u32(...Array.from({ length: 13 }, (_, i) => i)).buf;
  const vendor = new X().u32(1, 2, 3).buf;
  const cs = new X()
    .u32(17, 4, 3)
    .bytes(record(1, generic))
    .bytes(record(2, eth))
    .bytes(record((9 << 12) | 5, vendor)).buf;
  const got: CounterSample[] = [];
  const h = harness((c) => got.push(c));
  h.feed(datagram([record(2, cs)]));
  assert.equal(h.records.length, 0);
  assert.equal(h.sf.stats.counterSamples, 1);
  assert.equal(got.length, 1);
  const c = JSON.parse(counterToJson(got[0]!));
  assert.equal(c.type, 'SFLOW_5_COUNTERS');
  assert.equal(c.sampler_address, '192.0.2.10');
  assert.equal(c.sub_agent_id, 3);
  assert.equal(c.source_id_index, 4);
  assert.equal(c.if_index, 4);
  assert.equal(c.if_speed, 10_000_000_000);
  assert.equal(c.if_in_octets, 2 ** 40 + 5);
  assert.equal(c.if_out_octets, 777);
  assert.equal(c.if_promiscuous_mode, 1);
  assert.equal(c.dot3_stats_symbol_errors, 12);
  assert.deepEqual(c.other_records, ['9:5/12']);
  const quiet = harness();
  quiet.feed(datagram([record(2, cs)]));
  assert.equal(quiet.sf.stats.counterSamples, 1);
});

test('malformed datagrams are rejected by reason, records before the fault are kept, nothing throws', () => {
  const hdr = ethVlanTcp();
  const good = record(
    1,
    new X().u32(1, 0, 1, 1, 0, 1, 2, 1).bytes(record(1, new X().u32(1, 100, 0, hdr.length).bytes(hdr).buf)).buf,
  );
  const cases: Array<[string, Buffer, RegExp]> = [
    ['short', Buffer.from([0, 0, 0, 5, 0, 0]), /shorter than an sFlow header/],
    ['bad agent type', new X().u32(5, 9, 0, 0, 0, 0, 0).buf, /agent address type 9/],
    ['too many samples', new X().u32(5, 1, 0, 0, 1, 0, 0xffffffff).buf, /4294967295 samples announced/],
    [
      'sample longer than datagram',
      Buffer.concat([datagram([good]).subarray(0, 28), new X().u32(1, 5000).buf]),
      /length 5000 exceeds/,
    ],
    [
      'record longer than sample',
      datagram([good, record(1, new X().u32(1, 0, 1, 1, 0, 1, 2, 1).u32(1, 999).buf)]),
      /flow record 1 of 1: length 999 exceeds/,
    ],
    [
      'AS path count huge',
      datagram([
        good,
        record(
          1,
          new X()
            .u32(1, 0, 1, 1, 0, 1, 2, 1)
            .bytes(record(1003, new X().u32(1).ip4('1.2.3.4').u32(1, 2, 3, 0x7fffffff).buf)).buf,
        ),
      ]),
      /AS path segments announced/,
    ],
  ];
  for (const [name, payload, reason] of cases) {
    const h = harness();
    assert.doesNotThrow(() => h.feed(payload), name);
    assert.equal(h.fd.stats.rejected, 1, name);
    assert.match(h.messages.join(''), reason, name);
    assert.ok(
      [...h.fd.stats.rejects.keys()].every((k) => k.startsWith('sflow ')),
      `${name}: counted under an sflow reason`,
    );
    if (name === 'record longer than sample' || name === 'AS path count huge')
      assert.equal(h.records.length, 1, `${name}: the good sample before it is kept`);
  }
});

test('datagram sequence gaps per agent and sub-agent count as upstream loss', () => {
  const h = harness();
  for (const seq of [1, 2, 5, 6]) h.feed(datagram([], seq));
  assert.equal(h.fd.stats.sequenceGaps, 1);
  assert.equal(h.fd.stats.sequenceMissing, 2);
});

test('the real pmacct captures decode; every truncation and byte flip of them is survived', async () => {
  for (const f of ['sflow-v4.pcap', 'sflow-v6.pcap']) {
    const dgs = await captureDatagrams(`${ROOT}test/fixtures/${f}`);
    const h = harness();
    for (const d of dgs) h.feed(d.payload);
    assert.ok(h.records.length > 50, f);
    const p = dgs[1]!.payload;
    const rnd = rngInt(12345);
    for (let cut = 0; cut < p.length; cut += 3) assert.doesNotThrow(() => h.feed(p.subarray(0, cut)));
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(p);
      b[rnd(b.length)] = rnd(256);
      b[rnd(b.length)] = rnd(256);
      assert.doesNotThrow(() => h.feed(b));
    }
    assert.ok(!h.messages.join('').includes('internal error'), 'no decoder bug surfaced as an internal error');
  }
});

test('an IPv4-mapped IPv6 agent address is shown as IPv4 (goflow2 unmaps the sampler)', () => {
  const v4 = new X().u32(1500, 6).ip4('10.0.0.1').ip4('10.0.0.2').u32(1, 2, 0x12, 0).buf;
  const sample = new X().u32(1, 1, 100, 100, 0, 1, 2, 1).bytes(record(3, v4)).buf;
  const x = new X()
    .u32(5, 2)
    .bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 77])
    .u32(0, 1, 0, 1)
    .bytes(record(1, sample));
  const h = harness();
  h.feed(x.buf);
  assert.equal(h.records[0]!.sampler_address, '192.0.2.77');
  assert.equal(h.records[0]!.tcp_flags, 0x12);
  assert.equal(h.records[0]!.bytes, 1500);
});
