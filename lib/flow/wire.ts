// A flow as a decoder found it: numbers, and byte offsets into the datagram for what is text in
// a FlowRecord (IPv6 addresses, MACs). The decoders fill one reused WireFlow per record and hand
// it on; `toRecord()` is the one place that turns it into a FlowRecord (strings), and the NDJSON
// writer (lib/format/ndjson-bytes.ts) renders it to bytes without building those strings: ~6
// strings and an object per flow would be most of `flow-capture -r`'s time (bench/README.md).
// Valid only during the emit call: `buf` is the datagram, reused afterwards.

import type { FlowRecord, FlowType } from './record.js';
import { formatIPv4, formatIPv6At, ipv4Network, ipv6Network } from '../net/ip.js';
import { formatMacAt } from '../net/mac.js';
import type { Counter } from './counter.js';

const EMPTY = new Uint8Array(0);

/** Address slot kinds: absent, IPv4 (u32 in *V4), IPv6 (16 bytes at *Off in buf). */
export const NONE = 0;
export const V4 = 4;
export const V6 = 6;

export class WireFlow {
  /** The datagram that IPv6 addresses and MACs point into. */
  buf: Uint8Array = EMPTY;
  type: FlowType = 'FLOWUNKNOWN';
  receivedNs = 0;
  sequence = 0;
  samplingRate = 0;
  exporter = '';
  startNs = 0;
  endNs = 0;
  /** uint64, exact (lib/flow/counter.ts): a bigint only above 2^53 - 1. */
  bytes: Counter = 0;
  packets: Counter = 0;
  srcKind = NONE;
  srcV4 = 0;
  srcOff = 0;
  /** Prefix length for src_net; with srcKind NONE (or V4 and mask ≤ 0) the net is the zero net. */
  srcMask = 0;
  dstKind = NONE;
  dstV4 = 0;
  dstOff = 0;
  dstMask = 0;
  nhKind = NONE;
  nhV4 = 0;
  nhOff = 0;
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
  // Optional goflow2 fields: -1 = absent. MACs are offsets into buf.
  srcMacOff = -1;
  dstMacOff = -1;
  srcVlan = -1;
  dstVlan = -1;
  vlanId = -1;
  forwardingStatus = -1;
  ipTtl = -1;
  ipFlags = -1;
  icmpType = -1;
  icmpCode = -1;
  flowLabel = -1;
  fragmentId = -1;
  fragmentOffset = -1;
  nextHopAs = -1;
  bgpKind = NONE;
  bgpV4 = 0;
  bgpOff = 0;
  /** Up to three MPLS labels, -1 = absent (a label is present only when the ones before are). */
  mpls1 = -1;
  mpls2 = -1;
  mpls3 = -1;
  observationDomainId = -1;
  observationPointId = -1;
  flowDirection = -1;

  /** Clear the optional fields before filling a record (the core fields are always set). */
  clearOptional(): void {
    this.srcMacOff = -1;
    this.dstMacOff = -1;
    this.srcVlan = -1;
    this.dstVlan = -1;
    this.vlanId = -1;
    this.forwardingStatus = -1;
    this.ipTtl = -1;
    this.ipFlags = -1;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.flowLabel = -1;
    this.fragmentId = -1;
    this.fragmentOffset = -1;
    this.nextHopAs = -1;
    this.bgpKind = NONE;
    this.mpls1 = -1;
    this.mpls2 = -1;
    this.mpls3 = -1;
    this.observationDomainId = -1;
    this.observationPointId = -1;
    this.flowDirection = -1;
  }

  /** The FlowRecord this flow is (goflow2 renderings; optional fields only when present). */
  toRecord(): FlowRecord {
    const b = this.buf;
    const r: FlowRecord = {
      type: this.type,
      time_received_ns: this.receivedNs,
      sequence_num: this.sequence,
      sampling_rate: this.samplingRate,
      sampler_address: this.exporter,
      time_flow_start_ns: this.startNs,
      time_flow_end_ns: this.endNs,
      bytes: this.bytes,
      packets: this.packets,
      src_addr: addressText(this.srcKind, this.srcV4, b, this.srcOff),
      dst_addr: addressText(this.dstKind, this.dstV4, b, this.dstOff),
      etype: this.etype,
      proto: this.proto,
      src_port: this.srcPort,
      dst_port: this.dstPort,
      in_if: this.inIf,
      out_if: this.outIf,
      ip_tos: this.tos,
      tcp_flags: this.tcpFlags,
      src_as: this.srcAs,
      dst_as: this.dstAs,
      next_hop: addressText(this.nhKind, this.nhV4, b, this.nhOff),
      src_net: netText(this.srcKind, this.srcV4, b, this.srcOff, this.srcMask, this.etype),
      dst_net: netText(this.dstKind, this.dstV4, b, this.dstOff, this.dstMask, this.etype),
    };
    // the object's fields are added in FLOW_FIELDS order, so every record gets the same shape
    if (this.srcMacOff >= 0) r.src_mac = formatMacAt(b, this.srcMacOff);
    if (this.dstMacOff >= 0) r.dst_mac = formatMacAt(b, this.dstMacOff);
    if (this.srcVlan >= 0) r.src_vlan = this.srcVlan;
    if (this.dstVlan >= 0) r.dst_vlan = this.dstVlan;
    if (this.vlanId >= 0) r.vlan_id = this.vlanId;
    if (this.forwardingStatus >= 0) r.forwarding_status = this.forwardingStatus;
    if (this.ipTtl >= 0) r.ip_ttl = this.ipTtl;
    if (this.ipFlags >= 0) r.ip_flags = this.ipFlags;
    if (this.icmpType >= 0) r.icmp_type = this.icmpType;
    if (this.icmpCode >= 0) r.icmp_code = this.icmpCode;
    if (this.flowLabel >= 0) r.ipv6_flow_label = this.flowLabel;
    if (this.fragmentId >= 0) r.fragment_id = this.fragmentId;
    if (this.fragmentOffset >= 0) r.fragment_offset = this.fragmentOffset;
    if (this.nextHopAs >= 0) r.next_hop_as = this.nextHopAs;
    if (this.bgpKind !== NONE) r.bgp_next_hop = addressText(this.bgpKind, this.bgpV4, b, this.bgpOff);
    if (this.mpls1 >= 0)
      r.mpls_label =
        this.mpls2 < 0
          ? [this.mpls1]
          : this.mpls3 < 0
            ? [this.mpls1, this.mpls2]
            : [this.mpls1, this.mpls2, this.mpls3];
    if (this.observationDomainId >= 0) r.observation_domain_id = this.observationDomainId;
    if (this.observationPointId >= 0) r.observation_point_id = this.observationPointId;
    if (this.flowDirection >= 0) r.flow_direction = this.flowDirection;
    return r;
  }
}

export function addressText(kind: number, v4: number, b: Uint8Array, off: number): string {
  return kind === V4 ? formatIPv4(v4) : kind === V6 ? formatIPv6At(b, off) : '';
}

/** src_net/dst_net: the exporter's prefix; the zero net of the record's family when none. */
export function netText(kind: number, v4: number, b: Uint8Array, off: number, mask: number, etype: number): string {
  if (kind === V6) return ipv6Network(b, off, mask);
  if (kind === V4 && mask > 0) return ipv4Network(v4, mask);
  return etype === 0x86dd ? '::/0' : '0.0.0.0/0';
}
