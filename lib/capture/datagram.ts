// What every capture source (pcap/pcapng reader, UDP listener) hands to the decoders: one export
// datagram with where it came from. A replayed capture and live traffic look the same here.

export interface Datagram {
  /** The UDP payload. May be a view into a larger buffer: valid only until the decoder returns. */
  payload: Buffer;
  /** IP source of the datagram, as text (IPv4-mapped IPv6 shown as plain IPv4). */
  exporter: string;
  exporterPort: number;
  /** Receive time: the packet timestamp for captures, the clock for live sockets; ns since epoch. */
  receivedNs: number;
  /** For messages: the file name, or "udp" for a listener. */
  source: string;
  /** 1-based packet number in the capture file (0 for live traffic). */
  packetNo: number;
  /** Byte offset of the packet record in the capture file (-1 for live traffic). */
  offset: number;
}

/** "capture.pcap: packet 12 (offset 0x1a2b), exporter 192.0.2.1:2055" — the place a message names. */
export function describeDatagram(d: Datagram): string {
  if (d.packetNo > 0)
    return `${d.source}: packet ${d.packetNo} (offset 0x${d.offset.toString(16)}), exporter ${d.exporter}:${d.exporterPort}`;
  return `${d.exporter}:${d.exporterPort}`;
}
