// Records from other collectors (flowmeter-record(5), "Records from other collectors"): a parsed
// JSON object of goflow2 v2/v3, goflow v1 (CamelCase), nfdump (`-o json`) or pmacct (print plugin
// JSON, `pmacct -s -O json`) turned into flowmeter's shape — a flow record (validated by
// flowFromObject) or an aggregate object (flowmeter's aggregate keys, validated by its reader).
// The dialect is told by the fields a line has, or forced. A line with no address and no counter
// of any dialect is refused, never read as an empty flow; a known dialect without the counter it
// needs is refused naming that field.

import { FieldError, flowFromObject, type FlowRecord } from './record.js';
import { protoNumber } from './proto.js';
import { pmacctProtoNumber } from '../report/record.js';

export const DIALECTS = ['flowmeter', 'goflow2', 'goflow', 'nfdump', 'pmacct'] as const;
export type Dialect = (typeof DIALECTS)[number];
/** What --input-format takes: a dialect, or `auto` (told per line). */
export type InputFormat = Dialect | 'auto';
export const INPUT_FORMATS: readonly InputFormat[] = ['auto', ...DIALECTS];

export type InputRecord = { kind: 'flow'; flow: FlowRecord } | { kind: 'aggregate'; obj: Record<string, unknown> };

type Obj = Record<string, unknown>;

/** A line with no address and no counter of any dialect (field ""). */
export class NotARecordError extends FieldError {
  constructor(got: unknown) {
    super('', 'a flow record', got);
    this.message = 'not a flow record: no field of flowmeter, goflow2, nfdump or pmacct';
  }
}

const GOFLOW_V1_KEYS = ['Type', 'TimeReceived', 'SrcAddr', 'DstAddr', 'Bytes', 'Packets', 'SamplerAddress'];
const NFDUMP_KEYS = ['in_bytes', 'in_packets', 'src4_addr', 'dst4_addr', 'src6_addr', 'dst6_addr'];
/** pmacct JSON key → flowmeter aggregate primitive (pmc_compose_json / print plugin names). */
const PMACCT_KEYS: Readonly<Record<string, string>> = {
  tag: 'tag',
  tag2: 'tag2',
  mac_src: 'src_mac',
  mac_dst: 'dst_mac',
  vlan: 'vlan',
  etype: 'etype',
  as_src: 'src_as',
  as_dst: 'dst_as',
  peer_ip_src: 'peer_src_ip',
  peer_ip_dst: 'peer_dst_ip',
  iface_in: 'in_iface',
  iface_out: 'out_iface',
  ip_src: 'src_host',
  net_src: 'src_net',
  ip_dst: 'dst_host',
  net_dst: 'dst_net',
  mask_src: 'src_mask',
  mask_dst: 'dst_mask',
  port_src: 'src_port',
  port_dst: 'dst_port',
  tcp_flags: 'tcpflags',
  ip_proto: 'proto',
  tos: 'tos',
  sampling_rate: 'sampling_rate',
};
/** Keys only pmacct writes (tag, vlan, etype, tos and the counters are shared with ours). */
const PMACCT_ONLY = [
  ...Object.keys(PMACCT_KEYS).filter((k) => PMACCT_KEYS[k] !== k && k !== 'tcp_flags'),
  'event_type',
  'stamp_inserted',
  'stamp_updated',
  'timestamp_start',
  'timestamp_end',
];
/** Keys of flowmeter's flow records that an aggregate never has. */
const FLOW_ONLY = [
  'src_addr',
  'dst_addr',
  'sampler_address',
  'time_received_ns',
  'time_flow_start_ns',
  'time_flow_end_ns',
];
/** Keys of flowmeter's aggregate records that a flow never has. */
const AGGREGATE_ONLY = [
  'flows',
  'src_host',
  'dst_host',
  'sum_host',
  'sum_net',
  'sum_as',
  'sum_port',
  'in_iface',
  'out_iface',
  'peer_src_ip',
  'peer_dst_ip',
  'src_mask',
  'dst_mask',
  'tcpflags',
  'tos',
  'vlan',
  'time_start',
  'time_end',
  'tag',
  'tag2',
];

const has = (o: Obj, keys: readonly string[]): boolean => keys.some((k) => o[k] !== undefined);

/** The dialect of a parsed line, by its fields; undefined when it has none a reader knows. */
export function detectDialect(o: Obj): Dialect | undefined {
  if (has(o, NFDUMP_KEYS)) return 'nfdump';
  if (has(o, GOFLOW_V1_KEYS)) return 'goflow';
  if (has(o, PMACCT_ONLY)) return 'pmacct';
  if (has(o, FLOW_ONLY) || has(o, AGGREGATE_ONLY) || o.bytes !== undefined || o.packets !== undefined)
    return 'flowmeter';
  return undefined;
}

/** A parsed line as a flow or an aggregate of flowmeter's; throws FieldError (field "" for a
 *  line of no dialect, else the field at fault). */
export function recordFromObject(o: Obj, format: InputFormat = 'auto'): InputRecord {
  const dialect = format === 'auto' ? detectDialect(o) : format;
  switch (dialect) {
    case 'flowmeter':
    case 'goflow2':
      return fromFlowmeter(o);
    case 'goflow':
      return { kind: 'flow', flow: validated(fromGoflowV1(o), GOFLOW_V1_NAMES) };
    case 'nfdump':
      return { kind: 'flow', flow: validated(fromNfdump(o), NFDUMP_NAMES) };
    case 'pmacct':
      return { kind: 'aggregate', obj: fromPmacct(o) };
    default:
      throw new NotARecordError(o);
  }
}

function required(o: Obj, name: string, dialect: string): unknown {
  const v = o[name];
  if (v === undefined || v === null)
    throw new FieldError(name, `a non-negative integer (field missing: a ${dialect} record needs it)`, v);
  return v;
}

/** flowmeter's own records and goflow2 v2/v3 JSON (the same names): goflow2's fields that are
 *  not ours or differ in shape (layer_size, an array in goflow2; layer_stack, mpls_ttl, mpls_ip,
 *  ipv6_routing_header_*) are dropped; its proto "" (a protocol its renderer has no name for) is
 *  read as 255, the number being lost. */
function fromFlowmeter(o: Obj): InputRecord {
  if (o.flows !== undefined || (!has(o, FLOW_ONLY) && has(o, AGGREGATE_ONLY))) {
    required(o, 'bytes', 'flowmeter aggregate');
    return { kind: 'aggregate', obj: o };
  }
  if (!has(o, FLOW_ONLY) && o.bytes === undefined && o.packets === undefined) throw new NotARecordError(o);
  let x = o;
  if (Array.isArray(o.layer_size) || o.proto === '') {
    x = { ...o };
    if (Array.isArray(x.layer_size)) delete x.layer_size;
    if (x.proto === '') x.proto = 255;
  }
  const flow = flowFromObject(x);
  if (has(o, ['src_addr', 'dst_addr'])) required(o, 'bytes', 'flow');
  return { kind: 'flow', flow };
}

/** goflow v1 / goflow2 v1 JSON: CamelCase names, times in seconds (TimeFlowStartMs/EndMs when
 *  given), SrcNet/DstNet as prefix lengths, Etype and Proto as numbers (or names). */
function fromGoflowV1(o: Obj): Obj {
  required(o, 'Bytes', 'goflow');
  const ns = (name: string, msName?: string): unknown => {
    const ms = msName === undefined ? undefined : o[msName];
    if (ms !== undefined && ms !== null && ms !== 0) return times(ms, msName!, 1e6);
    return times(o[name], name, 1e9);
  };
  const r: Obj = {
    type: goflowType(o.Type),
    time_received_ns: ns('TimeReceived'),
    sequence_num: o.SequenceNum,
    sampling_rate: o.SamplingRate,
    sampler_address: o.SamplerAddress,
    time_flow_start_ns: ns('TimeFlowStart', 'TimeFlowStartMs'),
    time_flow_end_ns: ns('TimeFlowEnd', 'TimeFlowEndMs'),
    bytes: o.Bytes,
    packets: o.Packets,
    src_addr: o.SrcAddr,
    dst_addr: o.DstAddr,
    etype: o.Etype,
    proto: o.Proto,
    src_port: o.SrcPort,
    dst_port: o.DstPort,
    in_if: o.InIf,
    out_if: o.OutIf,
    src_mac: macOrUndefined(o.SrcMac),
    dst_mac: macOrUndefined(o.DstMac),
    src_vlan: o.SrcVlan,
    dst_vlan: o.DstVlan,
    vlan_id: o.VlanId,
    ip_tos: o.IPTos,
    forwarding_status: o.ForwardingStatus,
    ip_ttl: o.IPTTL,
    tcp_flags: o.TCPFlags,
    icmp_type: o.IcmpType,
    icmp_code: o.IcmpCode,
    ipv6_flow_label: o.IPv6FlowLabel,
    fragment_id: o.FragmentId,
    fragment_offset: o.FragmentOffset,
    src_as: o.SrcAS,
    dst_as: o.DstAS,
    next_hop: o.NextHop,
    next_hop_as: o.NextHopAS,
    src_net: o.SrcNet,
    dst_net: o.DstNet,
    flow_direction: o.FlowDirection,
  };
  return r;
}

const GOFLOW_V1_NAMES: FieldNames = {
  type: 'Type',
  sequence_num: 'SequenceNum',
  sampling_rate: 'SamplingRate',
  sampler_address: 'SamplerAddress',
  bytes: 'Bytes',
  packets: 'Packets',
  src_addr: 'SrcAddr',
  dst_addr: 'DstAddr',
  etype: 'Etype',
  proto: 'Proto',
  src_port: 'SrcPort',
  dst_port: 'DstPort',
  in_if: 'InIf',
  out_if: 'OutIf',
  src_mac: 'SrcMac',
  dst_mac: 'DstMac',
  ip_tos: 'IPTos',
  tcp_flags: 'TCPFlags',
  src_as: 'SrcAS',
  dst_as: 'DstAS',
  next_hop: 'NextHop',
  src_net: 'SrcNet',
  dst_net: 'DstNet',
};

/** A goflow v1 MAC: text as ours, a number (the protobuf uint64); 0, "" or all zeros for none. */
function macOrUndefined(v: unknown): unknown {
  if (v === undefined || v === null || v === 0 || v === '' || v === '00:00:00:00:00:00') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) {
    return v
      .toString(16)
      .padStart(12, '0')
      .replace(/(..)(?!$)/g, '$1:');
  }
  return v;
}

function goflowType(v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (v === 'NETFLOW_V9' || v === 'NETFLOW_V5' || v === 'IPFIX' || v === 'SFLOW_5' || v === 'FLOWUNKNOWN') return v;
  if (typeof v === 'number') return ['FLOWUNKNOWN', 'SFLOW_5', 'NETFLOW_V5', 'NETFLOW_V9', 'IPFIX'][v] ?? v;
  return v;
}

/** A time of `unit` ns per step (seconds 1e9, ms 1e6) as ns; anything else is left for the
 *  validator to name. */
function times(v: unknown, name: string, unit: number): unknown {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v * unit;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v) * unit;
  throw new FieldError(name, unit === 1e9 ? 'Unix seconds' : 'Unix milliseconds', v);
}

/** Our field → the dialect's, to name the field the user wrote in an error. */
type FieldNames = Readonly<Record<string, string>>;

/** The mapped record through flowFromObject; an error names the dialect's field. */
function validated(r: Obj, names: FieldNames): FlowRecord {
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  try {
    return flowFromObject(r);
  } catch (e) {
    if (!(e instanceof FieldError) || names[e.field] === undefined) throw e;
    throw new FieldError(names[e.field]!, e.expected, e.got);
  }
}

/** nfdump's JSON (`-o json`, `-o json-log`): times as local-time text with ms, addresses split
 *  by family, bytes = in_bytes + out_bytes (as goflow2 and flow-capture count IN_BYTES and
 *  OUT_BYTES), ICMP type/code back into dst_port as NetFlow carries them. */
function fromNfdump(o: Obj): Obj {
  required(o, 'in_bytes', 'nfdump');
  const sum = (a: string, b: string): unknown =>
    o[b] === undefined || o[b] === 0 ? o[a] : nfCount(o, a) + nfCount(o, b);
  const proto = o.proto;
  const icmp = (proto === 1 || proto === 58) && o.dst_port === undefined && o.icmp_type !== undefined;
  const r: Obj = {
    type: undefined,
    time_received_ns: localTimeNs(o, 'received'),
    sampler_address: o.ip4_router ?? o.ip6_router,
    time_flow_start_ns: localTimeNs(o, 'first'),
    time_flow_end_ns: localTimeNs(o, 'last'),
    bytes: sum('in_bytes', 'out_bytes'),
    packets: sum('in_packets', 'out_packets'),
    src_addr: o.src4_addr ?? o.src6_addr,
    dst_addr: o.dst4_addr ?? o.dst6_addr,
    proto,
    src_port: icmp ? 0 : o.src_port,
    dst_port: icmp ? nfCount(o, 'icmp_type') * 256 + nfCount(o, 'icmp_code') : o.dst_port,
    in_if: o.input_snmp,
    out_if: o.output_snmp,
    ip_tos: o.src_tos,
    tcp_flags: nfFlags(o.tcp_flags),
    src_as: o.src_as,
    dst_as: o.dst_as,
    next_hop: o.ip4_next_hop ?? o.ip6_next_hop,
    bgp_next_hop: o.ip4_bgp_next_hop ?? o.ip6_bgp_next_hop,
    src_net: o.src_mask,
    dst_net: o.dst_mask,
    forwarding_status: o.fwd_status,
    flow_direction: o.direction,
    icmp_type: o.icmp_type,
    icmp_code: o.icmp_code,
    src_vlan: o.src_vlan,
    dst_vlan: o.dst_vlan,
    src_mac: o.in_src_mac,
    dst_mac: o.out_dst_mac,
  };
  return r;
}

const NFDUMP_NAMES: FieldNames = {
  sampler_address: 'ip4_router',
  bytes: 'in_bytes',
  packets: 'in_packets',
  src_addr: 'src4_addr',
  dst_addr: 'dst4_addr',
  in_if: 'input_snmp',
  out_if: 'output_snmp',
  ip_tos: 'src_tos',
  next_hop: 'ip4_next_hop',
  bgp_next_hop: 'ip4_bgp_next_hop',
  src_net: 'src_mask',
  dst_net: 'dst_mask',
  forwarding_status: 'fwd_status',
  flow_direction: 'direction',
  src_mac: 'in_src_mac',
  dst_mac: 'out_dst_mac',
};

function nfCount(o: Obj, name: string): number {
  const v = o[name];
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v);
  throw new FieldError(name, 'a non-negative integer', v);
}

/** nfdump's TCP flag text ("...AP.SF", CWR first) → the flags byte; a number passes. */
function nfFlags(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (!/^[.CEUAPRSF]{8}$/.test(v)) throw new FieldError('tcp_flags', 'nfdump TCP flags like "...AP.SF"', v);
  let n = 0;
  for (let i = 0; i < 8; i++) if (v[i] !== '.') n |= 1 << (7 - i);
  return n;
}

const LOCAL_TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?$/;

/** Text "YYYY-MM-DD[T ]HH:MM:SS[.fff]" in the local time zone (as nfdump and pmacct print it)
 *  → ns since the epoch, the fraction kept to the ns; Unix seconds as digits pass too. */
export function localTimeNs(o: Obj, name: string): number | undefined {
  const v = o[name];
  if (v === undefined || v === null || v === '' || v === 0) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.round(v * 1e3) * 1e6;
  if (typeof v === 'string') {
    if (/^[0-9]{1,12}(\.[0-9]{1,9})?$/.test(v)) {
      const [s, f = ''] = v.split('.');
      return Number(s) * 1e9 + Number(f.padEnd(9, '0'));
    }
    const m = LOCAL_TIME.exec(v);
    if (m) {
      const ms = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!).getTime();
      // whole seconds × 1e9 is exact; one rounding for the fraction, as a parsed ns integer gets
      if (Number.isFinite(ms)) return (ms / 1000) * 1e9 + Number((m[7] ?? '').padEnd(9, '0'));
    }
  }
  throw new FieldError(name, 'a local time like 2024-01-15T12:00:00.115', v);
}

/** pmacct's JSON (print plugin, `pmacct -s -O json`) as an aggregate record of ours: keys
 *  renamed, protocol names (pmacct's own) and hex etype as numbers, times (timestamp_start/end,
 *  else stamp_inserted/updated) as Unix seconds. flows is 0 when pmacct did not count flows. */
function fromPmacct(o: Obj): Obj {
  required(o, 'bytes', 'pmacct');
  required(o, 'packets', 'pmacct');
  const r: Obj = { bytes: o.bytes, packets: o.packets, flows: o.flows ?? 0 };
  for (const [k, v] of Object.entries(o)) {
    const name = PMACCT_KEYS[k];
    if (name === undefined || v === undefined || v === null) continue;
    r[name] = v;
  }
  if (typeof r.proto === 'string') r.proto = protoNumber(r.proto) ?? pmacctProtoNumber(r.proto) ?? r.proto;
  if (typeof r.etype === 'string' && /^[0-9a-fA-F]{1,4}$/.test(r.etype)) r.etype = parseInt(r.etype, 16);
  if (typeof r.tcpflags === 'string' && /^[0-9]{1,5}$/.test(r.tcpflags)) r.tcpflags = Number(r.tcpflags);
  const start = localTimeNs(o, o.timestamp_start !== undefined ? 'timestamp_start' : 'stamp_inserted');
  const end = localTimeNs(o, o.timestamp_end !== undefined ? 'timestamp_end' : 'stamp_updated');
  if (start !== undefined) r.time_start = Math.floor(start / 1e9);
  if (end !== undefined) r.time_end = Math.floor(end / 1e9);
  return r;
}
