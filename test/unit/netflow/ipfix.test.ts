import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, decoder, ipfix, set } from './helpers.js';

const T = 1_700_000_000; // export time

/** IPFIX template record: [ie, length] or [ie, length, pen]. */
function tmpl(id: number, fields: number[][], scope = -1): Bytes {
  const b = new Bytes().u16(id, fields.length);
  if (scope >= 0) b.u16(scope);
  for (const [ie, len, pen] of fields) {
    if (pen === undefined) b.u16(ie!, len!);
    else b.u16(ie! | 0x8000, len!).u32(pen);
  }
  return b;
}

test('IPFIX: enterprise fields skipped by length, variable-length fields (1- and 3-byte lengths), reduced-size counters', () => {
  const t = tmpl(400, [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 3], // octetDeltaCount in 3 bytes (reduced size)
    [2, 1], // packetDeltaCount in 1 byte
    [100, 4, 9], // enterprise 9 field, 4 bytes
    [82, 65535], // interfaceName, variable length
    [200, 65535, 29305], // enterprise variable-length
    [150, 4],
    [151, 4], // flowStartSeconds / flowEndSeconds
    [10, 4],
    [14, 4],
    [16, 2],
    [17, 2],
  ]);
  const rec = new Bytes()
    .ip4('192.168.1.10')
    .ip4('8.8.8.8')
    .u16(5353, 53)
    .u8(17)
    .u8(0x01, 0x00, 0x00) // 65536 bytes
    .u8(200)
    .u32(0xdeadbeef)
    .u8(4)
    .raw(Buffer.from('eth0'))
    .u8(255)
    .u16(300)
    .raw(Array(300).fill(0x41))
    .u32(T - 60, T - 1)
    .u32(11, 12)
    .u16(100, 200);
  const { dec, run } = decoder();
  const recs = run(ipfix([set(2, t), set(400, rec, 4)], { seq: 5, domain: 77 }));
  assert.equal(recs.length, 1);
  assert.deepEqual(recs[0], {
    type: 'IPFIX',
    time_received_ns: 1700000000500000000,
    sequence_num: 5,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: (T - 60) * 1e9,
    time_flow_end_ns: (T - 1) * 1e9,
    bytes: 65536,
    packets: 200,
    src_addr: '192.168.1.10',
    dst_addr: '8.8.8.8',
    etype: 0x800,
    proto: 17,
    src_port: 5353,
    dst_port: 53,
    in_if: 11,
    out_if: 12,
    ip_tos: 0,
    tcp_flags: 0,
    src_as: 100,
    dst_as: 200,
    next_hop: '',
    src_net: '0.0.0.0/0',
    dst_net: '0.0.0.0/0',
    observation_domain_id: 77,
  });
  assert.equal(dec.stats.rejected, 0);
  const tt = dec.templates.get('192.0.2.1', 10, 77, 400)!;
  assert.equal(tt.fields[7]!.pen, 9);
  assert.equal(tt.minLength, 4 + 4 + 2 + 2 + 1 + 3 + 1 + 4 + 1 + 1 + 8 + 8 + 4);
});

test('IPFIX: every time encoding', () => {
  const ntp = (unixSecs: number, frac: number) => new Bytes().u32(unixSecs + 2208988800, frac);
  const cases: [string, number[][], Bytes, number, number][] = [
    [
      'milliseconds',
      [
        [152, 8],
        [153, 8],
      ],
      new Bytes().u64(1699999999123n).u64(1700000000456n),
      1699999999123e6,
      1700000000456e6,
    ],
    [
      'microseconds (NTP)',
      [
        [154, 8],
        [155, 8],
      ],
      ntp(T - 10, 0x80000000).raw(ntp(T, 0x40000000).build()),
      (T - 10) * 1e9 + 5e8,
      T * 1e9 + 2.5e8,
    ],
    [
      'nanoseconds (NTP)',
      [
        [156, 8],
        [157, 8],
      ],
      ntp(T - 2, 1).raw(ntp(T - 1, 0xffffffff).build()),
      (T - 2) * 1e9,
      (T - 1) * 1e9 + 999999999,
    ],
    [
      'delta microseconds',
      [
        [158, 4],
        [159, 4],
      ],
      new Bytes().u32(3_000_000, 500),
      T * 1e9 - 3e9,
      T * 1e9 - 5e5,
    ],
    [
      'reduced-size milliseconds',
      [
        [152, 6],
        [153, 6],
      ],
      new Bytes().u16(0x18b).u32(0xcfe23c00).u16(0x18b).u32(0xcfe24000),
      0x18bcfe23c00 * 1e6,
      0x18bcfe24000 * 1e6,
    ],
  ];
  for (const [name, fields, rec, start, end] of cases) {
    const { run } = decoder();
    const [r] = run(ipfix([set(2, tmpl(500, fields)), set(500, rec)], { time: T }));
    assert.ok(r, name);
    assert.equal(r.time_flow_start_ns, start, name);
    assert.equal(r.time_flow_end_ns, end, name);
  }
});

test('IPFIX: sysUpTime-relative times (IE 22/21) with systemInitTimeMilliseconds from options data', () => {
  const init = 1_699_990_000_000; // ms
  const { dec, run, text } = decoder();
  // options template 600: scope observationDomainId(149), option systemInitTimeMilliseconds(160)
  const ot = tmpl(
    600,
    [
      [149, 4],
      [160, 8],
    ],
    1,
  );
  const od = new Bytes().u32(1).u64(BigInt(init));
  const t = tmpl(601, [
    [8, 4],
    [22, 4],
    [21, 4],
  ]);
  // before the init time is known, records fall back to the export time: counted, and said
  const before = run(
    ipfix([set(2, t), set(601, new Bytes().ip4('10.0.0.1').u32(5000, 9000).ip4('10.0.0.2').u32(1, 2))]),
  );
  assert.deepEqual(
    before.map((r) => [r.time_flow_start_ns, r.time_flow_end_ns]),
    [
      [T * 1e9, T * 1e9],
      [T * 1e9, T * 1e9],
    ],
  );
  assert.equal(dec.stats.timesUnanchored, 2);
  assert.equal(dec.stats.rejected, 0, 'the records are used, not rejected');
  assert.match(
    text(),
    /set 601 at offset 0x\w+: 2 records with sysUpTime-relative times before the exporter sent systemInitTimeMilliseconds/,
  );
  const recs = run(ipfix([set(3, ot), set(600, od), set(601, new Bytes().ip4('10.0.0.1').u32(5000, 9000))]));
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.time_flow_start_ns, (init + 5000) * 1e6);
  assert.equal(recs[0]!.time_flow_end_ns, (init + 9000) * 1e6);
  assert.equal(dec.stats.timesUnanchored, 2, 'anchored from then on');
});

test('IPFIX: options sampling (305/306, 34, 50, 309/310) applies to later data of that domain', () => {
  const cases: [string, number[][], Bytes, number][] = [
    [
      'packet interval/space',
      [
        [144, 4],
        [305, 4],
        [306, 4],
      ],
      new Bytes().u32(1, 1, 99),
      100,
    ],
    [
      'samplingInterval',
      [
        [144, 4],
        [34, 4],
        [35, 1],
      ],
      new Bytes().u32(1, 64).u8(1),
      64,
    ],
    [
      'samplerRandomInterval',
      [
        [144, 4],
        [50, 4],
      ],
      new Bytes().u32(1, 2048),
      2048,
    ],
    [
      'samplingSize/Population',
      [
        [144, 4],
        [309, 4],
        [310, 4],
      ],
      new Bytes().u32(1, 10, 10000),
      1000,
    ],
    [
      'interval alone (goflow2)',
      [
        [144, 4],
        [305, 4],
      ],
      new Bytes().u32(1, 4000),
      4000,
    ],
  ];
  for (const [name, fields, od, rate] of cases) {
    const { run, dec } = decoder();
    run(ipfix([set(3, tmpl(700, fields, 1)), set(700, od, 4)], { domain: 5 }));
    const data = ipfix([set(2, tmpl(701, [[8, 4]])), set(701, new Bytes().ip4('10.0.0.1'))], { domain: 5 });
    assert.equal(run(data)[0]!.sampling_rate, rate, name);
    assert.equal(dec.stats.optionsRecords, 1, name);
    // another observation domain: unknown
    const other = ipfix([set(2, tmpl(701, [[8, 4]])), set(701, new Bytes().ip4('10.0.0.1'))], { domain: 6 });
    assert.equal(run(other)[0]!.sampling_rate, 0, name);
  }
  // sampling in the data record itself
  const { run } = decoder();
  const [r] = run(
    ipfix([
      set(
        2,
        tmpl(702, [
          [8, 4],
          [34, 2],
        ]),
      ),
      set(702, new Bytes().ip4('10.0.0.1').u16(10)),
    ]),
  );
  assert.equal(r!.sampling_rate, 10);
});

test('IPFIX: template withdrawal, one and all; options withdraw-all keeps data templates', () => {
  const { dec, run } = decoder();
  const t = (id: number) => tmpl(id, [[8, 4]]).build();
  run(
    ipfix([
      set(2, Buffer.concat([t(256), t(257), t(258)])),
      set(
        3,
        tmpl(
          259,
          [
            [144, 4],
            [34, 4],
          ],
          1,
        ),
      ),
    ]),
  );
  assert.equal(dec.templates.size, 4);
  run(ipfix([set(2, new Bytes().u16(257, 0))]));
  assert.equal(dec.stats.templatesWithdrawn, 1);
  assert.equal(dec.templates.get('192.0.2.1', 10, 1, 257), undefined);
  run(ipfix([set(3, new Bytes().u16(3, 0))])); // all options templates
  assert.equal(dec.templates.get('192.0.2.1', 10, 1, 259), undefined);
  assert.equal(dec.templates.size, 2);
  run(ipfix([set(2, new Bytes().u16(2, 0))])); // all data templates
  assert.equal(dec.templates.size, 0);
  assert.equal(dec.stats.templatesWithdrawn, 4);
  // data for a withdrawn template is held, not decoded with the old layout
  assert.deepEqual(run(ipfix([set(256, new Bytes().ip4('10.0.0.1'))])), []);
  assert.equal(dec.stats.pendingHeld, 1);
});

test('IPFIX: sequence counts data records; held data makes the next check unknown', () => {
  const { dec, run } = decoder();
  const t = tmpl(256, [[8, 4]]);
  const data = (n: number) => set(256, new Bytes().raw(Array(4 * n).fill(1)));
  run(ipfix([set(2, t), data(3)], { seq: 100 })); // next 103
  run(ipfix([data(2)], { seq: 103 })); // next 105
  assert.equal(dec.stats.sequenceGaps, 0);
  run(ipfix([data(1)], { seq: 110 }));
  assert.equal(dec.stats.sequenceGaps, 1);
  assert.equal(dec.stats.sequenceMissing, 5);
  run(ipfix([set(999, new Bytes().u32(0))], { seq: 111 })); // held: cannot count
  run(ipfix([data(1)], { seq: 500 }));
  assert.equal(dec.stats.sequenceGaps, 1);
});

test('IPFIX: malformed messages, sets and templates are rejected, never loop', () => {
  const cases: [string, Buffer, string, RegExp][] = [
    [
      'message length beyond datagram',
      ipfix([], { length: 100 }),
      'truncated',
      /message length 100 exceeds the datagram \(16 bytes\)/,
    ],
    ['message length below header', ipfix([], { length: 8 }), 'bad length', /message length 8/],
    [
      'set length 0',
      ipfix([new Bytes().u16(256, 0).u32(0).build()]),
      'bad set length',
      /set 256 at offset 0x10: length 0/,
    ],
    ['set length 3', ipfix([new Bytes().u16(2, 3).u32(0).build()]), 'bad set length', /length 3/],
    [
      'set beyond message',
      ipfix([new Bytes().u16(2, 64).u32(0).build()]),
      'truncated',
      /runs past the end of the message/,
    ],
    [
      'absurd field count',
      ipfix([set(2, new Bytes().u16(256, 65535).u16(8, 4))]),
      'bad template',
      /65535 fields need at least 262140 bytes/,
    ],
    [
      'zero-length field',
      ipfix([
        set(
          2,
          tmpl(256, [
            [8, 4],
            [12, 0],
          ]),
        ),
      ]),
      'bad template',
      /field 2 \(IE 12\) has length 0/,
    ],
    [
      'enterprise number cut off',
      ipfix([
        set(
          2,
          new Bytes()
            .u16(256, 1)
            .u16(0x8000 | 5, 4)
            .u16(0),
        ),
      ]),
      'bad template',
      /enterprise number of field 1 runs past/,
    ],
    [
      'options scope count 0',
      ipfix([set(3, tmpl(256, [[8, 4]], 0))]),
      'bad template',
      /scope field count 0 must be 1-1/,
    ],
    [
      'options scope count > field count',
      ipfix([set(3, tmpl(256, [[8, 4]], 2))]),
      'bad template',
      /scope field count 2/,
    ],
    ['options header cut off', ipfix([set(3, new Bytes().u16(256, 1))]), 'bad template', /options template header/],
    ['set id 1 is not IPFIX', ipfix([set(1, new Bytes().u32(0))]), 'bad set id', /set 1 at offset 0x10: reserved/],
  ];
  for (const [name, bytes, reason, message] of cases) {
    const { dec, run, text } = decoder();
    assert.deepEqual(run(bytes), [], name);
    assert.equal(dec.stats.rejects.get(reason), 1, `${name}: ${[...dec.stats.rejects]}`);
    assert.match(text(), message, name);
    assert.equal(dec.templates.size, 0, name);
  }
  // a variable-length field that runs past the set end rejects the rest of the set, keeps what came before
  const { dec, run, text } = decoder();
  const recs = run(
    ipfix([
      set(
        2,
        tmpl(256, [
          [8, 4],
          [82, 65535],
        ]),
      ),
      set(256, new Bytes().ip4('10.0.0.1').u8(2).u8(65, 65).ip4('10.0.0.2').u8(255).u16(900)),
    ]),
  );
  assert.equal(recs.length, 1);
  assert.equal(dec.stats.rejects.get('bad record'), 1);
  assert.match(text(), /IPFIX set 256 at offset 0x20: variable-length field of record 2/);
});

test('IPFIX: padding in template and data sets', () => {
  const { dec, run } = decoder();
  const recs = run(
    ipfix([
      set(
        2,
        tmpl(256, [
          [8, 4],
          [4, 1],
        ]),
        8,
      ),
      set(256, new Bytes().ip4('10.0.0.1').u8(6).ip4('10.0.0.2').u8(17), 8),
    ]),
  );
  assert.equal(recs.length, 2);
  assert.equal(recs[1]!.proto, 17);
  assert.equal(dec.stats.rejected, 0);
});

test('IPFIX: dual-stack template uses the non-zero address family', () => {
  const { run } = decoder();
  const t = tmpl(256, [
    [8, 4],
    [12, 4],
    [27, 16],
    [28, 16],
    [60, 1],
  ]);
  const recs = run(
    ipfix([
      set(2, t),
      set(
        256,
        new Bytes()
          .ip4('0.0.0.0')
          .ip4('0.0.0.0')
          .ip6('2001:db8::1')
          .ip6('2001:db8::2')
          .u8(6)
          .ip4('10.0.0.1')
          .ip4('10.0.0.2')
          .ip6('::')
          .ip6('::')
          .u8(4),
      ),
    ]),
  );
  assert.equal(recs[0]!.src_addr, '2001:db8::1');
  assert.equal(recs[0]!.etype, 0x86dd);
  assert.equal(recs[0]!.src_net, '::/0');
  assert.equal(recs[1]!.src_addr, '10.0.0.1');
  assert.equal(recs[1]!.etype, 0x800);
});

test('IPFIX: fallback elements — 85/86 totals, 252/253 physical interfaces, 243/254 dot1q VLANs, 176/177 ICMP, 192 TTL, 81/57 post MACs, MPLS, next-hop AS', () => {
  const t = tmpl(256, [
    [8, 4],
    [12, 4],
    [85, 8],
    [86, 4],
    [252, 4],
    [253, 4],
    [243, 2],
    [254, 2],
    [176, 1],
    [177, 1],
    [192, 1],
    [81, 6],
    [57, 6],
    [70, 3],
    [71, 3],
    [128, 4],
    [138, 4],
    [197, 1],
    [54, 4],
    [88, 2],
    [4, 1],
  ]);
  const rec = new Bytes()
    .ip4('10.0.0.1')
    .ip4('10.0.0.2')
    .u64(123456789n)
    .u32(4321)
    .u32(17, 18)
    .u16(300, 301)
    .u8(3, 1, 57)
    .raw([2, 0, 0, 0, 0, 1])
    .raw([2, 0, 0, 0, 0, 2])
    .u8(0x00, 0x00, 0x10)
    .u8(0x00, 0x00, 0x21)
    .u32(64999)
    .u32(5)
    .u8(0x40)
    .u32(777)
    .u16(185)
    .u8(1);
  const { run } = decoder();
  const [r] = run(ipfix([set(2, t), set(256, rec)]));
  assert.ok(r);
  assert.equal(r.bytes, 123456789);
  assert.equal(r.packets, 4321);
  assert.equal(r.in_if, 17);
  assert.equal(r.out_if, 18);
  assert.equal(r.src_vlan, 300);
  assert.equal(r.vlan_id, 300);
  assert.equal(r.dst_vlan, 301);
  assert.equal(r.icmp_type, 3);
  assert.equal(r.icmp_code, 1);
  assert.equal(r.ip_ttl, 57);
  assert.equal(r.src_mac, '02:00:00:00:00:01');
  assert.equal(r.dst_mac, '02:00:00:00:00:02');
  assert.deepEqual(r.mpls_label, [1, 2]);
  assert.equal(r.next_hop_as, 64999);
  assert.equal(r.observation_point_id, 5);
  assert.equal(r.ip_flags, 2); // DF (0x40 >> 5), as goflow2 shifts fragmentFlags
  assert.equal(r.fragment_id, 777);
  assert.equal(r.fragment_offset, 185);
  assert.equal(r.proto, 1);
});
