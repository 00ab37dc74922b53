// Counter storage of an aggregation: one row of doubles per key index, kept in segments, and
// the exact sums of the rows that passed 2^53 - 1.

/** An aggregate's exact counters once one of its sums passed 2^53 - 1, or a flow's exact addends
 *  beyond it: a double is then only near, so these hold the sums and the row's doubles (still
 *  above 2^53 - 1, which sends every later add here) only serve to sort. Sums are exact at any
 *  size, beyond 2^64 - 1 too. */
export interface WideSums {
  bytes: bigint;
  packets: bigint;
  flows: bigint;
}

/** Counters of all aggregates, one row of doubles per key index (bytes, packets, flows, start,
 *  end, and tcpflags only when the aggregation ORs them): no object per counter, and one cache
 *  line touched per update. Without the tcpflags column a row is a sixth smaller: fewer fresh
 *  pages to touch, ~8 bytes less per key. */
export const C_BYTES = 0;
export const C_PACKETS = 1;
export const C_FLOWS = 2;
export const C_START = 3;
export const C_END = 4;
export const C_FLAGS = 5;

/** Rows are kept in segments of 2^SEGMENT_BITS rows: row i is at segs[i >>> SEGMENT_BITS],
 *  offset (i & SEGMENT_MASK) · row width. Growing then never copies rows nor touches more memory
 *  than the rows in use: first touches of fresh pages are dear (bench/README.md). */
export const SEGMENT_BITS = 16;
export const SEGMENT_MASK = (1 << SEGMENT_BITS) - 1;

export class Counters {
  size = 0;
  /** The first segment starts small and doubles up to full size, for small aggregations. */
  segs: Float64Array[];

  /** `row`: doubles per row, C_FLAGS + 1 with the tcpflags column, else C_FLAGS. */
  constructor(readonly row: number) {
    this.segs = [new Float64Array(1024 * row)];
  }

  /** A new row (index = size before the call). */
  push(): void {
    const i = this.size++;
    const o = (i & SEGMENT_MASK) * this.row;
    let c = this.segs[i >>> SEGMENT_BITS];
    if (c === undefined) {
      c = new Float64Array((SEGMENT_MASK + 1) * this.row);
      this.segs.push(c);
    } else if (o === c.length) {
      const n = new Float64Array(c.length * 2);
      n.set(c);
      this.segs[0] = c = n;
    }
    c[o + C_START] = Number.POSITIVE_INFINITY;
    c[o + C_END] = Number.NEGATIVE_INFINITY;
  }

  /** Counter `col` of row i. */
  get(i: number, col: number): number {
    return this.segs[i >>> SEGMENT_BITS]![(i & SEGMENT_MASK) * this.row + col]!;
  }
}
