// pmacct aggregation primitives (CONFIG-KEYS `aggregate`): names, `-a` list parsing, the
// canonical key order (pmacct's column order, independent of the order given), and how each
// primitive takes its value from a flow.

import { usageError } from '../errors.js';

/** Every pmacct primitive flowmeter knows, in canonical (pmacct `pmacct -s` column) order:
 *  flow-aggregate's key primitives and flow-report's row primitives are parts of this list. */
export const PMACCT_PRIMITIVES = [
  'tag',
  'tag2',
  'in_iface',
  'out_iface',
  'src_mac',
  'dst_mac',
  'vlan',
  'etype',
  'src_as',
  'dst_as',
  'sum_as',
  'peer_src_ip',
  'peer_dst_ip',
  'src_host',
  'sum_host',
  'src_net',
  'sum_net',
  'dst_host',
  'dst_net',
  'src_mask',
  'dst_mask',
  'src_port',
  'sum_port',
  'dst_port',
  'tcpflags',
  'proto',
  'tos',
  'sampling_rate',
] as const;

export type PmacctPrimitive = (typeof PMACCT_PRIMITIVES)[number];

/** Primitives a report row may carry (read from pmacct's output or a flow) that flowmeter does
 *  not aggregate on. */
const NOT_AGGREGATED = ['tag', 'tag2', 'src_mac', 'dst_mac', 'vlan', 'peer_dst_ip'] as const;

/** A primitive flowmeter aggregates on. */
export type Primitive = Exclude<PmacctPrimitive, (typeof NOT_AGGREGATED)[number]>;

/** Every primitive we aggregate on, in canonical order. */
export const PRIMITIVES: readonly Primitive[] = PMACCT_PRIMITIVES.filter(
  (p): p is Primitive => !(NOT_AGGREGATED as readonly string[]).includes(p),
);

/** Names accepted in a list that are not key fields: `flows` (always counted here) and `none`. */
export const PSEUDO_PRIMITIVES = ['flows', 'none'] as const;

const ORDER = new Map<string, number>(PRIMITIVES.map((p, i) => [p, i]));

/** Sort primitives into canonical (pmacct column) order, dropping repeats. */
export function canonicalOrder(list: readonly Primitive[]): Primitive[] {
  return [...new Set(list)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
}

/** Shorthands for the Hydra billing set-up: outgoing (agg-ab: src_host,dst_net,dst_mask) and
 *  incoming (agg-ba: src_net,src_mask,dst_host), in canonical order. */
export const SHORTHANDS: Readonly<Record<'ab' | 'ba', readonly Primitive[]>> = {
  ab: canonicalOrder(['src_host', 'dst_net', 'dst_mask']),
  ba: canonicalOrder(['src_net', 'src_mask', 'dst_host']),
};

/** Primitives whose value is an address (sorted numerically, printed as text). */
export const ADDRESS_PRIMITIVES: ReadonlySet<PmacctPrimitive> = new Set<PmacctPrimitive>([
  'peer_src_ip',
  'peer_dst_ip',
  'src_host',
  'dst_host',
  'sum_host',
  'src_net',
  'dst_net',
  'sum_net',
]);

/** Primitives that need a network (networks file or exporter mask) lookup. */
export const NET_PRIMITIVES: ReadonlySet<Primitive> = new Set<Primitive>([
  'src_net',
  'dst_net',
  'src_mask',
  'dst_mask',
  'sum_net',
]);

/** `tcpflags` is not part of the key: flags are ORed into the aggregate (pmacct). */
export function isKeyPrimitive(p: Primitive): boolean {
  return p !== 'tcpflags';
}

export function isSumPrimitive(p: PmacctPrimitive): boolean {
  return p === 'sum_host' || p === 'sum_net' || p === 'sum_as' || p === 'sum_port';
}

/** Parse "src_host,dst_net,dst_mask" (commas and/or blanks) into canonical order.
 *  Throws a usage error naming an unknown primitive. `none` alone = one grand total. */
export function parsePrimitiveList(text: string, what = '--aggregate'): Primitive[] {
  const names = text.split(/[\s,]+/).filter((s) => s !== '');
  if (names.length === 0) throw usageError(`${what}: empty primitive list (use "none" for a grand total)`);
  const out = new Set<Primitive>();
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (name === 'flows' || name === 'none') continue;
    if (!ORDER.has(name)) {
      throw usageError(
        `${what}: unknown primitive "${raw}" (known: ${[...PRIMITIVES, ...PSEUDO_PRIMITIVES].join(', ')})`,
      );
    }
    out.add(name as Primitive);
  }
  if (names.some((n) => n.toLowerCase() === 'none') && out.size > 0) {
    throw usageError(`${what}: "none" (grand total) cannot be combined with other primitives`);
  }
  const list = canonicalOrder([...out]);
  const sums = list.filter(isSumPrimitive);
  if (sums.length > 0 && list.length > 1) {
    throw usageError(
      `${what}: ${sums[0]} sums both directions and cannot be combined with other primitives (pmacct rule)`,
    );
  }
  return list;
}
