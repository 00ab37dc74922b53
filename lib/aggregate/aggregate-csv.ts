// Aggregate records as CSV rows (the NDJSON lines are aggregate-json.ts's).

import { etypeName, protoName } from '../flow/proto.js';
import type { AggregateRecord } from './aggregator.js';
import type { PmacctPrimitive, Primitive } from './primitives.js';

/** The header of aggregate CSV: the primitives, then the counters and times. */
export function aggregateCsvHeader(primitives: readonly PmacctPrimitive[]): string[] {
  return [...primitives, 'packets', 'bytes', 'flows', 'time_start', 'time_end'];
}

export function aggregateCsvRow(primitives: readonly Primitive[], r: AggregateRecord): Array<string | number | bigint> {
  const row: Array<string | number | bigint> = [];
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') row.push(r.tcpflags);
    else {
      const v = r.values[k++]!;
      row.push(p === 'proto' ? protoName(v as number) : p === 'etype' ? etypeName(v as number) || String(v) : v);
    }
  }
  row.push(r.packets, r.bytes, r.flows, r.time_start, r.time_end);
  return row;
}
