// Data records of NetFlow v9 / IPFIX: run a template's field plan over one record into a reusable
// scratch struct (numbers and byte offsets, nothing allocated), then either build a FlowRecord
// (goflow2 semantics) or apply an options record to the domain state (sampling, systemInitTime).

import type { FlowRecord, FlowType } from '../flow/record.js';
import { formatIPv4, formatIPv6At, ipv4Network, ipv6Network } from '../net/ip.js';
import { formatMacAt } from '../net/mac.js';
import { A } from './fields.js';
import type { Domain, Template } from './templates.js';

/** What the message header tells every record in it. One instance reused per datagram. */
export class MessageContext {
  type: FlowType = 'NETFLOW_V9';
  version = 9;
  exporter = '';
  receivedNs = 0;
  sequence = 0;
  /** Export time, Unix seconds (v9 unix_secs, IPFIX Export Time). */
  exportSecs = 0;
  /** v9 sysUptime in ms; -1 for IPFIX (no uptime in the header). */
  uptimeMs = -1;
  domainId = 0;
  domain: Domain | undefined = undefined;

  copy(): MessageContext {
    return Object.assign(new MessageContext(), this);
  }
}

/** One record's fields as found; -1 = absent. Addresses, MACs: byte offsets into the datagram. */
export class Scratch {
  bytes = -1; pkts = -1; outBytes = -1; outPkts = -1; totBytes = -1; totPkts = -1;
  proto = -1; tos = -1; tcpFlags = -1; srcPort = -1; dstPort = -1;
  src4 = -1; dst4 = -1; src6 = -1; dst6 = -1; srcMask = -1; dstMask = -1; src6Mask = -1; dst6Mask = -1;
  inIf = -1; outIf = -1; inPhys = -1; outPhys = -1;
  nh4 = -1; nh6 = -1; bgpNh4 = -1; bgpNh6 = -1; srcAs = -1; dstAs = -1; nextHopAs = -1;
  firstSw = -1; lastSw = -1; startNs = -1; endNs = -1; startDeltaUs = -1; endDeltaUs = -1; sysInitMs = -1;
  icmpTc = -1; icmpType = -1; icmpCode = -1;
  srcMac = -1; dstMac = -1; postSrcMac = -1; postDstMac = -1;
  srcVlan = -1; dstVlan = -1; dot1q = -1; postDot1q = -1;
  ttl = -1; minTtl = -1; direction = -1; fwd = -1; flowLabel = -1; fragId = -1; fragOff = -1; fragFlags = -1;
  ipVersion = -1; obsDomain = -1; obsPoint = -1;
  samplingInterval = -1; samplingAlgo = -1; samplerRandom = -1; pktInterval = -1; pktSpace = -1;
  samplingSize = -1; samplingPop = -1; samplerId = -1; selectorId = -1;
  mpls1 = -1; mpls2 = -1; mpls3 = -1;

  reset(): void {
    this.bytes = this.pkts = this.outBytes = this.outPkts = this.totBytes = this.totPkts = -1;
    this.proto = this.tos = this.tcpFlags = this.srcPort = this.dstPort = -1;
    this.src4 = this.dst4 = this.src6 = this.dst6 = this.srcMask = this.dstMask = this.src6Mask = this.dst6Mask = -1;
    this.inIf = this.outIf = this.inPhys = this.outPhys = -1;
    this.nh4 = this.nh6 = this.bgpNh4 = this.bgpNh6 = this.srcAs = this.dstAs = this.nextHopAs = -1;
    this.firstSw = this.lastSw = this.startNs = this.endNs = this.startDeltaUs = this.endDeltaUs = this.sysInitMs = -1;
    this.icmpTc = this.icmpType = this.icmpCode = -1;
    this.srcMac = this.dstMac = this.postSrcMac = this.postDstMac = -1;
    this.srcVlan = this.dstVlan = this.dot1q = this.postDot1q = -1;
    this.ttl = this.minTtl = this.direction = this.fwd = this.flowLabel = this.fragId = this.fragOff = this.fragFlags = -1;
    this.ipVersion = this.obsDomain = this.obsPoint = -1;
    this.samplingInterval = this.samplingAlgo = this.samplerRandom = this.pktInterval = this.pktSpace = -1;
    this.samplingSize = this.samplingPop = this.samplerId = this.selectorId = -1;
    this.mpls1 = this.mpls2 = this.mpls3 = -1;
  }
}

/** Unsigned big-endian integer of 1-8 bytes (reduced-size encoding). Beyond 2^53 precision is lost. */
function uint(v: DataView, b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 1:
      return b[o]!;
    case 2:
      return v.getUint16(o);
    case 4:
      return v.getUint32(o);
    case 8:
      return v.getUint32(o) * 4294967296 + v.getUint32(o + 4);
    default: {
      let x = 0;
      for (let i = 0; i < len; i++) x = x * 256 + b[o + i]!;
      return x;
    }
  }
}

const NTP_UNIX_OFFSET = 2208988800;

/** NTP timestamp (RFC 7011 dateTimeMicroseconds / dateTimeNanoseconds) → Unix ns. */
function ntpNs(v: DataView, o: number, micro: boolean): number {
  let sec = v.getUint32(o);
  let frac = v.getUint32(o + 4);
  if (micro) frac = (frac & 0xfffff800) >>> 0; // the low 11 bits are not meaningful for µs
  // NTP era 1 starts in 2036: small second counts belong to it (RFC 4330 §3)
  if (sec < 0x80000000) sec += 4294967296;
  return (sec - NTP_UNIX_OFFSET) * 1e9 + Math.floor((frac * 1e9) / 4294967296);
}

/** Decode one record at `o` with template `t` into `s`. Returns the offset after the record, or -1
 *  when a variable-length field runs past `end`. */
export function readRecord(v: DataView, b: Uint8Array, o: number, end: number, t: Template, s: Scratch): number {
  s.reset();
  const codes = t.codes;
  const lens = t.lens;
  const n = codes.length;
  for (let i = 0; i < n; i++) {
    let len = lens[i]!;
    if (len < 0) {
      if (o >= end) return -1;
      len = b[o++]!;
      if (len === 255) {
        if (o + 2 > end) return -1;
        len = v.getUint16(o);
        o += 2;
      }
    }
    if (o + len > end) return -1;
    const c = codes[i]!;
    if (c !== A.SKIP) setField(s, c, v, b, o, len);
    o += len;
  }
  return o;
}

function setField(s: Scratch, c: number, v: DataView, b: Uint8Array, o: number, len: number): void {
  switch (c) {
    case A.BYTES: s.bytes = uint(v, b, o, len); break;
    case A.PKTS: s.pkts = uint(v, b, o, len); break;
    case A.OUT_BYTES: s.outBytes = uint(v, b, o, len); break;
    case A.OUT_PKTS: s.outPkts = uint(v, b, o, len); break;
    case A.TOT_BYTES: s.totBytes = uint(v, b, o, len); break;
    case A.TOT_PKTS: s.totPkts = uint(v, b, o, len); break;
    case A.PROTO: s.proto = uint(v, b, o, len) & 255; break;
    case A.TOS: s.tos = uint(v, b, o, len) & 255; break;
    case A.TCP_FLAGS: s.tcpFlags = uint(v, b, o, len) & 0xffff; break;
    case A.SRC_PORT: s.srcPort = uint(v, b, o, len) & 0xffff; break;
    case A.DST_PORT: s.dstPort = uint(v, b, o, len) & 0xffff; break;
    case A.SRC4: s.src4 = v.getUint32(o); break;
    case A.DST4: s.dst4 = v.getUint32(o); break;
    case A.SRC6: s.src6 = o; break;
    case A.DST6: s.dst6 = o; break;
    case A.SRC_MASK: s.srcMask = uint(v, b, o, len); break;
    case A.DST_MASK: s.dstMask = uint(v, b, o, len); break;
    case A.SRC6_MASK: s.src6Mask = uint(v, b, o, len); break;
    case A.DST6_MASK: s.dst6Mask = uint(v, b, o, len); break;
    case A.IN_IF: s.inIf = uint(v, b, o, len); break;
    case A.OUT_IF: s.outIf = uint(v, b, o, len); break;
    case A.IN_PHYS: s.inPhys = uint(v, b, o, len); break;
    case A.OUT_PHYS: s.outPhys = uint(v, b, o, len); break;
    case A.NH4: s.nh4 = v.getUint32(o); break;
    case A.NH6: s.nh6 = o; break;
    case A.BGP_NH4: s.bgpNh4 = v.getUint32(o); break;
    case A.BGP_NH6: s.bgpNh6 = o; break;
    case A.SRC_AS: s.srcAs = uint(v, b, o, len); break;
    case A.DST_AS: s.dstAs = uint(v, b, o, len); break;
    case A.NEXT_HOP_AS: s.nextHopAs = uint(v, b, o, len); break;
    case A.FIRST_SW: s.firstSw = uint(v, b, o, len); break;
    case A.LAST_SW: s.lastSw = uint(v, b, o, len); break;
    case A.START_S: s.startNs = uint(v, b, o, len) * 1e9; break;
    case A.END_S: s.endNs = uint(v, b, o, len) * 1e9; break;
    case A.START_MS: s.startNs = uint(v, b, o, len) * 1e6; break;
    case A.END_MS: s.endNs = uint(v, b, o, len) * 1e6; break;
    case A.START_US: s.startNs = ntpNs(v, o, true); break;
    case A.END_US: s.endNs = ntpNs(v, o, true); break;
    case A.START_NS: s.startNs = ntpNs(v, o, false); break;
    case A.END_NS: s.endNs = ntpNs(v, o, false); break;
    case A.START_DELTA_US: s.startDeltaUs = uint(v, b, o, len); break;
    case A.END_DELTA_US: s.endDeltaUs = uint(v, b, o, len); break;
    case A.SYS_INIT_MS: s.sysInitMs = uint(v, b, o, len); break;
    case A.ICMP_TC: s.icmpTc = v.getUint16(o); break;
    case A.ICMP_TYPE: s.icmpType = uint(v, b, o, len) & 255; break;
    case A.ICMP_CODE: s.icmpCode = uint(v, b, o, len) & 255; break;
    case A.SRC_MAC: s.srcMac = o; break;
    case A.DST_MAC: s.dstMac = o; break;
    case A.POST_SRC_MAC: s.postSrcMac = o; break;
    case A.POST_DST_MAC: s.postDstMac = o; break;
    case A.SRC_VLAN: s.srcVlan = uint(v, b, o, len); break;
    case A.DST_VLAN: s.dstVlan = uint(v, b, o, len); break;
    case A.DOT1Q_VLAN: s.dot1q = uint(v, b, o, len); break;
    case A.POST_DOT1Q_VLAN: s.postDot1q = uint(v, b, o, len); break;
    case A.TTL: s.ttl = uint(v, b, o, len) & 255; break;
    case A.MIN_TTL: s.minTtl = uint(v, b, o, len) & 255; break;
    case A.DIRECTION: s.direction = uint(v, b, o, len); break;
    case A.FWD_STATUS: s.fwd = uint(v, b, o, len); break;
    case A.FLOW_LABEL: s.flowLabel = uint(v, b, o, len); break;
    case A.FRAG_ID: s.fragId = uint(v, b, o, len); break;
    case A.FRAG_OFF: s.fragOff = uint(v, b, o, len); break;
    case A.FRAG_FLAGS: s.fragFlags = uint(v, b, o, len); break;
    case A.IP_VERSION: s.ipVersion = uint(v, b, o, len); break;
    case A.OBS_DOMAIN: s.obsDomain = uint(v, b, o, len); break;
    case A.OBS_POINT: s.obsPoint = uint(v, b, o, len); break;
    case A.SAMPLING_INTERVAL: s.samplingInterval = uint(v, b, o, len); break;
    case A.SAMPLING_ALGO: s.samplingAlgo = uint(v, b, o, len); break;
    case A.SAMPLER_RANDOM: s.samplerRandom = uint(v, b, o, len); break;
    case A.PKT_INTERVAL: s.pktInterval = uint(v, b, o, len); break;
    case A.PKT_SPACE: s.pktSpace = uint(v, b, o, len); break;
    case A.SAMPLING_SIZE: s.samplingSize = uint(v, b, o, len); break;
    case A.SAMPLING_POP: s.samplingPop = uint(v, b, o, len); break;
    case A.SAMPLER_ID: s.samplerId = uint(v, b, o, len); break;
    case A.SELECTOR_ID: s.selectorId = uint(v, b, o, len); break;
    case A.MPLS1: s.mpls1 = (b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4); break;
    case A.MPLS2: s.mpls2 = (b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4); break;
    case A.MPLS3: s.mpls3 = (b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4); break;
  }
}

/** Sampling rate a record states (-1 = none): samplingPacketInterval/Space (RFC 5477; interval
 *  alone is taken as the rate, as goflow2 does), samplerRandomInterval, samplingInterval,
 *  samplingPopulation/Size — in goflow2's order of preference. */
export function samplingOf(s: Scratch): number {
  if (s.pktInterval > 0) return s.pktSpace >= 0 ? Math.round((s.pktInterval + s.pktSpace) / s.pktInterval) : s.pktInterval;
  if (s.samplerRandom > 0) return s.samplerRandom;
  if (s.samplingInterval > 0) return s.samplingInterval;
  if (s.samplingPop > 0 && s.samplingSize > 0) return Math.round(s.samplingPop / s.samplingSize);
  return -1;
}

/** An options data record: keep what it says about sampling and system init time. Returns true
 *  when it changed the domain state. */
export function applyOptions(s: Scratch, d: Domain): boolean {
  let changed = false;
  const rate = samplingOf(s);
  if (rate > 0) {
    const id = s.samplerId >= 0 ? s.samplerId : s.selectorId;
    if (id >= 0) d.samplers.set(id, rate);
    d.samplingRate = rate;
    changed = true;
  }
  if (s.sysInitMs >= 0) {
    d.systemInitMs = s.sysInitMs;
    changed = true;
  }
  return changed;
}

function zero16(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** The flow record for a data record in `s`. */
export function buildFlow(s: Scratch, m: MessageContext, b: Uint8Array): FlowRecord {
  const d = m.domain;
  // addresses: an all-zero IPv6 field loses to an IPv4 one (dual templates), as goflow2 does
  let src = '';
  let dst = '';
  let srcNet = '0.0.0.0/0';
  let dstNet = '0.0.0.0/0';
  let etype = 0;
  if (s.src6 >= 0 && (s.src4 < 0 || !zero16(b, s.src6))) {
    src = formatIPv6At(b, s.src6);
    srcNet = ipv6Network(b, s.src6, s.src6Mask >= 0 ? s.src6Mask : s.srcMask >= 0 ? s.srcMask : 0);
    etype = 0x86dd;
  } else if (s.src4 >= 0) {
    src = formatIPv4(s.src4);
    srcNet = ipv4Network(s.src4, s.srcMask >= 0 ? s.srcMask : 0);
    etype = 0x0800;
  }
  if (s.dst6 >= 0 && (s.dst4 < 0 || !zero16(b, s.dst6))) {
    dst = formatIPv6At(b, s.dst6);
    dstNet = ipv6Network(b, s.dst6, s.dst6Mask >= 0 ? s.dst6Mask : s.dstMask >= 0 ? s.dstMask : 0);
    if (etype === 0) etype = 0x86dd;
  } else if (s.dst4 >= 0) {
    dst = formatIPv4(s.dst4);
    dstNet = ipv4Network(s.dst4, s.dstMask >= 0 ? s.dstMask : 0);
    if (etype === 0) etype = 0x0800;
  }
  if (etype === 0 && s.ipVersion === 4) etype = 0x0800;
  else if (etype === 0 && s.ipVersion === 6) etype = 0x86dd;
  if (etype === 0x86dd) {
    if (srcNet === '0.0.0.0/0') srcNet = '::/0';
    if (dstNet === '0.0.0.0/0') dstNet = '::/0';
  }
  let nextHop = '';
  if (s.nh6 >= 0 && (s.nh4 < 0 || !zero16(b, s.nh6))) nextHop = formatIPv6At(b, s.nh6);
  else if (s.nh4 >= 0) nextHop = formatIPv4(s.nh4);

  // times: absolute, else delta from export time, else sysUpTime-relative, else the export time
  const exportNs = m.exportSecs * 1e9;
  const start = timeOf(s.startNs, s.startDeltaUs, s.firstSw, s, m, exportNs);
  const end = timeOf(s.endNs, s.endDeltaUs, s.lastSw, s, m, exportNs);

  let rate = samplingOf(s);
  if (rate < 0) {
    const id = s.samplerId >= 0 ? s.samplerId : s.selectorId;
    const r = id >= 0 && d !== undefined ? d.samplers.get(id) : undefined;
    rate = r ?? d?.samplingRate ?? 0;
  }

  const r: FlowRecord = {
    type: m.type,
    time_received_ns: m.receivedNs,
    sequence_num: m.sequence,
    sampling_rate: rate,
    sampler_address: m.exporter,
    time_flow_start_ns: start,
    time_flow_end_ns: end,
    bytes: s.bytes >= 0 ? s.bytes : s.outBytes >= 0 ? s.outBytes : s.totBytes >= 0 ? s.totBytes : 0,
    packets: s.pkts >= 0 ? s.pkts : s.outPkts >= 0 ? s.outPkts : s.totPkts >= 0 ? s.totPkts : 0,
    src_addr: src,
    dst_addr: dst,
    etype,
    proto: s.proto >= 0 ? s.proto : 0,
    src_port: s.srcPort >= 0 ? s.srcPort : 0,
    dst_port: s.dstPort >= 0 ? s.dstPort : 0,
    in_if: s.inIf >= 0 ? s.inIf : s.inPhys >= 0 ? s.inPhys : 0,
    out_if: s.outIf >= 0 ? s.outIf : s.outPhys >= 0 ? s.outPhys : 0,
    ip_tos: s.tos >= 0 ? s.tos : 0,
    tcp_flags: s.tcpFlags >= 0 ? s.tcpFlags : 0,
    src_as: s.srcAs >= 0 ? s.srcAs : 0,
    dst_as: s.dstAs >= 0 ? s.dstAs : 0,
    next_hop: nextHop,
    src_net: srcNet,
    dst_net: dstNet,
  };
  // optional goflow2 fields, only when the exporter sent them
  if (s.srcMac >= 0) r.src_mac = formatMacAt(b, s.srcMac);
  else if (s.postSrcMac >= 0) r.src_mac = formatMacAt(b, s.postSrcMac);
  if (s.dstMac >= 0) r.dst_mac = formatMacAt(b, s.dstMac);
  else if (s.postDstMac >= 0) r.dst_mac = formatMacAt(b, s.postDstMac);
  const srcVlan = s.srcVlan >= 0 ? s.srcVlan : s.dot1q;
  const dstVlan = s.dstVlan >= 0 ? s.dstVlan : s.postDot1q;
  if (srcVlan >= 0) {
    r.src_vlan = srcVlan;
    r.vlan_id = srcVlan;
  }
  if (dstVlan >= 0) r.dst_vlan = dstVlan;
  if (s.fwd >= 0) r.forwarding_status = s.fwd;
  if (s.ttl >= 0) r.ip_ttl = s.ttl;
  else if (s.minTtl >= 0) r.ip_ttl = s.minTtl;
  if (s.fragFlags >= 0) r.ip_flags = s.fragFlags >> 5;
  if (s.icmpTc >= 0) {
    r.icmp_type = s.icmpTc >> 8;
    r.icmp_code = s.icmpTc & 255;
  }
  if (s.icmpType >= 0) r.icmp_type = s.icmpType;
  if (s.icmpCode >= 0) r.icmp_code = s.icmpCode;
  if (s.flowLabel >= 0) r.ipv6_flow_label = s.flowLabel;
  if (s.fragId >= 0) r.fragment_id = s.fragId;
  if (s.fragOff >= 0) r.fragment_offset = s.fragOff;
  if (s.nextHopAs >= 0) r.next_hop_as = s.nextHopAs;
  if (s.bgpNh6 >= 0 && (s.bgpNh4 < 0 || !zero16(b, s.bgpNh6))) r.bgp_next_hop = formatIPv6At(b, s.bgpNh6);
  else if (s.bgpNh4 >= 0) r.bgp_next_hop = formatIPv4(s.bgpNh4);
  if (s.mpls1 >= 0) {
    const labels = [s.mpls1];
    if (s.mpls2 >= 0) labels.push(s.mpls2);
    if (s.mpls2 >= 0 && s.mpls3 >= 0) labels.push(s.mpls3);
    r.mpls_label = labels;
  }
  r.observation_domain_id = s.obsDomain >= 0 ? s.obsDomain : m.domainId;
  if (s.obsPoint >= 0) r.observation_point_id = s.obsPoint;
  if (s.direction >= 0) r.flow_direction = s.direction;
  return r;
}

function timeOf(abs: number, deltaUs: number, sysUp: number, s: Scratch, m: MessageContext, exportNs: number): number {
  if (abs >= 0) return abs;
  if (deltaUs >= 0) return exportNs - deltaUs * 1e3;
  if (sysUp >= 0) {
    if (m.uptimeMs >= 0) {
      // v9: relative to the header's sysUptime; signed 32-bit difference survives uptime wrap
      return exportNs - ((m.uptimeMs - sysUp) | 0) * 1e6;
    }
    const init = s.sysInitMs >= 0 ? s.sysInitMs : m.domain !== undefined ? m.domain.systemInitMs : -1;
    if (init >= 0) return (init + sysUp) * 1e6;
  }
  return exportNs;
}
