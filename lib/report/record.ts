// What flow-report works on: one row per aggregate (flowmeter-record(5)) — the pmacct primitives it
// carries, its counters and time span. Flow records (goflow2 names) are read as one-flow rows
// whose primitives are all the flow's fields, so every format can also render flows.

import { FieldError, counterField, describeValue, type FlowRecord } from '../flow/record.js';
import type { Counter } from '../flow/counter.js';
import { etypeNumber, protoNumber } from '../flow/proto.js';
import { formatIP, maskBytes, parseCidr, parseIP } from '../net/ip.js';
import {
  ADDRESS_PRIMITIVES,
  PMACCT_PRIMITIVES,
  isSumPrimitive,
  type PmacctPrimitive,
  type Primitive,
} from '../aggregate/primitives.js';
import type { AggregateRecord } from '../aggregate/aggregator.js';

/** The primitives a row carries, in canonical order: every pmacct primitive (a sum_* one only in
 *  a row of that aggregation, whose traffic it counts in both directions). */
export const ROW_PRIMITIVES: readonly PmacctPrimitive[] = PMACCT_PRIMITIVES;
/** The primitives of one direction: all but sum_* (what pmacct's and hcd's tables print). */
export const ONE_WAY_PRIMITIVES: ReadonlySet<string> = new Set(PMACCT_PRIMITIVES.filter((p) => !isSumPrimitive(p)));

const MAC: ReadonlySet<string> = new Set(['src_mac', 'dst_mac']);
const LIMIT: Readonly<Record<string, number>> = {
  src_mask: 128,
  dst_mask: 128,
  src_port: 65535,
  dst_port: 65535,
  sum_port: 65535,
  proto: 255,
  tos: 255,
  tcpflags: 0xffff,
  vlan: 4095,
  etype: 0xffff,
  in_iface: 0xffffffff,
  out_iface: 0xffffffff,
  src_as: 0xffffffff,
  dst_as: 0xffffffff,
  sum_as: 0xffffffff,
};

/** Primitive values: addresses as canonical text ("" = unset), everything else a number. */
export type Values = Partial<Record<PmacctPrimitive, string | number>>;

export interface Row {
  values: Values;
  /** uint64 counters, exact (lib/flow/counter.ts) */
  packets: Counter;
  bytes: Counter;
  flows: Counter;
  /** Unix seconds; 0 when unknown. */
  time_start: number;
  time_end: number;
  /** Sum of flow durations in milliseconds (flow-tools "duration"); for aggregates end - start. */
  duration_ms: number;
  /** Set when the row came from a flow record (flow-tools reports need the exporter etc.). */
  flow?: FlowRecord;
}

export type InputKind = 'flow' | 'aggregate';

/** Which primitives a row carries, in canonical order. */
export function primitivesOf(row: Row): PmacctPrimitive[] {
  return ROW_PRIMITIVES.filter((p) => row.values[p] !== undefined);
}

/** A time in Unix seconds: an integer, a decimal ("1794489282.000000", as pmacct prints), or
 *  an ISO date. Fractions are truncated (bins are whole seconds). */
function seconds(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (typeof v === 'string') {
    if (/^[0-9]{1,12}(\.[0-9]+)?$/.test(v)) return Math.floor(Number(v));
    const t = Date.parse(v);
    if (/^[0-9]{4}-/.test(v) && Number.isFinite(t)) return Math.floor(t / 1000);
  }
  throw new FieldError(name, 'Unix seconds', v);
}

function primitive(o: Record<string, unknown>, name: PmacctPrimitive): string | number {
  const v = o[name];
  if (ADDRESS_PRIMITIVES.has(name)) {
    if (v === '' || v === 0) return '';
    if (typeof v === 'string') {
      // a net may come as "10.5.0.0" (pmacct) or "10.5.0.0/16" (CIDR): the address part is the net
      const c = parseCidr(v);
      if (c)
        return formatIP(name.endsWith('_net') ? { family: c.ip.family, bytes: maskBytes(c.ip.bytes, c.len) } : c.ip);
    }
    throw new FieldError(name, 'an IPv4 or IPv6 address', v);
  }
  if (MAC.has(name)) {
    if (typeof v === 'string' && /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v)) return v.toLowerCase();
    throw new FieldError(name, 'a MAC address like 00:11:22:33:44:55', v);
  }
  if (name === 'proto') {
    const n = typeof v === 'string' || typeof v === 'number' ? (protoNumber(v) ?? pmacctProtoNumber(v)) : undefined;
    if (n === undefined) throw new FieldError(name, 'an IANA protocol name or number 0-255', v);
    return n;
  }
  if (name === 'etype' && typeof v === 'string') {
    // flowmeter's names (IPv4, IPv6, ARP, "" = unknown), else pmacct's hex ("800")
    const n = etypeNumber(v) ?? (/^[0-9a-fA-F]{1,4}$/.test(v) ? parseInt(v, 16) : undefined);
    if (n !== undefined) return n;
  }
  const max = LIMIT[name] ?? Number.MAX_SAFE_INTEGER;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v) && Number(v) <= max) return Number(v);
  throw new FieldError(name, max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer 0-${max}`, v);
}

let pmacctByName: Map<string, number> | undefined;
/** A protocol by pmacct's own name (PMACCT_PROTOCOLS), any case. */
export function pmacctProtoNumber(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  pmacctByName ??= new Map(PMACCT_PROTOCOLS.map((n, i) => [n.toLowerCase(), i]));
  return pmacctByName.get(v.toLowerCase());
}

/** pmacct's own protocol names (src/pmacct-data.h `_protocols`): index = number; numbers past
 *  the table print as digits. Not IANA's keywords (pmacct says "ospf", "mobile", "IPcomp"). */
export const PMACCT_PROTOCOLS: readonly string[] = (() => {
  const named: Record<number, string> = {
    1: 'icmp',
    2: 'igmp',
    3: 'ggp',
    4: 'ipencap',
    6: 'tcp',
    8: 'egp',
    9: 'igp',
    17: 'udp',
    18: 'mux',
    41: 'ipv6',
    43: 'ipv6-route',
    44: 'ipv6-frag',
    46: 'rsvp',
    47: 'gre',
    50: 'esp',
    51: 'ah',
    55: 'mobile',
    56: 'tlsp',
    58: 'ipv6-icmp',
    59: 'ipv6-nonxt',
    60: 'ipv6-opts',
    80: 'iso-ip',
    83: 'vines',
    88: 'eigrp',
    89: 'ospf',
    91: 'larp',
    93: 'ax.25',
    94: 'ipip',
    98: 'encap',
    102: 'pnni',
    103: 'pim',
    108: 'IPcomp',
    111: 'ipx-in-ip',
    112: 'vrrp',
    115: 'l2tp',
    124: 'isis',
    132: 'sctp',
    133: 'fc',
  };
  return Array.from({ length: 256 }, (_, i) => named[i] ?? String(i));
})();

/** An aggregate record (flowmeter-record(5)) as a row. Unknown keys are ignored (a later flowmeter may
 *  add primitives; pmacct's print plugin adds event_type). */
export function rowFromAggregate(o: Record<string, unknown>): Row {
  const values: Values = {};
  for (const p of ROW_PRIMITIVES) if (o[p] !== undefined && o[p] !== null) values[p] = primitive(o, p);
  // A CIDR net without its mask primitive still carries the mask.
  for (const side of ['src', 'dst'] as const) {
    const net = o[`${side}_net`];
    if (
      typeof net === 'string' &&
      net.includes('/') &&
      values[`${side}_mask`] === undefined &&
      o[`${side}_mask`] === undefined
    ) {
      const c = parseCidr(net);
      if (c) values[`${side}_mask`] = c.len;
    }
  }
  const time_start = seconds(o, 'time_start');
  const time_end = Math.max(seconds(o, 'time_end'), time_start);
  return {
    values,
    packets: counterField(o, 'packets'),
    bytes: counterField(o, 'bytes', true),
    flows: counterField(o, 'flows'),
    time_start,
    time_end,
    duration_ms: (time_end - time_start) * 1000,
  };
}

/** An aggregate of flow-report's own aggregation (-a) as a row: what rowFromAggregate reads from
 *  its NDJSON line, without writing and parsing the text. */
export function rowOfAggregate(primitives: readonly Primitive[], r: AggregateRecord): Row {
  const values: Values = {};
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') values.tcpflags = r.tcpflags;
    else {
      values[p] = r.values[k++]!;
    }
  }
  const time_end = Math.max(r.time_end, r.time_start);
  return {
    values,
    packets: r.packets,
    bytes: r.bytes,
    flows: r.flows,
    time_start: r.time_start,
    time_end,
    duration_ms: (time_end - r.time_start) * 1000,
  };
}

/** A flow record as a one-flow row carrying every primitive the flow has. */
export function rowFromFlow(f: FlowRecord): Row {
  const src = parseCidr(f.src_net);
  const dst = parseCidr(f.dst_net);
  const values: Values = {
    in_iface: f.in_if,
    out_iface: f.out_if,
    etype: f.etype,
    src_as: f.src_as,
    dst_as: f.dst_as,
    peer_src_ip: f.sampler_address,
    peer_dst_ip: f.next_hop,
    src_host: f.src_addr,
    src_net: src ? formatIP(src.ip) : '',
    dst_host: f.dst_addr,
    dst_net: dst ? formatIP(dst.ip) : '',
    src_mask: src?.len ?? 0,
    dst_mask: dst?.len ?? 0,
    src_port: f.src_port,
    dst_port: f.dst_port,
    tcpflags: f.tcp_flags,
    proto: f.proto,
    tos: f.ip_tos,
    sampling_rate: f.sampling_rate,
  };
  if (f.src_mac !== undefined) values.src_mac = f.src_mac;
  if (f.dst_mac !== undefined) values.dst_mac = f.dst_mac;
  if (f.vlan_id !== undefined) values.vlan = f.vlan_id;
  const start = f.time_flow_start_ns || f.time_received_ns;
  const end = Math.max(f.time_flow_end_ns || start, start);
  return {
    values,
    packets: f.packets,
    bytes: f.bytes,
    flows: 1,
    time_start: Math.floor(start / 1e9),
    time_end: Math.floor(end / 1e9),
    duration_ms: Math.round((end - start) / 1e6),
    flow: f,
  };
}

/** The text of a primitive value as an aggregate NDJSON key would hold it. */
export function valueKey(v: string | number | undefined): string {
  return v === undefined ? '' : typeof v === 'number' ? String(v) : v;
}

export { describeValue, parseIP };
