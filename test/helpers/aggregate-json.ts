// What an aggregate NDJSON line must say, written independently of lib/aggregate/aggregate-json.ts:
// the record's fields in canonical order (flowmeter-record(5)) through JSON.stringify.

import type { AggregateRecord } from '../../lib/aggregate/aggregator.js';
import type { Primitive } from '../../lib/aggregate/primitives.js';
import { etypeName, protoName } from '../../lib/flow/proto.js';

/** A bigint sum stands in JSON.stringify's output as "#digits#" until it is unquoted. */
const BIG = /"#(\d+)#"/g;

/** The line of aggregate record r (without "\n"). */
export function expectedAggregateJson(primitives: readonly Primitive[], r: AggregateRecord): string {
  const o: Record<string, unknown> = {};
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') {
      o[p] = r.tcpflags;
      continue;
    }
    const v = r.values[k++]!;
    if (p === 'proto') o[p] = protoName(v as number) === String(v) ? v : protoName(v as number);
    else if (p === 'etype') o[p] = etypeName(v as number) || v;
    else o[p] = v;
  }
  Object.assign(o, {
    packets: r.packets,
    bytes: r.bytes,
    flows: r.flows,
    time_start: r.time_start,
    time_end: r.time_end,
  });
  return JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? `#${v}#` : v)).replace(BIG, '$1');
}
