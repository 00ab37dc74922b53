// Addresses as numbers for the hot paths (LPM, filters, keys): IPv4 as one u32, IPv6 as four
// big-endian u32 words. Text is parsed once per record and formatted only at output.

import { parseIPv4, parseIPv6, formatIPv4, formatIPv6At } from '../net/ip.js';

/** Strict dotted quad (lib/net/ip.ts parseIPv4) → u32, or -1 when not an IPv4 address. */
export function ipv4ToU32(s: string): number {
  const u = parseIPv4(s);
  return u === undefined ? -1 : u;
}

/** IPv6 text → four words in `out`; false if not an IPv6 address. */
export function ipv6ToWords(s: string, out: Uint32Array | number[]): boolean {
  const b = parseIPv6(s);
  if (!b) return false;
  for (let i = 0; i < 4; i++)
    out[i] = ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0;
  return true;
}

/** The top `len` bits of a u32 (len 0..32). */
export function maskV4(a: number, len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return a >>> 0;
  return (a & (-1 << (32 - len))) >>> 0;
}

/** Mask one word of an IPv6 key: `len` counted from the start of the address, word index `w`. */
export function maskWord(word: number, w: number, len: number): number {
  const bits = len - 32 * w;
  if (bits <= 0) return 0;
  if (bits >= 32) return word >>> 0;
  return (word & (-1 << (32 - bits))) >>> 0;
}

const scratch = new Uint8Array(16);
const scratchWords = new Uint32Array(4);

/** Four big-endian words (words[at] … words[at + 3]) as the 16 bytes of an IPv6 address in `out`. */
export function words6ToBytes(words: ArrayLike<number>, at: number, out: Uint8Array): Uint8Array {
  for (let i = 0; i < 4; i++) {
    const x = words[at + i]!;
    out[4 * i] = x >>> 24;
    out[4 * i + 1] = (x >>> 16) & 255;
    out[4 * i + 2] = (x >>> 8) & 255;
    out[4 * i + 3] = x & 255;
  }
  return out;
}

export function formatWords6(w0: number, w1: number, w2: number, w3: number): string {
  scratchWords[0] = w0;
  scratchWords[1] = w1;
  scratchWords[2] = w2;
  scratchWords[3] = w3;
  return formatIPv6At(words6ToBytes(scratchWords, 0, scratch), 0);
}

export { formatIPv4 };
