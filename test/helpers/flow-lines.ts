// Random and edge-case flow NDJSON lines for differential tests of the NDJSON readers: the
// byte scanners (lib/aggregate/scan.ts, wasm/scan.ts) must give exactly what JSON.parse +
// flowFromObject give, and reject (leave to the slow path) what they reject. Deterministic for a
// seed. viewSnapshot and referenceView are the comparison both the tests and bench/fuzz-scan use.

import { flowFromObject, flowToJson, type FlowRecord } from '../../lib/flow/record.js';
import { formatIPv4 } from '../../lib/net/ip.js';
import type { FlowView } from '../../lib/aggregate/view.js';

/** Re-exported for bench/aggregate-compare.sh, which imports it from here. */
export { rng } from './prng.js';

const V6 = [
  '2001:db8::1',
  '2001:db8:5::1',
  '2001:db8:5:1::9',
  '2606:4700::1',
  '::1',
  '::',
  'fe80::1',
  '::ffff:10.1.2.3',
  '2001:DB8:0:0:0:0:0:1',
  '2001:db8::1%eth0',
  '::ffff:0:0',
];
const NUMS = [
  '0',
  '1',
  '9',
  '10',
  '65535',
  '65536',
  '255',
  '256',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '1700000000000000000',
  '1700000000123456789',
  '18446744073709551615',
  '9223372036854775807',
  '9223372036854775808',
  '9223372036854774784',
  '12345678901234567890',
  '123456789012345678901',
  '01',
  '00',
  '-0',
  '-1',
  '1.0',
  '1.5',
  '1e3',
  '1E3',
  '1e400',
  '0.0',
  '2e0',
  '10.',
  '.5',
  '"12"',
  '"12a"',
  '""',
  'null',
  'true',
  '"0012"',
];

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function v4(r: () => number): string {
  const x = r();
  if (x < 0.3) return formatIPv4((0x0a000000 | Math.floor(r() * 0x10000)) >>> 0); // 10.0.x.y
  return formatIPv4(Math.floor(r() * 2 ** 32));
}

/** A valid record as flow-capture writes it. */
export function randomRecord(r: () => number): FlowRecord {
  const six = r() < 0.15;
  const t = 1_700_000_000 + Math.floor(r() * 100_000);
  const rec: FlowRecord = {
    type: pick(r, ['NETFLOW_V5', 'NETFLOW_V9', 'IPFIX', 'SFLOW_5', 'NETFLOW_V1', 'NETFLOW_V7', 'FLOWUNKNOWN'] as const),
    time_received_ns: (t + 60) * 1e9 + (r() < 0.3 ? Math.floor(r() * 1e9) : 0),
    sequence_num: Math.floor(r() * 1e6),
    sampling_rate: pick(r, [0, 0, 1, 100, 1000]),
    sampler_address: r() < 0.1 ? '' : r() < 0.1 ? pick(r, V6) : v4(r),
    time_flow_start_ns: r() < 0.05 ? 0 : t * 1e9 + (r() < 0.3 ? Math.floor(r() * 1e9) : 0),
    time_flow_end_ns: r() < 0.05 ? 0 : (t + Math.floor(r() * 900)) * 1e9,
    bytes: r() < 0.01 ? 2 ** 53 + 2 : Math.floor(r() * 1e6),
    packets: 1 + Math.floor(r() * 1000),
    src_addr: r() < 0.02 ? '' : six ? pick(r, V6) : v4(r),
    dst_addr: r() < 0.02 ? '' : six ? pick(r, V6) : v4(r),
    etype: six ? 0x86dd : r() < 0.02 ? 0x0806 : r() < 0.02 ? 0 : 0x0800,
    proto: r() < 0.9 ? pick(r, [6, 17, 1, 58]) : Math.floor(r() * 256),
    src_port: Math.floor(r() * 65536),
    dst_port: pick(r, [80, 443, 53, 0, 65535]),
    in_if: Math.floor(r() * 10),
    out_if: r() < 0.01 ? 2 ** 40 : Math.floor(r() * 10),
    ip_tos: Math.floor(r() * 256),
    tcp_flags: Math.floor(r() * 64),
    src_as: r() < 0.5 ? 0 : Math.floor(r() * 2 ** 32),
    dst_as: r() < 0.5 ? 0 : 65001,
    next_hop: r() < 0.5 ? '' : r() < 0.1 ? '2001:db8::fe' : v4(r),
    src_net: six
      ? pick(r, ['::/0', '2001:db8::/32', '2001:db8:5::/48'])
      : pick(r, ['0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/16', '10.0.3.0/24', '192.168.0.0/16']),
    dst_net: six ? '::/0' : pick(r, ['0.0.0.0/0', '10.0.0.0/8', '8.8.8.0/24', '1.2.3.4/32']),
  };
  if (r() < 0.1) rec.src_mac = '00:11:22:33:44:55';
  if (r() < 0.1) rec.dst_vlan = Math.floor(r() * 4096);
  if (r() < 0.1) rec.icmp_type = 8;
  if (r() < 0.05) rec.as_path = [65001, 3356, 15169];
  if (r() < 0.05) rec.bgp_communities = [];
  if (r() < 0.05) rec.mpls_label = [16, 17];
  if (r() < 0.05) rec.bgp_next_hop = '192.0.2.9';
  return rec;
}

/** Split a flat JSON object line into [key, raw value] pairs (only for our own lines: no nested
 *  objects, no commas inside strings except in arrays, which are kept whole). */
function fields(line: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 1;
  while (i < line.length - 1) {
    const colon = line.indexOf(':', i);
    const key = line.slice(i, colon);
    let j = colon + 1;
    let depth = 0;
    let inStr = false;
    for (; j < line.length - 1; j++) {
      const c = line[j]!;
      if (inStr) {
        if (c === '\\') j++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === ',' && depth === 0) break;
    }
    out.push([key, line.slice(colon + 1, j)]);
    i = j + 1;
  }
  return out;
}

function join(f: Array<[string, string]>, r: () => number, odd: boolean): string {
  if (!odd) return `{${f.map(([k, v]) => `${k}:${v}`).join(',')}}`;
  const ws = (): string => pick(r, ['', '', ' ', '\t', '  ', '\r', ' \t ']);
  return `${ws()}{${ws()}${f.map(([k, v]) => `${k}${ws()}:${ws()}${v}${ws()}`).join(`,${ws()}`)}}${ws()}`;
}

/** One line: mostly valid records, many mutated into edge cases (odd numbers, strings for
 *  numbers, escapes, unicode, missing/duplicate/unknown fields, reordering, whitespace, wrong
 *  types, truncation, aggregate records, non-objects). */
export function randomLine(r: () => number): string {
  const line = flowToJson(randomRecord(r));
  const x = r();
  if (x < 0.45) return line; // as flow-capture writes it
  let f = fields(line);
  const mutations = 1 + Math.floor(r() * 3);
  for (let m = 0; m < mutations; m++) {
    const i = Math.floor(r() * f.length);
    const y = r();
    if (y < 0.25) f[i] = [f[i]![0], pick(r, NUMS)];
    else if (y < 0.32) f.splice(i, 1);
    else if (y < 0.38)
      f.push(f[i]!); // duplicate key (JSON.parse: last wins)
    else if (y < 0.43) f.push([f[i]![0], pick(r, NUMS)]);
    else if (y < 0.5) f.sort(() => r() - 0.5);
    else if (y < 0.55)
      f.push([
        pick(r, ['"extra"', '"flows"', '"x\\u0041"', '"é"', '""', '"time_flow_start_ns "']),
        pick(r, ['1', '"a"', 'null', 'true', 'false', '[1,2]', '{"a":1}', '"\\""', '[]', '{}', '-5', '1.5e2']),
      ]);
    else if (y < 0.62)
      f[i] = [
        f[i]![0],
        pick(r, [
          '"1.2.3.4"',
          '"01.2.3.4"',
          '"1.2.3"',
          '"1.2.3.256"',
          '"1.2.3.4 "',
          '"1.2.3.4/24"',
          '"1.2.3.0/24"',
          '"1.2.3.4/33"',
          '"1.2.3.4/024"',
          '"1.2.3.4/"',
          '"10.0.0.0/08"',
          '"::/0"',
          '"2001:db8::/32"',
          '"2001:db8::1/64"',
          '""',
          '24',
          '0',
          '33',
          '129',
          'null',
          '"\\u0031.2.3.4"',
          '"1.2.3.4\\/24"',
          `"${pick(r, V6)}"`,
          '"::ffff:1.2.3.4"',
          '"1.2.3.4"',
        ]),
      ];
    else if (y < 0.68)
      f[i] = [
        f[i]![0],
        pick(r, [
          '"TCP"',
          '"tcp"',
          '"UDP"',
          '"icmpv6"',
          '"IPv6-ICMP"',
          '"IPv4"',
          '"ipv6"',
          '"ARP"',
          '"arp"',
          '""',
          '"bogus"',
          '"6"',
          '"300"',
          '300',
          '6',
          '17',
          '"NETFLOW_V5"',
          '"IPFIX"',
          '"ipfix"',
          '"SFLOW_5"',
          '"FLOWUNKNOWN"',
          '"T\\u0043P"',
          '34525',
          '2048',
          '65536',
        ]),
      ];
    else if (y < 0.72)
      f[i] = [f[i]![0].replace(/^"(.)/, (_, c: string) => `"\\u00${c.charCodeAt(0).toString(16)}`), f[i]![1]]; // the same key, escaped
    else if (y < 0.76)
      f[i] = [
        f[i]![0],
        pick(r, [
          '[1,2,3]',
          '[]',
          '[ 1 , 2 ]',
          '[1,-2]',
          '[1.5]',
          '["a"]',
          '[1,]',
          '[01]',
          '[1e2]',
          '[9007199254740993]',
          '{}',
          '"00:11:22:33:44:55"',
          '"\\n"',
          '"a\\"b"',
          '"tab\tin"',
          '"é"',
          '42',
        ]),
      ];
    else if (y < 0.8) f[i] = [f[i]![0].toUpperCase(), f[i]![1]];
    else if (y < 0.85)
      f = f.filter(
        ([k]) =>
          !['"src_addr"', '"dst_addr"', '"etype"', '"src_net"', '"dst_net"', '"proto"', '"type"'].includes(k) ||
          r() < 0.5,
      );
    else if (y < 0.88) f.push(['"flows"', pick(r, ['1', '0', '"x"'])]);
    else f[i] = [f[i]![0], f[i]![1] + pick(r, ['', ' ', 'x', '0', '.0', 'e1'])];
  }
  let s = join(f, r, r() < 0.3);
  const z = r();
  if (z < 0.03) s = s.slice(0, Math.floor(r() * s.length));
  else if (z < 0.05) s = s + pick(r, ['}', ',', ' x', '{}']);
  else if (z < 0.07)
    s = pick(r, [
      '[]',
      '1',
      '"s"',
      'null',
      '[{}]',
      '{}',
      '{"flows":1}',
      '',
      '   ',
      '\t',
      '\u00a0',
      '{"bytes":1}{"bytes":2}',
    ]);
  return s;
}

/** Everything a FlowView holds that aggregations read, as one comparable value. */
export function viewSnapshot(v: FlowView): unknown[] {
  const words = (fam: number, w: Uint32Array): number[] => (fam === 4 ? [w[0]!] : fam === 6 ? [...w] : []);
  return [
    v.timeReceivedNs,
    v.startNs,
    v.endNs,
    v.bytes,
    v.packets,
    v.samplingRate,
    v.etype,
    v.proto,
    v.srcPort,
    v.dstPort,
    v.inIf,
    v.outIf,
    v.tos,
    v.tcpFlags,
    v.srcAs,
    v.dstAs,
    v.srcFam,
    words(v.srcFam, v.src),
    v.dstFam,
    words(v.dstFam, v.dst),
    v.peerFam,
    words(v.peerFam, v.peer),
    v.srcXFam,
    words(v.srcXFam, v.srcX),
    v.srcXLen,
    v.dstXFam,
    words(v.dstXFam, v.dstX),
    v.dstXLen,
    v.srcNetIndex(),
    v.dstNetIndex(),
  ];
}

/** The reference reading of a line: its snapshot through JSON.parse + flowFromObject +
 *  FlowView.set, or undefined when it is not a valid flow record. */
export function referenceView(line: string, view: FlowView): unknown[] | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o) || (o as { flows?: unknown }).flows !== undefined)
    return undefined;
  try {
    return viewSnapshot(view.set(flowFromObject(o as Record<string, unknown>)));
  } catch {
    return undefined;
  }
}
