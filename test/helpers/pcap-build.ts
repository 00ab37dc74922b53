// Hand-built capture files and packets for the malformed cases real tools will not write:
// classic pcap and pcapng writers (either byte order) and IPv4/IPv6/UDP/Ethernet builders.
// Checksums are left zero (nothing here verifies them).

import { Readable, Writable } from 'node:stream';
import { Log } from '../../lib/cli/log.js';

export function u16(v: number, le = false): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}

export function u32(v: number, le = false): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

export interface PcapRecord {
  sec?: number;
  frac?: number;
  data: Buffer;
  /** Override the captured length field (default data.length). */
  incl?: number;
  orig?: number;
}

export interface PcapHeader {
  le?: boolean;
  ns?: boolean;
  linkType?: number;
  snaplen?: number;
  major?: number;
}

export function pcapHeader(h: PcapHeader = {}): Buffer {
  const le = h.le ?? true;
  return Buffer.concat([
    u32(h.ns ? 0xa1b23c4d : 0xa1b2c3d4, le),
    u16(h.major ?? 2, le),
    u16(4, le),
    u32(0, le),
    u32(0, le),
    u32(h.snaplen ?? 65535, le),
    u32(h.linkType ?? 1, le),
  ]);
}

export function pcapRecord(r: PcapRecord, le = true): Buffer {
  return Buffer.concat([
    u32(r.sec ?? 1700000000, le),
    u32(r.frac ?? 0, le),
    u32(r.incl ?? r.data.length, le),
    u32(r.orig ?? r.data.length, le),
    r.data,
  ]);
}

export function pcapFile(h: PcapHeader, records: PcapRecord[]): Buffer {
  return Buffer.concat([pcapHeader(h), ...records.map((r) => pcapRecord(r, h.le ?? true))]);
}

// ---- pcapng

function pad4(b: Buffer): Buffer {
  const n = (4 - (b.length % 4)) % 4;
  return n === 0 ? b : Buffer.concat([b, Buffer.alloc(n)]);
}

export function block(type: number, body: Buffer, le = true): Buffer {
  const b = pad4(body);
  const len = b.length + 12;
  return Buffer.concat([u32(type, le), u32(len, le), b, u32(len, le)]);
}

export function shb(le = true, major = 1): Buffer {
  const body = Buffer.concat([u32(0x1a2b3c4d, le), u16(major, le), u16(0, le), Buffer.alloc(8, 0xff)]);
  return block(0x0a0d0d0a, body, le);
}

export function option(code: number, value: Buffer, le = true): Buffer {
  return Buffer.concat([u16(code, le), u16(value.length, le), pad4(value)]);
}

export function idb(
  linkType: number,
  le = true,
  opts: { snaplen?: number; tsresol?: number; tsoffset?: number } = {},
): Buffer {
  const parts = [u16(linkType, le), u16(0, le), u32(opts.snaplen ?? 0, le)];
  if (opts.tsresol !== undefined) parts.push(option(9, Buffer.from([opts.tsresol]), le));
  if (opts.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    if (le) v.writeBigInt64LE(BigInt(opts.tsoffset));
    else v.writeBigInt64BE(BigInt(opts.tsoffset));
    parts.push(option(14, v, le));
  }
  if (parts.length > 3) parts.push(u32(0, le)); // opt_endofopt
  return block(1, Buffer.concat(parts), le);
}

/** Enhanced Packet Block; ts is the 64-bit timestamp in the interface's units. */
export function epb(iface: number, ts: bigint, data: Buffer, le = true, orig?: number): Buffer {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  return block(
    6,
    Buffer.concat([u32(iface, le), u32(hi, le), u32(lo, le), u32(data.length, le), u32(orig ?? data.length, le), data]),
    le,
  );
}

export function spb(data: Buffer, le = true, orig?: number): Buffer {
  return block(3, Buffer.concat([u32(orig ?? data.length, le), data]), le);
}

// ---- packets

export function ipv4Addr(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

export function ipv6Addr(s: string): Buffer {
  // Enough for the test addresses: "2001:db8::1" style with one "::".
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function udp(srcPort: number, dstPort: number, payload: Buffer, length?: number): Buffer {
  return Buffer.concat([u16(srcPort), u16(dstPort), u16(length ?? payload.length + 8), u16(0), payload]);
}

export interface V4 {
  src?: string;
  dst?: string;
  proto?: number;
  id?: number;
  /** Flags (3 bits: DF 2, MF 1). */
  flags?: number;
  /** Fragment offset in 8-byte units. */
  fragOff?: number;
  ttl?: number;
  tos?: number;
  options?: Buffer;
  totalLength?: number;
  ihl?: number;
  version?: number;
}

export function ipv4(payload: Buffer, o: V4 = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const ihl = o.ihl ?? 5 + opts.length / 4;
  const h = Buffer.alloc(20);
  h[0] = ((o.version ?? 4) << 4) | ihl;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totalLength ?? 20 + opts.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(((o.flags ?? 0) << 13) | (o.fragOff ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto ?? 17;
  ipv4Addr(o.src ?? '192.0.2.1').copy(h, 12);
  ipv4Addr(o.dst ?? '192.0.2.9').copy(h, 16);
  return Buffer.concat([h, opts, payload]);
}

export interface V6 {
  src?: string;
  dst?: string;
  next?: number;
  tclass?: number;
  flow?: number;
  hlim?: number;
  payloadLength?: number;
}

export function ipv6(payload: Buffer, o: V6 = {}): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.flow ?? 0)) >>> 0, 0);
  h.writeUInt16BE(o.payloadLength ?? payload.length, 4);
  h[6] = o.next ?? 17;
  h[7] = o.hlim ?? 64;
  ipv6Addr(o.src ?? '2001:db8::1').copy(h, 8);
  ipv6Addr(o.dst ?? '2001:db8::9').copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** An IPv6 extension header (hop-by-hop 0, routing 43, destination options 60) of 8×(len+1) bytes. */
export function ext6(next: number, len8 = 0): Buffer {
  const b = Buffer.alloc(8 * (len8 + 1));
  b[0] = next;
  b[1] = len8;
  if (b.length > 2) b[2] = 1; // a PadN-ish option type, content irrelevant
  return b;
}

export function frag6(next: number, offset8: number, more: boolean, id: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = next;
  b.writeUInt16BE((offset8 << 3) | (more ? 1 : 0), 2);
  b.writeUInt32BE(id >>> 0, 4);
  return b;
}

export const MAC_DST = Buffer.from('020000000009', 'hex');
export const MAC_SRC = Buffer.from('020000000001', 'hex');

/** Ethernet frame; tags are [tpid, vid] pairs, outermost first. */
export function eth(etype: number, payload: Buffer, tags: Array<[number, number]> = []): Buffer {
  const t = tags.map(([tpid, vid]) => Buffer.concat([u16(tpid), u16(vid)]));
  return Buffer.concat([MAC_DST, MAC_SRC, ...t, u16(etype), payload]);
}

// ---- running the reader

/** A stream giving `buf` in chunks of `size` bytes (to cross every record boundary). */
export function chunked(buf: Buffer, size = 1 << 16): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

/** A Log writing into an array of lines, for asserting messages. */
export function memoryLog(perReason = 1000): { log: Log; lines: string[] } {
  const lines: string[] = [];
  let pending = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts);
      cb();
    },
  });
  return { log: new Log('test', w, { perReason }), lines };
}
