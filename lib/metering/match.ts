// Flow → labels. Rules are compiled once into hash maps keyed by masked address, one map per
// prefix length in use, so a flow costs one lookup per distinct length (not a scan of the rules).
// Semantics (meter-label(1), Counting): the caller says which directions a flow has (from internal
// subnets or the external interfaces); a remote_ip_prefix egress rule then matches a source inside
// the prefix, ingress a destination inside it. When the caller knows neither (`crossing`), a remote
// rule also needs the other end outside the prefix (traffic inside one prefix never counts);
// source/destination_ip_prefix match the addresses named; an excluded match wins over the label's
// included matches; a flow counts once per label even when several of its rules match
// (iptables would count it once per matching rule; Neutron's overlap check exists to avoid that).

import { parseIPv4, parseIPv6 } from '../net/ip.js';
import type { MeteringLabel, StoreData } from './model.js';
import { parsePrefix, type Prefix } from './prefix.js';

const REMOTE_EGRESS = 0; // indexed by source; destination must be outside `other`
const REMOTE_INGRESS = 1; // indexed by destination; source must be outside `other`
const SOURCE = 2; // indexed by source; destination inside `other` when given
const DESTINATION = 3; // indexed by destination (no source prefix)

/** Which rule directions a flow may match: both unless the external interface is known. */
export const INGRESS = 1;
export const EGRESS = 2;
export const ANY_DIRECTION = INGRESS | EGRESS;

interface Entry {
  label: number;
  excluded: boolean;
  kind: number;
  dir: number; // INGRESS or EGRESS
  other: Prefix | undefined;
}

class PrefixIndex {
  private readonly pending = new Map<number, Map<string | number, Entry[]>>();
  lens: number[] = [];
  maps: Map<string | number, Entry[]>[] = [];

  constructor(readonly family: 4 | 6) {}

  add(p: Prefix, e: Entry): void {
    let m = this.pending.get(p.len);
    if (!m) this.pending.set(p.len, (m = new Map()));
    const key = this.family === 4 ? p.words[0]! : keyOf6(p.words, p.len);
    const list = m.get(key);
    if (list) list.push(e);
    else m.set(key, [e]);
  }

  finish(): void {
    this.lens = [...this.pending.keys()].sort((a, b) => b - a);
    this.maps = this.lens.map((l) => this.pending.get(l)!);
  }
}

const MASK4: number[] = Array.from({ length: 33 }, (_, l) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0));

function keyOf6(w: Uint32Array, len: number): string {
  let k = '';
  for (let i = 0; i * 32 < len; i++) {
    const bits = Math.min(32, len - 32 * i);
    k += `${(w[i]! & MASK4[bits]!) >>> 0},`;
  }
  return k;
}

function contains4(p: Prefix, a: number): boolean {
  return (a & p.masks[0]!) >>> 0 === p.words[0];
}

function contains6(p: Prefix, w: Uint32Array): boolean {
  for (let i = 0; i < 4; i++) if ((w[i]! & p.masks[i]!) >>> 0 !== p.words[i]) return false;
  return true;
}

export class Matcher {
  readonly labels: MeteringLabel[];
  /** Label indexes counted for the last flow given to match(): hits[0 .. return value). */
  readonly hits: Int32Array;
  private readonly src4 = new PrefixIndex(4);
  private readonly dst4 = new PrefixIndex(4);
  private readonly src6 = new PrefixIndex(6);
  private readonly dst6 = new PrefixIndex(6);
  private readonly incl: Int32Array;
  private readonly excl: Int32Array;
  private stamp = 0;
  private dirs = ANY_DIRECTION;
  private crossing = true;
  private nTouched = 0;
  private readonly touched: Int32Array;
  private readonly w6s = new Uint32Array(4);
  private readonly w6d = new Uint32Array(4);

  constructor(data: StoreData) {
    this.labels = data.metering_labels;
    const index = new Map(this.labels.map((l, i) => [l.id, i]));
    for (const r of data.metering_label_rules) {
      const label = index.get(r.metering_label_id);
      if (label === undefined) continue;
      const add = (kind: number, key: Prefix, other: Prefix | undefined, bySource: boolean): void => {
        const e: Entry = {
          label,
          excluded: r.excluded,
          kind,
          dir: r.direction === 'ingress' ? INGRESS : EGRESS,
          other,
        };
        const idx = key.family === 4 ? (bySource ? this.src4 : this.dst4) : bySource ? this.src6 : this.dst6;
        idx.add(key, e);
      };
      if (r.remote_ip_prefix !== null) {
        const p = parsePrefix(r.remote_ip_prefix)!;
        if (r.direction === 'egress') add(REMOTE_EGRESS, p, p, true);
        else add(REMOTE_INGRESS, p, p, false);
      } else if (r.source_ip_prefix !== null) {
        const d = r.destination_ip_prefix === null ? undefined : parsePrefix(r.destination_ip_prefix)!;
        add(SOURCE, parsePrefix(r.source_ip_prefix)!, d, true);
      } else if (r.destination_ip_prefix !== null) {
        add(DESTINATION, parsePrefix(r.destination_ip_prefix)!, undefined, false);
      }
    }
    for (const i of [this.src4, this.dst4, this.src6, this.dst6]) i.finish();
    const n = this.labels.length;
    this.incl = new Int32Array(n);
    this.excl = new Int32Array(n);
    this.touched = new Int32Array(n);
    this.hits = new Int32Array(n);
  }

  private mark(e: Entry): void {
    if (e.excluded) this.excl[e.label] = this.stamp;
    else if (this.incl[e.label] !== this.stamp) {
      this.incl[e.label] = this.stamp;
      this.touched[this.nTouched++] = e.label;
    }
  }

  /** The labels this flow counts for; returns how many (see `hits`). `dirs` limits the rule
   *  directions that may match (when the flow's interfaces say whether it crossed the external
   *  interface inwards or outwards, as iptables' `-i`/`-o qg-…` does). `crossing`: remote rules
   *  also need the other end outside their prefix (when direction is not known otherwise). */
  match(src: string, dst: string, dirs = ANY_DIRECTION, crossing = true): number {
    this.dirs = dirs;
    this.crossing = crossing;
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.incl.fill(0);
      this.excl.fill(0);
    }
    this.nTouched = 0;
    const s4 = parseIPv4(src);
    if (s4 !== undefined) {
      const d4 = parseIPv4(dst);
      if (d4 === undefined) return 0;
      this.scan4(this.src4, s4, d4);
      this.scan4(this.dst4, d4, s4);
    } else {
      const sb = parseIPv6(src);
      const db = parseIPv6(dst);
      if (!sb || !db) return 0;
      toWords(sb, this.w6s);
      toWords(db, this.w6d);
      this.scan6(this.src6, this.w6s, this.w6d);
      this.scan6(this.dst6, this.w6d, this.w6s);
    }
    let n = 0;
    for (let i = 0; i < this.nTouched; i++) {
      const l = this.touched[i]!;
      if (this.excl[l] !== this.stamp) this.hits[n++] = l;
    }
    return n;
  }

  private scan4(idx: PrefixIndex, a: number, b: number): void {
    const { lens, maps } = idx;
    for (let i = 0; i < lens.length; i++) {
      const list = maps[i]!.get((a & MASK4[lens[i]!]!) >>> 0);
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]!;
        if ((e.dir & this.dirs) === 0) continue;
        const k = e.kind;
        if (k === REMOTE_EGRESS || k === REMOTE_INGRESS) {
          if (this.crossing && contains4(e.other!, b)) continue; // both ends inside the prefix: not crossing
        } else if (e.other !== undefined && (e.other.family !== 4 || !contains4(e.other, b))) continue;
        this.mark(e);
      }
    }
  }

  private scan6(idx: PrefixIndex, a: Uint32Array, b: Uint32Array): void {
    const { lens, maps } = idx;
    for (let i = 0; i < lens.length; i++) {
      const list = maps[i]!.get(keyOf6(a, lens[i]!));
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]!;
        if ((e.dir & this.dirs) === 0) continue;
        const k = e.kind;
        if (k === REMOTE_EGRESS || k === REMOTE_INGRESS) {
          if (this.crossing && contains6(e.other!, b)) continue;
        } else if (e.other !== undefined && (e.other.family !== 6 || !contains6(e.other, b))) continue;
        this.mark(e);
      }
    }
  }
}

function toWords(b: Uint8Array, out: Uint32Array): void {
  for (let i = 0; i < 4; i++)
    out[i] = ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0;
}
