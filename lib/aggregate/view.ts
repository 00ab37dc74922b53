// A flow record as the numbers the filters and aggregations need, shared by the filter and every
// aggregation in one pass (one object reused for all records: no per-record allocation). It is
// filled either from a validated FlowRecord (`set`) or straight from NDJSON bytes by the scanner
// (lib/aggregate/scan.ts), which writes the same fields.

import type { FlowRecord } from '../flow/record.js';
import { ipv4ToU32, ipv6ToWords } from '../networks/addr.js';
import type { NetworkEntry, NetworkTable } from '../networks/file.js';
import { UNMATCHED_V4, UNMATCHED_V6 } from '../networks/file.js';

/** Networks-file match of an address: an entry index (>= 0), or one of these. */
export const NET_UNMATCHED_V4 = -1;
export const NET_UNMATCHED_V6 = -2;
const NET_UNKNOWN = -3;

export class FlowView {
  /** The record when the view was set from one (`set`); stale after the scanner filled it. */
  r: FlowRecord | undefined;
  timeReceivedNs = 0;
  startNs = 0;
  endNs = 0;
  /** The counters as doubles: exact up to 2^53 - 1. Above that they are only near, and the view
   *  was set from a record (the scanner leaves such lines to JSON.parse): `r` has them exactly. */
  bytes = 0;
  packets = 0;
  samplingRate = 0;
  etype = 0;
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  inIf = 0;
  outIf = 0;
  tos = 0;
  tcpFlags = 0;
  srcAs = 0;
  dstAs = 0;
  /** 4, 6, or 0 when the address is missing. IPv4 in [0]; IPv6 in [0..3]. */
  srcFam: 0 | 4 | 6 = 0;
  dstFam: 0 | 4 | 6 = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** The exporter (sampler_address). */
  peerFam: 0 | 4 | 6 = 0;
  readonly peer = new Uint32Array(4);
  /** The exporter's src_net/dst_net: network address (host bits cleared) and prefix length. */
  srcXFam: 4 | 6 = 4;
  dstXFam: 4 | 6 = 4;
  readonly srcX = new Uint32Array(4);
  readonly dstX = new Uint32Array(4);
  srcXLen = 0;
  dstXLen = 0;
  private readonly table: NetworkTable | undefined;
  private srcIdx = NET_UNKNOWN;
  private dstIdx = NET_UNKNOWN;

  constructor(table?: NetworkTable) {
    this.table = table;
  }

  /** Fill the view from a validated record. */
  set(r: FlowRecord): this {
    this.r = r;
    this.timeReceivedNs = r.time_received_ns;
    this.startNs = r.time_flow_start_ns;
    this.endNs = r.time_flow_end_ns;
    this.bytes = Number(r.bytes);
    this.packets = Number(r.packets);
    this.samplingRate = r.sampling_rate;
    this.etype = r.etype;
    this.proto = r.proto;
    this.srcPort = r.src_port;
    this.dstPort = r.dst_port;
    this.inIf = r.in_if;
    this.outIf = r.out_if;
    this.tos = r.ip_tos;
    this.tcpFlags = r.tcp_flags;
    this.srcAs = r.src_as;
    this.dstAs = r.dst_as;
    this.srcFam = addressInto(r.src_addr, this.src);
    this.dstFam = addressInto(r.dst_addr, this.dst);
    this.peerFam = addressInto(r.sampler_address, this.peer);
    this.srcXLen = cidrInto(r.src_net, this.srcX);
    this.srcXFam = r.src_net.includes(':') ? 6 : 4;
    this.dstXLen = cidrInto(r.dst_net, this.dstX);
    this.dstXFam = r.dst_net.includes(':') ? 6 : 4;
    this.srcIdx = NET_UNKNOWN;
    this.dstIdx = NET_UNKNOWN;
    return this;
  }

  /** Forget the memoised networks-file matches (the scanner calls this after filling). */
  resetNets(): void {
    this.r = undefined;
    this.srcIdx = NET_UNKNOWN;
    this.dstIdx = NET_UNKNOWN;
  }

  /** Index of the networks-file entry for the source (longest prefix), or NET_UNMATCHED_V4/V6. */
  srcNetIndex(): number {
    if (this.srcIdx === NET_UNKNOWN) this.srcIdx = lookupIndex(this.table!, this.srcFam, this.src);
    return this.srcIdx;
  }

  dstNetIndex(): number {
    if (this.dstIdx === NET_UNKNOWN) this.dstIdx = lookupIndex(this.table!, this.dstFam, this.dst);
    return this.dstIdx;
  }

  /** The networks-file entry for the source (unmatched = 0.0.0.0/0 or ::/0). */
  srcNet(): NetworkEntry {
    return entryOf(this.table!, this.srcNetIndex());
  }

  dstNet(): NetworkEntry {
    return entryOf(this.table!, this.dstNetIndex());
  }
}

export function entryOf(t: NetworkTable, i: number): NetworkEntry {
  return i >= 0 ? t.entries[i]! : i === NET_UNMATCHED_V6 ? UNMATCHED_V6 : UNMATCHED_V4;
}

function lookupIndex(t: NetworkTable, fam: 0 | 4 | 6, w: Uint32Array): number {
  if (fam === 4) {
    const i = t.index4(w[0]!);
    return i < 0 ? NET_UNMATCHED_V4 : i;
  }
  if (fam === 6) {
    const i = t.index6(w[0]!, w[1]!, w[2]!, w[3]!);
    return i < 0 ? NET_UNMATCHED_V6 : i;
  }
  return NET_UNMATCHED_V4;
}

function addressInto(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (text === '') return 0;
  const a = ipv4ToU32(text);
  if (a >= 0) {
    out[0] = a;
    return 4;
  }
  return ipv6ToWords(text, out) ? 6 : 0;
}

/** A record's canonical "net/len" text (flowFromObject made it) → network words and length. */
function cidrInto(cidr: string, out: Uint32Array): number {
  const slash = cidr.indexOf('/');
  const net = slash < 0 ? cidr : cidr.slice(0, slash);
  out.fill(0);
  addressInto(net, out);
  return slash < 0 ? 0 : Number(cidr.slice(slash + 1));
}

export { UNMATCHED_V4, UNMATCHED_V6 };
