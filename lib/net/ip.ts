// IP address formatting and parsing on raw bytes. Decoders keep addresses as bytes/u32 and
// format once at output; these are the only formatters (RFC 5952 for IPv6).

const DEC: string[] = Array.from({ length: 256 }, (_, i) => String(i));
let HEX16: string[] | undefined;

function hex16(): string[] {
  HEX16 ??= Array.from({ length: 65536 }, (_, i) => i.toString(16));
  return HEX16;
}

let COLON_HEX16: string[] | undefined;

/** ":" + hex of a 16-bit group: one concatenation per group instead of two. */
function colonHex16(): string[] {
  COLON_HEX16 ??= Array.from({ length: 65536 }, (_, i) => `:${i.toString(16)}`);
  return COLON_HEX16;
}

/** "0." … "255.": four concatenations per address instead of seven. */
const DEC_DOT: string[] = DEC.map((d) => `${d}.`);

export function formatIPv4(u32: number): string {
  return DEC_DOT[u32 >>> 24]! + DEC_DOT[(u32 >>> 16) & 255]! + DEC_DOT[(u32 >>> 8) & 255]! + DEC[u32 & 255]!;
}

export function formatIPv4At(b: Uint8Array, o: number): string {
  return DEC_DOT[b[o]!]! + DEC_DOT[b[o + 1]!]! + DEC_DOT[b[o + 2]!]! + DEC[b[o + 3]!]!;
}

/** RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`,
 *  IPv4-mapped addresses as `::ffff:a.b.c.d` (as Go's netip and inet_ntop print them). */
export function formatIPv6At(b: Uint8Array, o: number): string {
  // flat code, no arrays: this runs several times per IPv6 flow record, and a map/join of the
  // groups allocates for each (bench/README.md)
  const h = hex16();
  const g = G6;
  const run = ipv6Groups(b, o, g);
  if (run === MAPPED_IPV4) return `::ffff:${formatIPv4At(b, o + 12)}`;
  const bestStart = run >> 4;
  const bestLen = run & 15;
  const c = colonHex16();
  if (bestStart < 0)
    return h[g[0]!]! + c[g[1]!]! + c[g[2]!]! + c[g[3]!]! + c[g[4]!]! + c[g[5]!]! + c[g[6]!]! + c[g[7]!]!;
  let s = bestStart === 0 ? '' : h[g[0]!]!;
  for (let i = 1; i < bestStart; i++) s += c[g[i]!]!;
  const after = bestStart + bestLen;
  if (after === 8) return `${s}::`;
  s += `::${h[g[after]!]}`;
  for (let i = after + 1; i < 8; i++) s += c[g[i]!]!;
  return s;
}

const G6 = new Int32Array(8);
const MASKED6 = new Uint8Array(16);

/** ipv6Groups' answer for an IPv4-mapped address (::ffff:a.b.c.d, printed with the dotted quad). */
export const MAPPED_IPV4 = -1;

/**
 * The 8 groups of the address at b[o…] into g, and RFC 5952's zero run to print as "::": the
 * first longest run of two or more zero groups, as start << 4 | length (start -1: none), or
 * MAPPED_IPV4. The one rendering decision behind formatIPv6At and the NDJSON byte writer.
 */
export function ipv6Groups(b: Uint8Array, o: number, g: Int32Array): number {
  for (let i = 0; i < 8; i++) g[i] = (b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return MAPPED_IPV4;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  return (bestStart << 4) | bestLen;
}

/** The first `len` bits (0-128) of the IPv6 address at b[o…] into out[0…16), the rest zero. */
export function maskIPv6(b: Uint8Array, o: number, len: number, out: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    const bits = len - 8 * i;
    out[i] = bits >= 8 ? b[o + i]! : bits <= 0 ? 0 : b[o + i]! & ((0xff00 >> bits) & 0xff);
  }
}

export function formatIPv6(bytes: Uint8Array): string {
  return formatIPv6At(bytes, 0);
}

/** An exporter address as the socket or a dual-stack listener reports it: IPv4-mapped shown as IPv4. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface ParsedIP {
  family: 4 | 6;
  bytes: Uint8Array; // 4 or 16 bytes, network order
}

/** Strict parser: dotted quad without leading zeros (no inet_aton octal surprises), or IPv6. */
export function parseIP(text: string): ParsedIP | undefined {
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const u = parseIPv4(text);
  if (u === undefined) return undefined;
  return { family: 4, bytes: new Uint8Array([u >>> 24, (u >>> 16) & 255, (u >>> 8) & 255, u & 255]) };
}

export function parseIPv4(text: string): number | undefined {
  // one pass over char codes, no split or regex per part: meter-label count parses every address
  // of every flow (bench/README.md)
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let u = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined; // leading zero: no octal surprises
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      u = u * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return u * 256 + part;
}

export function parseIPv6(text: string): Uint8Array | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === undefined) return undefined;
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** `addr/len` with host bits cleared, in canonical text (goflow2's network renderer). */
export function networkOf(ip: ParsedIP, len: number): string {
  const bytes = maskBytes(ip.bytes, len);
  return `${ip.family === 4 ? formatIPv4At(bytes, 0) : formatIPv6At(bytes, 0)}/${len}`;
}

export function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = bytes[i]! & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

/** IPv4 network text from a u32 address and prefix length, e.g. (0x0a010203, 16) → "10.1.0.0/16". */
export function ipv4Network(u32: number, len: number): string {
  if (len <= 0) return '0.0.0.0/0';
  const masked = len >= 32 ? u32 : (u32 & (~0 << (32 - len))) >>> 0;
  return `${formatIPv4(masked)}/${len > 32 ? 32 : len}`;
}

/** IPv6 network text from 16 bytes at an offset and a prefix length. */
export function ipv6Network(b: Uint8Array, o: number, len: number): string {
  if (len <= 0) return '::/0';
  const l = len > 128 ? 128 : len;
  maskIPv6(b, o, l, MASKED6); // a reused scratch buffer: no allocation per record
  return `${formatIPv6At(MASKED6, 0)}/${l}`;
}

/** Parse `addr/len` (strict: len within the family's range). */
export function parseCidr(text: string): { ip: ParsedIP; len: number } | undefined {
  const slash = text.indexOf('/');
  const ip = parseIP(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ip, len: max };
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  return len <= max ? { ip, len } : undefined;
}

export function formatIP(ip: ParsedIP): string {
  return ip.family === 4 ? formatIPv4At(ip.bytes, 0) : formatIPv6At(ip.bytes, 0);
}
