// Link layer → IPv4/IPv6 → UDP/TCP/ICMP, parsed in place into a reusable PacketInfo: no
// allocation per packet, no throw. Shared by the pcap/pcapng readers and by sFlow's raw packet
// header records (which are usually cut short after 128 bytes, so a truncated *payload* is normal
// and flagged, while a truncated *header* fails the parse with a reason).

import {
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  describeLinkType,
} from './linktype.js';

export * from './linktype.js';

export const ETYPE_IPV4 = 0x0800;
export const ETYPE_ARP = 0x0806;
export const ETYPE_VLAN = 0x8100; // 802.1Q
export const ETYPE_QINQ = 0x88a8; // 802.1ad service tag
export const ETYPE_QINQ_OLD = 0x9100; // pre-standard QinQ
export const ETYPE_IPV6 = 0x86dd;
export const ETYPE_MPLS = 0x8847;
export const ETYPE_MPLS_MC = 0x8848;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_DCCP = 33;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

/** IPv4 flags field (3 bits): don't fragment, more fragments. */
export const IP_FLAG_DF = 2;
export const IP_FLAG_MF = 1;

const MAX_VLAN_TAGS = 8;
const MAX_MPLS_LABELS = 16;
const MAX_IPV6_EXT_HEADERS = 16;

/** Everything parseFrame learned about one frame. Reuse one instance; parseFrame resets it.
 *  Offsets are into the buffer given to parseFrame (-1 = absent), so callers format addresses
 *  (lib/net/ip.ts formatIPv4At/formatIPv6At) or MACs (macAt) only when they need them. */
export class PacketInfo {
  /** Why parseFrame returned false ('' when it returned true). */
  error = '';
  linkType = 0;
  /** Destination/source MAC (6 bytes) offsets; Linux cooked captures only have a source. */
  dstMacOffset = -1;
  srcMacOffset = -1;
  /** VLAN tags seen (802.1Q / 802.1ad), and the ids of the outer and inner one (-1 = none). */
  vlanCount = 0;
  vlanOuter = -1;
  vlanInner = -1;
  /** MPLS labels popped (the IP packet was found after the bottom-of-stack label). */
  mplsCount = 0;
  /** Ethertype of the network layer after tags (0x0800, 0x86dd, 0x0806 …); for NULL/LOOP/RAW
   *  links, the IPv4/IPv6 ethertype derived from the family or version nibble. */
  etype = 0;
  /** Start of the network-layer header (-1 when the frame carries no IP). */
  l3Offset = -1;
  /** 4 or 6 when an IP header was parsed, else 0 (not IP: ARP, LLDP, …; parseFrame still true). */
  ipVersion = 0;
  /** IPv4: IHL × 4. IPv6: 40 + the extension headers skipped (up to the upper-layer header). */
  ipHeaderLength = 0;
  srcAddrOffset = -1;
  dstAddrOffset = -1;
  /** Upper-layer protocol (IPv6: after the extension headers; for a fragment, its next header). */
  protocol = 0;
  /** IPv4 TOS byte / IPv6 traffic class. */
  tos = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl = 0;
  /** IPv4 total length / IPv6 40 + payload length, as the header says. */
  totalLength = 0;
  /** IPv4 identification (16 bits) or IPv6 fragment header identification (32 bits). */
  ipId = 0;
  /** IPv4 flags (IP_FLAG_DF | IP_FLAG_MF); for an IPv6 fragment header, IP_FLAG_MF when M is set. */
  ipFlags = 0;
  /** Fragment offset as on the wire, in 8-byte units (× 8 for bytes). */
  fragOffset = 0;
  /** True for any fragment (more-fragments set or a non-zero offset). */
  fragment = false;
  /** IPv6 flow label (20 bits). */
  flowLabel = 0;
  /** Start of the IP payload after all IP headers (the fragment data for a fragment). */
  dataOffset = -1;
  /** End of the IP datagram within the captured bytes (trailing link padding excluded). */
  ipEnd = 0;
  /** The capture holds fewer bytes than the IP header's length says (snaplen, sFlow header cut). */
  truncated = false;
  /** Start of the transport header; -1 for a non-first fragment (no transport header there). */
  l4Offset = -1;
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN 0x01 … CWR 0x80). */
  tcpFlags = 0;
  icmpType = 0;
  icmpCode = 0;
  /** UDP length field (header + payload). */
  udpLength = 0;
  /** UDP payload start and length: as much of it as was captured (see payloadComplete). */
  payloadOffset = -1;
  payloadLength = 0;
  /** The whole UDP payload (udpLength - 8 bytes) is in the buffer. */
  payloadComplete = false;

  reset(): void {
    this.error = '';
    this.linkType = 0;
    this.dstMacOffset = -1;
    this.srcMacOffset = -1;
    this.vlanCount = 0;
    this.vlanOuter = -1;
    this.vlanInner = -1;
    this.mplsCount = 0;
    this.etype = 0;
    this.l3Offset = -1;
    this.ipVersion = 0;
    this.ipHeaderLength = 0;
    this.srcAddrOffset = -1;
    this.dstAddrOffset = -1;
    this.protocol = 0;
    this.tos = 0;
    this.ttl = 0;
    this.totalLength = 0;
    this.ipId = 0;
    this.ipFlags = 0;
    this.fragOffset = 0;
    this.fragment = false;
    this.flowLabel = 0;
    this.dataOffset = -1;
    this.ipEnd = 0;
    this.truncated = false;
    this.l4Offset = -1;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.udpLength = 0;
    this.payloadOffset = -1;
    this.payloadLength = 0;
    this.payloadComplete = false;
  }
}

function fail(out: PacketInfo, reason: string): false {
  out.error = reason;
  return false;
}

/** A MAC address as a 48-bit number (exact in a double). */
export function macAt(buf: Uint8Array, o: number): number {
  return (
    buf[o]! * 0x10000000000 +
    buf[o + 1]! * 0x100000000 +
    (((buf[o + 2]! << 24) | (buf[o + 3]! << 16) | (buf[o + 4]! << 8) | buf[o + 5]!) >>> 0)
  );
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** "00:11:22:33:44:55". */
export function formatMacAt(buf: Uint8Array, o: number): string {
  return `${HEX2[buf[o]!]}:${HEX2[buf[o + 1]!]}:${HEX2[buf[o + 2]!]}:${HEX2[buf[o + 3]!]}:${HEX2[buf[o + 4]!]}:${HEX2[buf[o + 5]!]}`;
}

/** Address family values seen in NULL/LOOP headers for IPv4 and IPv6 across OSes. */
function familyToEtype(af: number): number {
  switch (af) {
    case 2:
      return ETYPE_IPV4;
    case 10: // Linux
    case 23: // Windows (Npcap loopback adapter)
    case 24: // NetBSD, OpenBSD, BSD/OS
    case 28: // FreeBSD, DragonFly
    case 30: // Darwin
      return ETYPE_IPV6;
    default:
      return 0;
  }
}

function etypeFromVersion(buf: Uint8Array, o: number, end: number): number {
  if (o >= end) return 0;
  const v = buf[o]! >> 4;
  return v === 4 ? ETYPE_IPV4 : v === 6 ? ETYPE_IPV6 : 0;
}

/**
 * Parse the frame in buf[offset, offset+length) of the given link type into `out`.
 * Returns false (with out.error) for an unsupported link type or a truncated or malformed header;
 * true otherwise, including frames that are not IP (out.ipVersion 0) and IP packets whose payload
 * was cut by the capture (out.truncated, out.payloadComplete false).
 */
export function parseFrame(
  buf: Uint8Array,
  offset: number,
  length: number,
  linkType: number,
  out: PacketInfo,
): boolean {
  out.reset();
  out.linkType = linkType;
  const end = offset + length;
  if (offset < 0 || length < 0 || end > buf.length) return fail(out, 'frame outside the buffer');
  let o = offset;
  let etype: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (end - o < 14) return fail(out, 'truncated Ethernet header');
      out.dstMacOffset = o;
      out.srcMacOffset = o + 6;
      etype = (buf[o + 12]! << 8) | buf[o + 13]!;
      o += 14;
      if (etype <= 1500) {
        // 802.3 length field: LLC, maybe SNAP carrying an ethertype.
        if (end - o >= 8 && buf[o] === 0xaa && buf[o + 1] === 0xaa && buf[o + 2] === 0x03) {
          etype = (buf[o + 6]! << 8) | buf[o + 7]!;
          o += 8;
        } else {
          out.etype = 0;
          return true; // plain LLC (STP, …): not IP
        }
      }
      break;
    }
    case LINKTYPE_LINUX_SLL: {
      if (end - o < 16) return fail(out, 'truncated Linux cooked (SLL) header');
      const halen = (buf[o + 4]! << 8) | buf[o + 5]!;
      if (halen === 6) out.srcMacOffset = o + 6;
      etype = (buf[o + 14]! << 8) | buf[o + 15]!;
      o += 16;
      break;
    }
    case LINKTYPE_LINUX_SLL2: {
      if (end - o < 20) return fail(out, 'truncated Linux cooked (SLL2) header');
      if (buf[o + 11] === 6) out.srcMacOffset = o + 12;
      etype = (buf[o]! << 8) | buf[o + 1]!;
      o += 20;
      break;
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (end - o < 4) return fail(out, 'truncated loopback header');
      // The family is in the capturing host's byte order (NULL) or network order (LOOP); the
      // values are all < 256, so whichever end byte is non-zero holds it.
      const af = buf[o] !== 0 ? buf[o]! | (buf[o + 1]! << 8) : (buf[o + 2]! << 8) | buf[o + 3]!;
      etype = familyToEtype(af);
      o += 4;
      if (etype === 0) {
        out.etype = 0;
        return true; // another family: not IP
      }
      break;
    }
    case LINKTYPE_RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
      etype = etypeFromVersion(buf, o, end);
      if (etype === 0) {
        if (o >= end) return fail(out, 'empty raw IP packet');
        return fail(out, `bad IP version ${buf[o]! >> 4} in raw IP packet`);
      }
      break;
    case LINKTYPE_IPV4:
      etype = ETYPE_IPV4;
      break;
    case LINKTYPE_IPV6:
      etype = ETYPE_IPV6;
      break;
    default:
      return fail(out, `unsupported link type ${describeLinkType(linkType)}`);
  }

  // VLAN tags (any link may carry them; SLL shows them when the kernel did not strip them).
  while (etype === ETYPE_VLAN || etype === ETYPE_QINQ || etype === ETYPE_QINQ_OLD) {
    if (end - o < 4) return fail(out, 'truncated VLAN tag');
    if (out.vlanCount >= MAX_VLAN_TAGS) return fail(out, 'too many VLAN tags');
    const vid = ((buf[o]! << 8) | buf[o + 1]!) & 0x0fff;
    if (out.vlanCount === 0) out.vlanOuter = vid;
    else if (out.vlanCount === 1) out.vlanInner = vid;
    out.vlanCount++;
    etype = (buf[o + 2]! << 8) | buf[o + 3]!;
    o += 4;
  }
  if (etype === ETYPE_MPLS || etype === ETYPE_MPLS_MC) {
    for (;;) {
      if (end - o < 4) return fail(out, 'truncated MPLS label');
      if (out.mplsCount >= MAX_MPLS_LABELS) return fail(out, 'too many MPLS labels');
      out.mplsCount++;
      const bottom = (buf[o + 2]! & 1) !== 0;
      o += 4;
      if (bottom) break;
    }
    etype = etypeFromVersion(buf, o, end); // no type field under MPLS: guess from the version nibble
    if (etype === 0) {
      out.etype = 0;
      return true;
    }
  }
  out.etype = etype;
  if (etype === ETYPE_IPV4) return parseIPv4(buf, o, end, out);
  if (etype === ETYPE_IPV6) return parseIPv6(buf, o, end, out);
  return true; // ARP, LLDP, …: not IP
}

/** Parse an IPv4 packet starting at o (captured bytes up to end) and its transport header. */
export function parseIPv4(buf: Uint8Array, o: number, end: number, out: PacketInfo): boolean {
  out.l3Offset = o;
  out.etype = ETYPE_IPV4;
  if (end - o < 20) return fail(out, 'truncated IPv4 header');
  const vihl = buf[o]!;
  if (vihl >> 4 !== 4) return fail(out, `bad IPv4 header: version ${vihl >> 4}`);
  const ihl = (vihl & 15) * 4;
  if (ihl < 20) return fail(out, `bad IPv4 header: header length ${ihl}`);
  if (end - o < ihl) return fail(out, 'truncated IPv4 header (options)');
  let total = (buf[o + 2]! << 8) | buf[o + 3]!;
  if (total === 0)
    total = end - o; // TSO/GSO captures on the sending host carry 0 here
  else if (total < ihl) return fail(out, `bad IPv4 header: total length ${total} < header length ${ihl}`);
  out.ipVersion = 4;
  out.ipHeaderLength = ihl;
  out.tos = buf[o + 1]!;
  out.totalLength = total;
  out.ipId = (buf[o + 4]! << 8) | buf[o + 5]!;
  const ff = (buf[o + 6]! << 8) | buf[o + 7]!;
  out.ipFlags = ff >> 13;
  out.fragOffset = ff & 0x1fff;
  out.fragment = (ff & 0x3fff) !== 0;
  out.ttl = buf[o + 8]!;
  out.protocol = buf[o + 9]!;
  out.srcAddrOffset = o + 12;
  out.dstAddrOffset = o + 16;
  out.dataOffset = o + ihl;
  if (end - o >= total) out.ipEnd = o + total;
  else {
    out.ipEnd = end;
    out.truncated = true;
  }
  if (out.fragOffset !== 0) return true; // no transport header in a non-first fragment
  return parseL4(buf, o + ihl, out);
}

/** Parse an IPv6 packet starting at o, skipping extension headers, and its transport header. */
export function parseIPv6(buf: Uint8Array, o: number, end: number, out: PacketInfo): boolean {
  out.l3Offset = o;
  out.etype = ETYPE_IPV6;
  if (end - o < 40) return fail(out, 'truncated IPv6 header');
  const w0 = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
  if (w0 >>> 28 !== 6) return fail(out, `bad IPv6 header: version ${w0 >>> 28}`);
  out.ipVersion = 6;
  out.tos = (w0 >>> 20) & 0xff;
  out.flowLabel = w0 & 0xfffff;
  let plen = (buf[o + 4]! << 8) | buf[o + 5]!;
  if (plen === 0) plen = end - o - 40; // jumbogram or TSO: the capture is all we have
  out.totalLength = 40 + plen;
  out.ttl = buf[o + 7]!;
  out.srcAddrOffset = o + 8;
  out.dstAddrOffset = o + 24;
  if (end - o >= 40 + plen) out.ipEnd = o + 40 + plen;
  else {
    out.ipEnd = end;
    out.truncated = true;
  }
  const ipEnd = out.ipEnd;
  let next = buf[o + 6]!;
  let p = o + 40;
  for (let n = 0; ; n++) {
    if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS || next === IPPROTO_AH) {
      if (n >= MAX_IPV6_EXT_HEADERS) return fail(out, 'bad IPv6 header: too many extension headers');
      if (ipEnd - p < 8) return fail(out, 'truncated IPv6 extension header');
      const len = next === IPPROTO_AH ? (buf[p + 1]! + 2) * 4 : (buf[p + 1]! + 1) * 8;
      if (ipEnd - p < len) return fail(out, 'truncated IPv6 extension header');
      next = buf[p]!;
      p += len;
    } else if (next === IPPROTO_FRAGMENT) {
      if (ipEnd - p < 8) return fail(out, 'truncated IPv6 fragment header');
      if (out.fragment) return fail(out, 'bad IPv6 header: two fragment headers');
      const offm = (buf[p + 2]! << 8) | buf[p + 3]!;
      out.fragOffset = offm >> 3;
      out.ipFlags = offm & 1 ? IP_FLAG_MF : 0;
      out.fragment = true;
      out.ipId = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
      next = buf[p]!;
      p += 8;
      if (out.fragOffset !== 0) break; // the rest is fragment data
    } else break;
  }
  out.protocol = next;
  out.ipHeaderLength = p - o;
  out.dataOffset = p;
  if (out.fragOffset !== 0) return true;
  return parseL4(buf, p, out);
}

/** A first fragment may carry less than a whole transport header (the rest follows): not an error. */
function short(out: PacketInfo, reason: string): boolean {
  return out.fragment ? true : fail(out, reason);
}

function parseL4(buf: Uint8Array, p: number, out: PacketInfo): boolean {
  const end = out.ipEnd;
  const avail = end - p;
  switch (out.protocol) {
    case IPPROTO_UDP: {
      out.l4Offset = p;
      if (avail < 8) return short(out, 'truncated UDP header');
      out.srcPort = (buf[p]! << 8) | buf[p + 1]!;
      out.dstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
      let ulen = (buf[p + 4]! << 8) | buf[p + 5]!;
      if (ulen === 0 && out.ipVersion === 6) ulen = out.totalLength - (p - out.l3Offset); // jumbogram
      if (ulen < 8) return fail(out, `bad UDP header: length ${ulen}`);
      out.udpLength = ulen;
      out.payloadOffset = p + 8;
      const want = ulen - 8;
      if (avail - 8 >= want) {
        out.payloadLength = want;
        out.payloadComplete = true;
      } else {
        out.payloadLength = avail - 8;
        out.payloadComplete = false;
      }
      return true;
    }
    case IPPROTO_TCP:
      out.l4Offset = p;
      if (avail < 20) return short(out, 'truncated TCP header');
      out.srcPort = (buf[p]! << 8) | buf[p + 1]!;
      out.dstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
      out.tcpFlags = buf[p + 13]!;
      return true;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      out.l4Offset = p;
      if (avail < 4)
        return short(out, out.protocol === IPPROTO_ICMP ? 'truncated ICMP header' : 'truncated ICMPv6 header');
      out.icmpType = buf[p]!;
      out.icmpCode = buf[p + 1]!;
      return true;
    case IPPROTO_SCTP:
    case IPPROTO_DCCP:
    case IPPROTO_UDPLITE:
      out.l4Offset = p;
      if (avail < 4) return short(out, 'truncated transport header');
      out.srcPort = (buf[p]! << 8) | buf[p + 1]!;
      out.dstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
      return true;
    default:
      out.l4Offset = p;
      return true;
  }
}
