// From captured frames to export datagrams: parse the link/IP/UDP layers, reassemble IP
// fragments, count what is skipped and report bad data to a RejectListener naming the packet.

import type { RejectListener } from '../rejects.js';
import { formatIPv4At, formatIPv6At } from '../net/ip.js';
import { IPPROTO_UDP, PacketInfo, parseFrame } from '../packet/frame.js';
import { FragmentTable, type ReassemblyLimits } from '../packet/reassembly.js';
import type { Datagram } from './datagram.js';

/** What a capture reader saw and skipped. Skips that mean bad data are also reported as rejects. */
export interface CaptureStats {
  /** Packet records read from the file. */
  packets: number;
  /** UDP datagrams handed on (reassembled ones included). */
  datagrams: number;
  /** Not IPv4/IPv6 (ARP, LLDP, …): counted, not an error. */
  notIp: number;
  /** IP but not UDP (TCP, ICMP, …): counted, not an error. */
  notUdp: number;
  /** Packets on an interface whose link type we cannot decode. */
  unsupportedLinkType: number;
  /** Headers or UDP payload cut short (snaplen, or a broken packet). */
  truncatedPacket: number;
  /** Malformed link-layer framing (too many tags, …). */
  badLinkHeader: number;
  /** Malformed IPv4/IPv6 header (version, lengths, extension headers). */
  badIpHeader: number;
  /** UDP length field below 8. */
  badUdpHeader: number;
  /** Fragments taken into the reassembly table (then reassembled, or dropped with their datagram). */
  fragmentsHeld: number;
  /** Exact duplicate fragments ignored. */
  fragmentsDuplicate: number;
  /** Datagrams completed from fragments. */
  fragmentsReassembled: number;
  /** Incomplete datagrams dropped after the timeout or at the end of the capture. */
  fragmentsExpired: number;
  /** Incomplete datagrams evicted because the table was full. */
  fragmentsOverflow: number;
  /** Datagrams dropped for overlapping or inconsistent fragments. */
  fragmentsBad: number;
  /** Malformed capture-file records that could be skipped (pcapng block naming no interface, …). */
  badRecord: number;
  /** The file ended inside a record or a header was garbage: reading stopped there. */
  truncatedFile: number;
}

export function newCaptureStats(): CaptureStats {
  return {
    packets: 0,
    datagrams: 0,
    notIp: 0,
    notUdp: 0,
    unsupportedLinkType: 0,
    truncatedPacket: 0,
    badLinkHeader: 0,
    badIpHeader: 0,
    badUdpHeader: 0,
    fragmentsHeld: 0,
    fragmentsDuplicate: 0,
    fragmentsReassembled: 0,
    fragmentsExpired: 0,
    fragmentsOverflow: 0,
    fragmentsBad: 0,
    badRecord: 0,
    truncatedFile: 0,
  };
}

/** "packets=10 datagrams=8 not_udp=2": the non-zero counters (packets and datagrams always). */
export function formatCaptureStats(s: CaptureStats): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (v !== 0 || k === 'packets' || k === 'datagrams')
      parts.push(`${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}=${v}`);
  }
  return parts.join(' ');
}

/** Reasons of the rejects the capture readers report (the summary groups by these). */
export const REJECT = {
  unsupportedLinkType: 'unsupported link type',
  truncatedPacket: 'truncated packet',
  badLinkHeader: 'bad link header',
  badIpHeader: 'bad IP header',
  badUdpHeader: 'bad UDP header',
  fragmentExpired: 'fragment timeout',
  fragmentOverflow: 'fragment table full',
  fragmentBad: 'bad fragment',
  badRecord: 'bad capture record',
  truncatedFile: 'truncated file',
} as const;

export interface PacketSinkOptions {
  reassembly?: Partial<ReassemblyLimits>;
  /** Datagrams per batch before the reader yields. */
  batchSize?: number;
}

export class PacketSink {
  batch: Datagram[] = [];
  readonly batchSize: number;
  private readonly info = new PacketInfo();
  private readonly frags: FragmentTable;
  private lastSweepNs = 0;
  private lastV4 = -1;
  private lastV4Text = '';

  constructor(
    readonly source: string,
    private readonly rejects: RejectListener,
    readonly stats: CaptureStats,
    opts: PacketSinkOptions = {},
  ) {
    this.frags = new FragmentTable(opts.reassembly);
    this.batchSize = opts.batchSize ?? 1024;
  }

  place(packetNo: number, offset: number): string {
    return `${this.source}: packet ${packetNo} (offset 0x${offset.toString(16)})`;
  }

  /** A problem with the file itself (not one packet), counted and reported. */
  reject(reason: string, message: string, place: string): void {
    this.rejects.reject(reason, `${place}: ${message}`, place);
  }

  /** One captured frame: buf[off, off+caplen), origLen bytes on the wire, timestamp in ns. */
  packet(
    buf: Buffer,
    off: number,
    caplen: number,
    origLen: number,
    linkType: number,
    tsNs: number,
    packetNo: number,
    fileOffset: number,
  ): void {
    const stats = this.stats;
    const info = this.info;
    stats.packets++;
    if (this.frags.size > 0 && tsNs - this.lastSweepNs >= 1e9) {
      this.lastSweepNs = tsNs;
      this.frags.expire(tsNs);
      if (this.frags.drops.length > 0) this.reportDrops(this.place(packetNo, fileOffset));
    }
    if (!parseFrame(buf, off, caplen, linkType, info)) {
      this.parseFailed(caplen, origLen, packetNo, fileOffset);
      return;
    }
    if (info.ipVersion === 0) {
      stats.notIp++;
      return;
    }
    if (info.protocol !== IPPROTO_UDP) {
      stats.notUdp++;
      return;
    }
    if (info.fragment) {
      this.fragment(buf, tsNs, packetNo, fileOffset);
      return;
    }
    if (!info.payloadComplete) {
      stats.truncatedPacket++;
      const place = this.place(packetNo, fileOffset);
      const cut = caplen < origLen ? ` (captured ${caplen} of ${origLen} bytes)` : '';
      this.reject(
        REJECT.truncatedPacket,
        `UDP payload cut short: ${info.payloadLength} of ${info.udpLength - 8} bytes${cut}`,
        place,
      );
      return;
    }
    let exporter: string;
    const s = info.srcAddrOffset;
    if (info.ipVersion === 4) {
      const v = ((buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!) >>> 0;
      if (v !== this.lastV4) {
        this.lastV4 = v;
        this.lastV4Text = formatIPv4At(buf, s);
      }
      exporter = this.lastV4Text;
    } else exporter = formatIPv6At(buf, s);
    stats.datagrams++;
    this.batch.push({
      payload: buf.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength),
      exporter,
      exporterPort: info.srcPort,
      receivedNs: tsNs,
      source: this.source,
      packetNo,
      offset: fileOffset,
    });
  }

  private parseFailed(caplen: number, origLen: number, packetNo: number, fileOffset: number): void {
    const err = this.info.error;
    const place = this.place(packetNo, fileOffset);
    let reason: string;
    if (err.startsWith('unsupported link type')) {
      this.stats.unsupportedLinkType++;
      reason = REJECT.unsupportedLinkType;
    } else if (err.startsWith('truncated') || err.startsWith('empty')) {
      this.stats.truncatedPacket++;
      reason = REJECT.truncatedPacket;
    } else if (err.startsWith('bad UDP')) {
      this.stats.badUdpHeader++;
      reason = REJECT.badUdpHeader;
    } else if (err.startsWith('bad IP') || err.includes('IP version')) {
      this.stats.badIpHeader++;
      reason = REJECT.badIpHeader;
    } else {
      this.stats.badLinkHeader++;
      reason = REJECT.badLinkHeader;
    }
    const cut =
      caplen < origLen && reason === REJECT.truncatedPacket ? ` (captured ${caplen} of ${origLen} bytes)` : '';
    this.reject(reason, `${err}${cut}`, place);
  }

  private fragment(buf: Buffer, tsNs: number, packetNo: number, fileOffset: number): void {
    const stats = this.stats;
    const info = this.info;
    stats.fragmentsHeld++;
    const dups = this.frags.duplicates;
    const r = this.frags.add(buf, info, tsNs);
    if (this.frags.duplicates !== dups) {
      stats.fragmentsHeld--;
      stats.fragmentsDuplicate++;
    }
    const place = this.place(packetNo, fileOffset);
    if (this.frags.drops.length > 0) this.reportDrops(place);
    if (r === undefined) return;
    stats.fragmentsReassembled++;
    const d = r.data;
    if (d.length < 8) {
      stats.truncatedPacket++;
      this.reject(REJECT.truncatedPacket, `reassembled datagram of ${d.length} bytes: truncated UDP header`, place);
      return;
    }
    const ulen = (d[4]! << 8) | d[5]!;
    if (ulen < 8) {
      stats.badUdpHeader++;
      this.reject(REJECT.badUdpHeader, `reassembled datagram: bad UDP header: length ${ulen}`, place);
      return;
    }
    if (ulen > d.length) {
      stats.truncatedPacket++;
      this.reject(
        REJECT.truncatedPacket,
        `reassembled datagram: UDP length ${ulen} exceeds the ${d.length} bytes reassembled`,
        place,
      );
      return;
    }
    stats.datagrams++;
    this.batch.push({
      payload: d.subarray(8, ulen),
      exporter: r.src,
      exporterPort: (d[0]! << 8) | d[1]!,
      receivedNs: tsNs,
      source: this.source,
      packetNo,
      offset: fileOffset,
    });
  }

  private reportDrops(place: string): void {
    for (const dr of this.frags.drops) {
      if (dr.kind === 'expired') {
        this.stats.fragmentsExpired++;
        this.reject(REJECT.fragmentExpired, `dropped incomplete ${dr.datagram}: ${dr.detail}`, place);
      } else if (dr.kind === 'overflow') {
        this.stats.fragmentsOverflow++;
        this.reject(REJECT.fragmentOverflow, `dropped incomplete ${dr.datagram}: ${dr.detail}`, place);
      } else if (dr.kind === 'truncated') {
        this.stats.truncatedPacket++;
        this.reject(REJECT.truncatedPacket, `dropped ${dr.datagram}: ${dr.detail}`, place);
      } else {
        this.stats.fragmentsBad++;
        this.reject(REJECT.fragmentBad, `dropped ${dr.datagram}: ${dr.detail}`, place);
      }
    }
    this.frags.drops.length = 0;
  }

  /** End of the capture: whatever is still being reassembled is incomplete. */
  finish(): void {
    this.frags.flush();
    if (this.frags.drops.length > 0) this.reportDrops(`${this.source}: end of capture`);
  }

  take(): Datagram[] {
    const b = this.batch;
    this.batch = [];
    return b;
  }
}
