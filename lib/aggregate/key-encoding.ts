// Aggregation keys as rows of u32 words (see KeyTable): how each primitive's value is encoded.

import { ADDRESS_PRIMITIVES, type Primitive } from './primitives.js';

// A key is a row of u32 words: each primitive takes one word (small numbers: ports, proto, tos,
// masks, etype), two (other numbers, as low and high 32 bits: exact for every integer double up
// to 2^64), or two for an address (kind 0 = "" / 4 / 6, then the IPv4 address or the index of
// the IPv6 address in a per-aggregation table of 128-bit addresses). The encoding is one-to-one
// with the text/number values the aggregates print, so keys from flows and from merged
// aggregate records meet exactly as their values would.

export const N1 = 1;
export const N2 = 2;
export const ADDR = 3;
export type Encoding = typeof N1 | typeof N2 | typeof ADDR;
export const TWO32 = 4294967296;

/** How primitive p is kept in a key. */
export function encodingOf(p: Primitive): Encoding {
  if (ADDRESS_PRIMITIVES.has(p)) return ADDR;
  switch (p) {
    case 'src_port':
    case 'dst_port':
    case 'sum_port':
    case 'proto':
    case 'tos':
    case 'src_mask':
    case 'dst_mask':
    case 'etype':
      return N1;
    default:
      return N2;
  }
}

/** A number of up to 2^64 as two key words at k[o] (low, high). */
export function n2(k: Uint32Array, o: number, x: number): void {
  k[o] = x >>> 0;
  k[o + 1] = Math.floor(x / TWO32);
}
