// `pmacct -s` output, byte for byte (pmacct 1.7 client, src/pmacct.c): the formatted table
// (fixed-width columns in canonical order, FLOWS only when counted, the "For a total of" trailer),
// `-O csv` (header, `,` or `-E` separator, no trailer) and `-O json` (one object per line, Jansson's
// default `", "` / `": "` separators, pmacct's key names). Also the table of pmacct 0.12 that the
// Hydra collector's nfacctd module parses (`hcd-table`): networks printed under SRC_IP/DST_IP.

import { PMACCT_PROTOCOLS, type Row } from './record.js';
import type { PmacctPrimitive } from '../aggregate/primitives.js';

interface Column {
  prim: PmacctPrimitive;
  header: string;
  /** Header cell width (name left-aligned, space padded). */
  width: number;
  /** printf width of the value and the spaces after it, e.g. `%-10u  ` = [10, 2]. */
  pad: readonly [number, number];
  json: string;
  kind: 'u' | 'ip' | 'mac' | 'hex' | 'proto' | 'flags';
}

const C = (
  prim: PmacctPrimitive,
  header: string,
  width: number,
  pad: [number, number],
  json: string,
  kind: Column['kind'] = 'u',
): Column => ({ prim, header, width, pad, json, kind });

/** Canonical order of the formatted/csv columns (write_stats_header_formatted). */
const COLUMNS: readonly Column[] = [
  C('tag', 'TAG', 12, [10, 2], 'tag'),
  C('tag2', 'TAG2', 12, [10, 2], 'tag2'),
  C('in_iface', 'IN_IFACE', 12, [10, 2], 'iface_in'),
  C('out_iface', 'OUT_IFACE', 12, [10, 2], 'iface_out'),
  C('src_mac', 'SRC_MAC', 19, [17, 2], 'mac_src', 'mac'),
  C('dst_mac', 'DST_MAC', 19, [17, 2], 'mac_dst', 'mac'),
  C('vlan', 'VLAN', 7, [5, 2], 'vlan'),
  C('etype', 'ETYPE', 7, [5, 2], 'etype', 'hex'),
  C('src_as', 'SRC_AS', 12, [10, 2], 'as_src'),
  C('dst_as', 'DST_AS', 12, [10, 2], 'as_dst'),
  C('peer_src_ip', 'PEER_SRC_IP', 47, [45, 2], 'peer_ip_src', 'ip'),
  C('peer_dst_ip', 'PEER_DST_IP', 47, [45, 2], 'peer_ip_dst', 'ip'),
  C('src_host', 'SRC_IP', 47, [45, 2], 'ip_src', 'ip'),
  C('src_net', 'SRC_NET', 47, [45, 2], 'net_src', 'ip'),
  C('dst_host', 'DST_IP', 47, [45, 2], 'ip_dst', 'ip'),
  C('dst_net', 'DST_NET', 47, [45, 2], 'net_dst', 'ip'),
  C('src_mask', 'SRC_MASK', 10, [3, 7], 'mask_src'),
  C('dst_mask', 'DST_MASK', 10, [3, 7], 'mask_dst'),
  C('src_port', 'SRC_PORT', 10, [5, 5], 'port_src'),
  C('dst_port', 'DST_PORT', 10, [5, 5], 'port_dst'),
  C('tcpflags', 'TCP_FLAGS', 11, [6, 5], 'tcp_flags', 'flags'),
  C('proto', 'PROTOCOL', 12, [10, 2], 'ip_proto', 'proto'),
  C('tos', 'TOS', 7, [3, 4], 'tos'),
  C('sampling_rate', 'SAMPLING_RATE', 14, [7, 7], 'sampling_rate'),
];
const BY_PRIM = new Map(COLUMNS.map((c) => [c.prim, c]));

/** The JSON key order (pmc_compose_json) differs from the table's: interfaces after peers. */
const JSON_ORDER: readonly PmacctPrimitive[] = [
  'tag',
  'tag2',
  'src_mac',
  'dst_mac',
  'vlan',
  'etype',
  'src_as',
  'dst_as',
  'peer_src_ip',
  'peer_dst_ip',
  'in_iface',
  'out_iface',
  'src_host',
  'src_net',
  'dst_host',
  'dst_net',
  'src_mask',
  'dst_mask',
  'src_port',
  'dst_port',
  'tcpflags',
  'proto',
  'tos',
  'sampling_rate',
];

export interface PmacctOptions {
  /** The primitives aggregated (any order; printed in canonical order). */
  primitives: readonly PmacctPrimitive[];
  /** FLOWS column: pmacct prints it only when `flows` is in the aggregate. */
  flows: boolean;
  /** `-u`: protocol numbers instead of names. */
  numericProtocols?: boolean;
  /** `-E`: the CSV separator. */
  separator?: string;
}

export function canonical(prims: readonly PmacctPrimitive[]): Column[] {
  const set = new Set(prims);
  return COLUMNS.filter((c) => set.has(c.prim));
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function text(col: Column, v: string | number | undefined, numericProto: boolean): string {
  switch (col.kind) {
    case 'ip':
      return v === undefined || v === '' ? '' : String(v);
    case 'mac':
      return v === undefined || v === '' ? '00:00:00:00:00:00' : String(v);
    case 'hex':
      return (typeof v === 'number' ? v : 0).toString(16);
    case 'proto': {
      const n = typeof v === 'number' ? v : 0;
      return numericProto ? String(n) : (PMACCT_PROTOCOLS[n] ?? String(n));
    }
    default:
      return String(typeof v === 'number' ? v : 0);
  }
}

/** One value as the formatted table prints it (an unset address prints as `%-45u` of 0). */
function cell(col: Column, v: string | number | undefined, numericProto: boolean): string {
  let t = text(col, v, numericProto);
  if (t === '' && col.kind === 'ip') t = '0';
  return pad(t, col.pad[0]) + ' '.repeat(col.pad[1]);
}

/** pmacct leaves out an entry whose primitives are all zero (and does not count it). */
export function isEmptyEntry(r: Row, prims: readonly PmacctPrimitive[]): boolean {
  for (const p of prims) {
    const v = r.values[p];
    if (v === undefined || v === 0 || v === '') continue;
    // an address 0.0.0.0 still has its family set, so it is not empty to pmacct; a zero MAC is
    if (v === '00:00:00:00:00:00') continue;
    return false;
  }
  return true;
}

export class PmacctFormatter {
  private readonly cols: Column[];
  /** Throws on a primitive pmacct's tables have no column for (sum_*: one column for two directions). */
  constructor(private readonly o: PmacctOptions) {
    this.cols = canonical(o.primitives);
    const missing = o.primitives.filter((p) => !this.cols.some((c) => c.prim === p));
    if (missing.length > 0) throw new Error(`pmacct's formats have no column for ${missing.join(', ')}`);
  }

  header(): string {
    let s = '';
    for (const c of this.cols) s += pad(c.header, c.width);
    s += pad('PACKETS', 22);
    if (this.o.flows) s += pad('FLOWS', 22);
    return s + 'BYTES';
  }

  row(r: Row): string {
    let s = '';
    const num = this.o.numericProtocols === true;
    for (const c of this.cols) s += cell(c, r.values[c.prim], num);
    s += pad(String(r.packets), 20) + '  ';
    if (this.o.flows) s += pad(String(r.flows), 20) + '  ';
    return s + String(r.bytes);
  }

  /** After the rows: an empty line, then the count. */
  trailer(entries: number): string {
    return `\nFor a total of: ${entries} entries`;
  }

  csvHeader(): string {
    const names = this.cols.map((c) => c.header);
    names.push('PACKETS');
    if (this.o.flows) names.push('FLOWS');
    names.push('BYTES');
    return names.join(this.o.separator ?? ',');
  }

  csvRow(r: Row): string {
    const num = this.o.numericProtocols === true;
    const parts = this.cols.map((c) => text(c, r.values[c.prim], num));
    parts.push(String(r.packets));
    if (this.o.flows) parts.push(String(r.flows));
    parts.push(String(r.bytes));
    return parts.join(this.o.separator ?? ',');
  }

  jsonRow(r: Row): string {
    const set = new Set(this.o.primitives);
    const num = this.o.numericProtocols === true;
    const parts: string[] = [];
    for (const p of JSON_ORDER) {
      if (!set.has(p)) continue;
      const c = BY_PRIM.get(p)!;
      const v = r.values[p];
      let j: string;
      if (c.kind === 'ip' || c.kind === 'mac' || c.kind === 'hex' || c.kind === 'flags')
        j = JSON.stringify(text(c, v, num));
      else if (c.kind === 'proto') j = num ? text(c, v, true) : JSON.stringify(text(c, v, false));
      else j = text(c, v, num);
      parts.push(`"${c.json}": ${j}`);
    }
    parts.push(`"packets": ${r.packets}`);
    if (this.o.flows) parts.push(`"flows": ${r.flows}`);
    parts.push(`"bytes": ${r.bytes}`);
    return `{${parts.join(', ')}}`;
  }
}

/** pmacct 0.12's table for the Hydra collector (hcd's nfacctd module): one column per address
 *  side, the network (when aggregated) printed under SRC_IP/DST_IP, masks after the addresses.
 *  `agg-ab` (src_host,dst_net,dst_mask) → `SRC_IP DST_IP DST_MASK PACKETS BYTES`;
 *  `agg-ba` (src_net,src_mask,dst_host) → `SRC_IP DST_IP SRC_MASK PACKETS BYTES`. */
export class HcdTableFormatter {
  private readonly src: PmacctPrimitive | undefined;
  private readonly dst: PmacctPrimitive | undefined;
  private readonly masks: Column[];
  constructor(prims: readonly PmacctPrimitive[]) {
    const set = new Set(prims);
    for (const p of prims) {
      if (!['src_host', 'src_net', 'dst_host', 'dst_net', 'src_mask', 'dst_mask'].includes(p)) {
        throw new Error(`hcd-table prints only src/dst host, net and mask (got "${p}")`);
      }
    }
    if (set.has('src_host') && set.has('src_net'))
      throw new Error('hcd-table: src_host and src_net share the SRC_IP column; aggregate one of them');
    if (set.has('dst_host') && set.has('dst_net'))
      throw new Error('hcd-table: dst_host and dst_net share the DST_IP column; aggregate one of them');
    this.src = set.has('src_net') ? 'src_net' : set.has('src_host') ? 'src_host' : undefined;
    this.dst = set.has('dst_net') ? 'dst_net' : set.has('dst_host') ? 'dst_host' : undefined;
    this.masks = canonical(prims.filter((p) => p === 'src_mask' || p === 'dst_mask'));
  }

  header(): string {
    let s = '';
    if (this.src) s += pad('SRC_IP', 47);
    if (this.dst) s += pad('DST_IP', 47);
    for (const m of this.masks) s += pad(m.header, m.width);
    return s + pad('PACKETS', 22) + 'BYTES';
  }

  row(r: Row): string {
    let s = '';
    const ip = BY_PRIM.get('src_host')!;
    if (this.src) s += cell(ip, r.values[this.src], false);
    if (this.dst) s += cell(ip, r.values[this.dst], false);
    for (const m of this.masks) s += cell(m, r.values[m.prim], false);
    return s + pad(String(r.packets), 20) + '  ' + String(r.bytes);
  }

  trailer(entries: number): string {
    return `\nFor a total of: ${entries} entries`;
  }
}
