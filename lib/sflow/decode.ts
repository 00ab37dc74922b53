// sFlow v5 (sflow.org sflow_version_5.txt) → flow records, with goflow2's semantics
// (producer_sf.go): one record per flow sample, packets 1, bytes = the sampled frame length (or
// the length of a sampled IPv4/IPv6 record), sampling_rate from the sample, flow start/end = the
// receive time, sampler_address = the agent. Counter samples are counted and, when asked,
// handed out as their own records. One DataView per datagram; every length read from the wire is
// checked against what is left before it is used; a bad sample ends that datagram's decoding
// with a reason, records already emitted stay emitted; nothing here throws.

import type { Datagram } from '../capture/datagram.js';
import type { FlowRecord } from '../flow/record.js';
import { formatIPv4At, formatIPv6At, ipv4Network, ipv6Network, parseIPv4, parseIPv6, unmapIPv4 } from '../net/ip.js';
import { applySampledHeader } from './header.js';
import type { DecodeCore } from '../netflow/core.js';
import { type CounterSample, decodeCounterRecords } from './counters.js';

export const SFLOW_VERSION = 5;

/** Datagram-level failures, by reason (the keys of the decode error counters). */
export type SflowErrorReason =
  | 'sflow truncated'
  | 'sflow bad agent type'
  | 'sflow too many samples'
  | 'sflow too many records'
  | 'sflow bad address type';

/** sFlow-only counters (the shared ones, datagrams/records/rejects, live in the core's stats). */
export interface SflowStats {
  flowSamples: number;
  counterSamples: number;
  /** Samples of formats we do not decode (enterprise or unknown standard formats): skipped by length. */
  unknownSamples: number;
  /** Flow records (inside samples) of formats we do not use: skipped by length. */
  unknownRecords: number;
  /** Raw packet headers the packet parser could not read (the sample is still emitted). */
  badHeaders: number;
}

export interface SflowDecoderOptions {
  /** Called with each counter sample when counters are wanted (--counters). */
  onCounters?: (c: CounterSample) => void;
}

/** Largest believable jump in the datagram sequence before we call it an agent restart. */
const MAX_DATAGRAM_GAP = 100_000;

class Stop {
  constructor(
    readonly reason: SflowErrorReason,
    readonly message: string,
  ) {}
}

export class SflowDecoder {
  readonly stats: SflowStats = {
    flowSamples: 0,
    counterSamples: 0,
    unknownSamples: 0,
    unknownRecords: 0,
    badHeaders: 0,
  };

  constructor(private readonly opts: SflowDecoderOptions = {}) {}

  /** True when the payload looks like sFlow v5 (uint32 version 5 at offset 0). */
  static sniff(b: Uint8Array): boolean {
    return b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === SFLOW_VERSION;
  }

  /** FlowDecoder's ExtraDecoder: `fd.registerDecoder('sflow', (d, v, emit, core) => s.decode(d, v, emit, core))`. */
  decode(d: Datagram, v: DataView, emit: (r: FlowRecord) => void, core: DecodeCore): void {
    const b = d.payload;
    const end = b.byteLength;
    let where = 'header';
    try {
      if (end < 8) throw new Stop('sflow truncated', `datagram of ${end} bytes is shorter than an sFlow header`);
      const agentType = v.getUint32(4);
      let o = 8;
      let agent: string;
      if (agentType === 1) {
        if (end < o + 4 + 16) throw new Stop('sflow truncated', `${end} bytes is too short for the header`);
        agent = formatIPv4At(b, o);
        o += 4;
      } else if (agentType === 2) {
        if (end < o + 16 + 16) throw new Stop('sflow truncated', `${end} bytes is too short for the header`);
        agent = unmapIPv4(formatIPv6At(b, o)); // goflow2 unmaps IPv4-mapped sampler addresses
        o += 16;
      } else {
        throw new Stop('sflow bad agent type', `agent address type ${agentType} (expected 1 or 2)`);
      }
      const subAgent = v.getUint32(o);
      const seq = v.getUint32(o + 4);
      const uptimeMs = v.getUint32(o + 8);
      const nSamples = v.getUint32(o + 12);
      o += 16;
      const key = `sflow ${agent} ${subAgent}`;
      if (core.sequence(key, seq, MAX_DATAGRAM_GAP)) core.sequences.advance(key, seq, 1);
      // every sample takes at least its 8-byte tag+length: a count beyond that is a lie
      if (nSamples > (end - o) / 8)
        throw new Stop('sflow too many samples', `${nSamples} samples announced in ${end - o} bytes`);
      for (let i = 0; i < nSamples; i++) {
        where = `sample ${i + 1} of ${nSamples} at offset 0x${o.toString(16)}`;
        if (end - o < 8) throw new Stop('sflow truncated', 'truncated sample header');
        const tag = v.getUint32(o);
        const len = v.getUint32(o + 4);
        o += 8;
        if (len > end - o) throw new Stop('sflow truncated', `length ${len} exceeds the ${end - o} bytes left`);
        const sEnd = o + len;
        switch (tag) {
          case 1:
          case 3:
            this.stats.flowSamples++;
            this.flowSample(b, v, o, sEnd, tag === 3, d, agent, seq, emit, core, where);
            break;
          case 2:
          case 4:
            this.stats.counterSamples++;
            if (this.opts.onCounters)
              this.counterSample(b, v, o, sEnd, tag === 4, d, agent, subAgent, seq, uptimeMs, where);
            break;
          default:
            this.stats.unknownSamples++;
        }
        o = sEnd;
      }
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      core.reject(e.reason, d, 'sFlow v5', where, e.message);
    }
  }

  private flowSample(
    b: Buffer,
    v: DataView,
    o: number,
    end: number,
    expanded: boolean,
    d: Datagram,
    agent: string,
    seq: number,
    emit: (r: FlowRecord) => void,
    core: DecodeCore,
    where: string,
  ): void {
    const fixed = expanded ? 44 : 32;
    if (end - o < fixed) throw new Stop('sflow truncated', `flow sample of ${end - o} bytes (needs ${fixed})`);
    let samplingRate: number;
    let inIf: number;
    let outIf: number;
    if (expanded) {
      samplingRate = v.getUint32(o + 12);
      inIf = v.getUint32(o + 28);
      outIf = v.getUint32(o + 36);
    } else {
      samplingRate = v.getUint32(o + 8);
      // goflow2 keeps the compact interface words as they are (format bits included)
      inIf = v.getUint32(o + 20);
      outIf = v.getUint32(o + 24);
    }
    const nRecords = v.getUint32(o + fixed - 4);
    o += fixed;
    if (nRecords > (end - o) / 8)
      throw new Stop('sflow too many records', `${nRecords} flow records announced in ${end - o} bytes`);
    const r: FlowRecord = {
      type: 'SFLOW_5',
      time_received_ns: d.receivedNs,
      sequence_num: seq,
      sampling_rate: samplingRate,
      sampler_address: agent,
      time_flow_start_ns: d.receivedNs,
      time_flow_end_ns: d.receivedNs,
      bytes: 0,
      packets: 1,
      src_addr: '',
      dst_addr: '',
      etype: 0,
      proto: 0,
      src_port: 0,
      dst_port: 0,
      in_if: inIf,
      out_if: outIf,
      ip_tos: 0,
      tcp_flags: 0,
      src_as: 0,
      dst_as: 0,
      next_hop: '',
      src_net: '',
      dst_net: '',
    };
    let srcMask = 0;
    let dstMask = 0;
    for (let i = 0; i < nRecords; i++) {
      if (end - o < 8) throw new Stop('sflow truncated', `flow record ${i + 1} of ${nRecords}: truncated header`);
      const tag = v.getUint32(o);
      const len = v.getUint32(o + 4);
      o += 8;
      if (len > end - o)
        throw new Stop(
          'sflow truncated',
          `flow record ${i + 1} of ${nRecords}: length ${len} exceeds the ${end - o} bytes left`,
        );
      const rEnd = o + len;
      switch (tag) {
        case 1: {
          // raw packet header
          if (len < 16) throw new Stop('sflow truncated', `sampled header record of ${len} bytes`);
          const proto = v.getUint32(o);
          r.bytes = v.getUint32(o + 4);
          const hLen = v.getUint32(o + 12);
          if (hLen > len - 16)
            throw new Stop('sflow truncated', `sampled header of ${hLen} bytes in a ${len}-byte record`);
          const bad = applySampledHeader(b, o + 16, hLen, proto, r);
          if (bad !== undefined) this.stats.badHeaders++; // the record keeps its frame length
          break;
        }
        case 2: // Ethernet frame data
          if (len < 24) throw new Stop('sflow truncated', `ethernet frame record of ${len} bytes`);
          r.bytes = v.getUint32(o);
          break;
        case 3: // sampled IPv4
          if (len < 32) throw new Stop('sflow truncated', `sampled IPv4 record of ${len} bytes`);
          r.bytes = v.getUint32(o);
          r.proto = v.getUint32(o + 4) & 255;
          r.src_addr = formatIPv4At(b, o + 8);
          r.dst_addr = formatIPv4At(b, o + 12);
          r.src_port = v.getUint32(o + 16) & 0xffff;
          r.dst_port = v.getUint32(o + 20) & 0xffff;
          r.tcp_flags = v.getUint32(o + 24) & 255;
          r.ip_tos = v.getUint32(o + 28) & 255;
          r.etype = 0x0800;
          break;
        case 4: // sampled IPv6
          if (len < 56) throw new Stop('sflow truncated', `sampled IPv6 record of ${len} bytes`);
          r.bytes = v.getUint32(o);
          r.proto = v.getUint32(o + 4) & 255;
          r.src_addr = formatIPv6At(b, o + 8);
          r.dst_addr = formatIPv6At(b, o + 24);
          r.src_port = v.getUint32(o + 40) & 0xffff;
          r.dst_port = v.getUint32(o + 44) & 0xffff;
          r.tcp_flags = v.getUint32(o + 48) & 255;
          r.ip_tos = v.getUint32(o + 52) & 255;
          r.etype = 0x86dd;
          break;
        case 1001: // extended switch
          if (len < 16) throw new Stop('sflow truncated', `extended switch record of ${len} bytes`);
          r.src_vlan = v.getUint32(o);
          r.dst_vlan = v.getUint32(o + 8);
          break;
        case 1002: {
          // extended router
          const a = readAddress(b, v, o, rEnd);
          if (a === undefined || rEnd - a.next < 8)
            throw new Stop('sflow truncated', `extended router record of ${len} bytes`);
          r.next_hop = a.text;
          srcMask = v.getUint32(a.next);
          dstMask = v.getUint32(a.next + 4);
          break;
        }
        case 1003: // extended gateway
          this.gateway(b, v, o, rEnd, r);
          break;
        default:
          this.stats.unknownRecords++;
      }
      o = rEnd;
    }
    r.src_net = network(r.src_addr, b, srcMask, r);
    r.dst_net = network(r.dst_addr, b, dstMask, r);
    core.stats.records++;
    core.stats.byVersion.sflow.records++;
    emit(r);
  }

  private gateway(b: Buffer, v: DataView, o: number, end: number, r: FlowRecord): void {
    const a = readAddress(b, v, o, end);
    if (a === undefined || end - a.next < 16) throw new Stop('sflow truncated', 'truncated extended gateway record');
    o = a.next;
    const as = v.getUint32(o);
    const srcAs = v.getUint32(o + 4);
    const nSegments = v.getUint32(o + 12);
    o += 16;
    if (nSegments > (end - o) / 8)
      throw new Stop('sflow truncated', `${nSegments} AS path segments announced in ${end - o} bytes`);
    const path: number[] = [];
    for (let i = 0; i < nSegments; i++) {
      if (end - o < 8) throw new Stop('sflow truncated', 'truncated AS path segment');
      const n = v.getUint32(o + 4);
      o += 8;
      if (n > (end - o) / 4) throw new Stop('sflow truncated', `AS path segment of ${n} ASes in ${end - o} bytes`);
      for (let k = 0; k < n; k++) path.push(v.getUint32(o + 4 * k));
      o += 4 * n;
    }
    if (end - o < 4) throw new Stop('sflow truncated', 'truncated communities in extended gateway record');
    const nComm = v.getUint32(o);
    o += 4;
    if (nComm > (end - o) / 4) throw new Stop('sflow truncated', `${nComm} communities announced in ${end - o} bytes`);
    const communities: number[] = [];
    for (let k = 0; k < nComm; k++) communities.push(v.getUint32(o + 4 * k));
    r.bgp_next_hop = a.text;
    r.bgp_communities = communities;
    r.as_path = path;
    if (path.length > 0) {
      r.dst_as = path[path.length - 1]!;
      r.next_hop_as = path[0]!;
    } else {
      r.dst_as = as;
    }
    r.src_as = srcAs > 0 ? srcAs : as;
  }

  private counterSample(
    b: Buffer,
    v: DataView,
    o: number,
    end: number,
    expanded: boolean,
    d: Datagram,
    agent: string,
    subAgent: number,
    seq: number,
    uptimeMs: number,
    _where: string,
  ): void {
    const fixed = expanded ? 16 : 12;
    if (end - o < fixed) throw new Stop('sflow truncated', `counter sample of ${end - o} bytes (needs ${fixed})`);
    const sampleSeq = v.getUint32(o);
    let sourceType: number;
    let sourceIndex: number;
    if (expanded) {
      sourceType = v.getUint32(o + 4);
      sourceIndex = v.getUint32(o + 8);
    } else {
      const s = v.getUint32(o + 4);
      sourceType = s >>> 24;
      sourceIndex = s & 0xffffff;
    }
    const nRecords = v.getUint32(o + fixed - 4);
    o += fixed;
    if (nRecords > (end - o) / 8)
      throw new Stop('sflow too many records', `${nRecords} counter records announced in ${end - o} bytes`);
    const c: CounterSample = {
      type: 'SFLOW_5_COUNTERS',
      time_received_ns: d.receivedNs,
      sequence_num: seq,
      sampler_address: agent,
      sub_agent_id: subAgent,
      uptime_ms: uptimeMs,
      sample_sequence_num: sampleSeq,
      source_id_type: sourceType,
      source_id_index: sourceIndex,
    };
    const bad = decodeCounterRecords(b, v, o, end, nRecords, c);
    if (bad) throw new Stop('sflow truncated', bad);
    this.opts.onCounters!(c);
  }
}

function readAddress(b: Buffer, v: DataView, o: number, end: number): { text: string; next: number } | undefined {
  if (end - o < 4) return undefined;
  const t = v.getUint32(o);
  if (t === 1) return end - o < 8 ? undefined : { text: formatIPv4At(b, o + 4), next: o + 8 };
  if (t === 2) return end - o < 20 ? undefined : { text: formatIPv6At(b, o + 4), next: o + 20 };
  if (t === 0) return { text: '', next: o + 4 };
  throw new Stop('sflow bad address type', `address type ${t} (expected 1 or 2)`);
}

/** src_net/dst_net: the address at the exporter's mask length, as goflow2 renders it
 *  ("0.0.0.0/0" when no mask was given; the family follows etype when no address was seen). */
function network(addr: string, _b: Buffer, mask: number, r: FlowRecord): string {
  const v6 = addr !== '' ? addr.includes(':') : r.etype === 0x86dd;
  if (mask === 0 || addr === '') return v6 ? '::/0' : '0.0.0.0/0';
  // only records with an extended router mask get here: parsing our own text back is fine
  if (v6) {
    const a = parseIPv6(addr);
    return a ? ipv6Network(a, 0, mask) : '::/0';
  }
  const a = parseIPv4(addr);
  return a === undefined ? '0.0.0.0/0' : ipv4Network(a, mask);
}
