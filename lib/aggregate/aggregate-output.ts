// Aggregate records as output: flowmeter-record(5) NDJSON lines and CSV rows.

import { PROTO_JSON, etypeName, protoName } from '../flow/proto.js';
import type { AggregateRecord, Value } from './aggregator.js';
import type { Primitive } from './primitives.js';

function jsonValue(p: Primitive, v: Value): string {
  if (p === 'proto') return PROTO_JSON[v as number]!;
  if (p === 'etype') {
    const name = etypeName(v as number);
    return name === '' ? String(v) : `"${name}"`;
  }
  // values are numbers or address text ("", canonical IPv4/IPv6), which never needs escaping
  return typeof v === 'number' ? String(v) : `"${v}"`;
}

/** One aggregate NDJSON line (flowmeter-record(5)): primitives in canonical order, then the counters. */
export function aggregateToJson(primitives: readonly Primitive[], r: AggregateRecord): string {
  let s = '{';
  let k = 0;
  for (const p of primitives) {
    if (p === 'tcpflags') s += `"tcpflags":${r.tcpflags},`;
    else s += `"${p}":${jsonValue(p, r.values[k++]!)},`;
  }
  return `${s}"packets":${r.packets},"bytes":${r.bytes},"flows":${r.flows},"time_start":${r.time_start},"time_end":${r.time_end}}`;
}

export function aggregateCsvHeader(primitives: readonly Primitive[]): string[] {
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
