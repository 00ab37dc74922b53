// Human output: an aligned table with sizes in human units, each row's share of the bytes, a bar
// per row when stdout is a terminal (coloured unless NO_COLOR/--no-color), and a totals line.

import type { ChalkInstance } from 'chalk';
import { protoName, etypeName } from '../flow/proto.js';
import type { Row } from './record.js';
import type { PmacctPrimitive } from '../aggregate/primitives.js';
import { addCounters, type Counter } from '../flow/counter.js';

export type Units = 'iec' | 'si' | 'raw';

export function humanBytes(c: Counter, units: Units): string {
  if (units === 'raw') return String(c);
  const n = Number(c);
  const base = units === 'si' ? 1000 : 1024;
  const names =
    units === 'si' ? ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] : ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n;
  let i = 0;
  while (v >= base && i < names.length - 1) {
    v /= base;
    i++;
  }
  return i === 0 ? `${c} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${names[i]}`;
}

export function humanCount(c: Counter, units: Units): string {
  if (units === 'raw' || c < 1000) return String(c);
  const n = Number(c);
  const names = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < names.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${names[i]}`;
}

export function valueText(p: PmacctPrimitive, v: string | number | undefined): string {
  if (v === undefined || v === '') return '-';
  if (p === 'proto') return protoName(v as number);
  if (p === 'etype') return etypeName(v as number) || String(v);
  return String(v);
}

/** Row counts and exact counter sums of a set of rows. */
export interface Totals {
  rows: number;
  packets: Counter;
  bytes: Counter;
  flows: Counter;
}

/** The totals of `rows`. */
export function totalsOf(rows: readonly Row[]): Totals {
  const t: Totals = { rows: 0, packets: 0, bytes: 0, flows: 0 };
  for (const r of rows) addToTotals(t, r);
  return t;
}

/** Add one row to `t`. */
export function addToTotals(t: Totals, r: Row): void {
  t.rows++;
  t.packets = addCounters(t.packets, r.packets);
  t.bytes = addCounters(t.bytes, r.bytes);
  t.flows = addCounters(t.flows, r.flows);
}

export interface TextOptions {
  primitives: readonly PmacctPrimitive[];
  units: Units;
  bars: boolean;
  barWidth: number;
  chalk: ChalkInstance;
  /** Rows left out by --top, summed into one "others" line. */
  others?: Totals;
  total: Totals;
}

export function textTable(rows: readonly Row[], o: TextOptions): string[] {
  const head = [...o.primitives, 'packets', 'bytes', 'flows', '%'];
  const right = new Set([
    'packets',
    'bytes',
    'flows',
    '%',
    'src_port',
    'dst_port',
    'src_mask',
    'dst_mask',
    'src_as',
    'dst_as',
    'in_iface',
    'out_iface',
    'tos',
  ]);
  const share = (b: Counter): string =>
    o.total.bytes === 0 ? '0.0' : ((Number(b) * 100) / Number(o.total.bytes)).toFixed(1);
  const body: string[][] = rows.map((r) => [
    ...o.primitives.map((p) => valueText(p, r.values[p])),
    humanCount(r.packets, o.units),
    humanBytes(r.bytes, o.units),
    humanCount(r.flows, o.units),
    share(r.bytes),
  ]);
  const extra: string[][] = [];
  if (o.others && o.others.rows > 0) {
    extra.push([
      `(${o.others.rows} more)`,
      ...o.primitives.slice(1).map(() => ''),
      humanCount(o.others.packets, o.units),
      humanBytes(o.others.bytes, o.units),
      humanCount(o.others.flows, o.units),
      share(o.others.bytes),
    ]);
  }
  const total = [
    `total (${o.total.rows} rows)`,
    ...o.primitives.slice(1).map(() => ''),
    humanCount(o.total.packets, o.units),
    humanBytes(o.total.bytes, o.units),
    humanCount(o.total.flows, o.units),
    o.total.bytes === 0 ? '0.0' : '100.0',
  ];
  if (o.primitives.length === 0) {
    for (const r of [...extra, total]) r.shift();
  }
  const all = [head, ...body, ...extra, total];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  // a label wider than the first column ("total (12 rows)") may spill into empty cells
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (right.has(head[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const max = rows.reduce((m, r) => Math.max(m, Number(r.bytes)), 0);
  const bar = (b: Counter): string => {
    if (!o.bars || max === 0) return '';
    const n = Math.max(b > 0 ? 1 : 0, Math.round((Number(b) / max) * o.barWidth));
    return '  ' + o.chalk.cyan('█'.repeat(n));
  };
  const out = [o.chalk.bold(fmt(head))];
  rows.forEach((r, i) => out.push(fmt(body[i]!) + bar(r.bytes)));
  for (const e of extra) out.push(fmt(e));
  out.push(o.chalk.bold(fmt(total)));
  return out;
}
