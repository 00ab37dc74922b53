// A flow record with its addresses turned into numbers once, shared by the filter and every
// aggregation in one pass (one object reused for all records: no per-record allocation).

import type { FlowRecord } from '../flow/record.js';
import { ipv4ToU32, ipv6ToWords } from '../networks/addr.js';
import type { NetworkEntry, NetworkTable } from '../networks/file.js';
import { UNMATCHED_V4, UNMATCHED_V6 } from '../networks/file.js';

export class FlowView {
  r!: FlowRecord;
  /** 4, 6, or 0 when the address is missing. */
  srcFam: 0 | 4 | 6 = 0;
  dstFam: 0 | 4 | 6 = 0;
  /** IPv4 in [0]; IPv6 in [0..3]. */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  private table: NetworkTable | undefined;
  private srcEntry: NetworkEntry | undefined;
  private dstEntry: NetworkEntry | undefined;

  constructor(table?: NetworkTable) {
    this.table = table;
  }

  set(r: FlowRecord): this {
    this.r = r;
    this.srcFam = addressInto(r.src_addr, this.src);
    this.dstFam = addressInto(r.dst_addr, this.dst);
    this.srcEntry = undefined;
    this.dstEntry = undefined;
    return this;
  }

  /** The networks-file entry for the source (longest prefix; unmatched = 0.0.0.0/0 or ::/0). */
  srcNet(): NetworkEntry {
    return (this.srcEntry ??= lookup(this.table!, this.srcFam, this.src));
  }

  dstNet(): NetworkEntry {
    return (this.dstEntry ??= lookup(this.table!, this.dstFam, this.dst));
  }
}

function lookup(t: NetworkTable, fam: 0 | 4 | 6, w: Uint32Array): NetworkEntry {
  if (fam === 4) return t.lookup4(w[0]!);
  if (fam === 6) return t.lookup6(w[0]!, w[1]!, w[2]!, w[3]!);
  return UNMATCHED_V4;
}

function addressInto(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (text === '') return 0;
  const a = ipv4ToU32(text);
  if (a >= 0) {
    out[0] = a;
    return 4;
  }
  return ipv6ToWords(text, out) ? 6 : 0;
}

export { UNMATCHED_V6 };
