// One aggregation (pmacct plugin): flows and aggregate records in, exact sums per key out.
// Memory is one bucket per distinct key (plus per time bin with --interval), never per flow.

import type { FlowRecord } from '../flow/record.js';
import { FieldError, describeValue } from '../flow/record.js';
import { PROTO_JSON, etypeName, etypeNumber, protoName, protoNumber } from '../flow/proto.js';
import { parseIP, formatIP } from '../net/ip.js';
import type { NetworkEntry, NetworkTable } from '../networks/file.js';
import { FlowView } from './view.js';
import { ipv4ToU32 } from '../networks/addr.js';
import { ADDRESS_PRIMITIVES, NET_PRIMITIVES, canonicalOrder, isKeyPrimitive, isSumPrimitive, type Primitive } from './primitives.js';

export type Value = string | number;
export type FlowPredicate = (v: FlowView) => boolean;
export type SortOrder = 'bytes' | 'packets' | 'key';
export type NetSource = 'file' | 'exporter' | 'longest';

export interface AggregationSpec {
  name: string;
  primitives: readonly Primitive[];
  /** A flow passes if any predicate matches (pmacct evaluate_filters); none = all pass. */
  filters?: readonly FlowPredicate[];
  /** Networks file table; without one, nets and masks come from the exporter (flow src_net/dst_net). */
  networks?: NetworkTable;
  /** Where *_net/*_mask come from when a table is given (pmacct nfacctd_net): the networks file
   *  (default), the exporter's masks, or whichever of the two is longer. */
  netSource?: NetSource;
  /** Time bin width in seconds; 0 = no bins (time_start/time_end = earliest start, latest end). */
  interval?: number;
  /** Bin (and stamp) by flow start (default) or by arrival time (pmacct nfacctd_time_new). */
  time?: 'start' | 'arrival';
  /** Spread a flow's bytes/packets over the bins it spans (pmacct nfacctd_pro_rating). */
  proRate?: boolean;
  /** Multiply bytes and packets by the flow's sampling rate (0 = unknown: unchanged, counted). */
  renormalize?: boolean;
}

export interface AggregateRecord {
  /** One value per key primitive, in the aggregation's (canonical) primitive order; tcpflags is
   *  not a key and has no slot here. */
  values: Value[];
  packets: number;
  bytes: number;
  flows: number;
  time_start: number;
  time_end: number;
  tcpflags: number;
}

export interface PreparedAggregate {
  key: string;
  values: Value[];
  bytes: number;
  packets: number;
  flows: number;
  start: number;
  end: number;
  flags: number;
}

export interface AggregatorStats {
  flows: number;
  aggregates: number;
  filtered: number;
  renormalized: number;
  unknownSamplingRate: number;
  /** A sum went past 2^53 and may have lost precision. */
  inexact: boolean;
}

/** Counters of all aggregates in typed columns indexed by slot (no object per counter: a
 *  million keys are a million Map entries and key arrays, not eight million heap objects). */
class Columns {
  size = 0;
  packets: Float64Array = new Float64Array(1024);
  bytes: Float64Array = new Float64Array(1024);
  flows: Float64Array = new Float64Array(1024);
  start: Float64Array = new Float64Array(1024);
  end: Float64Array = new Float64Array(1024);
  flags: Uint32Array = new Uint32Array(1024);
  values: Value[][] = [];

  /** A new slot for an aggregate with these key values. */
  push(values: Value[]): number {
    if (this.size === this.bytes.length) this.grow();
    const i = this.size++;
    this.start[i] = Number.POSITIVE_INFINITY;
    this.end[i] = Number.NEGATIVE_INFINITY;
    this.values.push(values);
    return i;
  }

  private grow(): void {
    const n = this.bytes.length * 2;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.packets = f64(this.packets);
    this.bytes = f64(this.bytes);
    this.flows = f64(this.flows);
    this.start = f64(this.start);
    this.end = f64(this.end);
    const fl = new Uint32Array(n);
    fl.set(this.flags);
    this.flags = fl;
  }
}

type Getter = (v: FlowView, side: number) => Value;

const SEP = '\x01';
const NS = 1e9;

function exporterNet(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function exporterMask(cidr: string): number {
  const slash = cidr.indexOf('/');
  return slash < 0 ? 0 : Number(cidr.slice(slash + 1));
}

function longer(e: NetworkEntry, cidr: string): [string, number] {
  const m = exporterMask(cidr);
  return m > e.mask ? [exporterNet(cidr), m] : [e.net, e.mask];
}

function makeGetter(p: Primitive, table: NetworkTable | undefined, source: NetSource, renormalize: boolean): Getter {
  switch (p) {
    case 'in_iface': return (v) => v.r.in_if;
    case 'out_iface': return (v) => v.r.out_if;
    case 'etype': return (v) => v.r.etype;
    case 'src_as': return (v) => v.r.src_as;
    case 'dst_as': return (v) => v.r.dst_as;
    case 'sum_as': return (v, side) => (side === 0 ? v.r.src_as : v.r.dst_as);
    case 'peer_src_ip': return (v) => v.r.sampler_address;
    case 'src_host': return (v) => v.r.src_addr;
    case 'dst_host': return (v) => v.r.dst_addr;
    case 'sum_host': return (v, side) => (side === 0 ? v.r.src_addr : v.r.dst_addr);
    case 'src_port': return (v) => v.r.src_port;
    case 'dst_port': return (v) => v.r.dst_port;
    case 'sum_port': return (v, side) => (side === 0 ? v.r.src_port : v.r.dst_port);
    case 'proto': return (v) => v.r.proto;
    case 'tos': return (v) => v.r.ip_tos;
    case 'sampling_rate':
      return renormalize ? (v) => (v.r.sampling_rate > 0 ? 1 : 0) : (v) => v.r.sampling_rate;
    case 'tcpflags': return () => 0;
    default:
      break;
  }
  if (table && source === 'file') {
    switch (p) {
      case 'src_net': return (v) => v.srcNet().net;
      case 'dst_net': return (v) => v.dstNet().net;
      case 'sum_net': return (v, side) => (side === 0 ? v.srcNet().net : v.dstNet().net);
      case 'src_mask': return (v) => v.srcNet().mask;
      case 'dst_mask': return (v) => v.dstNet().mask;
    }
  } else if (table && source === 'longest') {
    // pmacct "longest": the exporter's prefix wins when it is longer than the file's
    const src = (v: FlowView): [string, number] => longer(v.srcNet(), v.r.src_net);
    const dst = (v: FlowView): [string, number] => longer(v.dstNet(), v.r.dst_net);
    switch (p) {
      case 'src_net': return (v) => src(v)[0];
      case 'dst_net': return (v) => dst(v)[0];
      case 'sum_net': return (v, side) => (side === 0 ? src(v) : dst(v))[0];
      case 'src_mask': return (v) => src(v)[1];
      case 'dst_mask': return (v) => dst(v)[1];
    }
  } else {
    switch (p) {
      case 'src_net': return (v) => exporterNet(v.r.src_net);
      case 'dst_net': return (v) => exporterNet(v.r.dst_net);
      case 'sum_net': return (v, side) => exporterNet(side === 0 ? v.r.src_net : v.r.dst_net);
      case 'src_mask': return (v) => exporterMask(v.r.src_net);
      case 'dst_mask': return (v) => exporterMask(v.r.dst_net);
    }
  }
  throw new Error(`no getter for primitive ${p}`);
}

export class Aggregator {
  readonly name: string;
  readonly primitives: readonly Primitive[];
  /** Primitives that make up the key (all but tcpflags), in order. */
  readonly keyPrimitives: readonly Primitive[];
  readonly stats: AggregatorStats = { flows: 0, aggregates: 0, filtered: 0, renormalized: 0, unknownSamplingRate: 0, inexact: false };
  private readonly getters: Getter[];
  private readonly index = new Map<string, number>();
  private cols = new Columns();
  private readonly filters: readonly FlowPredicate[];
  private readonly interval: number;
  private readonly arrival: boolean;
  private readonly proRate: boolean;
  private readonly renormalize: boolean;
  private readonly sum: boolean;
  private readonly orFlags: boolean;
  /** True when the key needs a networks lookup (the FlowView must carry the table). */
  readonly needsNetworks: boolean;
  readonly networks: NetworkTable | undefined;
  private readonly ownView: FlowView;

  constructor(spec: AggregationSpec) {
    this.name = spec.name;
    this.primitives = canonicalOrder(spec.primitives);
    this.keyPrimitives = this.primitives.filter(isKeyPrimitive);
    this.filters = spec.filters ?? [];
    this.interval = spec.interval ?? 0;
    this.arrival = spec.time === 'arrival';
    this.proRate = spec.proRate === true && this.interval > 0;
    this.renormalize = spec.renormalize === true;
    this.sum = spec.primitives.some(isSumPrimitive);
    this.orFlags = spec.primitives.includes('tcpflags');
    this.networks = spec.networks;
    this.needsNetworks = spec.networks !== undefined && spec.primitives.some((p) => NET_PRIMITIVES.has(p));
    this.getters = this.keyPrimitives.map((p) => makeGetter(p, spec.networks, spec.netSource ?? 'file', this.renormalize));
    this.ownView = new FlowView(spec.networks);
  }

  /** Number of distinct aggregates held. */
  get size(): number {
    return this.index.size;
  }

  /** Account one flow record. `view` (if given) must have been built with this aggregation's
   *  networks table and set to `r`. Returns false when the filters rejected it. */
  addFlow(r: FlowRecord, view?: FlowView): boolean {
    const v = view ?? this.ownView.set(r);
    if (this.filters.length > 0 && !this.passes(v)) {
      this.stats.filtered++;
      return false;
    }
    this.stats.flows++;
    let bytes = r.bytes;
    let packets = r.packets;
    if (this.renormalize) {
      const rate = r.sampling_rate;
      if (rate > 0) {
        if (rate !== 1) {
          bytes *= rate;
          packets *= rate;
        }
        this.stats.renormalized++;
      } else this.stats.unknownSamplingRate++;
    }
    let startNs: number;
    let endNs: number;
    if (this.arrival) {
      startNs = endNs = r.time_received_ns;
    } else {
      startNs = r.time_flow_start_ns || r.time_received_ns;
      endNs = r.time_flow_end_ns || startNs;
      if (endNs < startNs) endNs = startNs;
    }
    this.account(v, 0, bytes, packets, startNs, endNs);
    if (this.sum) this.account(v, 1, bytes, packets, startNs, endNs);
    return true;
  }

  private passes(v: FlowView): boolean {
    const f = this.filters;
    for (let i = 0; i < f.length; i++) if (f[i]!(v)) return true;
    return false;
  }

  private flowKey(v: FlowView, side: number): string {
    const g = this.getters;
    let key = '';
    for (let i = 0; i < g.length; i++) key += g[i]!(v, side) + SEP;
    return key;
  }

  private bucketFor(key: string, v: FlowView, side: number): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.cols.push(this.getters.map((g) => g(v, side)));
      this.index.set(key, i);
    }
    return i;
  }

  private account(v: FlowView, side: number, bytes: number, packets: number, startNs: number, endNs: number): void {
    const key = this.flowKey(v, side);
    const startS = Math.floor(startNs / NS);
    const endS = Math.floor(endNs / NS);
    if (this.interval === 0) {
      this.add(this.bucketFor(key, v, side), bytes, packets, 1, startS, endS, v.r.tcp_flags);
      return;
    }
    const iv = this.interval;
    const bin = startS - (startS % iv);
    if (!this.proRate || endS < bin + iv || endNs <= startNs) {
      this.add(this.bucketFor(bin + SEP + key, v, side), bytes, packets, 1, bin, bin + iv, v.r.tcp_flags);
      return;
    }
    // Pro-rating: each bin gets the share of the flow's duration it covers; shares are taken as
    // differences of floor(total * elapsed / duration) so they add up to the total exactly.
    const s = BigInt(Math.round(startNs));
    const e = BigInt(Math.round(endNs));
    const d = e - s;
    const B = BigInt(bytes);
    const P = BigInt(packets);
    let prevB = 0n;
    let prevP = 0n;
    let first = true;
    for (let b = bin; b <= endS; b += iv) {
      const boundary = BigInt(b + iv) * 1_000_000_000n;
      const t = boundary < e ? boundary - s : d;
      const cumB = (B * t) / d;
      const cumP = (P * t) / d;
      const kb = Number(cumB - prevB);
      const kp = Number(cumP - prevP);
      prevB = cumB;
      prevP = cumP;
      this.add(this.bucketFor(b + SEP + key, v, side), kb, kp, first ? 1 : 0, b, b + iv, v.r.tcp_flags);
      first = false;
      if (boundary >= e) break;
    }
  }

  private add(i: number, bytes: number, packets: number, flows: number, start: number, end: number, flags: number): void {
    const c = this.cols;
    const b = (c.bytes[i]! += bytes);
    const p = (c.packets[i]! += packets);
    c.flows[i]! += flows;
    if (start < c.start[i]!) c.start[i] = start;
    if (end > c.end[i]!) c.end[i] = end;
    if (this.orFlags) c.flags[i]! |= flags;
    if (b > Number.MAX_SAFE_INTEGER || p > Number.MAX_SAFE_INTEGER) this.stats.inexact = true;
  }

  /** Merge one aggregate record (an object read from aggregate NDJSON). It must carry every key
   *  primitive of this aggregation; sums add, times take min/max, tcpflags OR.
   *  Throws FieldError naming the first bad or missing field (then nothing is added). */
  addAggregate(o: Record<string, unknown>): void {
    this.commit(this.prepare(o));
  }

  /** Validate an aggregate record without adding it (so that several aggregations can all
   *  check a record before any of them counts it). */
  prepare(o: Record<string, unknown>): PreparedAggregate {
    const values: Value[] = new Array(this.keyPrimitives.length);
    let key = '';
    for (let i = 0; i < this.keyPrimitives.length; i++) {
      const val = readPrimitive(o, this.keyPrimitives[i]!);
      values[i] = val;
      key += val + SEP;
    }
    const bytes = uintField(o, 'bytes', true);
    const packets = uintField(o, 'packets', true);
    const flows = uintField(o, 'flows', true);
    let start = o.time_start === undefined ? Number.POSITIVE_INFINITY : uintField(o, 'time_start', true);
    let end = o.time_end === undefined ? Number.NEGATIVE_INFINITY : uintField(o, 'time_end', true);
    const flags = this.orFlags && o.tcpflags !== undefined ? uintField(o, 'tcpflags', true, 0xffff) : 0;
    if (this.interval > 0) {
      const s = Number.isFinite(start) ? start : 0;
      const bin = s - (s % this.interval);
      key = bin + SEP + key;
      start = bin;
      end = bin + this.interval;
    }
    return { key, values, bytes, packets, flows, start, end, flags };
  }

  commit(p: PreparedAggregate): void {
    this.stats.aggregates++;
    let i = this.index.get(p.key);
    if (i === undefined) {
      i = this.cols.push(p.values);
      this.index.set(p.key, i);
    }
    this.add(i, p.bytes, p.packets, p.flows, p.start, p.end, p.flags);
  }

  /** The aggregates, sorted deterministically. */
  results(sort: SortOrder = 'key'): AggregateRecord[] {
    const out: AggregateRecord[] = [];
    const c = this.cols;
    for (let i = 0; i < c.size; i++) {
      out.push({
        values: c.values[i]!,
        packets: c.packets[i]!,
        bytes: c.bytes[i]!,
        flows: c.flows[i]!,
        time_start: Number.isFinite(c.start[i]!) ? c.start[i]! : 0,
        time_end: Number.isFinite(c.end[i]!) ? c.end[i]! : 0,
        tcpflags: c.flags[i]!,
      });
    }
    return sortAggregates(out, this.keyPrimitives, sort, this.interval > 0);
  }

  /** Forget everything (e.g. after writing a bin). */
  clear(): void {
    this.index.clear();
    this.cols = new Columns();
  }
}

function uintField(o: Record<string, unknown>, name: string, required: boolean, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new FieldError(name, 'a non-negative integer (field missing)', v);
    return 0;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
  if (typeof v === 'string' && /^[0-9]{1,16}$/.test(v) && Number(v) <= max) return Number(v);
  throw new FieldError(name, max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer 0-${max}`, v);
}

/** A key primitive's value from an aggregate record, canonicalised like the flow path makes it. */
function readPrimitive(o: Record<string, unknown>, p: Primitive): Value {
  const v = o[p];
  if (v === undefined) throw new FieldError(p, `the primitive "${p}" (the aggregate record does not have it)`, v);
  if (ADDRESS_PRIMITIVES.has(p)) {
    if (v === '') return '';
    const ip = typeof v === 'string' ? parseIP(v) : undefined;
    if (!ip) throw new FieldError(p, 'an IPv4 or IPv6 address', v);
    return formatIP(ip);
  }
  switch (p) {
    case 'proto': {
      const n = typeof v === 'string' || typeof v === 'number' ? protoNumber(v) : undefined;
      if (n === undefined) throw new FieldError(p, 'an IANA protocol name or number 0-255', v);
      return n;
    }
    case 'etype': {
      const n = typeof v === 'string' || typeof v === 'number' ? etypeNumber(v) : undefined;
      if (n === undefined) throw new FieldError(p, '"IPv4", "IPv6" or an EtherType number', v);
      return n;
    }
    case 'src_mask':
    case 'dst_mask':
      return uintField(o, p, true, 128);
    case 'src_port':
    case 'dst_port':
    case 'sum_port':
      return uintField(o, p, true, 65535);
    case 'tos':
      return uintField(o, p, true, 255);
    case 'sampling_rate':
      return uintField(o, p, true);
    default:
      return uintField(o, p, true, 0xffffffff);
  }
}

// ---- ordering -------------------------------------------------------------------------------

const addrKeyCache = new Map<string, string>();

/** A string that sorts addresses numerically: family first, then the bytes in hex. */
function addressSortKey(text: string): string {
  let k = addrKeyCache.get(text);
  if (k !== undefined) return k;
  const ip = text === '' ? undefined : parseIP(text);
  k = ip ? `${ip.family}${Buffer.from(ip.bytes).toString('hex')}` : `0${text}`;
  if (addrKeyCache.size > 100_000) addrKeyCache.clear();
  addrKeyCache.set(text, k);
  return k;
}

/** Per record, values that compare like its key: numbers as they are, IPv4 text as its u32,
 *  other text (IPv6) as a family+hex string, which sorts after every number. */
function sortableOf(values: readonly Value[]): Value[] {
  const out: Value[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === 'number') out[i] = v;
    else {
      const a = ipv4ToU32(v);
      out[i] = a >= 0 ? a : addressSortKey(v);
    }
  }
  return out;
}

function compareSortable(a: readonly Value[], b: readonly Value[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number') return typeof y === 'number' ? x - y : -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function sortAggregates(
  recs: AggregateRecord[],
  _primitives: readonly Primitive[],
  sort: SortOrder,
  binned: boolean,
): AggregateRecord[] {
  const keyed = recs.map((r) => ({ r, k: sortableOf(r.values) }));
  keyed.sort((x, y) => {
    const a = x.r;
    const b = y.r;
    if (binned && a.time_start !== b.time_start) return a.time_start - b.time_start;
    if (sort === 'bytes' && a.bytes !== b.bytes) return b.bytes - a.bytes;
    if (sort === 'packets' && a.packets !== b.packets) return b.packets - a.packets;
    const c = compareSortable(x.k, y.k);
    return c !== 0 ? c : a.time_start - b.time_start;
  });
  for (let i = 0; i < keyed.length; i++) recs[i] = keyed[i]!.r;
  addrKeyCache.clear();
  return recs;
}

// ---- output ---------------------------------------------------------------------------------

function jsonValue(p: Primitive, v: Value): string {
  if (p === 'proto') return PROTO_JSON[v as number]!;
  if (p === 'etype') {
    const name = etypeName(v as number);
    return name === '' ? String(v) : `"${name}"`;
  }
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/** One aggregate NDJSON line (design.md §3): primitives in canonical order, then the counters. */
export function aggregateToJson(primitives: readonly Primitive[], r: AggregateRecord): string {
  let s = '{';
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') s += `"tcpflags":${r.tcpflags},`;
    else s += `"${p}":${jsonValue(p, r.values[k++]!)},`;
  }
  return `${s}"packets":${r.packets},"bytes":${r.bytes},"flows":${r.flows},"time_start":${r.time_start},"time_end":${r.time_end}}`;
}

export function aggregateCsvHeader(primitives: readonly Primitive[]): string[] {
  return [...primitives, 'packets', 'bytes', 'flows', 'time_start', 'time_end'];
}

export function aggregateCsvRow(primitives: readonly Primitive[], r: AggregateRecord): Array<string | number> {
  const row: Array<string | number> = [];
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') row.push(r.tcpflags);
    else {
      const v = r.values[k++]!;
      row.push(p === 'proto' ? protoName(v as number) : p === 'etype' ? etypeName(v as number) || String(v) : v);
    }
  }
  row.push(r.packets, r.bytes, r.flows, r.time_start, r.time_end);
  return row;
}

export { describeValue };
