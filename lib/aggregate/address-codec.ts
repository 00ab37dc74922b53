// Addresses in aggregation keys: an address value is two key words (kind 0 = "" / 4 / 6, then
// the IPv4 address or the index of the IPv6 address in a per-aggregation table of 128-bit
// addresses), and networks-file entries as such values (cached per entry).

import type { NetworkTable } from '../networks/file.js';
import { NET_UNMATCHED_V6 } from './view.js';
import { ipv4ToU32, ipv6ToWords, formatIPv4, formatWords6 } from '../networks/addr.js';
import { KeyTable } from './keys.js';

/** Addresses in keys, and the networks-file entries as key values (cached per entry). */
export class AddressCodec {
  private v6 = new KeyTable(4, 64);
  private entryKind: Uint8Array;
  private entryVal: Uint32Array;
  readonly entryMask: Uint8Array;

  constructor(private readonly table: NetworkTable | undefined) {
    const n = table?.size ?? 0;
    this.entryKind = new Uint8Array(n);
    this.entryVal = new Uint32Array(n);
    this.entryMask = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.entryMask[i] = table!.entries[i]!.mask;
  }

  /** The IPv6 addresses of keys: address i is words [4i, 4i + 4). */
  get v6Words(): Uint32Array {
    return this.v6.keys;
  }

  clear(): void {
    this.v6 = new KeyTable(4, 64);
    this.entryKind.fill(0);
  }

  private intern6(w0: number, w1: number, w2: number, w3: number): number {
    const s = this.v6.scratch;
    s[0] = w0;
    s[1] = w1;
    s[2] = w2;
    s[3] = w3;
    return this.v6.intern();
  }

  put(k: Uint32Array, o: number, fam: number, w: Uint32Array): void {
    if (fam === 4) {
      k[o] = 4;
      k[o + 1] = w[0]!;
    } else if (fam === 6) {
      k[o] = 6;
      k[o + 1] = this.intern6(w[0]!, w[1]!, w[2]!, w[3]!);
    } else {
      k[o] = 0;
      k[o + 1] = 0;
    }
  }

  /** The IPv6 address of words w0…w3 as an address value. */
  put6(k: Uint32Array, o: number, w0: number, w1: number, w2: number, w3: number): void {
    k[o] = 6;
    k[o + 1] = this.intern6(w0, w1, w2, w3);
  }

  /** The entry (index from FlowView.srcNetIndex; <0 = unmatched) as an address value. */
  putEntry(k: Uint32Array, o: number, i: number): void {
    if (i < 0) {
      k[o] = i === NET_UNMATCHED_V6 ? 6 : 4;
      k[o + 1] = i === NET_UNMATCHED_V6 ? this.intern6(0, 0, 0, 0) : 0;
      return;
    }
    if (this.entryKind[i] === 0) this.cacheEntry(i);
    k[o] = this.entryKind[i]!;
    k[o + 1] = this.entryVal[i]!;
  }

  private cacheEntry(i: number): void {
    const e = this.table!.entries[i]!;
    const w = new Uint32Array(4);
    if (e.family === 4) {
      this.entryKind[i] = 4;
      this.entryVal[i] = ipv4ToU32(e.net);
    } else {
      ipv6ToWords(e.net, w);
      this.entryKind[i] = 6;
      this.entryVal[i] = this.intern6(w[0]!, w[1]!, w[2]!, w[3]!);
    }
  }

  /** From the text of a value ("", IPv4 or IPv6, as readPrimitive canonicalised it). */
  putText(k: Uint32Array, o: number, text: string): void {
    const a = text === '' ? -1 : ipv4ToU32(text);
    if (a >= 0) {
      k[o] = 4;
      k[o + 1] = a;
    } else if (text !== '' && ipv6ToWords(text, this.v6.scratch)) {
      k[o] = 6;
      k[o + 1] = this.v6.intern();
    } else {
      k[o] = 0;
      k[o + 1] = 0;
    }
  }

  text(k: Uint32Array, o: number): string {
    const kind = k[o];
    if (kind === 4) return formatIPv4(k[o + 1]!);
    if (kind === 6) {
      const w = this.v6.keys;
      const b = 4 * k[o + 1]!;
      return formatWords6(w[b]!, w[b + 1]!, w[b + 2]!, w[b + 3]!);
    }
    return '';
  }

  /** Sort rank and value of an address: IPv4 first (by number), then "", then IPv6 (by bytes),
   *  as sortableOf orders the texts. */
  rank(k: Uint32Array, o: number): number {
    const kind = k[o];
    return kind === 4 ? 0 : kind === 0 ? 1 : 2;
  }

  /** The place of every IPv6 address (by index) in address order. */
  v6Ranks(): Uint32Array {
    const n = this.v6.size;
    const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.compare6(a, b));
    const rank = new Uint32Array(n);
    for (let r = 0; r < n; r++) rank[sorted[r]!] = r;
    return rank;
  }

  compare6(a: number, b: number): number {
    const w = this.v6.keys;
    for (let i = 0; i < 4; i++) {
      const x = w[4 * a + i]!;
      const y = w[4 * b + i]!;
      if (x !== y) return x - y;
    }
    return 0;
  }
}
