// A pmacct-style configuration file for flow-aggregate, so one pass can feed several named
// aggregations (pmacct's `aggregate[agg-ab]` plugins) and existing nfacctd configs can be reused:
//
//   ! comment                                  # comment
//   plugins: print[agg-ab], print[agg-ba]
//   aggregate[agg-ab]: src_host, dst_net, dst_mask
//   aggregate[agg-ba]: src_net, src_mask, dst_host
//   aggregate_filter[agg-ab]: src net 10.5.0.0/16
//   print_output_file[agg-ab]: /var/lib/flowmeter/agg-ab.ndjson
//   networks_file: /etc/pmacct/networks.lst
//   print_history: 5m                           (or: interval: 300)
//   nfacctd_net: file (netflow, longest)   nfacctd_renormalize: true
//   nfacctd_time_new: true   nfacctd_pro_rating: true
//
// Keys we do not use (daemonize, nfacctd_port, …) are reported and ignored.

import { dirname, resolve } from 'node:path';
import { FlowmeterError } from '../errors.js';
import { readTextFile } from '../cli/io.js';
import { parsePrimitiveList, type Primitive } from './primitives.js';
import { compileFilter, FilterSyntaxError, type CompiledFilter } from '../filter/filter.js';

export interface ConfigAggregation {
  name: string;
  primitives?: Primitive[];
  filters: CompiledFilter[];
  output?: string;
  interval?: number;
}

export interface AggregateConfigFile {
  /** In declaration order (plugins: line first, then first mention). */
  aggregations: ConfigAggregation[];
  networksFile?: string;
  /** nfacctd_net / sfacctd_net: netflow|sflow → exporter, file, longest. */
  netSource?: 'file' | 'exporter' | 'longest';
  interval?: number;
  renormalize?: boolean;
  timeArrival?: boolean;
  proRate?: boolean;
  /** Keys present but not used by flow-aggregate, with their line numbers. */
  ignored: Array<{ line: number; key: string }>;
}

/** "300", "300s", "5m", "1h", "1d" → seconds; undefined if not that shape. */
export function parseDuration(text: string): number | undefined {
  const m = /^([0-9]{1,9})([smhdw]?)$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const n = Number(m[1]) * mult;
  return n > 0 ? n : undefined;
}

function bool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  return undefined;
}

export function parseConfig(text: string, path: string): AggregateConfigFile {
  const cfg: AggregateConfigFile = { aggregations: [], ignored: [] };
  const byName = new Map<string, ConfigAggregation>();
  const agg = (name: string): ConfigAggregation => {
    let a = byName.get(name);
    if (!a) {
      a = { name, filters: [] };
      byName.set(name, a);
      cfg.aggregations.push(a);
    }
    return a;
  };
  let globalPrimitives: Primitive[] | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const place = `${path}:${i + 1}`;
    const line = lines[i]!.trim();
    if (line === '' || line[0] === '!' || line[0] === '#') continue;
    const m = /^([A-Za-z0-9_]+)(?:\[([^\]]+)\])?\s*:\s*(.*)$/.exec(line);
    if (!m) throw new FlowmeterError('config', `${place}: expected "key: value" or "key[name]: value"`);
    const key = m[1]!.toLowerCase();
    const name = m[2]?.trim();
    const value = m[3]!.trim();
    const fail = (msg: string): never => {
      throw new FlowmeterError('config', `${place}: ${key}: ${msg}`);
    };
    const flag = (): boolean => bool(value) ?? fail(`expected true or false, got "${value}"`);
    try {
      switch (key) {
        case 'plugins':
          for (const p of value.split(',')) {
            const pm = /^\s*[a-z_]+(?:\[([^\]]+)\])?\s*$/.exec(p);
            if (!pm) fail(`expected plugin[name], … got "${p.trim()}"`);
            agg(pm![1]?.trim() ?? 'default');
          }
          break;
        case 'aggregate': {
          const list = parsePrimitiveList(value, 'aggregate');
          if (name) agg(name).primitives = list;
          else globalPrimitives = list;
          break;
        }
        case 'aggregate_filter':
          if (!name) fail('must name its aggregation, like aggregate_filter[agg-ab]: … (pmacct: no global value)');
          try {
            agg(name!).filters.push(compileFilter(value));
          } catch (e) {
            if (e instanceof FilterSyntaxError)
              throw new FlowmeterError('config', `${place}: ${key}: ${e.message}`, e.pointer());
            throw e;
          }
          break;
        case 'print_output_file':
        case 'output':
          agg(name ?? 'default').output = resolve(dirname(path), value);
          break;
        case 'print_history':
        case 'interval': {
          const n = parseDuration(value) ?? fail(`expected seconds or N[smhdw], got "${value}"`);
          if (name) agg(name).interval = n;
          else cfg.interval = n;
          break;
        }
        case 'networks_file':
          if (name) fail('one networks file serves every aggregation here; drop the [name]');
          cfg.networksFile = resolve(dirname(path), value);
          break;
        case 'nfacctd_net':
        case 'sfacctd_net':
        case 'pmacctd_net': {
          const v = value.toLowerCase();
          if (v === 'netflow' || v === 'sflow') cfg.netSource = 'exporter';
          else if (v === 'file' || v === 'longest') cfg.netSource = v;
          else fail(`supported here: netflow, sflow, file, longest (got "${value}")`);
          break;
        }
        case 'nfacctd_renormalize':
        case 'sfacctd_renormalize':
        case 'renormalize':
          cfg.renormalize = flag();
          break;
        case 'nfacctd_time_new':
        case 'sfacctd_time_new':
          cfg.timeArrival = flag();
          break;
        case 'nfacctd_pro_rating':
        case 'sfacctd_pro_rating':
        case 'pro_rating':
          cfg.proRate = flag();
          break;
        default:
          cfg.ignored.push({ line: i + 1, key });
      }
    } catch (e) {
      if (e instanceof FlowmeterError && e.kind === 'usage')
        throw new FlowmeterError('config', `${place}: ${e.message}`);
      throw e;
    }
  }
  if (globalPrimitives) {
    if (cfg.aggregations.length === 0) agg('default');
    for (const a of cfg.aggregations) a.primitives ??= globalPrimitives;
  }
  for (const a of cfg.aggregations) {
    if (!a.primitives)
      throw new FlowmeterError('config', `${path}: aggregation "${a.name}" has no aggregate[${a.name}] line`);
  }
  return cfg;
}

export async function loadConfig(path: string): Promise<AggregateConfigFile> {
  const text = await readTextFile(path);
  return parseConfig(text, path);
}
