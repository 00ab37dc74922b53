// One aggregation (pmacct plugin): flows and aggregate records in, exact sums per key out.
// Memory is one bucket per distinct key (plus per time bin with --interval), never per flow.

import type { FlowRecord } from '../flow/record.js';
import { counterField } from '../flow/record.js';
import { MAX_SAFE, counterOf, type Counter } from '../flow/counter.js';
import type { NetworkTable } from '../networks/file.js';
import { FlowView } from './view.js';
import type { FlowPredicate } from '../filter/filter.js';
import { KeyTable } from './keys.js';
import { NET_PRIMITIVES, canonicalOrder, isKeyPrimitive, isSumPrimitive, type Primitive } from './primitives.js';
import {
  C_BYTES,
  C_END,
  C_FLAGS,
  C_FLOWS,
  C_PACKETS,
  C_START,
  Counters,
  SEGMENT_BITS,
  SEGMENT_MASK,
  type WideSums,
} from './counters.js';
import { AddressCodec } from './address-codec.js';
import { ADDR, N1, N2, TWO32, encodingOf, n2, type Encoding } from './key-encoding.js';
import { keyWriter, makeWriter, type KeyWriter, type NetSource } from './key-writers.js';
import { LITTLE_ENDIAN, radixKeyOrder } from './key-order.js';
import { readPrimitive, uintField } from './aggregate-input.js';

export type Value = string | number;
export type SortOrder = 'bytes' | 'packets' | 'key';

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
  /** Keep only the keys of this part of `count` (flow-aggregate --jobs: each worker thread owns
   *  the keys that hash to its index; see lib/aggregate/parallel.ts); the keys of other parts go
   *  to `outbox` as exchange records (see addExchanged). Stats count the flows seen here. */
  part?: { index: number; count: number; outbox: KeyOutbox };
}

/** Where an aggregation of one part sends what it accounts to keys of other parts. An exchange
 *  record is `exchangeWidth` doubles: the addends (EXCHANGE_HEAD of them: bytes, packets, flows,
 *  start, end, flags), the key words, then four words per address value of the key (an IPv6
 *  address as its own words, since the index it has in the key is this thread's; zeros else). */
export interface KeyOutbox {
  /** Room for `n` doubles in part p's outbox: the array to write them to, at `at`. */
  room(part: number, n: number): Float64Array;
  /** Where room() made room. */
  at: number;
  /** A record whose addends are past 2^53 - 1 (rare): its doubles and the exact addends. */
  wide(part: number, record: Float64Array, exact: WideSums): void;
}

/** Doubles before the key words in an exchange record. */
export const EXCHANGE_HEAD = 6;

export interface AggregateRecord {
  /** One value per key primitive, in the aggregation's (canonical) primitive order; tcpflags is
   *  not a key and has no slot here. */
  values: Value[];
  packets: Counter;
  bytes: Counter;
  flows: Counter;
  time_start: number;
  time_end: number;
  tcpflags: number;
}

export interface PreparedAggregate {
  /** The encoded key (the time bin first when binned). */
  key: Uint32Array;
  bytes: Counter;
  packets: Counter;
  flows: Counter;
  start: number;
  end: number;
  flags: number;
}

/** An aggregation's columns as its output reads them: aggregate i's key is words [i·width,
 *  (i+1)·width) of `keys` (laid out by Aggregator's encodings and offsets), its counters are in a
 *  segment of `counters` (see Counters), and an IPv6 key value indexes `v6` (four words each). */
export interface AggregateTable {
  keys: Uint32Array;
  counters: Float64Array[];
  v6: Uint32Array;
  /** The exact sums of the aggregates whose counters passed 2^53 - 1 (see WideSums). */
  wide: Map<number, WideSums>;
}

export interface AggregatorStats {
  flows: number;
  aggregates: number;
  filtered: number;
  renormalized: number;
  unknownSamplingRate: number;
  /** Flows --pro-rate left whole in their start bin: they span more than MAX_PRO_RATE_BINS. */
  notProRated: number;
}

/** Bins --pro-rate spreads one flow over at most: an end time years after the start (a broken
 *  exporter clock) would otherwise make millions of aggregates out of one flow. Such a flow is
 *  counted whole in its start bin instead (no byte is lost) and counted in the summary. */
export const MAX_PRO_RATE_BINS = 100_000;

const NS = 1e9;

export class Aggregator {
  readonly name: string;
  readonly primitives: readonly Primitive[];
  /** Primitives that make up the key (all but tcpflags), in order. */
  readonly keyPrimitives: readonly Primitive[];
  readonly stats: AggregatorStats = {
    flows: 0,
    aggregates: 0,
    filtered: 0,
    renormalized: 0,
    unknownSamplingRate: 0,
    notProRated: 0,
  };
  private readonly writeKey: KeyWriter;
  readonly encodings: readonly Encoding[];
  /** Word offset of each key primitive (after the two words of the time bin when binned). */
  readonly offsets: readonly number[];
  readonly width: number;
  private keys: KeyTable;
  private cols: Counters;
  /** Exact sums of the rows whose counters passed 2^53 - 1, by row index. */
  private wide = new Map<number, WideSums>();
  /** Doubles per counter row (see Counters). */
  readonly row: number;
  private readonly codec: AddressCodec;
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
  private readonly partIndex: number;
  private readonly partCount: number;
  /** 1 at the word offsets that hold an address value (an IPv6 index when its kind word is 6). */
  private readonly addrValueAt: Uint8Array;
  private readonly outbox: KeyOutbox | undefined;
  /** Doubles of one exchange record of this aggregation (see KeyOutbox). */
  readonly exchangeWidth: number;
  /** Where recordFor made room. */
  private recordAt = 0;

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
    this.row = this.orFlags ? C_FLAGS + 1 : C_FLAGS;
    this.cols = new Counters(this.row);
    this.networks = spec.networks;
    this.needsNetworks = spec.networks !== undefined && spec.primitives.some((p) => NET_PRIMITIVES.has(p));
    this.codec = new AddressCodec(spec.networks);
    const writers = this.keyPrimitives.map((p) =>
      makeWriter(p, spec.networks, spec.netSource ?? 'file', this.renormalize, this.codec),
    );
    this.encodings = this.keyPrimitives.map(encodingOf);
    const offsets: number[] = [];
    let w = this.interval > 0 ? 2 : 0;
    for (const e of this.encodings) {
      offsets.push(w);
      w += e === N1 ? 1 : 2;
    }
    this.offsets = offsets;
    this.writeKey = keyWriter(writers, offsets);
    this.width = w;
    this.keys = new KeyTable(w);
    this.ownView = new FlowView(spec.networks);
    this.partIndex = spec.part?.index ?? 0;
    this.partCount = spec.part?.count ?? 1;
    this.outbox = spec.part?.outbox;
    this.addrValueAt = new Uint8Array(w);
    this.encodings.forEach((e, j) => void (e === ADDR && (this.addrValueAt[offsets[j]! + 1] = 1)));
    this.exchangeWidth = EXCHANGE_HEAD + w + 4 * this.encodings.filter((e) => e === ADDR).length;
  }

  /** Room for an exchange record to part `part` (in a fresh array when `exact`: a record with
   *  wide addends goes alone); returns the array, the record at `recordAt`. */
  private recordFor(part: number, exact: WideSums | undefined): Float64Array {
    if (exact !== undefined) {
      this.recordAt = 0;
      return new Float64Array(this.exchangeWidth);
    }
    const out = this.outbox!.room(part, this.exchangeWidth);
    this.recordAt = this.outbox!.at;
    return out;
  }

  /** The key in the scratch row into an exchange record at out[at…]: its words, then the four
   *  words of each address value (see KeyOutbox). */
  private keyInto(out: Float64Array, at: number): void {
    const k = this.keys.scratch;
    const v6 = this.codec.v6Words;
    for (let j = 0; j < this.width; j++) out[at++] = k[j]!;
    for (let j = 0; j < this.width; j++) {
      if (this.addrValueAt[j] !== 1) continue;
      const b = 4 * k[j]!;
      const six = k[j - 1] === 6;
      for (let w = 0; w < 4; w++) out[at++] = six ? v6[b + w]! : 0;
    }
  }

  /** Add an exchange record another part sent (see KeyOutbox) at rec[at…]; returns where the
   *  next record starts. Adding is a sum, a min, a max and an OR, so records applied in any
   *  order give what one thread gives. `exact`: the addends of a wide record. */
  addExchanged(rec: Float64Array, at: number, exact?: WideSums): number {
    const k = this.keys.scratch;
    const key = at + EXCHANGE_HEAD;
    for (let j = 0; j < this.width; j++) k[j] = rec[key + j]!;
    let addr = key + this.width;
    for (let j = 0; j < this.width; j++) {
      if (this.addrValueAt[j] !== 1) continue;
      if (k[j - 1] === 6) this.codec.put6(k, j - 1, rec[addr]!, rec[addr + 1]!, rec[addr + 2]!, rec[addr + 3]!);
      addr += 4;
    }
    this.add(rec[at]!, rec[at + 1]!, rec[at + 2]!, rec[at + 3]!, rec[at + 4]!, rec[at + 5]!, exact);
    return at + this.exchangeWidth;
  }

  /** The part a key belongs to: a hash of its words, an IPv6 address hashed as its own four
   *  words (the index it has here is this thread's), so every thread tells the same part. */
  private partOf(k: Uint32Array): number {
    let h = 0x811c9dc5;
    const v6 = this.codec.v6Words;
    for (let j = 0; j < this.width; j++) {
      if (this.addrValueAt[j] === 1 && k[j - 1] === 6) {
        for (let b = 4 * k[j]!, e = b + 4; b < e; b++) h = Math.imul(h ^ v6[b]!, 0x9e3779b1) ^ (h >>> 15);
      } else h = Math.imul(h ^ k[j]!, 0x9e3779b1) ^ (h >>> 15);
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h ^= h >>> 13;
    return (h >>> 0) % this.partCount;
  }

  /** The key words, counter rows and IPv6 addresses as they are now (they move as keys are added). */
  table(): AggregateTable {
    return { keys: this.keys.keys, counters: this.cols.segs, v6: this.codec.v6Words, wide: this.wide };
  }

  /** Number of distinct aggregates held. */
  get size(): number {
    return this.keys.size;
  }

  /** Account one flow record. `view` (if given) must have been built with this aggregation's
   *  networks table and set to `r` (or filled by the scanner, then `r` is not read).
   *  Returns false when the filters rejected it. */
  addFlow(r: FlowRecord | undefined, view?: FlowView): boolean {
    return this.addView(view ?? this.ownView.set(r!));
  }

  /** Account the flow in `v` (see addFlow). */
  addView(v: FlowView): boolean {
    if (this.filters.length > 0 && !this.passes(v)) {
      this.stats.filtered++;
      return false;
    }
    this.stats.flows++;
    let bytes = v.bytes;
    let packets = v.packets;
    let rate = 1;
    if (this.renormalize) {
      if (v.samplingRate > 0) {
        rate = v.samplingRate;
        if (rate !== 1) {
          bytes *= rate;
          packets *= rate;
        }
        this.stats.renormalized++;
      } else this.stats.unknownSamplingRate++;
    }
    const exact = bytes > MAX_SAFE || packets > MAX_SAFE ? wideAddends(v, rate) : undefined;
    let startNs: number;
    let endNs: number;
    if (this.arrival) {
      startNs = endNs = v.timeReceivedNs;
    } else {
      startNs = v.startNs || v.timeReceivedNs;
      endNs = v.endNs || startNs;
      if (endNs < startNs) endNs = startNs;
    }
    this.account(v, 0, bytes, packets, startNs, endNs, exact);
    if (this.sum) this.account(v, 1, bytes, packets, startNs, endNs, exact);
    return true;
  }

  private passes(v: FlowView): boolean {
    const f = this.filters;
    for (let i = 0; i < f.length; i++) if (f[i]!(v)) return true;
    return false;
  }

  /** The key index of the key in the scratch row, with a counter slot for a new one. */
  private slot(): number {
    const i = this.keys.intern();
    if (this.keys.added) this.cols.push();
    return i;
  }

  /** `exact`: the flow's counters when one is above 2^53 - 1 (then bytes and packets are near). */
  private account(
    v: FlowView,
    side: number,
    bytes: number,
    packets: number,
    startNs: number,
    endNs: number,
    exact: WideSums | undefined,
  ): void {
    const k = this.keys.scratch;
    this.writeKey(v, side, k);
    const startS = Math.floor(startNs / NS);
    const endS = Math.floor(endNs / NS);
    if (this.interval === 0) {
      this.add(bytes, packets, 1, startS, endS, v.tcpFlags, exact);
      return;
    }
    const iv = this.interval;
    const bin = startS - (startS % iv);
    const spread = this.proRate && endS >= bin + iv && endNs > startNs;
    const tooLong = spread && (endS - bin) / iv > MAX_PRO_RATE_BINS;
    if (tooLong) this.stats.notProRated++;
    if (!spread || tooLong) {
      n2(k, 0, bin);
      this.add(bytes, packets, 1, bin, bin + iv, v.tcpFlags, exact);
      return;
    }
    // Pro-rating: each bin gets the share of the flow's duration it covers; shares are taken as
    // differences of floor(total * elapsed / duration) so they add up to the total exactly.
    const s = BigInt(Math.round(startNs));
    const e = BigInt(Math.round(endNs));
    const d = e - s;
    const B = exact?.bytes ?? BigInt(bytes);
    const P = exact?.packets ?? BigInt(packets);
    let prevB = 0n;
    let prevP = 0n;
    let first = true;
    for (let b = bin; b <= endS; b += iv) {
      const boundary = BigInt(b + iv) * 1_000_000_000n;
      const t = boundary < e ? boundary - s : d;
      const cumB = (B * t) / d;
      const cumP = (P * t) / d;
      const kb = cumB - prevB;
      const kp = cumP - prevP;
      prevB = cumB;
      prevP = cumP;
      n2(k, 0, b);
      const share = exact === undefined ? undefined : { bytes: kb, packets: kp, flows: first ? 1n : 0n };
      this.add(Number(kb), Number(kp), first ? 1 : 0, b, b + iv, v.tcpFlags, share);
      first = false;
      if (boundary >= e) break;
    }
  }

  /** Add to the key in the scratch row: in doubles while every sum stays within 2^53 - 1, else
   *  exactly (addWide); a key of another part goes to its part instead (see KeyOutbox).
   *  `exact`: the addends when one is beyond 2^53 - 1 (bytes/packets/flows are then near). */
  private add(
    bytes: number,
    packets: number,
    flows: number,
    start: number,
    end: number,
    flags: number,
    exact?: WideSums,
  ): void {
    const part = this.partCount === 1 ? this.partIndex : this.partOf(this.keys.scratch);
    if (part !== this.partIndex) {
      const out = this.recordFor(part, exact);
      const at = this.recordAt;
      out[at] = bytes;
      out[at + 1] = packets;
      out[at + 2] = flows;
      out[at + 3] = start;
      out[at + 4] = end;
      out[at + 5] = flags;
      this.keyInto(out, at + EXCHANGE_HEAD);
      if (exact !== undefined) this.outbox!.wide(part, out, exact);
      return;
    }
    const i = this.slot();
    const c = this.cols.segs[i >>> SEGMENT_BITS]!;
    const o = (i & SEGMENT_MASK) * this.row;
    const b = c[o + C_BYTES]! + bytes;
    const p = c[o + C_PACKETS]! + packets;
    const f = c[o + C_FLOWS]! + flows;
    if (b > MAX_SAFE || p > MAX_SAFE || f > MAX_SAFE)
      this.addWide(i, c, o, exact ?? { bytes: BigInt(bytes), packets: BigInt(packets), flows: BigInt(flows) });
    else {
      c[o + C_BYTES] = b;
      c[o + C_PACKETS] = p;
      c[o + C_FLOWS] = f;
    }
    if (start < c[o + C_START]!) c[o + C_START] = start;
    if (end > c[o + C_END]!) c[o + C_END] = end;
    if (this.orFlags) c[o + C_FLAGS] = c[o + C_FLAGS]! | flags;
  }

  /** The slow path of add: row i's sums as bigints from the first time one passes 2^53 - 1 (the
   *  doubles are exact until then), its doubles their nearest values. */
  private addWide(i: number, c: Float64Array, o: number, add: WideSums): void {
    let w = this.wide.get(i);
    if (w === undefined) {
      w = { bytes: BigInt(c[o + C_BYTES]!), packets: BigInt(c[o + C_PACKETS]!), flows: BigInt(c[o + C_FLOWS]!) };
      this.wide.set(i, w);
    }
    w.bytes += add.bytes;
    w.packets += add.packets;
    w.flows += add.flows;
    c[o + C_BYTES] = Number(w.bytes);
    c[o + C_PACKETS] = Number(w.packets);
    c[o + C_FLOWS] = Number(w.flows);
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
    for (let i = 0; i < this.keyPrimitives.length; i++) values[i] = readPrimitive(o, this.keyPrimitives[i]!);
    const bytes = counterField(o, 'bytes', true);
    const packets = counterField(o, 'packets', true);
    const flows = counterField(o, 'flows', true);
    let start = o.time_start === undefined ? Number.POSITIVE_INFINITY : uintField(o, 'time_start', true);
    let end = o.time_end === undefined ? Number.NEGATIVE_INFINITY : uintField(o, 'time_end', true);
    const flags = this.orFlags && o.tcpflags !== undefined ? uintField(o, 'tcpflags', true, 0xffff) : 0;
    const key = new Uint32Array(this.width);
    if (this.interval > 0) {
      const s = Number.isFinite(start) ? start : 0;
      const bin = s - (s % this.interval);
      n2(key, 0, bin);
      start = bin;
      end = bin + this.interval;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const off = this.offsets[i]!;
      const enc = this.encodings[i]!;
      if (enc === ADDR) this.codec.putText(key, off, v as string);
      else if (enc === N1) key[off] = v as number;
      else n2(key, off, v as number);
    }
    return { key, bytes, packets, flows, start, end, flags };
  }

  commit(p: PreparedAggregate): void {
    this.stats.aggregates++;
    this.keys.scratch.set(p.key);
    const wide = typeof p.bytes !== 'number' || typeof p.packets !== 'number' || typeof p.flows !== 'number';
    const exact = wide ? { bytes: BigInt(p.bytes), packets: BigInt(p.packets), flows: BigInt(p.flows) } : undefined;
    this.add(Number(p.bytes), Number(p.packets), Number(p.flows), p.start, p.end, p.flags, exact);
  }

  /** The key values of aggregate i, as they print, into `out`. */
  private valuesInto(i: number, out: Value[]): Value[] {
    const k = this.keys.keys;
    const base = i * this.width;
    for (let j = 0; j < this.encodings.length; j++) {
      const o = base + this.offsets[j]!;
      const enc = this.encodings[j]!;
      out[j] = enc === N1 ? k[o]! : enc === N2 ? k[o + 1]! * TWO32 + k[o]! : this.codec.text(k, o);
    }
    return out;
  }

  /** Aggregate i into `rec` (which may be reused: its values array is overwritten). */
  fill(i: number, rec: AggregateRecord): AggregateRecord {
    const c = this.cols.segs[i >>> SEGMENT_BITS]!;
    const o = (i & SEGMENT_MASK) * this.row;
    this.valuesInto(i, rec.values);
    const w = this.wide.size === 0 ? undefined : this.wide.get(i);
    rec.packets = w === undefined ? c[o + C_PACKETS]! : counterOf(w.packets);
    rec.bytes = w === undefined ? c[o + C_BYTES]! : counterOf(w.bytes);
    rec.flows = w === undefined ? c[o + C_FLOWS]! : counterOf(w.flows);
    rec.time_start = Number.isFinite(c[o + C_START]!) ? c[o + C_START]! : 0;
    rec.time_end = Number.isFinite(c[o + C_END]!) ? c[o + C_END]! : 0;
    rec.tcpflags = this.orFlags ? c[o + C_FLAGS]! : 0;
    return rec;
  }

  /** A record object to pass to fill(). */
  newRecord(): AggregateRecord {
    return {
      values: new Array<Value>(this.keyPrimitives.length),
      packets: 0,
      bytes: 0,
      flows: 0,
      time_start: 0,
      time_end: 0,
      tcpflags: 0,
    };
  }

  /** Aggregate indices in output order: by time bin when binned, then largest bytes/packets
   *  first (--sort), then by key (numbers numerically; addresses IPv4 by number, then "", then
   *  IPv6 by bytes), then time_start. The same order sortAggregates gives their records. */
  order(sort: SortOrder = 'key'): ArrayLike<number> {
    if (this.interval === 0 && sort === 'key' && LITTLE_ENDIAN)
      return radixKeyOrder(
        {
          keys: this.keys.keys,
          size: this.keys.size,
          width: this.width,
          encodings: this.encodings,
          offsets: this.offsets,
        },
        this.codec,
      );
    const n = this.keys.size;
    const idx: number[] = new Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const cols = this.cols;
    const start = (i: number): number => (Number.isFinite(cols.get(i, C_START)) ? cols.get(i, C_START) : 0);
    const k = this.keys.keys;
    const w = this.width;
    const encs = this.encodings;
    const offs = this.offsets;
    const codec = this.codec;
    const binned = this.interval > 0;
    const by = sort === 'bytes' ? C_BYTES : sort === 'packets' ? C_PACKETS : -1;
    const cmp = (a: number, b: number): number => {
      if (binned) {
        const d = start(a) - start(b);
        if (d !== 0) return d;
      }
      if (by >= 0) {
        const d = this.compareSums(b, a, by);
        if (d !== 0) return d;
      }
      const ba = a * w;
      const bb = b * w;
      for (let j = 0; j < encs.length; j++) {
        const oa = ba + offs[j]!;
        const ob = bb + offs[j]!;
        const e = encs[j]!;
        if (e === N1) {
          if (k[oa] !== k[ob]) return k[oa]! - k[ob]!;
        } else if (e === N2) {
          if (k[oa + 1] !== k[ob + 1]) return k[oa + 1]! - k[ob + 1]!;
          if (k[oa] !== k[ob]) return k[oa]! - k[ob]!;
        } else {
          const ra = codec.rank(k, oa);
          const rb = codec.rank(k, ob);
          if (ra !== rb) return ra - rb;
          if (k[oa + 1] !== k[ob + 1])
            return ra === 0 ? k[oa + 1]! - k[ob + 1]! : codec.compare6(k[oa + 1]!, k[ob + 1]!);
        }
      }
      return start(a) - start(b);
    };
    idx.sort(cmp);
    return idx;
  }

  /** How many doubles sortRow writes: order()'s tests as numbers (see sortRow). */
  sortWidth(sort: SortOrder): number {
    let n = (this.interval > 0 ? 1 : 0) + (sort === 'key' ? 0 : 1) + 1;
    for (const e of this.encodings) n += e === N1 ? 1 : e === N2 ? 2 : 5;
    return n;
  }

  /** What order(sort) sorts aggregate i by, as sortWidth(sort) doubles at out[at…]: its bin start
   *  when binned, its bytes or packets (compared largest first; past 2^53 - 1 see exactSum), its
   *  key (a number as its words, high first; an address as its rank, then four words: IPv4 by
   *  number, "" as zeros, IPv6 as its own words, not its index here), then its time_start.
   *  Compared in turn they order any aggregates of this aggregation as order() does, so the
   *  sorted rows of parts held in several threads merge into exactly that order. */
  sortRow(i: number, sort: SortOrder, out: Float64Array, at: number): void {
    const start = this.cols.get(i, C_START);
    const startOr0 = Number.isFinite(start) ? start : 0;
    if (this.interval > 0) out[at++] = startOr0;
    if (sort !== 'key') out[at++] = this.cols.get(i, sort === 'bytes' ? C_BYTES : C_PACKETS);
    const k = this.keys.keys;
    const v6 = this.codec.v6Words;
    for (let j = 0; j < this.encodings.length; j++) {
      const o = i * this.width + this.offsets[j]!;
      const e = this.encodings[j]!;
      if (e === N1) out[at++] = k[o]!;
      else if (e === N2) {
        out[at++] = k[o + 1]!;
        out[at++] = k[o]!;
      } else {
        const rank = this.codec.rank(k, o);
        out[at++] = rank;
        for (let w = 0; w < 4; w++)
          out[at + w] = rank === 0 ? (w === 0 ? k[o + 1]! : 0) : rank === 1 ? 0 : v6[4 * k[o + 1]! + w]!;
        at += 4;
      }
    }
    out[at] = startOr0;
  }

  /** Aggregate i's exact bytes or packets (--sort) when past 2^53 - 1, where its double is only
   *  near (sortRow's sum); else undefined. */
  exactSum(i: number, sort: SortOrder): bigint | undefined {
    if (sort === 'key') return undefined;
    const w = this.wide.get(i);
    if (w === undefined) return undefined;
    return sort === 'bytes' ? w.bytes : w.packets;
  }

  /** The aggregates, sorted deterministically. */
  results(sort: SortOrder = 'key'): AggregateRecord[] {
    return Array.from(this.order(sort), (i) => this.fill(i, this.newRecord()));
  }

  /** Order of rows a and b by counter `col` (C_BYTES or C_PACKETS), exact beyond 2^53 - 1. */
  private compareSums(a: number, b: number, col: number): number {
    const x = this.cols.get(a, col);
    const y = this.cols.get(b, col);
    if (x <= MAX_SAFE || y <= MAX_SAFE) return x - y;
    const wa = this.wide.get(a)!;
    const wb = this.wide.get(b)!;
    const ea = col === C_BYTES ? wa.bytes : wa.packets;
    const eb = col === C_BYTES ? wb.bytes : wb.packets;
    return ea < eb ? -1 : ea > eb ? 1 : 0;
  }

  /** Forget everything (e.g. after writing a bin). */
  clear(): void {
    this.keys = new KeyTable(this.width);
    this.cols = new Counters(this.row);
    this.wide = new Map();
    this.codec.clear();
  }
}

/** The flow's exact counters (times `rate`) when one passed 2^53 - 1: from the view where its
 *  double is exact, else from the record it was set from (the scanners leave such lines to it). */
function wideAddends(v: FlowView, rate: number): WideSums {
  const bytes = v.bytes <= MAX_SAFE ? BigInt(v.bytes) : BigInt(v.r!.bytes);
  const packets = v.packets <= MAX_SAFE ? BigInt(v.packets) : BigInt(v.r!.packets);
  return { bytes: bytes * BigInt(rate), packets: packets * BigInt(rate), flows: 1n };
}
