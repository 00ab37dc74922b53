// Classic libpcap files (draft-ietf-opsawg-pcap): a 24-byte file header whose magic gives the
// byte order and the timestamp resolution (µs or ns), then 16-byte record headers + data.
// Also Kuznetzov's "modified" pcap (magic 0xa1b2cd34, 24-byte record headers) that old Red Hat
// tcpdumps wrote.

import type { Datagram } from './datagram.js';
import type { ByteReader } from './byte-reader.js';
import { REJECT, type PacketSink } from './packets.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;

/** Largest record we accept (libpcap's MAXIMUM_SNAPLEN); a bigger length is a garbage header. */
export const MAX_SNAPLEN = 262144;

const FILE_HEADER = 24;

/** The pcap magic the first 4 bytes hold, in either byte order, or undefined. */
export function pcapMagic(b: Uint8Array): { magic: number; littleEndian: boolean } | undefined {
  const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const le = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
  for (const m of [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_MODIFIED]) {
    if (be === m) return { magic: m, littleEndian: false };
    if (le === m) return { magic: m, littleEndian: true };
  }
  return undefined;
}

/** Read a classic pcap file from the start of `r` (the magic is known to match). */
export async function* readPcap(r: ByteReader, sink: PacketSink): AsyncGenerator<Datagram[]> {
  const name = sink.source;
  if (!(await r.need(FILE_HEADER))) {
    sink.stats.truncatedFile++;
    sink.reject(
      REJECT.truncatedFile,
      `file ends inside the pcap file header (${r.avail} of ${FILE_HEADER} bytes)`,
      name,
    );
    return;
  }
  const { magic, littleEndian: le } = pcapMagic(r.buf.subarray(r.pos, r.pos + 4))!;
  let dv = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.length);
  const major = dv.getUint16(r.pos + 4, le);
  const minor = dv.getUint16(r.pos + 6, le);
  const snaplen = dv.getUint32(r.pos + 16, le);
  // Low 16 bits: the link type; above it, FCS-length bits we do not need (IP lengths trim the FCS).
  const linkType = dv.getUint32(r.pos + 20, le) & 0xffff;
  if (major !== 2) {
    sink.stats.truncatedFile++;
    sink.reject(REJECT.truncatedFile, `unsupported pcap version ${major}.${minor}; nothing read`, name);
    return;
  }
  const nsRes = magic === PCAP_MAGIC_NS;
  const recHeader = magic === PCAP_MAGIC_MODIFIED ? 24 : 16;
  const limit = snaplen > 0 && snaplen < MAX_SNAPLEN ? snaplen : MAX_SNAPLEN;
  r.pos += FILE_HEADER;
  let packetNo = 0;
  const batchSize = sink.batchSize;

  for (;;) {
    // Everything whole in the current buffer, synchronously.
    let need = recHeader;
    const buf = r.buf;
    while (r.buf.length - r.pos >= recHeader) {
      const p = r.pos;
      const incl = dv.getUint32(p + 8, le);
      const orig = dv.getUint32(p + 12, le);
      // libpcap reads records longer than the header's snaplen (some writers get it wrong) but
      // nothing past its maximum; incl_len above both snaplen and orig_len is garbage too.
      if (incl > MAX_SNAPLEN || (incl > limit && incl > orig)) {
        sink.stats.truncatedFile++;
        sink.reject(
          REJECT.truncatedFile,
          `bad record header: captured length ${incl} (snaplen ${snaplen}, original length ${orig}); the file is corrupt from here, stopping`,
          sink.place(packetNo + 1, r.base + p),
        );
        need = -1;
        break;
      }
      if (r.buf.length - p < recHeader + incl) {
        need = recHeader + incl;
        break;
      }
      packetNo++;
      const sec = dv.getUint32(p, le);
      const frac = dv.getUint32(p + 4, le);
      const tsNs = sec * 1e9 + (nsRes ? frac : frac * 1000);
      sink.packet(buf, p + recHeader, incl, orig, linkType, tsNs, packetNo, r.base + p);
      r.pos = p + recHeader + incl;
      if (sink.batch.length >= batchSize) {
        need = 0;
        break;
      }
    }
    if (sink.batch.length > 0) yield sink.take();
    if (need < 0) break;
    if (need === 0) continue;
    if (!(await r.need(need))) {
      if (r.avail > 0) {
        sink.stats.truncatedFile++;
        const what = r.avail < recHeader ? 'record header' : 'record';
        sink.reject(
          REJECT.truncatedFile,
          `file ends inside the ${what} (${r.avail} of ${need} bytes); the last packet is lost`,
          sink.place(packetNo + 1, r.offset),
        );
      }
      break;
    }
    dv = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.length);
  }
  sink.finish();
  if (sink.batch.length > 0) yield sink.take();
}
