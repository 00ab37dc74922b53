// --allow: the exporter addresses whose datagrams a collector decodes, like nfacctd's
// nfacctd_allow_file. Each spec is a CIDR or a bare address (IPv4 or IPv6), or else a networks
// file (file.ts: one net/len a line, # and ! comments; only the nets matter here).

import { ipv4ToU32, ipv6ToWords } from './addr.js';
import { loadNetworksFile, parseNetworks, type NetworkTable } from './file.js';
import { parseIP } from '../net/ip.js';
import { FlowmeterError, usageError } from '../errors.js';

export class AllowList {
  private readonly words = new Uint32Array(4);
  /** The verdict for the last address asked about: exporters send in bursts. */
  private lastAddress = '';
  private lastVerdict = false;

  constructor(readonly tables: readonly NetworkTable[]) {}

  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t.size;
    return n;
  }

  /** Whether `address` (text as the capture layer gives it) is covered by an entry. */
  has(address: string): boolean {
    if (address === this.lastAddress) return this.lastVerdict;
    const verdict = this.lookup(address);
    this.lastAddress = address;
    this.lastVerdict = verdict;
    return verdict;
  }

  private lookup(address: string): boolean {
    const a = ipv4ToU32(address);
    if (a >= 0) return this.tables.some((t) => t.index4(a) >= 0);
    const w = this.words;
    if (!ipv6ToWords(address, w)) return false;
    return this.tables.some((t) => t.index6(w[0]!, w[1]!, w[2]!, w[3]!) >= 0);
  }
}

/** `spec` read as a CIDR or bare address, or undefined when it is neither (then it names a file). */
function cidrTable(spec: string): NetworkTable | undefined {
  const slash = spec.indexOf('/');
  const addr = slash < 0 ? spec : spec.slice(0, slash);
  const ip = parseIP(addr);
  if (ip === undefined) return undefined;
  const text = slash < 0 ? `${addr}/${ip.family === 4 ? 32 : 128}` : spec;
  const { table, problems } = parseNetworks(text);
  if (problems.length > 0) throw usageError(`--allow ${spec}: ${problems[0]!.message}`);
  return table;
}

/** Build the allow list from --allow values; a file that cannot be read or has a bad line is
 *  refused (exit 66 / 78, naming file:line), as is an empty list (78). */
export async function loadAllowList(specs: readonly string[]): Promise<AllowList> {
  const tables: NetworkTable[] = [];
  for (const spec of specs) tables.push(cidrTable(spec) ?? (await loadNetworksFile(spec, { strict: true })));
  const list = new AllowList(tables);
  if (list.size === 0)
    throw new FlowmeterError(
      'config',
      `--allow ${specs.join(' ')}: no networks listed (every datagram would be denied)`,
    );
  return list;
}
