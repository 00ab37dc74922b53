// The key order of an unbinned aggregation without a comparator (Aggregator.order('key')).

import type { AddressCodec } from './address-codec.js';
import { ADDR, N2, TWO32, type Encoding } from './key-encoding.js';

/** Whether the platform stores typed-array words little-endian, which radixKeyOrder's packing
 *  of (digit, index) pairs in 64 bits assumes. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The layout of an aggregation's keys: `size` keys of `width` words in `keys`, primitive j's
 *  value at word offsets[j] as encodings[j]. */
export interface KeyLayout {
  keys: Uint32Array;
  size: number;
  width: number;
  encodings: readonly Encoding[];
  offsets: readonly number[];
}

/** Key indices in key order (as Aggregator.order's comparator sorts them) without a comparator:
 *  (digit, index) pairs packed in 64 bits and sorted natively, one digit (a key word, or an
 *  address as its rank and value) at a time, each next digit only within the runs of equal previous ones: a most-significant-
 *  digit-first radix sort of native sorts. Keys are distinct, so the digits order them fully,
 *  as the comparator does (its last test, time_start, never decides). The packing needs digit < 2^40 and
 *  index < 2^24 (the key limit). */
export function radixKeyOrder(layout: KeyLayout, codec: AddressCodec): Uint32Array {
  const n = layout.size;
  const k = layout.keys;
  const w = layout.width;
  const digitOff: number[] = [];
  const digitAddr: boolean[] = [];
  for (let j = 0; j < layout.encodings.length; j++) {
    const o = layout.offsets[j]!;
    const e = layout.encodings[j]!;
    if (e === N2)
      digitOff.push(o + 1, o); // high word first
    else digitOff.push(o);
    if (e === N2) digitAddr.push(false, false);
    else digitAddr.push(e === ADDR);
  }
  const v6rank = codec.v6Ranks();
  // IPv4 by number, then "", then IPv6 in address order (as codec.rank and compare6)
  const digit = (d: number, i: number): number => {
    const o = i * w + digitOff[d]!;
    if (!digitAddr[d]) return k[o]!;
    const kind = k[o];
    return kind === 4 ? k[o + 1]! : kind === 0 ? TWO32 : 2 * TWO32 + v6rank[k[o + 1]!]!;
  };
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const packed = new BigUint64Array(n);
  const u32 = new Uint32Array(packed.buffer);
  const todo = digitOff.length > 0 && n > 1 ? [0, n, 0] : [];
  while (todo.length > 0) {
    const d = todo.pop()!;
    const hi = todo.pop()!;
    const lo = todo.pop()!;
    for (let t = lo; t < hi; t++) {
      const i = idx[t]!;
      const x = digit(d, i);
      u32[2 * t] = (((x % 256) << 24) | i) >>> 0;
      u32[2 * t + 1] = Math.floor(x / 256);
    }
    packed.subarray(lo, hi).sort();
    for (let t = lo; t < hi; t++) idx[t] = u32[2 * t]! & 0xffffff;
    if (d + 1 === digitOff.length) continue;
    for (let t = lo; t < hi;) {
      const top = u32[2 * t + 1]!;
      const low = u32[2 * t]! >>> 24;
      let r = t + 1;
      while (r < hi && u32[2 * r + 1] === top && u32[2 * r]! >>> 24 === low) r++;
      if (r - t > 1) todo.push(t, r, d + 1);
      t = r;
    }
  }
  return idx;
}
