// The flow record (flowmeter-record(5)): goflow2-compatible names and renderings. One interface, one
// field list; the NDJSON serialiser, CSV/text columns and the NDJSON input validator derive from it.

import { generatedFunction } from '../codegen.js';
import { PROTO_JSON, etypeName, etypeNumber, protoName, protoNumber } from './proto.js';
import { parseCidr, parseIP, parseIPv4, formatIP, formatIPv4 } from '../net/ip.js';
import { counterFromJson, exactJsonIntegers, type Counter } from './counter.js';

export type FlowType = 'NETFLOW_V1' | 'NETFLOW_V5' | 'NETFLOW_V7' | 'NETFLOW_V9' | 'IPFIX' | 'SFLOW_5' | 'FLOWUNKNOWN';

export interface FlowRecord {
  type: FlowType;
  time_received_ns: number;
  sequence_num: number;
  sampling_rate: number; // 0 = unknown
  sampler_address: string;
  time_flow_start_ns: number;
  time_flow_end_ns: number;
  bytes: Counter; // as exported, never renormalised here; uint64 (counter.ts)
  packets: Counter;
  src_addr: string;
  dst_addr: string;
  etype: number; // 0x0800, 0x86dd, 0 = unknown
  proto: number;
  src_port: number;
  dst_port: number;
  in_if: number;
  out_if: number;
  ip_tos: number;
  tcp_flags: number;
  src_as: number;
  dst_as: number;
  next_hop: string;
  src_net: string; // CIDR from the exporter's mask, "0.0.0.0/0" when none
  dst_net: string;
  // Other goflow2 fields, present only when the exporter sent them.
  src_mac?: string;
  dst_mac?: string;
  src_vlan?: number;
  dst_vlan?: number;
  vlan_id?: number;
  forwarding_status?: number;
  ip_ttl?: number;
  ip_flags?: number;
  icmp_type?: number;
  icmp_code?: number;
  ipv6_flow_label?: number;
  fragment_id?: number;
  fragment_offset?: number;
  next_hop_as?: number;
  bgp_next_hop?: string;
  bgp_communities?: number[];
  as_path?: number[];
  mpls_label?: number[];
  observation_domain_id?: number;
  observation_point_id?: number;
  flow_direction?: number;
  layer_size?: number;
}

export type FieldKind = 'u' | 'ip' | 'str' | 'type' | 'proto' | 'etype' | 'net' | 'array' | 'mac';

/** Every field in output order: the core ones always printed, optional ones when present. */
export const FLOW_FIELDS: ReadonlyArray<{ name: keyof FlowRecord; kind: FieldKind; optional: boolean }> = [
  ['type', 'type'],
  ['time_received_ns', 'u'],
  ['sequence_num', 'u'],
  ['sampling_rate', 'u'],
  ['sampler_address', 'ip'],
  ['time_flow_start_ns', 'u'],
  ['time_flow_end_ns', 'u'],
  ['bytes', 'u'],
  ['packets', 'u'],
  ['src_addr', 'ip'],
  ['dst_addr', 'ip'],
  ['etype', 'etype'],
  ['proto', 'proto'],
  ['src_port', 'u'],
  ['dst_port', 'u'],
  ['in_if', 'u'],
  ['out_if', 'u'],
  ['src_mac', 'mac', true],
  ['dst_mac', 'mac', true],
  ['src_vlan', 'u', true],
  ['dst_vlan', 'u', true],
  ['vlan_id', 'u', true],
  ['ip_tos', 'u'],
  ['forwarding_status', 'u', true],
  ['ip_ttl', 'u', true],
  ['ip_flags', 'u', true],
  ['tcp_flags', 'u'],
  ['icmp_type', 'u', true],
  ['icmp_code', 'u', true],
  ['ipv6_flow_label', 'u', true],
  ['fragment_id', 'u', true],
  ['fragment_offset', 'u', true],
  ['src_as', 'u'],
  ['dst_as', 'u'],
  ['next_hop', 'ip'],
  ['next_hop_as', 'u', true],
  ['src_net', 'net'],
  ['dst_net', 'net'],
  ['bgp_next_hop', 'ip', true],
  ['bgp_communities', 'array', true],
  ['as_path', 'array', true],
  ['mpls_label', 'array', true],
  ['observation_domain_id', 'u', true],
  ['observation_point_id', 'u', true],
  ['flow_direction', 'u', true],
  ['layer_size', 'u', true],
].map(([name, kind, optional]) => ({
  name: name as keyof FlowRecord,
  kind: kind as FieldKind,
  optional: optional === true,
}));

export const FIELD_NAMES: ReadonlySet<string> = new Set(FLOW_FIELDS.map((f) => f.name));

const OPTIONAL = FLOW_FIELDS.filter((f) => f.optional);

const D3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * The unit an ns time (beyond 2^53, so a double keeps it only to 256 ns) was sent in: 1e6 when it
 * is a whole number of ms as a double (every NetFlow time, most IPFIX ones), 1e3 for whole µs, else
 * 1. Printing it in that unit gives the integer the exporter sent, as goflow2's uint64 does, not
 * the double's nearest value (…383000064 for …383000000).
 */
export function nsUnit(x: number): number {
  if (Math.round(x / 1e6) * 1e6 === x) return 1e6;
  if (x < 9e18 && Math.round(x / 1e3) * 1e3 === x) return 1e3;
  return 1;
}

/** Integer text for JSON and CSV: an ns time in the unit it came in (nsUnit), which is cheaper
 *  than `${x}`'s shortest round-trip digits (bench/README.md), and otherwise the double's exact
 *  integer value (as BigInt would print it), which parses back to the same number. */
export function intText(x: number): string {
  if (x < 1e15 || x >= 1e21 || !Number.isInteger(x)) return `${x}`;
  const unit = nsUnit(x);
  if (unit === 1e6) return `${Math.round(x / 1e6)}000000`;
  if (unit === 1e3) return `${Math.round(x / 1e3)}000`;
  const hi = Math.floor(x / 1e9);
  const lo = x - hi * 1e9;
  return `${hi}${D3[Math.floor(lo / 1e6)]}${D3[Math.floor(lo / 1e3) % 1000]}${D3[lo % 1000]}`;
}

let memoRecv = -1;
let memoRecvText = '';
let memoStart = -1;
let memoStartText = '';
let memoEnd = -1;
let memoEndText = '';

/** One NDJSON line (without newline). Hand-built for speed; every string that can come from the
 *  wire (MACs are formatted by us, addresses too) is either ours or goes through JSON.stringify. */
export function flowToJson(r: FlowRecord): string {
  // one-entry memos: records of one datagram share the receive time, and often start/end times
  const recv =
    r.time_received_ns === memoRecv ? memoRecvText : (memoRecvText = intText((memoRecv = r.time_received_ns)));
  const start =
    r.time_flow_start_ns === memoStart ? memoStartText : (memoStartText = intText((memoStart = r.time_flow_start_ns)));
  const end = r.time_flow_end_ns === memoEnd ? memoEndText : (memoEndText = intText((memoEnd = r.time_flow_end_ns)));
  let s =
    `{"type":"${r.type}","time_received_ns":${recv},"sequence_num":${r.sequence_num},` +
    `"sampling_rate":${r.sampling_rate},"sampler_address":"${r.sampler_address}",` +
    `"time_flow_start_ns":${start},"time_flow_end_ns":${end},` +
    `"bytes":${r.bytes},"packets":${r.packets},"src_addr":"${r.src_addr}","dst_addr":"${r.dst_addr}",` +
    `"etype":"${etypeName(r.etype)}","proto":${PROTO_JSON[r.proto]},"src_port":${r.src_port},` +
    `"dst_port":${r.dst_port},"in_if":${r.in_if},"out_if":${r.out_if},"ip_tos":${r.ip_tos},` +
    `"tcp_flags":${r.tcp_flags},"src_as":${r.src_as},"dst_as":${r.dst_as},"next_hop":"${r.next_hop}",` +
    `"src_net":"${r.src_net}","dst_net":"${r.dst_net}"`;
  return s + optionalJson(r) + '}';
}

/** The optional fields of flowToJson as straight-line code generated at load from OPTIONAL: direct
 *  `r.name` loads are monomorphic, where a loop of keyed `r[name]` loads is megamorphic and would
 *  cost more than the rest of the line (bench/README.md). */
export const optionalJson = generatedFunction(
  'optionalJson',
  ['r'],
  `let s = ''; let v;\n` +
    OPTIONAL.map(
      (f) =>
        `v = r.${f.name}; if (v !== undefined) s += typeof v === 'number' ? ',"${f.name}":' + v : ',"${f.name}":' + JSON.stringify(v);`,
    ).join('\n') +
    '\nreturn s;',
) as (r: FlowRecord) => string;

/** A field as text for CSV and text output ("" when absent). */
export function renderField(r: FlowRecord, name: keyof FlowRecord): string {
  const v = r[name];
  if (v === undefined) return '';
  if (name === 'proto') return protoName(v as number);
  if (name === 'etype') return etypeName(v as number);
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'number' ? intText(v) : String(v);
}

/** Where a bad field was found and what was wrong with it. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${field ? `field "${field}": ` : ''}expected ${expected} (got ${describeValue(got)})`);
  }
}

/** A value for a message: its JSON text, cut to `max` characters (then "…"). */
export function describeValue(v: unknown, max = DESCRIBED): string {
  const s = jsonPrefix(v, max + 1);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Characters of a value describeValue shows by default. */
const DESCRIBED = 40;

/** The JSON text of `v` (String(v) where JSON has none), or at least its first `max` characters:
 *  arrays and objects are written only as far as needed, so a value nested 100,000 levels deep
 *  (JSON.parse reads it; JSON.stringify overflows the stack) costs `max` levels at most. A bigint
 *  is a JSON integer as written (exactJsonIntegers): its digits, never rounded. */
function jsonPrefix(v: unknown, max: number): string {
  if (typeof v === 'bigint') return String(v);
  if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? String(v);
  // a Date or Buffer (from an XML-RPC answer) is written as JSON.stringify writes it
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return jsonPrefix((v as { toJSON(): unknown }).toJSON(), max);
  const array = Array.isArray(v);
  let s = array ? '[' : '{';
  for (const [k, x] of Object.entries(v)) {
    if (s.length >= max) return s;
    if (s.length > 1) s += ',';
    if (!array) s += `${JSON.stringify(k)}:`;
    s += jsonPrefix(x, max - s.length);
  }
  return s + (array ? ']' : '}');
}

function uint(o: Record<string, unknown>, name: string, max = Number.MAX_SAFE_INTEGER * 1024): number {
  const v = o[name];
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
  // uint64 values beyond 2^53 may arrive as strings (ns times), or as exact bigints
  if ((typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) || typeof v === 'bigint') {
    const n = Number(v);
    if (n <= max) return n;
  }
  throw new FieldError(name, 'a non-negative integer', v);
}

/** A counter field (bytes, packets, flows): uint64, exact (counter.ts); 0 when absent. */
export function counterField(o: Record<string, unknown>, name: string, required = false): Counter {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new FieldError(name, 'a non-negative integer (field missing)', v);
    return 0;
  }
  const c = counterFromJson(v);
  if (c === undefined) throw new FieldError(name, counterExpected(v), v);
  return c;
}

/** What a refused counter value should have been: in range, or in digits, or an integer at all. */
function counterExpected(v: unknown): string {
  if (typeof v === 'bigint' || (typeof v === 'string' && /^[0-9]+$/.test(v)))
    return 'a non-negative integer at most 18446744073709551615 (2^64-1)';
  if (typeof v === 'number' && Number.isInteger(v) && v > 0)
    return 'a non-negative integer in plain digits (above 2^53-1 no other form is exact)';
  return 'a non-negative integer';
}

function addr(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') {
    if (parseIPv4(v) !== undefined) return v; // a strict dotted quad is already canonical
    const ip = parseIP(v);
    if (ip) return formatIP(ip);
  }
  throw new FieldError(name, 'an IPv4 or IPv6 address', v);
}

/** Fast path for an IPv4 CIDR with a canonical length: the text itself when no host bits are
 *  set, else the masked network; undefined to leave anything else to the general parser. */
function ipv4CidrFast(v: string): string | undefined {
  const slash = v.indexOf('/');
  if (slash < 7 || v.length - slash < 2 || v.length - slash > 3) return undefined;
  const a = parseIPv4(v.slice(0, slash));
  if (a === undefined) return undefined;
  const d1 = v.charCodeAt(slash + 1) - 48;
  const d2 = slash + 2 < v.length ? v.charCodeAt(slash + 2) - 48 : -1;
  if (d1 < 0 || d1 > 9 || (d2 !== -1 && (d1 === 0 || d2 < 0 || d2 > 9))) return undefined;
  const len = d2 === -1 ? d1 : d1 * 10 + d2;
  if (len > 32) return undefined;
  const m = len === 0 ? 0 : (a & (-1 << (32 - len))) >>> 0;
  return m === a ? v : `${formatIPv4(m)}/${len}`;
}

function net(o: Record<string, unknown>, name: string, address: string): string {
  return netField(o[name], name, address);
}

/** The canonical "net/len" text of a src_net/dst_net value `v` of a record whose matching
 *  address is `address` (canonical text, "" when none); throws FieldError naming `name`. */
export function netField(v: unknown, name: string, address: string): string {
  if (typeof v === 'string') {
    const fast = ipv4CidrFast(v);
    if (fast !== undefined) return fast;
  }
  const ip = address === '' ? undefined : parseIP(address);
  if (v === undefined || v === null || v === '') return ip?.family === 6 ? '::/0' : '0.0.0.0/0';
  if (typeof v === 'number') {
    // goflow2 with the "none" renderer gives the bare prefix length
    const max = ip?.family === 6 ? 128 : 32;
    if (Number.isInteger(v) && v >= 0 && v <= max) return netText(ip, v);
    throw new FieldError(name, `a prefix length 0-${max} or a CIDR`, v);
  }
  if (typeof v === 'string') {
    const c = parseCidr(v);
    if (c && v.includes('/')) return netText(c.ip, c.len);
  }
  throw new FieldError(name, 'a CIDR network like 10.0.0.0/8', v);
}

function netText(ip: ReturnType<typeof parseIP>, len: number): string {
  if (!ip) return len === 0 ? '0.0.0.0/0' : `0.0.0.0/${len}`;
  const bytes = new Uint8Array(ip.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    bytes[i]! &= (0xff00 >> bits) & 0xff;
  }
  return `${formatIP({ family: ip.family, bytes })}/${len}`;
}

export const FLOW_TYPES: ReadonlySet<string> = new Set([
  'NETFLOW_V1',
  'NETFLOW_V5',
  'NETFLOW_V7',
  'NETFLOW_V9',
  'IPFIX',
  'SFLOW_5',
  'FLOWUNKNOWN',
]);

/** Validate a parsed NDJSON object (ours or goflow2's, missing fields allowed) into a record.
 *  Throws FieldError naming the first bad field. */
export function flowFromObject(o: Record<string, unknown>): FlowRecord {
  const type = o.type ?? 'FLOWUNKNOWN';
  if (typeof type !== 'string' || !FLOW_TYPES.has(type)) throw new FieldError('type', 'a flow type like "IPFIX"', type);
  const protoRaw = o.proto ?? 0;
  const proto = typeof protoRaw === 'string' || typeof protoRaw === 'number' ? protoNumber(protoRaw) : undefined;
  if (proto === undefined) throw new FieldError('proto', 'an IANA protocol name or number 0-255', protoRaw);
  const src_addr = addr(o, 'src_addr');
  const dst_addr = addr(o, 'dst_addr');
  const etypeRaw = o.etype ?? '';
  let etype = typeof etypeRaw === 'string' || typeof etypeRaw === 'number' ? etypeNumber(etypeRaw) : undefined;
  if (etype === undefined) throw new FieldError('etype', '"IPv4", "IPv6" or an EtherType number', etypeRaw);
  if (etype === 0 && src_addr !== '') etype = src_addr.includes(':') ? 0x86dd : 0x0800;
  const r: FlowRecord = {
    type: type as FlowType,
    time_received_ns: uint(o, 'time_received_ns'),
    sequence_num: uint(o, 'sequence_num'),
    sampling_rate: uint(o, 'sampling_rate'),
    sampler_address: addr(o, 'sampler_address'),
    time_flow_start_ns: uint(o, 'time_flow_start_ns'),
    time_flow_end_ns: uint(o, 'time_flow_end_ns'),
    bytes: counterField(o, 'bytes'),
    packets: counterField(o, 'packets'),
    src_addr,
    dst_addr,
    etype,
    proto,
    src_port: uint(o, 'src_port', 65535),
    dst_port: uint(o, 'dst_port', 65535),
    in_if: uint(o, 'in_if'),
    out_if: uint(o, 'out_if'),
    ip_tos: uint(o, 'ip_tos', 255),
    tcp_flags: uint(o, 'tcp_flags', 0xffff),
    src_as: uint(o, 'src_as'),
    dst_as: uint(o, 'dst_as'),
    next_hop: addr(o, 'next_hop'),
    src_net: net(o, 'src_net', src_addr),
    dst_net: net(o, 'dst_net', dst_addr),
  };
  const optional: Record<string, unknown> = {};
  for (const f of OPTIONAL) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    if (f.kind === 'u') optional[f.name] = uint(o, f.name);
    else if (f.kind === 'ip') optional[f.name] = addr(o, f.name);
    else if (f.kind === 'array') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
        throw new FieldError(f.name, 'an array of non-negative integers', v);
      }
      optional[f.name] = v;
    } else if (typeof v === 'string') optional[f.name] = v;
    else throw new FieldError(f.name, 'a string', v);
  }
  Object.assign(r, optional);
  return r;
}

/** One NDJSON line as an object; throws FieldError (field "") when it is not a JSON object. */
export function parseJsonObject(line: string): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new FieldError('', 'a JSON object', line);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new FieldError('', 'a JSON object', line);
  exactJsonIntegers(line, o as Record<string, unknown>);
  return o as Record<string, unknown>;
}

/** Parse one NDJSON line into a record; throws FieldError (field "" for bad JSON). */
export function parseFlowLine(line: string): FlowRecord {
  return flowFromObject(parseJsonObject(line));
}
