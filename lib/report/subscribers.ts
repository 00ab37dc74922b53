// The billing view of --ab/--ba aggregates in the HTML report: per subscriber (src_host of the
// ab records = out, dst_host of the ba records = in) the bytes in and out side by side, and, when
// the aggregates are in time bins (flow-aggregate --interval), in and out per bin.

import type { Row } from './record.js';

type Direction = 'in' | 'out';

export interface SubscriberTotals {
  subscriber: string;
  in: number;
  out: number;
}

/** ab (src_host, outgoing) or ba (dst_host, incoming) aggregate, or neither. */
function directionOf(r: Row): Direction | undefined {
  if (r.flow) return undefined;
  const src = r.values.src_host !== undefined,
    dst = r.values.dst_host !== undefined;
  return src && !dst ? 'out' : dst && !src ? 'in' : undefined;
}

export class SubscriberView {
  private readonly subs = new Map<string, SubscriberTotals>();
  private readonly bins = { in: new Map<number, number>(), out: new Map<number, number>() };
  private readonly seen = { in: false, out: false };
  /** The aggregates' common bin width: undefined before the first, 0 when they are not binned. */
  private width: number | undefined;

  add(r: Row): void {
    const dir = directionOf(r);
    if (dir === undefined) return;
    this.seen[dir] = true;
    const who = String(dir === 'out' ? r.values.src_host : r.values.dst_host);
    let s = this.subs.get(who);
    if (!s) this.subs.set(who, (s = { subscriber: who, in: 0, out: 0 }));
    const bytes = Number(r.bytes); // a view to read, like the chart: doubles suffice (exact below 2^53)
    s[dir] += bytes;
    const d = r.time_end - r.time_start;
    const binned = d > 0 && r.time_start > 0 && r.time_start % d === 0;
    this.width = binned && (this.width === undefined || this.width === d) ? d : 0;
    if (this.width > 0) this.bins[dir].set(r.time_start, (this.bins[dir].get(r.time_start) ?? 0) + bytes);
  }

  /** Both directions were given (agg-ab and agg-ba). */
  get shown(): boolean {
    return this.seen.in && this.seen.out;
  }

  /** Subscribers by in + out, largest first (ties by address). */
  top(n: number): SubscriberTotals[] {
    return [...this.subs.values()]
      .sort((a, b) => b.in + b.out - (a.in + a.out) || (a.subscriber < b.subscriber ? -1 : 1))
      .slice(0, n);
  }

  get count(): number {
    return this.subs.size;
  }

  /** In and out per bin, every bin from the first to the last, when the aggregates are binned
   *  (at least two bins); else undefined. */
  series(): { step: number; in: Array<[number, number]>; out: Array<[number, number]> } | undefined {
    const step = this.width ?? 0;
    const times = [...this.bins.in.keys(), ...this.bins.out.keys()];
    if (step === 0 || new Set(times).size < 2) return undefined;
    const lo = Math.min(...times),
      hi = Math.max(...times);
    const fill = (m: Map<number, number>): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (let t = lo; t <= hi; t += step) out.push([t, m.get(t) ?? 0]);
      return out;
    };
    return { step, in: fill(this.bins.in), out: fill(this.bins.out) };
  }
}
