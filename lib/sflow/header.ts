// Raw packet header records (sFlow flow record 0:1) decoded through the shared packet parser
// (lib/packet/frame.ts), filling the fields goflow2 takes from a sampled header: MACs, VLAN,
// ethertype, addresses, TOS, TTL, fragment fields, flow label, protocol, ports, TCP flags, ICMP.
// goflow2 only parses Ethernet headers; raw IPv4/IPv6 headers (pmacct's sfprobe sends those) are
// parsed too.

import type { FlowRecord } from '../flow/record.js';
import { formatIPv4At, formatIPv6At } from '../net/ip.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  PacketInfo,
  formatMacAt,
  parseFrame,
} from '../packet/frame.js';

/** sFlow header_protocol values (sflow_version_5.txt). */
export const HEADER_ETHERNET = 1;
export const HEADER_IPV4 = 11;
export const HEADER_IPV6 = 12;

const info = new PacketInfo();

/** Fill `r` from the sampled header at b[o, o+len); returns why it could not be read, if so. */
export function applySampledHeader(
  b: Uint8Array,
  o: number,
  len: number,
  headerProtocol: number,
  r: FlowRecord,
): string | undefined {
  const link =
    headerProtocol === HEADER_ETHERNET
      ? LINKTYPE_ETHERNET
      : headerProtocol === HEADER_IPV4
        ? LINKTYPE_IPV4
        : headerProtocol === HEADER_IPV6
          ? LINKTYPE_IPV6
          : -1;
  if (link < 0) return `header protocol ${headerProtocol} not decoded`;
  const ok = parseFrame(b, o, len, link, info);
  if (info.dstMacOffset >= 0) r.dst_mac = formatMacAt(b, info.dstMacOffset);
  if (info.srcMacOffset >= 0) r.src_mac = formatMacAt(b, info.srcMacOffset);
  if (info.vlanOuter >= 0) r.vlan_id = info.vlanOuter;
  if (info.etype !== 0) r.etype = info.etype;
  if (!ok) return info.error;
  if (info.ipVersion === 4) {
    r.src_addr = formatIPv4At(b, info.srcAddrOffset);
    r.dst_addr = formatIPv4At(b, info.dstAddrOffset);
    r.fragment_id = info.ipId;
    r.fragment_offset = info.fragOffset;
    r.ip_flags = info.ipFlags;
  } else if (info.ipVersion === 6) {
    r.src_addr = formatIPv6At(b, info.srcAddrOffset);
    r.dst_addr = formatIPv6At(b, info.dstAddrOffset);
    r.ipv6_flow_label = info.flowLabel;
  } else {
    return undefined; // not IP (ARP, …): MACs and etype only
  }
  r.ip_tos = info.tos;
  r.ip_ttl = info.ttl;
  r.proto = info.protocol;
  r.src_port = info.srcPort;
  r.dst_port = info.dstPort;
  r.tcp_flags = info.tcpFlags;
  if (info.protocol === 1 || info.protocol === 58) {
    r.icmp_type = info.icmpType;
    r.icmp_code = info.icmpCode;
  }
  return undefined;
}
