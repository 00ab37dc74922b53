// parseFrame: every frame of the real fixtures field by field against tshark, then hand-built
// frames for what the fixtures lack (QinQ, SNAP, MPLS, IPv6 extension headers, truncations).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PacketInfo,
  parseFrame,
  macAt,
  formatMacAt,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_LOOP,
  LINKTYPE_RAW,
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  ETYPE_IPV4,
  ETYPE_IPV6,
  IP_FLAG_DF,
  IP_FLAG_MF,
} from '../../../lib/packet/frame.js';
import { describeLinkType, isSupportedLinkType } from '../../../lib/packet/linktype.js';
import { formatIPv4At, formatIPv6At } from '../../../lib/net/ip.js';
import { ROOT } from '../../helpers/spawn.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { eth, ext6, frag6, ipv4, ipv6, u16, u32, udp } from '../../helpers/pcap-build.js';
import { withPeers } from '../../helpers/peers.js';

const DIR = join(ROOT, 'test/fixtures/pcap');

/** Frames of a little-endian classic pcap, read independently of lib/capture. */
function frames(file: string): { linkType: number; buf: Buffer; list: Array<[number, number]> } {
  const buf = readFileSync(join(DIR, file));
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4);
  const list: Array<[number, number]> = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const incl = buf.readUInt32LE(o + 8);
    list.push([o + 16, incl]);
    o += 16 + incl;
  }
  return { linkType: buf.readUInt32LE(20), buf, list };
}

const FIELDS = [
  'frame.number',
  'ieee8021ad.id',
  'vlan.id',
  'eth.src',
  'eth.dst',
  'sll.src.eth',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.dsfield',
  'ip.ttl',
  'ip.len',
  'ip.id',
  'ip.flags',
  'ip.frag_offset',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.flow',
  'ipv6.hlim',
  'ipv6.tclass',
  'ipv6.plen',
  'ipv6.fraghdr.ident',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
];

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;

for (const file of [
  'udp-lo.pcap',
  'vlan.pcap',
  'udp-any-sll.pcap',
  'udp-any-sll2.pcap',
  'null-le.pcap',
  'null-be.pcap',
  'loop.pcap',
  'raw.pcap',
  'raw12.pcap',
]) {
  test(`parseFrame on every frame of ${file} agrees with tshark`, withPeers('tshark'), () => {
    const { linkType, buf, list } = frames(file);
    const rows = tsharkFields(join(DIR, file), '', FIELDS);
    assert.equal(rows.length, list.length);
    const info = new PacketInfo();
    let tcp = 0;
    let v6frags = 0;
    for (let i = 0; i < list.length; i++) {
      const [off, len] = list[i]!;
      const r = Object.fromEntries(FIELDS.map((f, k) => [f, rows[i]![k] ?? '']));
      const where = `${file} frame ${i + 1}`;
      assert.equal(parseFrame(buf, off, len, linkType, info), true, `${where}: ${info.error}`);
      assert.equal(
        info.vlanOuter,
        r['ieee8021ad.id'] ? Number(r['ieee8021ad.id']) : r['vlan.id'] ? Number(r['vlan.id']) : -1,
        where,
      );
      assert.equal(info.vlanInner, r['ieee8021ad.id'] ? Number(r['vlan.id']) : -1, where);
      if (r['eth.src']) {
        assert.equal(formatMacAt(buf, info.srcMacOffset), r['eth.src'], where);
        assert.equal(formatMacAt(buf, info.dstMacOffset), r['eth.dst'], where);
      } else if (r['sll.src.eth']) assert.equal(formatMacAt(buf, info.srcMacOffset), r['sll.src.eth'], where);
      else assert.equal(info.srcMacOffset, -1, where);
      if (r['ip.src']) {
        assert.equal(info.ipVersion, 4, where);
        assert.equal(info.etype, ETYPE_IPV4);
        assert.equal(formatIPv4At(buf, info.srcAddrOffset), r['ip.src'], where);
        assert.equal(formatIPv4At(buf, info.dstAddrOffset), r['ip.dst'], where);
        assert.equal(info.protocol, Number(r['ip.proto']), where);
        assert.equal(hex(info.tos, 2), r['ip.dsfield'], where);
        assert.equal(info.ttl, Number(r['ip.ttl']), where);
        assert.equal(info.totalLength, Number(r['ip.len']), where);
        assert.equal(hex(info.ipId, 4), r['ip.id'], where);
        assert.equal(hex(info.ipFlags, 2), r['ip.flags'], where);
        assert.equal(info.fragOffset, Number(r['ip.frag_offset']), where);
        assert.equal(info.fragment, (info.ipFlags & IP_FLAG_MF) !== 0 || info.fragOffset !== 0, where);
      } else if (r['ipv6.src']) {
        assert.equal(info.ipVersion, 6, where);
        assert.equal(info.etype, ETYPE_IPV6);
        assert.equal(formatIPv6At(buf, info.srcAddrOffset), r['ipv6.src'], where);
        assert.equal(formatIPv6At(buf, info.dstAddrOffset), r['ipv6.dst'], where);
        assert.equal(hex(info.flowLabel, 6), r['ipv6.flow'], where);
        assert.equal(info.ttl, Number(r['ipv6.hlim']), where);
        assert.equal(hex(info.tos, 8), r['ipv6.tclass'], where);
        assert.equal(info.totalLength, 40 + Number(r['ipv6.plen']), where);
        if (r['ipv6.fraghdr.ident']) {
          v6frags++;
          assert.equal(info.fragment, true, where);
          assert.equal(hex(info.ipId, 8), r['ipv6.fraghdr.ident'], where);
          assert.equal(info.fragOffset, Number(r['ipv6.fraghdr.offset']), where);
          assert.equal(info.ipFlags === IP_FLAG_MF, r['ipv6.fraghdr.more'] === '1', where);
          assert.equal(info.protocol, 17, where);
        } else assert.equal(info.fragment, false, where);
      } else {
        assert.equal(info.ipVersion, 0, where);
        continue;
      }
      if (info.fragment) continue; // tshark shows the reassembled datagram's transport header there
      if (r['tcp.srcport']) {
        tcp++;
        assert.equal(info.srcPort, Number(r['tcp.srcport']), where);
        assert.equal(info.dstPort, Number(r['tcp.dstport']), where);
        assert.equal(hex(info.tcpFlags, 4), r['tcp.flags'], where);
      } else if (r['udp.srcport']) {
        assert.equal(info.srcPort, Number(r['udp.srcport']), where);
        assert.equal(info.dstPort, Number(r['udp.dstport']), where);
        assert.equal(info.udpLength, Number(r['udp.length']), where);
        assert.equal(info.payloadLength, info.udpLength - 8, where);
        assert.equal(info.payloadComplete, true, where);
        assert.equal(info.payloadOffset, info.l4Offset + 8, where);
      }
    }
    assert.ok(tcp > 0);
    assert.equal(v6frags, 5);
  });
}

test('link types: SLL/SLL2 source MAC, NULL/LOOP families in both byte orders, RAW variants', () => {
  const ip4 = ipv4(udp(1000, 2000, Buffer.from('x')));
  const ip6 = ipv6(udp(1000, 2000, Buffer.from('y')));
  const sllMac = Buffer.from('0a0b0c0d0e0f', 'hex');
  const sll = (etype: number, p: Buffer) =>
    Buffer.concat([u16(0), u16(1), u16(6), sllMac, Buffer.alloc(2), u16(etype), p]);
  const sll2 = (etype: number, p: Buffer) =>
    Buffer.concat([u16(etype), u16(0), u32(3), u16(1), Buffer.from([0, 6]), sllMac, Buffer.alloc(2), p]);
  const fam = (le: boolean, af: number, p: Buffer) => Buffer.concat([u32(af, le), p]);
  const info = new PacketInfo();
  const cases: Array<[string, number, Buffer, number]> = [
    ['SLL v4', LINKTYPE_LINUX_SLL, sll(0x0800, ip4), 4],
    ['SLL v6', LINKTYPE_LINUX_SLL, sll(0x86dd, ip6), 6],
    ['SLL2 v4', LINKTYPE_LINUX_SLL2, sll2(0x0800, ip4), 4],
    ['SLL2 v6', LINKTYPE_LINUX_SLL2, sll2(0x86dd, ip6), 6],
    ['NULL LE AF_INET', LINKTYPE_NULL, fam(true, 2, ip4), 4],
    ['NULL BE AF_INET', LINKTYPE_NULL, fam(false, 2, ip4), 4],
    ...[10, 23, 24, 28, 30].flatMap((af): Array<[string, number, Buffer, number]> => [
      [`NULL LE ${af}`, LINKTYPE_NULL, fam(true, af, ip6), 6],
      [`NULL BE ${af}`, LINKTYPE_NULL, fam(false, af, ip6), 6],
      [`LOOP ${af}`, LINKTYPE_LOOP, fam(false, af, ip6), 6],
    ]),
    ['LOOP AF_INET', LINKTYPE_LOOP, fam(false, 2, ip4), 4],
    ['RAW v4', LINKTYPE_RAW, ip4, 4],
    ['RAW v6', LINKTYPE_RAW, ip6, 6],
    ['DLT_RAW 12', DLT_RAW_12, ip6, 6],
    ['DLT_RAW 14', DLT_RAW_14, ip4, 4],
    ['IPV4', LINKTYPE_IPV4, ip4, 4],
    ['IPV6', LINKTYPE_IPV6, ip6, 6],
  ];
  for (const [name, lt, frame, v] of cases) {
    // Parse at an offset inside a bigger buffer: offsets must be absolute.
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), frame, Buffer.alloc(5, 0xee)]);
    assert.equal(parseFrame(buf, 7, frame.length, lt, info), true, `${name}: ${info.error}`);
    assert.equal(info.ipVersion, v, name);
    assert.equal(info.srcPort, 1000, name);
    assert.equal(
      buf.toString('latin1', info.payloadOffset, info.payloadOffset + info.payloadLength),
      v === 4 ? 'x' : 'y',
      name,
    );
    if (name.startsWith('SLL')) assert.equal(macAt(buf, info.srcMacOffset), 0x0a0b0c0d0e0f, name);
    assert.ok(isSupportedLinkType(lt));
  }
  // A NULL header with another family is simply not IP.
  assert.equal(parseFrame(fam(true, 7, ip4), 0, ip4.length + 4, LINKTYPE_NULL, info), true);
  assert.equal(info.ipVersion, 0);
  assert.equal(parseFrame(ip4, 0, ip4.length, 105, info), false);
  assert.equal(info.error, 'unsupported link type 105 (IEEE802_11)');
  assert.equal(describeLinkType(4242), '4242');
});

test('Ethernet: 802.1Q, QinQ (802.1ad and 0x9100), LLC/SNAP, MPLS', () => {
  const ip = ipv4(udp(5, 6, Buffer.from('payload')), { tos: 0xb8, ttl: 7, flags: IP_FLAG_DF });
  const info = new PacketInfo();
  const check = (
    name: string,
    frame: Buffer,
    outer: number,
    inner: number,
    count = outer < 0 ? 0 : inner < 0 ? 1 : 2,
  ) => {
    assert.equal(parseFrame(frame, 0, frame.length, LINKTYPE_ETHERNET, info), true, `${name}: ${info.error}`);
    assert.deepEqual([info.vlanOuter, info.vlanInner, info.vlanCount], [outer, inner, count], name);
    assert.equal(info.ipVersion, 4, name);
    assert.deepEqual([info.tos, info.ttl, info.ipFlags, info.srcPort, info.dstPort], [0xb8, 7, IP_FLAG_DF, 5, 6], name);
    assert.equal(frame.toString('latin1', info.payloadOffset, info.payloadOffset + info.payloadLength), 'payload');
  };
  check('untagged', eth(0x0800, ip), -1, -1);
  check('802.1Q', eth(0x0800, ip, [[0x8100, 0x2064]]), 100, -1); // PCP bits masked off
  check(
    'QinQ',
    eth(0x0800, ip, [
      [0x88a8, 200],
      [0x8100, 300],
    ]),
    200,
    300,
  );
  check(
    'QinQ 0x9100',
    eth(0x0800, ip, [
      [0x9100, 4095],
      [0x8100, 1],
    ]),
    4095,
    1,
  );
  check(
    'three tags',
    eth(0x0800, ip, [
      [0x88a8, 1],
      [0x8100, 2],
      [0x8100, 3],
    ]),
    1,
    2,
    3,
  );
  const snap = Buffer.concat([Buffer.from('aaaa03000000', 'hex'), u16(0x0800), ip]);
  check('SNAP', eth(snap.length, snap), -1, -1);
  const mpls = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]), ip]); // two labels, S on the second
  check('MPLS', eth(0x8847, mpls), -1, -1);
  assert.equal(info.mplsCount, 2);
  // Plain 802.2 LLC (STP): not IP, not an error.
  assert.equal(parseFrame(eth(38, Buffer.alloc(38, 0x42)), 0, 52, LINKTYPE_ETHERNET, info), true);
  assert.equal(info.ipVersion, 0);
});

test('IPv6 extension headers are skipped to the transport header; fragment header parsed', () => {
  const u = udp(53, 5353, Buffer.from('dns'));
  const info = new PacketInfo();
  const chain = Buffer.concat([ext6(43, 1), ext6(60, 0), ext6(17, 2), u]); // HBH → routing → dstopts → UDP
  const p = ipv6(chain, { next: 0, flow: 0xabcde, tclass: 0x2e, hlim: 3 });
  assert.equal(parseFrame(p, 0, p.length, LINKTYPE_RAW, info), true, info.error);
  assert.deepEqual(
    [info.protocol, info.srcPort, info.dstPort, info.flowLabel, info.tos, info.ttl],
    [17, 53, 5353, 0xabcde, 0x2e, 3],
  );
  assert.equal(info.ipHeaderLength, 40 + 16 + 8 + 24);
  assert.equal(info.l4Offset, 40 + 48);
  assert.equal(p.toString('latin1', info.payloadOffset, info.payloadOffset + info.payloadLength), 'dns');
  // AH uses 4-byte units.
  const ah = Buffer.alloc(12);
  ah[0] = 17;
  ah[1] = 1; // (1+2)*4 = 12 bytes
  const withAh = ipv6(Buffer.concat([ah, u]), { next: 51 });
  assert.equal(parseFrame(withAh, 0, withAh.length, LINKTYPE_RAW, info), true, info.error);
  assert.equal(info.srcPort, 53);
  // First fragment: transport header parsed, payload incomplete; later fragment: no transport.
  const first = ipv6(
    Buffer.concat([ext6(44, 0), frag6(17, 0, true, 0xdeadbeef), udp(1, 2, Buffer.alloc(100), 3000).subarray(0, 56)]),
    { next: 0 },
  );
  assert.equal(parseFrame(first, 0, first.length, LINKTYPE_RAW, info), true, info.error);
  assert.deepEqual(
    [info.fragment, info.ipId, info.fragOffset, info.ipFlags, info.srcPort, info.payloadComplete],
    [true, 0xdeadbeef, 0, IP_FLAG_MF, 1, false],
  );
  const later = ipv6(Buffer.concat([frag6(17, 7, false, 0xdeadbeef), Buffer.alloc(64)]), { next: 44 });
  assert.equal(parseFrame(later, 0, later.length, LINKTYPE_RAW, info), true, info.error);
  assert.deepEqual(
    [info.fragment, info.fragOffset, info.ipFlags, info.l4Offset, info.dataOffset, info.protocol],
    [true, 7, 0, -1, 48, 17],
  );
  // Too many extension headers, or a chain running off the end.
  let deep = u;
  for (let i = 0; i < 20; i++) deep = Buffer.concat([ext6(i === 0 ? 17 : 60, 0), deep]);
  const deepP = ipv6(deep, { next: 60 });
  assert.equal(parseFrame(deepP, 0, deepP.length, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'bad IPv6 header: too many extension headers');
  const cut = ipv6(ext6(17, 4), { next: 0 }).subarray(0, 60);
  assert.equal(parseFrame(cut, 0, cut.length, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'truncated IPv6 extension header');
});

test('IPv4 options, TCP flags, ICMP type/code, SCTP ports', () => {
  const info = new PacketInfo();
  const opts = Buffer.from([0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]); // router alert + NOPs + EOL
  const withOpts = ipv4(udp(10, 20, Buffer.from('o')), { options: opts });
  assert.equal(parseFrame(withOpts, 0, withOpts.length, LINKTYPE_RAW, info), true, info.error);
  assert.deepEqual([info.ipHeaderLength, info.l4Offset, info.srcPort, info.payloadLength], [28, 28, 10, 1]);
  const tcpHdr = Buffer.alloc(20);
  tcpHdr.writeUInt16BE(443, 0);
  tcpHdr.writeUInt16BE(51000, 2);
  tcpHdr[12] = 0x50;
  tcpHdr[13] = 0x12; // SYN ACK
  const tcp = ipv4(tcpHdr, { proto: 6 });
  assert.equal(parseFrame(tcp, 0, tcp.length, LINKTYPE_RAW, info), true);
  assert.deepEqual(
    [info.protocol, info.srcPort, info.dstPort, info.tcpFlags, info.payloadOffset],
    [6, 443, 51000, 0x12, -1],
  );
  const icmp = ipv4(Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), { proto: 1 });
  assert.equal(parseFrame(icmp, 0, icmp.length, LINKTYPE_RAW, info), true);
  assert.deepEqual([info.icmpType, info.icmpCode], [3, 3]);
  const icmp6 = ipv6(Buffer.from([135, 0, 0, 0]), { next: 58 });
  assert.equal(parseFrame(icmp6, 0, icmp6.length, LINKTYPE_RAW, info), true);
  assert.deepEqual([info.icmpType, info.icmpCode, info.protocol], [135, 0, 58]);
  const sctp = ipv4(Buffer.concat([u16(2905), u16(2906), Buffer.alloc(8)]), { proto: 132 });
  assert.equal(parseFrame(sctp, 0, sctp.length, LINKTYPE_RAW, info), true);
  assert.deepEqual([info.srcPort, info.dstPort], [2905, 2906]);
  const gre = ipv4(Buffer.alloc(4), { proto: 47 });
  assert.equal(parseFrame(gre, 0, gre.length, LINKTYPE_RAW, info), true);
  assert.deepEqual([info.protocol, info.l4Offset, info.srcPort], [47, 20, 0]);
});

test('a header cut short fails with a reason at every layer; a cut payload is flagged, not failed', () => {
  const info = new PacketInfo();
  const full = eth(0x0800, ipv4(udp(1, 2, Buffer.alloc(200))), [[0x8100, 5]]);
  const expect: Array<[number, string]> = [
    [10, 'truncated Ethernet header'],
    [16, 'truncated VLAN tag'],
    [18 + 19, 'truncated IPv4 header'],
    [18 + 20 + 7, 'truncated UDP header'],
  ];
  for (const [len, err] of expect) {
    assert.equal(parseFrame(full, 0, len, LINKTYPE_ETHERNET, info), false, err);
    assert.equal(info.error, err);
  }
  // sFlow-style: the first 128 bytes of a bigger packet.
  assert.equal(parseFrame(full, 0, 128, LINKTYPE_ETHERNET, info), true, info.error);
  assert.deepEqual(
    [info.truncated, info.payloadComplete, info.payloadLength, info.udpLength, info.totalLength],
    [true, false, 128 - 46, 208, 228],
  );
  const v6 = ipv6(udp(1, 2, Buffer.alloc(10)));
  assert.equal(parseFrame(v6, 0, 39, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'truncated IPv6 header');
  const tcp = ipv4(Buffer.alloc(20), { proto: 6 });
  assert.equal(parseFrame(tcp, 0, 30, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'truncated TCP header');
  const icmp = ipv4(Buffer.alloc(8), { proto: 1 });
  assert.equal(parseFrame(icmp, 0, 22, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'truncated ICMP header');
  for (const [lt, len, err] of [
    [LINKTYPE_LINUX_SLL, 15, 'truncated Linux cooked (SLL) header'],
    [LINKTYPE_LINUX_SLL2, 19, 'truncated Linux cooked (SLL2) header'],
    [LINKTYPE_NULL, 3, 'truncated loopback header'],
    [LINKTYPE_RAW, 0, 'empty raw IP packet'],
  ] as const) {
    assert.equal(parseFrame(Buffer.alloc(40), 0, len, lt, info), false);
    assert.equal(info.error, err);
  }
  assert.equal(parseFrame(Buffer.from([0x55, 0, 0, 0]), 0, 4, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'bad IP version 5 in raw IP packet');
  assert.equal(parseFrame(Buffer.alloc(10), 5, 10, LINKTYPE_RAW, info), false);
  assert.equal(info.error, 'frame outside the buffer');
  // IPv6 version mismatch behind an IPv6 ethertype.
  const wrong = eth(0x86dd, ipv4(udp(1, 2, Buffer.alloc(30))));
  assert.equal(parseFrame(wrong, 0, wrong.length, LINKTYPE_ETHERNET, info), false);
  assert.equal(info.error, 'bad IPv6 header: version 4');
});

test('one PacketInfo is fully reset between frames', () => {
  const info = new PacketInfo();
  const a = eth(0x0800, ipv4(udp(1, 2, Buffer.alloc(4)), { flags: IP_FLAG_MF }), [
    [0x88a8, 1],
    [0x8100, 2],
  ]);
  parseFrame(a, 0, a.length, LINKTYPE_ETHERNET, info);
  const b = ipv6(Buffer.alloc(0), { next: 59 });
  assert.equal(parseFrame(b, 0, b.length, LINKTYPE_RAW, info), true);
  const fresh = new PacketInfo();
  parseFrame(b, 0, b.length, LINKTYPE_RAW, fresh);
  assert.deepEqual({ ...info }, { ...fresh });
});
