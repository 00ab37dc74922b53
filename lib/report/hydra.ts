// The Hydra billing CSV (hcd external statistics, flowmeter-record(5), BILLING CSV):
//   EXT_GOOD_ID;EXT_OBJECT_ID;D_BEGIN;D_END;ADDR_1/MASK_1;ADDR_2/MASK_2;BYTES;
// one line per aggregate with bytes > 0, no header. ADDR_1 is the sender, ADDR_2 the receiver.
// `agg-ab` = outgoing (src_host → dst_net/dst_mask), `agg-ba` = incoming (src_net/src_mask → dst_host).
// Service ids (EXT_GOOD_ID) come from --good-id or a map (direction + remote network → id);
// equipment codes (EXT_OBJECT_ID) from a map (subscriber network → code).

import { readFileSync } from 'node:fs';
import { FlowmeterError } from '../errors.js';
import { describeSystemError } from '../cli/io.js';
import { hydraIdProblem, quote } from '../hcd/billing.js';
import { parseCidr, parseIP, type ParsedIP } from '../net/ip.js';
import type { Row } from './record.js';
import type { Counter } from '../flow/counter.js';

export type Direction = 'ab' | 'ba';

/** Longest-prefix table over IPv4 and IPv6 prefixes (small maps: a sorted scan is enough). */
export class PrefixMap<T> {
  private readonly entries: Array<{ family: 4 | 6; bytes: Uint8Array; len: number; value: T }> = [];

  add(cidr: string, value: T): boolean {
    const c = parseCidr(cidr);
    if (!c || !cidr.includes('/')) return false;
    this.entries.push({ family: c.ip.family, bytes: c.ip.bytes, len: c.len, value });
    this.entries.sort((a, b) => b.len - a.len);
    return true;
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(ip: ParsedIP): T | undefined {
    for (const e of this.entries) if (e.family === ip.family && covers(e.bytes, e.len, ip.bytes)) return e.value;
    return undefined;
  }
}

function covers(net: Uint8Array, len: number, addr: Uint8Array): boolean {
  let i = 0;
  for (; len >= 8; len -= 8, i++) if (net[i] !== addr[i]) return false;
  if (len === 0) return true;
  const m = (0xff00 >> len) & 0xff;
  return (net[i]! & m) === (addr[i]! & m);
}

function readMapFile(path: string, what: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FlowmeterError(
      err.code === 'ENOENT' || err.code === 'EACCES' ? 'no-input' : 'io',
      `${path}: ${describeSystemError(err)}`,
    );
  }
  void what;
}

/** Why a map's or --good-id's id cannot go into a billing line (undefined: it can). */
export function badHydraId(id: string): string | undefined {
  return id === '' ? 'a non-empty id' : hydraIdProblem(id);
}

function checkMapId(where: string, what: string, id: string): void {
  const expected = badHydraId(id);
  if (expected) throw new FlowmeterError('config', `${where}: bad ${what} ${quote(id)}: expected ${expected}`);
}

/** Service map: lines `DIRECTION NETWORK GOOD_ID` (DIRECTION ab|ba|any; `#` comments), e.g.
 *  `ab 192.168.0.0/16 local_out` / `ab 0.0.0.0/0 inet_out`. The remote side is the receiver for
 *  ab and the sender for ba; the longest matching network wins. */
export class GoodMap {
  private readonly maps: Record<Direction, PrefixMap<string>> = { ab: new PrefixMap(), ba: new PrefixMap() };

  static load(path: string): GoodMap {
    const m = new GoodMap();
    readMapFile(path, 'service map').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const f = line.split(/\s+/);
      const where = `${path}:${i + 1}`;
      if (f.length !== 3)
        throw new FlowmeterError('config', `${where}: expected "DIRECTION NETWORK GOOD_ID" (got "${line}")`);
      const [dir, net, id] = f as [string, string, string];
      if (dir !== 'ab' && dir !== 'ba' && dir !== 'any')
        throw new FlowmeterError('config', `${where}: direction must be ab, ba or any (got "${dir}")`);
      checkMapId(where, 'service id', id);
      for (const d of dir === 'any' ? (['ab', 'ba'] as const) : [dir as Direction]) {
        if (!m.maps[d].add(net, id))
          throw new FlowmeterError('config', `${where}: bad network "${net}" (expected a CIDR like 10.0.0.0/8)`);
      }
    });
    return m;
  }

  lookup(dir: Direction, remote: ParsedIP): string | undefined {
    return this.maps[dir].lookup(remote);
  }
}

/** Equipment map: lines `NETWORK OBJECT_CODE` (subscriber network → equipment code). */
export class ObjectMap {
  private readonly map = new PrefixMap<string>();

  static load(path: string): ObjectMap {
    const m = new ObjectMap();
    readMapFile(path, 'object map').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const f = line.split(/\s+/);
      const where = `${path}:${i + 1}`;
      if (f.length !== 2)
        throw new FlowmeterError('config', `${where}: expected "NETWORK OBJECT_CODE" (got "${line}")`);
      checkMapId(where, 'object code', f[1]!);
      if (!m.map.add(f[0]!, f[1]!))
        throw new FlowmeterError('config', `${where}: bad network "${f[0]}" (expected a CIDR like 10.5.0.0/16)`);
    });
    return m;
  }

  lookup(local: ParsedIP): string | undefined {
    return this.map.lookup(local);
  }
}

export interface HydraOptions {
  goodId?: string;
  goodMap?: GoodMap;
  objectMap?: ObjectMap;
  /** Force the direction instead of deriving it from the primitives. */
  direction?: Direction;
  /** Override D_BEGIN/D_END (e.g. the billing period of a cron run). */
  begin?: number;
  end?: number;
}

export interface HydraLine {
  direction: Direction;
  text: string; // without newline
  bytes: Counter;
}

/** Why a row cannot become a billing line (counted as a rejection by the caller). */
export class HydraError extends Error {}

function side(row: Row, which: 'src' | 'dst'): { ip: ParsedIP; len: number } | undefined {
  const host = row.values[`${which}_host`];
  if (typeof host === 'string' && host !== '') {
    const ip = parseIP(host);
    if (ip) return { ip, len: ip.family === 4 ? 32 : 128 };
  }
  const net = row.values[`${which}_net`];
  if (typeof net === 'string' && net !== '') {
    const ip = parseIP(net);
    const mask = row.values[`${which}_mask`];
    if (ip) return { ip, len: typeof mask === 'number' ? mask : ip.family === 4 ? 32 : 128 };
  }
  return undefined;
}

function cidrText(s: { ip: ParsedIP; len: number }, addr: string): string {
  return `${addr}/${s.len}`;
}

/** Direction from the primitives: a host on the sending side and a net on the receiving side is
 *  outgoing (ab), the reverse incoming (ba). */
export function directionOf(row: Row): Direction | undefined {
  const v = row.values;
  if (v.src_host !== undefined && v.dst_host === undefined && v.dst_net !== undefined) return 'ab';
  if (v.dst_host !== undefined && v.src_host === undefined && v.src_net !== undefined) return 'ba';
  return undefined;
}

export function hydraLine(row: Row, o: HydraOptions): HydraLine | undefined {
  if (row.bytes === 0) return undefined;
  const direction = o.direction ?? directionOf(row);
  if (!direction)
    throw new HydraError(
      'cannot tell outgoing from incoming: aggregate src_host,dst_net,dst_mask (ab) or src_net,src_mask,dst_host (ba), or give --direction',
    );
  const a = side(row, 'src');
  const b = side(row, 'dst');
  if (!a || !b) throw new HydraError('a billing line needs both addresses (src_host or src_net, dst_host or dst_net)');
  const local = direction === 'ab' ? a : b;
  const remote = direction === 'ab' ? b : a;
  const good = o.goodMap?.lookup(direction, remote.ip) ?? o.goodId ?? '';
  const object = o.objectMap?.lookup(local.ip) ?? '';
  const begin = o.begin ?? row.time_start;
  const end = o.end ?? row.time_end;
  const addr1 = String(row.values.src_host || row.values.src_net);
  const addr2 = String(row.values.dst_host || row.values.dst_net);
  return {
    direction,
    bytes: row.bytes,
    text: `${good};${object};${begin};${end};${cidrText(a, addr1)};${cidrText(b, addr2)};${row.bytes};`,
  };
}
