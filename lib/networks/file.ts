// pmacct's networks_file (examples/networks.lst.example; src/net_aggr.c load_networks4/6):
//   [<next-hop>,][[<peer-asn>_]<asn>,]<net>/<len>
// `!` or `#` first (after blanks) = comment; blank lines skipped; host bits are cleared
// (10.1.2.3/24 is 10.1.2.0/24); IPv4 and IPv6 share one file; the longest prefix wins; an
// address no entry covers gets net 0.0.0.0 (:: for IPv6) and mask 0, as nfacctd does.
// Where pmacct silently skips a line it cannot read, we say which line and why (file:line).

import { BinaryTrie } from './trie.js';
import { ipv4ToU32, ipv6ToWords, maskV4, maskWord, formatIPv4, formatWords6 } from './addr.js';
import { FlowmeterError } from '../errors.js';
import { readTextFile } from '../cli/io.js';
import { parseIP } from '../net/ip.js';

export interface NetworkEntry {
  family: 4 | 6;
  /** The network address with host bits cleared, as text ("10.1.2.0", "2001:db8::"). */
  net: string;
  /** Prefix length. */
  mask: number;
  /** Origin AS (0 when not given). */
  asn: number;
  /** Peer AS (0 when not given). */
  peerAsn: number;
  /** BGP next hop ("" when not given). */
  nextHop: string;
  /** 1-based line in the file. */
  line: number;
}

export interface NetworksProblem {
  line: number;
  message: string;
}

/** The match for addresses no entry covers: mask 0, net 0.0.0.0 / :: (nfacctd's `file` method). */
export const UNMATCHED_V4: NetworkEntry = Object.freeze({
  family: 4,
  net: '0.0.0.0',
  mask: 0,
  asn: 0,
  peerAsn: 0,
  nextHop: '',
  line: 0,
});
export const UNMATCHED_V6: NetworkEntry = Object.freeze({
  family: 6,
  net: '::',
  mask: 0,
  asn: 0,
  peerAsn: 0,
  nextHop: '',
  line: 0,
});

export class NetworkTable {
  readonly entries: NetworkEntry[] = [];
  private readonly v4 = new BinaryTrie(4096);
  private readonly v6 = new BinaryTrie(1024);
  /** Entries that repeated an earlier net/len (the first one is kept). */
  duplicates = 0;

  get size(): number {
    return this.entries.length;
  }

  /** A table as another thread receives it (a structured clone keeps the data, not the class):
   *  given its class back, so that a worker thread need not parse the file again. */
  static revive(o: NetworkTable): NetworkTable {
    Object.setPrototypeOf(o, NetworkTable.prototype);
    BinaryTrie.revive(o.v4);
    BinaryTrie.revive(o.v6);
    return o;
  }

  /** Add a prefix; host bits are cleared. Returns false if the same net/len was already there. */
  add(e: Omit<NetworkEntry, 'net'> & { words: ArrayLike<number> }): boolean {
    const idx = this.entries.length;
    let net: string;
    let prev: number;
    if (e.family === 4) {
      const a = maskV4(e.words[0]!, e.mask);
      net = formatIPv4(a);
      prev = this.v4.insert([a], e.mask, idx);
    } else {
      const w = [0, 1, 2, 3].map((i) => maskWord(e.words[i]!, i, e.mask));
      net = formatWords6(w[0]!, w[1]!, w[2]!, w[3]!);
      prev = this.v6.insert(w, e.mask, idx);
    }
    if (prev >= 0) {
      this.duplicates++;
      return false;
    }
    this.entries.push({
      family: e.family,
      net,
      mask: e.mask,
      asn: e.asn,
      peerAsn: e.peerAsn,
      nextHop: e.nextHop,
      line: e.line,
    });
    return true;
  }

  /** Index of the longest entry covering an IPv4 address, -1 if none. */
  index4(a: number): number {
    return this.v4.lookup4(a);
  }

  index6(w0: number, w1: number, w2: number, w3: number): number {
    return this.v6.lookup6(w0, w1, w2, w3);
  }

  lookup4(a: number): NetworkEntry {
    const i = this.v4.lookup4(a);
    return i < 0 ? UNMATCHED_V4 : this.entries[i]!;
  }

  lookup6(w0: number, w1: number, w2: number, w3: number): NetworkEntry {
    const i = this.v6.lookup6(w0, w1, w2, w3);
    return i < 0 ? UNMATCHED_V6 : this.entries[i]!;
  }

  /** Lookup from address text (slow path: tests, tools). */
  lookup(address: string): NetworkEntry | undefined {
    const a = ipv4ToU32(address);
    if (a >= 0) return this.lookup4(a);
    const w = new Uint32Array(4);
    if (!ipv6ToWords(address, w)) return undefined;
    return this.lookup6(w[0]!, w[1]!, w[2]!, w[3]!);
  }
}

const ASN = /^[0-9]{1,10}$/;

/** Parse the text of a networks file. Bad lines are returned as problems and skipped. */
export function parseNetworks(text: string): { table: NetworkTable; problems: NetworksProblem[] } {
  const table = new NetworkTable();
  const problems: NetworksProblem[] = [];
  const words = new Uint32Array(4);
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const raw = text.slice(start, end);
    start = end + 1;
    const line = raw.trim();
    if (line === '' || line[0] === '!' || line[0] === '#') continue;
    const bad = (message: string): void => {
      problems.push({ line: lineNo, message });
    };
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length > 3) {
      bad(`expected [next-hop,][[peer-asn_]asn,]net/len, got ${fields.length - 1} commas`);
      continue;
    }
    const netText = fields[fields.length - 1]!;
    let nextHop = '';
    let asn = 0;
    let peerAsn = 0;
    if (fields.length === 3) {
      const nh = parseIP(fields[0]!);
      if (!nh) {
        bad(`next hop "${fields[0]}" is not an IP address`);
        continue;
      }
      nextHop = fields[0]!;
    }
    if (fields.length >= 2) {
      const asText = fields[fields.length - 2]!;
      const parts = asText.split('_');
      if (parts.length > 2 || !parts.every((p) => ASN.test(p) && Number(p) <= 0xffffffff)) {
        bad(`AS "${asText}" is not [peer-asn_]asn with numbers 0-4294967295`);
        continue;
      }
      asn = Number(parts[parts.length - 1]);
      if (parts.length === 2) peerAsn = Number(parts[0]);
    }
    const slash = netText.indexOf('/');
    if (slash < 0) {
      bad(`missing '/' separator in "${netText}"`);
      continue;
    }
    const addrText = netText.slice(0, slash);
    const maskText = netText.slice(slash + 1);
    let family: 4 | 6;
    const a = ipv4ToU32(addrText);
    if (a >= 0) {
      family = 4;
      words[0] = a;
    } else if (ipv6ToWords(addrText, words)) family = 6;
    else {
      bad(`"${addrText}" is not an IPv4 or IPv6 address`);
      continue;
    }
    const max = family === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(maskText) || Number(maskText) > max) {
      bad(`invalid network mask "${maskText}" (expected 0-${max})`);
      continue;
    }
    table.add({ family, words, mask: Number(maskText), asn, peerAsn, nextHop, line: lineNo });
  }
  return { table, problems };
}

export interface LoadNetworksOptions {
  strict?: boolean;
  /** Called for each bad line when not strict (e.g. Log.reject). */
  onProblem?: (place: string, message: string) => void;
}

/** Read and parse a networks file; a bad line is fatal with `strict` (exit 78), else reported. */
export async function loadNetworksFile(path: string, opts: LoadNetworksOptions = {}): Promise<NetworkTable> {
  const text = await readTextFile(path);
  const { table, problems } = parseNetworks(text);
  for (const p of problems) {
    if (opts.strict) throw new FlowmeterError('config', `${path}:${p.line}: ${p.message}`);
    opts.onProblem?.(`${path}:${p.line}`, `${path}:${p.line}: ${p.message}; line skipped`);
  }
  return table;
}
