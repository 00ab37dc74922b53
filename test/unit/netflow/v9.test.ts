import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, decoder, dgram, set, v9 } from './helpers.js';

const UPTIME = 100_000;
const SECS = 1_700_000_000;

// template 256: a typical IPv4 router template
const T256: [number, number][] = [
  [8, 4],
  [12, 4],
  [15, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [5, 1],
  [6, 1],
  [10, 2],
  [14, 2],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
  [9, 1],
  [13, 1],
  [16, 4],
  [17, 4],
  [18, 4],
  [56, 6],
  [80, 6],
  [58, 2],
  [59, 2],
  [61, 1],
  [89, 1],
  [32, 2],
  [52, 1],
  [99, 3], // 99: unknown, skipped by length
];

function tmpl(id: number, fields: [number, number][]): Bytes {
  const b = new Bytes().u16(id, fields.length);
  for (const [t, l] of fields) b.u16(t, l);
  return b;
}

function rec256(b: Bytes, i: number): Bytes {
  return b
    .ip4(`10.1.0.${i}`)
    .ip4('198.51.100.9')
    .ip4('10.1.255.254')
    .u16(50000 + i, 80)
    .u8(6, 0x10, 0x12)
    .u16(7, 9)
    .u32(12345 + i, 17 + i, UPTIME - 30000, UPTIME - 2000)
    .u8(16, 28)
    .u32(65001, 65002)
    .ip4('203.0.113.1')
    .raw([0, 0x11, 0x22, 0x33, 0x44, 0x55])
    .raw([0, 0xaa, 0xbb, 0xcc, 0xdd, 0xee])
    .u16(100, 200)
    .u8(1, 0x40)
    .u16(0x0303)
    .u8(63)
    .u8(1, 2, 3);
}

function data256(n: number, pad = 4): Buffer {
  const b = new Bytes();
  for (let i = 1; i <= n; i++) rec256(b, i);
  return set(256, b, pad);
}

test('v9: template then data in one datagram, every field, padding after the set', () => {
  const { dec, run } = decoder();
  const recs = run(v9([set(0, tmpl(256, T256)), data256(2)], { uptime: UPTIME, secs: SECS, seq: 42, source: 7 }));
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0], {
    type: 'NETFLOW_V9',
    time_received_ns: 1700000000500000000,
    sequence_num: 42,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: SECS * 1e9 - 30000 * 1e6,
    time_flow_end_ns: SECS * 1e9 - 2000 * 1e6,
    bytes: 12346,
    packets: 18,
    src_addr: '10.1.0.1',
    dst_addr: '198.51.100.9',
    etype: 0x800,
    proto: 6,
    src_port: 50001,
    dst_port: 80,
    in_if: 7,
    out_if: 9,
    ip_tos: 0x10,
    tcp_flags: 0x12,
    src_as: 65001,
    dst_as: 65002,
    next_hop: '10.1.255.254',
    src_net: '10.1.0.0/16',
    dst_net: '198.51.100.0/28',
    src_mac: '00:11:22:33:44:55',
    dst_mac: '00:aa:bb:cc:dd:ee',
    src_vlan: 100,
    vlan_id: 100,
    dst_vlan: 200,
    flow_direction: 1,
    forwarding_status: 0x40,
    icmp_type: 3,
    icmp_code: 3,
    ip_ttl: 63,
    bgp_next_hop: '203.0.113.1',
    observation_domain_id: 7,
  });
  assert.equal(dec.stats.templatesAdded, 1);
  assert.equal(dec.stats.rejected, 0);
  assert.equal(dec.templates.get('192.0.2.1', 9, 7, 256)?.fields.length, T256.length);
});

test('v9: IPv6 template with v6 masks and next hop', () => {
  const t = tmpl(300, [
    [27, 16],
    [28, 16],
    [29, 1],
    [30, 1],
    [62, 16],
    [63, 16],
    [31, 3],
    [1, 8],
    [2, 8],
    [4, 1],
  ]);
  const b = new Bytes()
    .ip6('2001:db8:1::5')
    .ip6('2001:db8:ffff::1')
    .u8(48, 64)
    .ip6('fe80::1')
    .ip6('2001:db8::bb')
    .u8(0, 0x12, 0x34)
    .u64(5000000000n)
    .u64(7n)
    .u8(17);
  const { run } = decoder();
  const [r] = run(v9([set(0, t), set(300, b)]));
  assert.ok(r);
  assert.equal(r.etype, 0x86dd);
  assert.equal(r.src_addr, '2001:db8:1::5');
  assert.equal(r.dst_addr, '2001:db8:ffff::1');
  assert.equal(r.src_net, '2001:db8:1::/48');
  assert.equal(r.dst_net, '2001:db8:ffff::/64');
  assert.equal(r.next_hop, 'fe80::1');
  assert.equal(r.bgp_next_hop, '2001:db8::bb');
  assert.equal(r.ipv6_flow_label, 0x1234);
  assert.equal(r.bytes, 5000000000);
  assert.equal(r.proto, 17);
  // no times in the template: the export time
  assert.equal(r.time_flow_start_ns, SECS * 1e9);
});

test('v9: templates are keyed per source id (same id, different layouts)', () => {
  const { run } = decoder();
  const a = tmpl(256, [
    [8, 4],
    [1, 4],
  ]);
  const b = tmpl(256, [
    [1, 4],
    [8, 4],
  ]);
  run(v9([set(0, a)], { source: 1 }));
  run(v9([set(0, b)], { source: 2 }));
  const [r1] = run(v9([set(256, new Bytes().ip4('10.0.0.1').u32(100))], { source: 1 }));
  const [r2] = run(v9([set(256, new Bytes().u32(200).ip4('10.0.0.2'))], { source: 2 }));
  assert.equal(r1!.src_addr, '10.0.0.1');
  assert.equal(r1!.bytes, 100);
  assert.equal(r2!.src_addr, '10.0.0.2');
  assert.equal(r2!.bytes, 200);
  // and per exporter address
  const { run: run2, dec } = decoder();
  run2(v9([set(0, a)]));
  assert.deepEqual(run2(dgram(v9([set(256, new Bytes().ip4('10.0.0.1').u32(100))]), { exporter: '192.0.2.99' })), []);
  assert.equal(dec.stats.pendingHeld, 1);
});

test('v9: data before its template is held and decoded when the template comes (later datagram and same datagram)', () => {
  const { dec, run } = decoder();
  assert.deepEqual(run(v9([data256(1)], { seq: 1 })), []);
  assert.equal(dec.stats.pendingHeld, 1);
  const recs = run(v9([set(0, tmpl(256, T256))], { seq: 2 }));
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.sequence_num, 1); // the record keeps its own datagram's header
  assert.equal(recs[0]!.src_addr, '10.1.0.1');
  assert.equal(dec.stats.pendingDecoded, 1);
  // wrong order inside one datagram: data flowset first, then the template flowset
  const { dec: dec2, run: run2 } = decoder();
  const both = run2(v9([data256(2), set(0, tmpl(256, T256))]));
  assert.equal(both.length, 2);
  assert.equal(dec2.stats.pendingDecoded, 1);
  assert.equal(dec2.stats.rejected, 0);
});

test('v9: held data expires by age, by capacity and at the end, counted and named', () => {
  const { dec, run, text } = decoder({ maxPending: 2, pendingTtlSeconds: 10 });
  const t0 = 1700000000000000000;
  run(dgram(v9([data256(1)]), { receivedNs: t0, packetNo: 1 }));
  run(dgram(v9([set(257, new Bytes().u32(1))]), { receivedNs: t0 + 1e9, packetNo: 2 }));
  run(dgram(v9([set(258, new Bytes().u32(1))]), { receivedNs: t0 + 2e9, packetNo: 3 })); // evicts packet 1's set
  assert.equal(dec.stats.pendingExpired, 1);
  assert.match(
    text(),
    /packet 1 \(offset 0x18\).*NetFlow v9 flowset 256 at offset 0x14: data for template 256 dropped: the held data buffer is full/,
  );
  run(dgram(v9([]), { receivedNs: t0 + 11.5e9, packetNo: 4 })); // packet 2's set is older than 10 s
  assert.equal(dec.stats.pendingExpired, 2);
  assert.match(text(), /did not arrive in time/);
  dec.finish();
  assert.equal(dec.stats.pendingExpired, 3);
  assert.equal(dec.stats.rejects.get('no template'), 3);
  assert.match(text(), /never arrived/);
});

test('v9: options template + options data set the sampling rate for later data of that source id', () => {
  // options template 257: scope = interface (type 2, 4 bytes); options = SAMPLING_INTERVAL(34) 4, SAMPLING_ALGORITHM(35) 1
  const ot = new Bytes().u16(257, 4, 8).u16(2, 4).u16(34, 4, 35, 1);
  const od = new Bytes().u32(5).u32(512).u8(2);
  const { dec, run } = decoder();
  run(v9([set(1, ot, 4), set(0, tmpl(256, T256))], { source: 3 }));
  assert.equal(run(v9([set(257, od, 4)], { source: 3 })).length, 0);
  assert.equal(dec.stats.optionsRecords, 1);
  const [r] = run(v9([data256(1)], { source: 3 }));
  assert.equal(r!.sampling_rate, 512);
  // another source id knows nothing
  run(v9([set(0, tmpl(256, T256))], { source: 4 }));
  assert.equal(run(v9([data256(1)], { source: 4 }))[0]!.sampling_rate, 0);
  // the scope field type 2 (interface) was not taken for IE 2 (packets)
  const dom = dec.templates.peekDomain('192.0.2.1', 9, 3)!;
  assert.equal(dom.samplingRate, 512);
});

test('v9: record-level FLOW_SAMPLER_ID picks the rate its sampler announced', () => {
  const ot = new Bytes().u16(257, 4, 12).u16(1, 4).u16(48, 1, 34, 4, 35, 1);
  const od = new Bytes().u32(0).u8(1).u32(100).u8(1).u32(0).u8(2).u32(1000).u8(1);
  const { run } = decoder();
  run(
    v9([
      set(1, ot),
      set(257, od, 4),
      set(
        0,
        tmpl(256, [
          [8, 4],
          [48, 1],
        ]),
      ),
    ]),
  );
  const recs = run(v9([set(256, new Bytes().ip4('10.0.0.1').u8(1).ip4('10.0.0.2').u8(2).ip4('10.0.0.3').u8(9))]));
  assert.deepEqual(
    recs.map((r) => r.sampling_rate),
    [100, 1000, 1000],
  ); // unknown sampler 9: the last rate seen
});

test('v9: sequence counts export packets', () => {
  const { dec, run } = decoder();
  run(v9([], { seq: 10 }));
  run(v9([], { seq: 11 }));
  run(v9([], { seq: 15 }));
  assert.equal(dec.stats.sequenceGaps, 1);
  assert.equal(dec.stats.sequenceMissing, 3);
  run(v9([], { seq: 16, source: 9 })); // another source id has its own counter
  assert.equal(dec.stats.sequenceGaps, 1);
});

test('v9: the count field is not trusted over lengths', () => {
  const { run, dec } = decoder();
  const recs = run(v9([set(0, tmpl(256, T256)), data256(3)], { count: 1 }));
  assert.equal(recs.length, 3);
  assert.equal(dec.stats.rejected, 0);
});

test('v9: malformed flowsets and templates are rejected, never loop', () => {
  const cases: [string, Buffer, string, RegExp][] = [
    [
      'flowset length 0',
      v9([new Bytes().u16(256, 0).u32(0).build()]),
      'bad set length',
      /flowset 256 at offset 0x14: length 0 is shorter/,
    ],
    ['flowset length 2', v9([new Bytes().u16(0, 2).u32(0).build()]), 'bad set length', /length 2/],
    [
      'flowset beyond datagram',
      v9([new Bytes().u16(256, 400).u32(1, 2, 3).build()]),
      'truncated',
      /length 400 runs past the end of the datagram \(16 bytes left\)/,
    ],
    [
      'template with a zero-length field',
      v9([set(0, tmpl(256, [[8, 0]]))]),
      'bad template',
      /field 1 \(IE 8\) has length 0/,
    ],
    ['template with field count 0', v9([set(0, new Bytes().u16(256, 0))]), 'bad template', /field count 0/],
    [
      'absurd field count',
      v9([set(0, new Bytes().u16(256, 60000).u16(8, 4))]),
      'bad template',
      /60000 fields need 240004 bytes/,
    ],
    ['template id below 256', v9([set(0, tmpl(12, [[8, 4]]))]), 'bad template', /template id 12 is below 256/],
    [
      'options scope length not a multiple of 4',
      v9([set(1, new Bytes().u16(300, 3, 4).u16(1, 4, 34, 4))]),
      'bad template',
      /multiples of 4/,
    ],
    ['short header', v9([]).subarray(0, 12), 'truncated', /shorter than the 20-byte header/],
    ['reserved flowset id', v9([set(7, new Bytes().u32(0))]), 'bad set id', /flowset 7 at offset 0x14: reserved/],
    ['trailing garbage', Buffer.concat([v9([]), Buffer.from([1, 2])]), 'truncated', /2 trailing bytes/],
  ];
  for (const [name, bytes, reason, message] of cases) {
    const { dec, run, text } = decoder();
    assert.deepEqual(run(bytes), [], name);
    assert.equal(dec.stats.rejects.get(reason), 1, `${name}: ${[...dec.stats.rejects]}`);
    assert.match(text(), message, name);
    assert.equal(dec.templates.size, 0, name);
  }
});

test('v9: a template whose fields are all skipped still decodes (no loop), zero padding is fine', () => {
  const { dec, run } = decoder();
  const recs = run(v9([set(0, tmpl(256, [[200, 5]])), set(256, new Bytes().raw(Array(15).fill(7)), 4)]));
  assert.equal(recs.length, 3); // 15 bytes of records + 1 byte padding
  assert.equal(recs[0]!.src_addr, '');
  assert.equal(dec.stats.rejected, 0);
  // zero padding after the last flowset
  assert.equal(run(Buffer.concat([v9([set(256, new Bytes().raw([1, 2, 3, 4, 5]))]), Buffer.alloc(3)])).length, 1);
  assert.equal(dec.stats.rejected, 0);
});

test('v9: a changed layout replaces the template; beyond the per-exporter limit the least recently used goes', () => {
  const { dec, run } = decoder({ templateLimits: { maxTemplatesPerExporter: 2 } });
  run(v9([set(0, Buffer.concat([tmpl(256, [[8, 4]]).build(), tmpl(257, [[8, 4]]).build()]))]));
  assert.equal(run(v9([set(256, new Bytes().ip4('10.1.1.1'))])).length, 1); // 256 decoded data: kept
  run(v9([set(0, tmpl(258, [[8, 4]]))])); // evicts 257, never used, not 256
  assert.equal(dec.stats.templatesAdded, 3);
  assert.equal(dec.templates.evicted.templates, 1);
  assert.equal(dec.templates.get('192.0.2.1', 9, 0, 257), undefined);
  assert.ok(dec.templates.get('192.0.2.1', 9, 0, 256));
  assert.equal(dec.stats.rejected, 0);
  run(v9([set(0, tmpl(256, [[12, 4]]))]));
  run(v9([set(0, tmpl(256, [[12, 4]]))]));
  assert.equal(dec.stats.templatesUpdated, 1);
  const [r] = run(v9([set(256, new Bytes().ip4('10.9.9.9'))]));
  assert.equal(r!.dst_addr, '10.9.9.9');
});

test("v9: Cisco ASA NSEL initiator counters (IE 231 octets, 298 packets) are the flow's bytes and packets", () => {
  const { run } = decoder();
  const t = tmpl(260, [
    [8, 4],
    [12, 4],
    [4, 1],
    [231, 4],
    [232, 4],
    [298, 8],
    [299, 8],
  ]);
  const d = new Bytes().ip4('10.0.0.1').ip4('10.0.0.2').u8(6).u32(1500, 90000).u64(3n).u64(60n);
  const [r] = run(v9([set(0, t), set(260, d)], { uptime: UPTIME, secs: SECS }));
  assert.equal(r!.bytes, 1500);
  assert.equal(r!.packets, 3);
  // IN_BYTES, when present, wins
  const t2 = tmpl(261, [
    [8, 4],
    [12, 4],
    [1, 4],
    [231, 4],
  ]);
  const [r2] = run(
    v9([set(0, t2), set(261, new Bytes().ip4('10.0.0.1').ip4('10.0.0.2').u32(700, 1500))], {
      uptime: UPTIME,
      secs: SECS,
    }),
  );
  assert.equal(r2!.bytes, 700);
});
