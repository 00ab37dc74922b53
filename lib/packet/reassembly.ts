// IP fragment reassembly for capture files: large NetFlow v9 / IPFIX template packets leave the
// exporter fragmented. A bounded table keyed by (source, destination, id, protocol), limited in
// datagrams and bytes, with a timeout measured in capture time (packet timestamps), so replaying
// an old capture behaves like the live kernel did. Overlapping fragments are never merged: an
// exact duplicate is ignored, any other overlap drops the whole datagram (as Linux does since
// 4.19 and RFC 5722 requires for IPv6).

import { formatIPv4At, formatIPv6At } from '../net/ip.js';
import { IP_FLAG_MF, type PacketInfo } from './frame.js';

export interface ReassemblyLimits {
  /** Datagrams being reassembled at once. */
  maxDatagrams: number;
  /** Fragment bytes held at once (all datagrams). */
  maxBytes: number;
  /** A datagram still incomplete this long (capture time) after its first fragment is dropped. */
  timeoutNs: number;
  /** Fragments per datagram (bounds the overlap check; 8-byte fragments are an attack). */
  maxFragments: number;
}

/** Linux-like defaults: 30 s (ipfrag_time), 4 MiB (ipfrag_high_thresh). */
export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxDatagrams: 1024,
  maxBytes: 4 << 20,
  timeoutNs: 30e9,
  maxFragments: 256,
};

const MAX_IP_PAYLOAD = 65535;

interface Fragment {
  off: number;
  data: Buffer;
}

interface Entry {
  key: string;
  /** "IPv4 192.0.2.1 > 192.0.2.9 id 0x1234 proto 17", for messages. */
  desc: string;
  /** Exporter address as text (the IP source). */
  src: string;
  firstNs: number;
  frags: Fragment[];
  bytes: number;
  /** Total payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  /** Dropped (overlap, bad fragment): absorbs its remaining fragments quietly until it times out. */
  dead: boolean;
}

/** What happened to a datagram the table gave up on. */
export interface FragmentDrop {
  kind: 'expired' | 'overflow' | 'bad' | 'truncated';
  /** Which datagram, e.g. "IPv4 192.0.2.1 > 192.0.2.9 id 0x1234 proto 17". */
  datagram: string;
  /** Human detail: "1480 of 3008 bytes after 30 s", "fragments overlap", … */
  detail: string;
}

/** The result of a completed reassembly: the IP payload (transport header first). */
export interface Reassembled {
  data: Buffer;
  src: string;
  protocol: number;
}

export class FragmentTable {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Drops since the caller last emptied this array (the caller logs and clears it). */
  readonly drops: FragmentDrop[] = [];
  /** Fragments ignored as exact duplicates. */
  duplicates = 0;
  readonly limits: ReassemblyLimits;

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    this.limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
  }

  get size(): number {
    return this.entries.size;
  }

  get bytesHeld(): number {
    return this.bytes;
  }

  /**
   * Add the fragment described by `info` (parseFrame output for `buf`) seen at capture time nowNs.
   * Returns the reassembled payload when this fragment completes its datagram, else undefined
   * (held, duplicate, or dropped: see `drops`).
   */
  add(buf: Uint8Array, info: PacketInfo, nowNs: number): Reassembled | undefined {
    this.expire(nowNs);
    const v4 = info.ipVersion === 4;
    const s = info.srcAddrOffset;
    const d = info.dstAddrOffset;
    const key = v4
      ? `4/${info.protocol}/${u32(buf, s)}/${u32(buf, d)}/${info.ipId}`
      : `6/${info.protocol}/${formatIPv6At(buf, s)}/${formatIPv6At(buf, d)}/${info.ipId}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      const src = v4 ? formatIPv4At(buf, s) : formatIPv6At(buf, s);
      const dst = v4 ? formatIPv4At(buf, d) : formatIPv6At(buf, d);
      e = {
        key,
        desc: `IPv${info.ipVersion} ${src} > ${dst} id 0x${info.ipId.toString(16)} proto ${info.protocol}`,
        src,
        firstNs: nowNs,
        frags: [],
        bytes: 0,
        total: -1,
        dead: false,
      };
      if (this.entries.size >= this.limits.maxDatagrams) this.evictOldest('too many datagrams being reassembled');
      this.entries.set(key, e);
    }
    if (e.dead) return undefined;

    const off = info.fragOffset * 8;
    const start = info.dataOffset;
    const len = info.ipEnd - start;
    const more = (info.ipFlags & IP_FLAG_MF) !== 0;
    if (info.truncated) return this.kill(e, `fragment at offset ${off} cut short by the capture`, 'truncated');
    if (off + len > MAX_IP_PAYLOAD) return this.kill(e, `fragment ends at ${off + len}, past 65535`);
    if (more && (len === 0 || len % 8 !== 0))
      return this.kill(e, `non-last fragment of ${len} bytes (not a positive multiple of 8)`);
    if (!more) {
      const total = off + len;
      if (e.total >= 0 && e.total !== total)
        return this.kill(e, `two last fragments (lengths ${e.total} and ${total})`);
      for (const f of e.frags)
        if (f.off + f.data.length > total) return this.kill(e, `fragment beyond the last fragment's end ${total}`);
      e.total = total;
    } else if (e.total >= 0 && off + len > e.total) {
      return this.kill(e, `fragment beyond the last fragment's end ${e.total}`);
    }
    for (const f of e.frags) {
      const fEnd = f.off + f.data.length;
      if (off < fEnd && f.off < off + len) {
        if (f.off === off && f.data.length === len && Buffer.compare(f.data, buf.subarray(start, start + len)) === 0) {
          this.duplicates++;
          return undefined;
        }
        return this.kill(e, `fragments overlap (${off}-${off + len} and ${f.off}-${fEnd})`);
      }
    }
    if (e.frags.length >= this.limits.maxFragments)
      return this.kill(e, `more than ${this.limits.maxFragments} fragments`);
    while (this.bytes + len > this.limits.maxBytes && this.entries.size > 1) {
      if (!this.evictOldest('fragment bytes limit reached', e)) break;
    }
    if (this.bytes + len > this.limits.maxBytes) return this.kill(e, 'fragment bytes limit reached');
    e.frags.push({ off, data: Buffer.from(buf.subarray(start, start + len)) });
    e.bytes += len;
    this.bytes += len;
    if (e.total < 0 || e.bytes !== e.total) return undefined;
    // No overlaps and the byte count equals the total: the fragments tile [0, total).
    const data = Buffer.allocUnsafe(e.total);
    for (const f of e.frags) f.data.copy(data, f.off);
    this.remove(e);
    return { data, src: e.src, protocol: info.protocol };
  }

  /** Drop datagrams whose first fragment is older than the timeout (capture time). */
  expire(nowNs: number): void {
    if (this.entries.size === 0) return;
    const limit = nowNs - this.limits.timeoutNs;
    for (const e of this.entries.values()) {
      if (e.firstNs > limit) break; // insertion order is (nearly) time order
      const held = describeHeld(e);
      this.remove(e);
      if (!e.dead)
        this.drops.push({
          kind: 'expired',
          datagram: e.desc,
          detail: `${held} after ${this.limits.timeoutNs / 1e9} s`,
        });
    }
  }

  /** End of input: everything still incomplete is dropped as expired. */
  flush(): void {
    for (const e of this.entries.values()) {
      const held = describeHeld(e);
      this.remove(e);
      if (!e.dead) this.drops.push({ kind: 'expired', datagram: e.desc, detail: `${held} at the end of the capture` });
    }
  }

  private remove(e: Entry): void {
    this.entries.delete(e.key);
    this.bytes -= e.bytes;
    e.bytes = 0;
    e.frags = [];
  }

  private kill(e: Entry, detail: string, kind: 'bad' | 'truncated' = 'bad'): undefined {
    this.bytes -= e.bytes;
    e.bytes = 0;
    e.frags = [];
    e.dead = true;
    this.drops.push({ kind, datagram: e.desc, detail });
    return undefined;
  }

  private evictOldest(why: string, keep?: Entry): boolean {
    for (const e of this.entries.values()) {
      if (e === keep) continue;
      const held = describeHeld(e);
      this.remove(e);
      if (!e.dead) this.drops.push({ kind: 'overflow', datagram: e.desc, detail: `${held}: ${why}` });
      return true;
    }
    return false;
  }
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function describeHeld(e: Entry): string {
  const n = e.frags.length;
  const got = e.bytes;
  return `${n} fragment${n === 1 ? '' : 's'}, ${got} of ${e.total >= 0 ? e.total : '?'} bytes`;
}
