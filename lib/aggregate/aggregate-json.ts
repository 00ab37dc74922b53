// Aggregate NDJSON lines (flowmeter-record(5): primitives in canonical order, then the counters),
// the one encoder of them: written straight from an aggregation's key words and counters into a
// Buffer, without a record, strings and their encoding per line (bench/README.md); the text form
// (aggregateJsonTexts) is read back from those bytes. The line is one compiled function per
// aggregation (lib/format/ndjson-bytes compileWriter: key texts as inline stores).
// test/unit/aggregate/aggregate-json.test.ts checks the bytes against JSON.stringify.

import { etypeName } from '../flow/proto.js';
import { words6ToBytes } from '../networks/addr.js';
import {
  $,
  ascii,
  compileWriter,
  viewOf,
  digits32,
  digits32Code,
  ipv4,
  ipv6,
  LEAD4,
  LEAD4_LEN,
  num,
  numCode,
  proto,
  type Code,
} from '../format/ndjson-bytes.js';
import { C_BYTES, C_END, C_FLAGS, C_FLOWS, C_PACKETS, C_START, SEGMENT_BITS, SEGMENT_MASK } from './counters.js';
import { ADDR, N1 } from './key-encoding.js';
import type { Aggregator, AggregateTable, SortOrder } from './aggregator.js';

/** Room one line may take (about twenty primitives at their widest, the counters, and the few
 *  bytes the stores run past the end). */
export const MAX_AGGREGATE_BYTES = 4096;

const V6_BYTES = new Uint8Array(16);

/** An address key value (kind 4, 6 or 0 = "", as AddressCodec writes it) as its text. */
function address(dv: DataView, off: number, kind: number, v: number, v6: Uint32Array): number {
  if (kind === 4) return ipv4(dv, off, v);
  if (kind !== 6) return off;
  return ipv6(dv, off, words6ToBytes(v6, 4 * v, V6_BYTES), 0);
}

/** etype as a line has it: the quoted name, or the number when it has none. */
function etypeJson(dv: DataView, off: number, e: number): number {
  const name = etypeName(e);
  if (name === '') return digits32(dv, off, e);
  dv.setUint8(off, 34);
  off = ascii(dv, off + 1, name);
  dv.setUint8(off, 34);
  return off + 1;
}

/** A writer of aggregate i's line (and "\n") at dv[off…], which has MAX_AGGREGATE_BYTES of room;
 *  returns the new offset. It reads the aggregation's table as it is now: make it after the last
 *  record was added. */
export function aggregateLineWriter(agg: Aggregator): (dv: DataView, off: number, i: number) => number {
  const parts: Array<string | Code> = [
    $(
      `const k = r.keys; const c = r.counters[a >>> ${SEGMENT_BITS}]; const base = a * ${agg.width}; const ro = (a & ${SEGMENT_MASK}) * ${agg.row};`,
    ),
    $('const w = r.wide.size === 0 ? undefined : r.wide.get(a);'),
    '{',
  ];
  let j = 0;
  for (const p of agg.primitives) {
    if (p === 'tcpflags') {
      parts.push('"tcpflags":', numCode(`c[ro + ${C_FLAGS}]`), ',');
      continue;
    }
    const o = `base + ${agg.offsets[j]!}`;
    const enc = agg.encodings[j++]!;
    if (enc === ADDR) parts.push(`"${p}":"`, $(`off = address(dv, off, k[${o}], k[${o} + 1], r.v6);`), '",');
    else if (p === 'proto') parts.push(`"${p}":`, $(`off = proto(dv, off, k[${o}]);`), ',');
    else if (p === 'etype') parts.push(`"${p}":`, $(`off = etypeJson(dv, off, k[${o}]);`), ',');
    else if (enc === N1) parts.push(`"${p}":`, digits32Code(`k[${o}]`), ',');
    else parts.push(`"${p}":`, numCode(`k[${o} + 1] * 4294967296 + k[${o}]`), ',');
  }
  // a sum past 2^53 - 1 is printed from its exact bigint (w, see WideSums)
  const sum = (name: string, col: number): Code =>
    $(`if (w !== undefined) off = ascii(dv, off, String(w.${name})); else {\n${numCode(`c[ro + ${col}]`).js}\n}`);
  const finite = (col: number): string => `(Number.isFinite(c[ro + ${col}]) ? c[ro + ${col}] : 0)`;
  parts.push(
    '"packets":',
    sum('packets', C_PACKETS),
    ',"bytes":',
    sum('bytes', C_BYTES),
    ',"flows":',
    sum('flows', C_FLOWS),
    ',"time_start":',
    numCode(finite(C_START)),
    ',"time_end":',
    numCode(finite(C_END)),
    '}\n',
  );
  const write = compileWriter<AggregateTable, number, undefined>(
    { address, etypeJson, proto, digits32, num, ascii, LEAD4, LEAD4_LEN },
    parts,
  );
  const t = agg.table();
  return (dv, off, i) => write(dv, off, t, i, undefined);
}

/** The aggregates' lines as text (without the "\n"), in order(sort): the writer's bytes, for
 *  callers that read the aggregates back as records (lib/report). Make it after the last record
 *  was added, as aggregateLineWriter. */
export function* aggregateJsonTexts(agg: Aggregator, sort: SortOrder = 'key'): Generator<string> {
  const write = aggregateLineWriter(agg);
  const buf = Buffer.alloc(MAX_AGGREGATE_BYTES);
  const dv = viewOf(buf);
  for (const i of Array.from(agg.order(sort))) yield buf.toString('latin1', 0, write(dv, 0, i) - 1);
}
