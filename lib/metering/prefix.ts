// IP prefixes as Neutron accepts them (Python's ipaddress.ip_interface: an address with an
// optional /length or IPv4 /netmask, host bits allowed) turned once into integers for matching.

import { parseIP, formatIP, maskBytes } from '../net/ip.js';

export interface Prefix {
  family: 4 | 6;
  len: number;
  /** The network with host bits cleared, canonical text, e.g. "10.0.0.0/24". */
  network: string;
  /** IPv4: masked network as u32 and the mask; IPv6: four masked u32 words and four masks. */
  words: Uint32Array;
  masks: Uint32Array;
}

/** Python's message for a value ip_interface refuses (Neutron puts it in brackets). */
export function ipInterfaceError(value: string): string {
  return `'${value}' does not appear to be an IPv4 or IPv6 interface`;
}

function netmaskLength(text: string): number | undefined {
  const m = parseIP(text);
  if (!m || m.family !== 4) return undefined;
  const u = ((m.bytes[0]! << 24) | (m.bytes[1]! << 16) | (m.bytes[2]! << 8) | m.bytes[3]!) >>> 0;
  let len = 0;
  while (len < 32 && (u & (0x80000000 >>> len)) !== 0) len++;
  return len === 32 || (u << len) >>> 0 === 0 ? len : undefined; // contiguous ones only
}

/** Parse like ip_interface; undefined when Python would raise ValueError. */
export function parsePrefix(text: string): Prefix | undefined {
  if (typeof text !== 'string' || text !== text.trim() || text === '') return undefined;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (addrText.includes('%')) return undefined;
  const ip = parseIP(addrText);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (/^[0-9]{1,3}$/.test(lenText)) len = Number(lenText);
    else if (ip.family === 4 && lenText.includes('.')) {
      const l = netmaskLength(lenText);
      if (l === undefined) return undefined;
      len = l;
    } else return undefined;
    if (len > max) return undefined;
  }
  const net = maskBytes(ip.bytes, len);
  const nwords = ip.family === 4 ? 1 : 4;
  const words = new Uint32Array(nwords);
  const masks = new Uint32Array(nwords);
  for (let w = 0; w < nwords; w++) {
    words[w] = ((net[4 * w]! << 24) | (net[4 * w + 1]! << 16) | (net[4 * w + 2]! << 8) | net[4 * w + 3]!) >>> 0;
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    masks[w] = bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  }
  return { family: ip.family, len, network: `${formatIP({ family: ip.family, bytes: net })}/${len}`, words, masks };
}

/** True when the two prefixes share at least one address (netaddr IPSet intersection). */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const len = Math.min(a.len, b.len);
  for (let w = 0; w < a.words.length; w++) {
    const bits = Math.max(0, Math.min(32, len - 32 * w));
    const mask = bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if ((a.words[w]! & mask) >>> 0 !== (b.words[w]! & mask) >>> 0) return false;
  }
  return true;
}
