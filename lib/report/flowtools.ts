// flow-tools flow-report output (flow-tools lib/ftstat.c): a `# recn:` title line
// naming the fields (key columns end in `*`), then comma-separated rows with no padding. The
// summary report follows flow-stat's summary block (totals, averages, packet size distribution).

import type { Row, Values } from './record.js';
import type { PmacctPrimitive } from '../aggregate/primitives.js';
import { addCounters, compareCounters, type Counter } from '../flow/counter.js';

export interface FlowToolsReportType {
  name: string;
  keys: readonly PmacctPrimitive[];
  /** flow-tools counts ports only for TCP and UDP flows. */
  tcpUdpOnly?: boolean;
}

export const FLOW_TOOLS_REPORTS: readonly FlowToolsReportType[] = [
  { name: 'ip-source-address', keys: ['src_host'] },
  { name: 'ip-destination-address', keys: ['dst_host'] },
  { name: 'ip-source/destination-address', keys: ['src_host', 'dst_host'] },
  { name: 'ip-source-port', keys: ['src_port'], tcpUdpOnly: true },
  { name: 'ip-destination-port', keys: ['dst_port'], tcpUdpOnly: true },
  { name: 'ip-source/destination-port', keys: ['src_port', 'dst_port'], tcpUdpOnly: true },
  { name: 'ip-protocol', keys: ['proto'] },
  { name: 'ip-tos', keys: ['tos'] },
  { name: 'ip-exporter-address', keys: ['peer_src_ip'] },
  { name: 'ip-next-hop-address', keys: ['peer_dst_ip'] },
  { name: 'input-interface', keys: ['in_iface'] },
  { name: 'output-interface', keys: ['out_iface'] },
  { name: 'input/output-interface', keys: ['in_iface', 'out_iface'] },
  { name: 'source-as', keys: ['src_as'] },
  { name: 'destination-as', keys: ['dst_as'] },
  { name: 'source/destination-as', keys: ['src_as', 'dst_as'] },
];

export const FLOW_TOOLS_REPORT_NAMES: readonly string[] = ['summary', ...FLOW_TOOLS_REPORTS.map((r) => r.name)];

export type FtSortField = 'flows' | 'octets' | 'packets' | 'duration' | 'key';

export interface Tally {
  key: Array<string | number>;
  flows: Counter;
  octets: Counter;
  packets: Counter;
  duration: number;
}

/** Group rows by a report's key (the report's own tally: one entry per distinct key). */
export class KeyTally {
  readonly entries = new Map<string, Tally>();
  readonly total: Tally = { key: [], flows: 0, octets: 0, packets: 0, duration: 0 };
  ignored = 0;
  constructor(readonly type: FlowToolsReportType) {}

  add(r: Row): void {
    if (this.type.tcpUdpOnly) {
      const p = r.values.proto;
      if (p !== 6 && p !== 17) {
        this.ignored++;
        return;
      }
    }
    const key = this.type.keys.map((k) => r.values[k] ?? 0);
    const id = key.join('|');
    let t = this.entries.get(id);
    if (!t) this.entries.set(id, (t = { key, flows: 0, octets: 0, packets: 0, duration: 0 }));
    for (const x of [t, this.total]) {
      x.flows = addCounters(x.flows, r.flows);
      x.octets = addCounters(x.octets, r.bytes);
      x.packets = addCounters(x.packets, r.packets);
      x.duration += r.duration_ms;
    }
  }
}

export function sortTallies(list: Tally[], field: FtSortField): Tally[] {
  if (field === 'key') return list.sort((a, b) => compareKeys(a.key, b.key));
  return list.sort((a, b) => compareCounters(b[field], a[field]) || compareKeys(a.key, b.key));
}

function compareKeys(a: Array<string | number>, b: Array<string | number>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!,
      y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

const pct = (part: Counter, whole: Counter): string =>
  Number(whole) === 0 ? '0.000000' : ((Number(part) * 100) / Number(whole)).toFixed(6);

/** The lines of one keyed report. */
export function flowToolsLines(
  type: FlowToolsReportType,
  tally: KeyTally,
  opts: { sort: FtSortField; top?: number; percent: boolean },
): string[] {
  const out = [
    `# recn: ${type.name.split('/').length === 2 ? twoKeyTitle(type.name) : `${type.name}*`},flows,octets,packets,duration`,
  ];
  const list = sortTallies([...tally.entries.values()], opts.sort);
  const n = opts.top === undefined ? list.length : Math.min(opts.top, list.length);
  const t = tally.total;
  for (let i = 0; i < n; i++) {
    const e = list[i]!;
    const key = e.key.map((k) => (k === '' ? '0' : String(k))).join(',');
    if (opts.percent)
      out.push(`${key},${pct(e.flows, t.flows)},${pct(e.octets, t.octets)},${pct(e.packets, t.packets)},${e.duration}`);
    else out.push(`${key},${e.flows},${e.octets},${e.packets},${e.duration}`);
  }
  if (n < list.length) out.push('# stop, hit record limit.');
  return out;
}

function twoKeyTitle(name: string): string {
  // "ip-source/destination-address" → "ip-source-address*,ip-destination-address*"
  const m = /^(.*?)-?([a-z]+)\/([a-z]+)-(.*)$/.exec(name);
  if (!m) return `${name}*`;
  const [, prefix, a, b, suffix] = m;
  const pre = prefix ? `${prefix}-` : '';
  return `${pre}${a}-${suffix}*,${pre}${b}-${suffix}*`;
}

/** flow-stat's summary: totals, averages and the average-packet-size distribution. */
export class Summary {
  flows: Counter = 0;
  octets: Counter = 0;
  packets: Counter = 0;
  time = 0; // summed flow durations, ms
  start = Infinity;
  end = 0;
  private readonly psize = new Array<number>(SIZE_BINS.length + 1).fill(0);

  add(r: Row): void {
    this.flows = addCounters(this.flows, r.flows);
    this.octets = addCounters(this.octets, r.bytes);
    this.packets = addCounters(this.packets, r.packets);
    this.time += r.duration_ms;
    if (r.time_start > 0 && r.time_start < this.start) this.start = r.time_start;
    if (r.time_end > this.end) this.end = r.time_end;
    if (r.packets > 0) {
      const size = Number(r.bytes) / Number(r.packets);
      let i = SIZE_BINS.findIndex((b) => size <= b);
      if (i < 0) i = SIZE_BINS.length;
      this.psize[i]! += Number(r.flows) || 1;
    }
  }

  lines(): string[] {
    const real = this.end > 0 && this.start !== Infinity ? this.end - this.start : 0;
    // totals print exactly; averages and rates are ratios, as doubles
    const flows = Number(this.flows);
    const octets = Number(this.octets);
    const packets = Number(this.packets);
    const f = (x: number): string => x.toFixed(4);
    const div = (a: number, b: number): number => (b === 0 ? 0 : a / b);
    const out = [
      `Total Flows                     : ${this.flows}`,
      `Total Octets                    : ${this.octets}`,
      `Total Packets                   : ${this.packets}`,
      `Total Time (1/1000 secs) (flows): ${this.time}`,
      `Duration of data  (realtime)    : ${real}`,
      `Duration of data (1/1000 secs)  : ${real * 1000}`,
      `Average flow time (1/1000 secs) : ${f(div(this.time, flows))}`,
      `Average packet size (octets)    : ${f(div(octets, packets))}`,
      `Average flow size (octets)      : ${f(div(octets, flows))}`,
      `Average packets per flow        : ${f(div(packets, flows))}`,
      `Average flows / second (flow)   : ${f(div(flows * 1000, this.time))}`,
      `Average flows / second (real)   : ${f(div(flows, real))}`,
      `Average Kbits / second (flow)   : ${f(div((octets * 8) / 1000, this.time / 1000))}`,
      `Average Kbits / second (real)   : ${f(div((octets * 8) / 1000, real))}`,
      '',
      '',
      'IP packet size distribution:',
    ];
    const total = this.psize.reduce((a, b) => a + b, 0);
    const cell = (n: number): string => (total === 0 ? 0 : n / total).toFixed(3).replace(/^0/, '').padStart(5);
    out.push('   1-32   64   96  128  160  192  224  256  288  320  352  384  416  448  480');
    out.push('  ' + this.psize.slice(0, 15).map(cell).join(''));
    out.push('');
    out.push('    512  544  576 1024 1536 2048 2560 3072 3584 4096 4608');
    out.push('  ' + this.psize.slice(15).map(cell).join(''));
    return out;
  }
}

const SIZE_BINS = [
  32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 480, 512, 544, 576, 1024, 1536, 2048, 2560, 3072,
  3584, 4096,
];

export type { Values };
