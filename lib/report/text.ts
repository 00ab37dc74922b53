// Human output: an aligned table with sizes in human units, each row's share of the bytes, a bar
// per row when stdout is a terminal (coloured unless NO_COLOR/--no-color), and a totals line.

import type { ChalkInstance } from 'chalk';
import { protoName, etypeName } from '../flow/proto.js';
import type { Primitive, Row } from './record.js';

export type Units = 'iec' | 'si' | 'raw';

export function humanBytes(n: number, units: Units): string {
  if (units === 'raw') return String(n);
  const base = units === 'si' ? 1000 : 1024;
  const names = units === 'si' ? ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] : ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n;
  let i = 0;
  while (v >= base && i < names.length - 1) {
    v /= base;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${names[i]}`;
}

export function humanCount(n: number, units: Units): string {
  if (units === 'raw' || n < 1000) return String(n);
  const names = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < names.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${names[i]}`;
}

export function valueText(p: Primitive, v: string | number | undefined): string {
  if (v === undefined || v === '') return '-';
  if (p === 'proto') return protoName(v as number);
  if (p === 'etype') return etypeName(v as number) || String(v);
  return String(v);
}

export interface TextOptions {
  primitives: readonly Primitive[];
  units: Units;
  bars: boolean;
  barWidth: number;
  chalk: ChalkInstance;
  /** Rows left out by --top, summed into one "others" line. */
  others?: { rows: number; packets: number; bytes: number; flows: number };
  total: { rows: number; packets: number; bytes: number; flows: number };
}

export function textTable(rows: readonly Row[], o: TextOptions): string[] {
  const head = [...o.primitives, 'packets', 'bytes', 'flows', '%'];
  const right = new Set(['packets', 'bytes', 'flows', '%', 'src_port', 'dst_port', 'src_mask', 'dst_mask', 'src_as', 'dst_as', 'in_iface', 'out_iface', 'tos']);
  const share = (b: number): string => (o.total.bytes === 0 ? '0.0' : ((b * 100) / o.total.bytes).toFixed(1));
  const body: string[][] = rows.map((r) => [
    ...o.primitives.map((p) => valueText(p, r.values[p])),
    humanCount(r.packets, o.units),
    humanBytes(r.bytes, o.units),
    humanCount(r.flows, o.units),
    share(r.bytes),
  ]);
  const extra: string[][] = [];
  if (o.others && o.others.rows > 0) {
    extra.push([`(${o.others.rows} more)`, ...o.primitives.slice(1).map(() => ''), humanCount(o.others.packets, o.units), humanBytes(o.others.bytes, o.units), humanCount(o.others.flows, o.units), share(o.others.bytes)]);
  }
  const total = [`total (${o.total.rows} rows)`, ...o.primitives.slice(1).map(() => ''), humanCount(o.total.packets, o.units), humanBytes(o.total.bytes, o.units), humanCount(o.total.flows, o.units), o.total.bytes === 0 ? '0.0' : '100.0'];
  if (o.primitives.length === 0) {
    for (const r of [...extra, total]) r.shift();
  }
  const all = [head, ...body, ...extra, total];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  // a label wider than the first column ("total (12 rows)") may spill into empty cells
  const fmt = (r: string[]): string =>
    r.map((c, i) => (right.has(head[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const max = rows.reduce((m, r) => Math.max(m, r.bytes), 0);
  const bar = (b: number): string => {
    if (!o.bars || max === 0) return '';
    const n = Math.max(b > 0 ? 1 : 0, Math.round((b / max) * o.barWidth));
    return '  ' + o.chalk.cyan('█'.repeat(n));
  };
  const out = [o.chalk.bold(fmt(head))];
  rows.forEach((r, i) => out.push(fmt(body[i]!) + bar(r.bytes)));
  for (const e of extra) out.push(fmt(e));
  out.push(o.chalk.bold(fmt(total)));
  return out;
}
