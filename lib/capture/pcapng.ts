// pcapng files (draft-ietf-opsawg-pcapng): blocks of type, total length, body, total length.
// Sections start with a Section Header Block whose byte-order magic sets the byte order of that
// section (it may change between sections); Interface Description Blocks give each interface
// its link type, snaplen and timestamp resolution (if_tsresol, power of 10 or of 2) and offset
// (if_tsoffset); packets come in Enhanced, Simple or (obsolete) Packet Blocks. Other blocks are
// skipped by their length without being held in memory.

import type { Datagram } from './datagram.js';
import type { ByteReader } from './byte-reader.js';
import { REJECT, type PacketSink } from './packets.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Blocks we parse must fit in memory: a packet of MAX_SNAPLEN plus generous options. */
export const MAX_BLOCK = 16 << 20;

const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second, and the exact form for big timestamps. */
  units: number;
  unitsBig: bigint;
  /** ns per unit when that is an integer (10^-0 … 10^-9), else 0. */
  nsPerUnit: number;
  offsetNs: number;
}

function makeInterface(linkType: number, snaplen: number, tsresol: number, tsoffsetSec: number): Interface {
  let units: number;
  let unitsBig: bigint;
  if (tsresol & 0x80) {
    const k = Math.min(tsresol & 0x7f, 96);
    unitsBig = 1n << BigInt(k);
    units = 2 ** k;
  } else {
    const v = Math.min(tsresol, 30);
    unitsBig = 10n ** BigInt(v);
    units = 10 ** v;
  }
  const nsPerUnit = !(tsresol & 0x80) && tsresol <= 9 ? 10 ** (9 - tsresol) : 0;
  return { linkType, snaplen, units, unitsBig, nsPerUnit, offsetNs: tsoffsetSec * 1e9 };
}

/** 64-bit timestamp (hi, lo) in the interface's units → ns since the epoch, correctly rounded to
 *  a double for the usual resolutions (µs, ns). */
export function timestampNs(
  ifc: { units: number; unitsBig: bigint; nsPerUnit: number; offsetNs: number },
  hi: number,
  lo: number,
): number {
  if (ifc.nsPerUnit === 1) return hi * 4294967296 + lo + ifc.offsetNs;
  if (hi < 0x200000) {
    // Below 2^53: exact as a double.
    const t = hi * 4294967296 + lo;
    const sec = Math.floor(t / ifc.units);
    const frac = t - sec * ifc.units;
    const fracNs = ifc.nsPerUnit > 0 ? frac * ifc.nsPerUnit : Math.floor((frac * 1e9) / ifc.units);
    return sec * 1e9 + fracNs + ifc.offsetNs;
  }
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const sec = t / ifc.unitsBig;
  const frac = t % ifc.unitsBig;
  return Number(sec) * 1e9 + Number((frac * 1000000000n) / ifc.unitsBig) + ifc.offsetNs;
}

/** Read a pcapng file from the start of `r` (the first 4 bytes are the SHB type). */
export async function* readPcapng(r: ByteReader, sink: PacketSink): AsyncGenerator<Datagram[]> {
  let le = true;
  let dv = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.length);
  let ifaces: Interface[] = [];
  let packetNo = 0;
  let lastTs = 0;
  let inSection = false;
  const batchSize = sink.batchSize;
  const stats = sink.stats;

  const stop = (message: string, at: number): void => {
    stats.truncatedFile++;
    sink.reject(REJECT.truncatedFile, message, `${sink.source}: block at offset 0x${at.toString(16)}`);
  };
  const badBlock = (message: string, at: number): void => {
    stats.badRecord++;
    sink.reject(REJECT.badRecord, message, `${sink.source}: block at offset 0x${at.toString(16)}`);
  };

  outer: for (;;) {
    let need = 12;
    while (r.buf.length - r.pos >= 12) {
      const p = r.pos;
      const at = r.base + p;
      const buf = r.buf;
      let type = dv.getUint32(p, le);
      if (type === BT_SHB) {
        const bom = dv.getUint32(p + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          stop(`section header with a bad byte-order magic 0x${bom.toString(16).padStart(8, '0')}; stopping`, at);
          need = -1;
          break;
        }
        type = BT_SHB;
      } else if (!inSection) {
        stop('no section header block at the start of the section; stopping', at);
        need = -1;
        break;
      }
      const len = dv.getUint32(p + 4, le);
      if (len < 12 || len % 4 !== 0 || (type === BT_SHB && len < 28)) {
        stop(
          `bad block length ${len} (block type 0x${type.toString(16)}); the file is corrupt from here, stopping`,
          at,
        );
        need = -1;
        break;
      }
      const known = type === BT_SHB || type === BT_IDB || type === BT_EPB || type === BT_SPB || type === BT_PB;
      if (!known) {
        if (r.buf.length - p < len) {
          need = -2 - len; // skip without buffering
          break;
        }
        r.pos = p + len;
        continue;
      }
      if (len > MAX_BLOCK) {
        stop(`block length ${len} (block type 0x${type.toString(16)}) exceeds ${MAX_BLOCK}; stopping`, at);
        need = -1;
        break;
      }
      if (r.buf.length - p < len) {
        need = len;
        break;
      }
      if (dv.getUint32(p + len - 4, le) !== len) {
        stop(
          `block length ${len} does not match the trailing length ${dv.getUint32(p + len - 4, le)}; the file is corrupt from here, stopping`,
          at,
        );
        need = -1;
        break;
      }
      const body = p + 8;
      const bodyEnd = p + len - 4;
      r.pos = p + len;
      switch (type) {
        case BT_SHB: {
          const major = dv.getUint16(body + 4, le);
          if (major !== 1) {
            stop(`unsupported pcapng version ${major}.${dv.getUint16(body + 6, le)}; stopping`, at);
            need = -1;
            break outer;
          }
          ifaces = [];
          inSection = true;
          break;
        }
        case BT_IDB: {
          if (bodyEnd - body < 8) {
            badBlock(`interface description block too short (${len} bytes)`, at);
            ifaces.push(makeInterface(-1, 0, 6, 0)); // keep interface numbering
            break;
          }
          const linkType = dv.getUint16(body, le);
          const snaplen = dv.getUint32(body + 4, le);
          let tsresol = 6;
          let tsoffset = 0;
          // Options: code, length, value padded to 4; bounds-checked, a bad one ends the list.
          for (let o = body + 8; o + 4 <= bodyEnd;) {
            const code = dv.getUint16(o, le);
            const olen = dv.getUint16(o + 2, le);
            if (code === 0 || o + 4 + olen > bodyEnd) break;
            if (code === OPT_IF_TSRESOL && olen >= 1) tsresol = buf[o + 4]!;
            else if (code === OPT_IF_TSOFFSET && olen >= 8)
              tsoffset = dv.getInt32(o + 4 + (le ? 4 : 0), le) * 4294967296 + dv.getUint32(o + 4 + (le ? 0 : 4), le);
            o += 4 + ((olen + 3) & ~3);
          }
          ifaces.push(makeInterface(linkType, snaplen, tsresol, tsoffset));
          break;
        }
        case BT_EPB:
        case BT_PB: {
          packetNo++;
          if (bodyEnd - body < 20) {
            badBlock(`packet ${packetNo}: packet block too short (${len} bytes)`, at);
            break;
          }
          const id = type === BT_EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
          const ifc = ifaces[id];
          if (ifc === undefined) {
            badBlock(`packet ${packetNo}: names interface ${id}, but the section describes ${ifaces.length}`, at);
            break;
          }
          const caplen = dv.getUint32(body + 12, le);
          const orig = dv.getUint32(body + 16, le);
          if (caplen > bodyEnd - body - 20) {
            badBlock(
              `packet ${packetNo}: captured length ${caplen} exceeds the block (${bodyEnd - body - 20} bytes)`,
              at,
            );
            break;
          }
          const ts = timestampNs(ifc, dv.getUint32(body + 4, le), dv.getUint32(body + 8, le));
          lastTs = ts;
          sink.packet(buf, body + 20, caplen, orig, ifc.linkType, ts, packetNo, at);
          break;
        }
        case BT_SPB: {
          packetNo++;
          const ifc = ifaces[0];
          if (ifc === undefined) {
            badBlock(`packet ${packetNo}: simple packet block, but the section describes no interface`, at);
            break;
          }
          if (bodyEnd - body < 4) {
            badBlock(`packet ${packetNo}: simple packet block too short (${len} bytes)`, at);
            break;
          }
          const orig = dv.getUint32(body, le);
          let caplen = Math.min(orig, bodyEnd - body - 4);
          if (ifc.snaplen > 0 && caplen > ifc.snaplen) caplen = ifc.snaplen;
          // No timestamp in an SPB: the last one seen stands in.
          sink.packet(buf, body + 4, caplen, orig, ifc.linkType, lastTs, packetNo, at);
          break;
        }
      }
      if (sink.batch.length >= batchSize) {
        need = 0;
        break;
      }
    }
    if (sink.batch.length > 0) yield sink.take();
    if (need === -1) break;
    if (need === 0) continue;
    if (need < -1) {
      const len = -2 - need;
      const at = r.offset;
      if (!(await r.skip(len))) {
        stop(`file ends inside a block of ${len} bytes`, at);
        break;
      }
    } else if (!(await r.need(need))) {
      if (r.avail > 0) stop(`file ends inside a block (${r.avail} of ${need} bytes); the rest is lost`, r.offset);
      break;
    }
    dv = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.length);
  }
  sink.finish();
  if (sink.batch.length > 0) yield sink.take();
}
