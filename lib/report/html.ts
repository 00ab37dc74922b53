// `--format html`: one self-contained page for a cron job to publish — inline CSS, the
// traffic-over-time chart as inline SVG, the top-N tables; no scripts, fonts, images or any other
// fetch (a Content-Security-Policy of default-src 'none' says so to the browser too). Every text
// that comes from the data is HTML-escaped. The page depends only on the input (no "generated at"
// clock), so the same records give the same bytes.

import { primitivesOf, type Row } from './record.js';
import type { PmacctPrimitive } from '../aggregate/primitives.js';
import { FLOW_TOOLS_REPORTS, KeyTally, sortTallies, type FlowToolsReportType, type FtSortField } from './flowtools.js';
import { addToTotals, humanBytes, humanCount, valueText, type Totals as RowTotals, type Units } from './text.js';
import { compareCounters, type Counter } from '../flow/counter.js';
import { SubscriberView } from './subscribers.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** Bin steps in seconds; each is a multiple of the one before, so bins can be merged exactly. */
const STEPS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800];
/** Bins held while reading before they are merged into the next step (memory bound). */
const HOLD = 4000;
/** Bins drawn when the step is chosen automatically. */
const DRAW = 150;
const FIXED_LIMIT = 1_000_000;

export class BinOverflowError extends Error {}

/** Bytes per time bin, each record's bytes spread over the bins its [start, end] overlaps
 *  (integer shares that add up to exactly its bytes). */
export class TimeBins {
  readonly bins = new Map<number, number>();
  private stepIndex = 0;
  step: number;
  unknown = 0; // bytes of records without a time

  constructor(private readonly fixed?: number) {
    this.step = fixed ?? STEPS[0]!;
  }

  private coarsen(): void {
    const next = STEPS[this.stepIndex + 1];
    if (next === undefined) return;
    this.stepIndex++;
    this.step = next;
    const old = [...this.bins];
    this.bins.clear();
    for (const [t, b] of old) this.put(t - (t % next), b);
  }

  private put(t: number, b: number): void {
    this.bins.set(t, (this.bins.get(t) ?? 0) + b);
  }

  add(start: number, end: number, bytes: number): void {
    if (bytes === 0) return;
    if (start <= 0) {
      this.unknown += bytes;
      return;
    }
    if (end < start) end = start;
    if (this.fixed === undefined) {
      while ((end - start) / this.step > HOLD && this.stepIndex < STEPS.length - 1) this.coarsen();
    } else if ((end - start) / this.step > FIXED_LIMIT) {
      throw new BinOverflowError(`--interval ${this.step}: a record spans more than ${FIXED_LIMIT} bins`);
    }
    const step = this.step;
    const first = start - (start % step);
    if (end === start || end - (end % step) === first) this.put(first, bytes);
    else {
      const d = end - start;
      let given = 0;
      for (let t = first; t <= end; t += step) {
        const cut = Math.min(end, t + step);
        const upto = cut >= end ? bytes : Math.floor((bytes * (cut - start)) / d);
        if (upto > given) this.put(t, upto - given);
        given = upto;
        if (cut >= end) break;
      }
    }
    if (this.fixed === undefined) {
      while (this.bins.size > HOLD && this.stepIndex < STEPS.length - 1) this.coarsen();
    } else if (this.bins.size > FIXED_LIMIT) {
      throw new BinOverflowError(`--interval ${this.step}: more than ${FIXED_LIMIT} bins`);
    }
  }

  /** The bins to draw, oldest first, with empty bins filled in. */
  series(): Array<[number, number]> {
    if (this.fixed === undefined) {
      while (this.span() / this.step > DRAW && this.stepIndex < STEPS.length - 1) this.coarsen();
    }
    if (this.bins.size === 0) return [];
    let lo = Infinity,
      hi = -Infinity;
    for (const t of this.bins.keys()) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const out: Array<[number, number]> = [];
    for (let t = lo; t <= hi; t += this.step) out.push([t, this.bins.get(t) ?? 0]);
    return out;
  }

  private span(): number {
    if (this.bins.size === 0) return 0;
    let lo = Infinity,
      hi = -Infinity;
    for (const t of this.bins.keys()) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    return hi - lo + this.step;
  }
}

/** The key tallies shown for flow records (when the data has their keys). */
const HTML_REPORTS = [
  'ip-source-address',
  'ip-destination-address',
  'ip-destination-port',
  'ip-protocol',
  'ip-exporter-address',
];

export interface HtmlOptions {
  title: string;
  top: number;
  units: Units;
  /** Order of the records table (bytes, packets, flows). */
  sort: 'bytes' | 'packets' | 'flows' | 'key';
  interval?: number;
  /** What was read, for the header (e.g. the --period files). */
  subtitle?: string;
}

interface Totals extends RowTotals {
  first: number;
  last: number;
}

function utc(t: number): string {
  return new Date(t * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.000Z$/, 'Z');
}

/** An x-axis label: as short as the step and the span allow. */
function axisTime(t: number, step: number, lo: number, hi: number): string {
  const u = utc(t); // 2026-11-12 13:14:42Z
  const sameDay = u.slice(0, 10) === utc(lo).slice(0, 10) && u.slice(0, 10) === utc(hi).slice(0, 10);
  const time = step < 60 ? u.slice(11, 19) : u.slice(11, 16);
  if (sameDay) return time;
  return step >= 86400 ? u.slice(0, 10) : `${u.slice(5, 10)} ${time}`;
}

function stepName(s: number): string {
  if (s === 604800) return 'week';
  if (s % 86400 === 0) return s === 86400 ? 'day' : `${s / 86400} days`;
  if (s % 3600 === 0) return s === 3600 ? 'hour' : `${s / 3600} hours`;
  if (s % 60 === 0) return s === 60 ? 'minute' : `${s / 60} minutes`;
  return s === 1 ? 'second' : `${s} seconds`;
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7f9;margin:0;padding:24px}
main{max-width:980px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#5b6475;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:20px}.card span{color:#5b6475;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.panel{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px}
svg{display:block;width:100%;height:auto}
svg .bar,svg .in{fill:#3b7dd8}svg .out{fill:#e08a2c}svg rect:hover{opacity:.8}svg .grid{stroke:#e6e9ef}svg .axis{stroke:#8a93a3}
svg text{font:11px system-ui,sans-serif;fill:#5b6475}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}
th,td{padding:4px 10px;text-align:left;white-space:nowrap}th{background:#eef1f5;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafbfc}
td.share{width:30%}.share div{background:#3b7dd8;height:10px;border-radius:2px;min-width:1px}
tfoot td{font-weight:600;border-top:1px solid #dde1e8}
.note{color:#5b6475;font-size:12px}
`.trim();

/** A bit rate in the page's unit system: 1.20 Mbit/s (SI) or 1.20 Mibit/s (IEC). */
export function humanRate(bitsPerSecond: number, units: Units): string {
  return `${humanBytes(Math.round(bitsPerSecond), units).replace(/B$/, 'bit')}/s`;
}

/** One series of bars: bytes per bin (oldest first, every bin present), its CSS class and the
 *  data attribute that carries the exact bytes. */
interface Series {
  name: string;
  cls: string;
  attr: string;
  bins: Array<[number, number]>;
}

/** Average bit/s per bin as bars (two series side by side), in the page's units. */
function chart(step: number, series: readonly Series[], units: Units): string {
  const s0 = series[0]!.bins;
  if (s0.length === 0) return '<p class="note">No timed records: nothing to draw.</p>';
  const W = 940,
    H = 260,
    L = 80,
    R = 10,
    T = 10,
    B = 40;
  const pw = W - L - R,
    ph = H - T - B;
  const rate = (b: number): number => (b * 8) / step;
  const max = series.reduce((m, x) => x.bins.reduce((mm, [, b]) => Math.max(mm, rate(b)), m), 1);
  // a round y scale: 1, 2 or 5 × 10^k (1024^k with IEC) per grid line, four or five lines
  const base = units === 'iec' ? 1024 : 1000;
  const raw = max / 4;
  const big = base ** Math.max(0, Math.floor(Math.log(raw) / Math.log(base)));
  const mag = big * 10 ** Math.floor(Math.log10(raw / big));
  const tick = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw)!;
  const top = Math.ceil(max / tick) * tick;
  const bw = pw / s0.length;
  const sw = (bw * 0.8) / series.length;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(series.map((x) => x.name).join(' and '))}: bits per second, per ${stepName(step)}">`,
  );
  for (let v = 0; v <= top + tick / 2; v += tick) {
    const y = T + ph - (v / top) * ph;
    out.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>`);
    out.push(
      `<text x="${L - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${escapeHtml(humanRate(v, units))}</text>`,
    );
  }
  series.forEach((x, k) => {
    x.bins.forEach(([t, b], i) => {
      const h = (rate(b) / top) * ph;
      const left = L + i * bw + bw * 0.1 + k * sw;
      out.push(
        `<rect class="${x.cls}" x="${left.toFixed(2)}" y="${(T + ph - h).toFixed(2)}" width="${Math.max(sw, 0.5).toFixed(2)}" height="${h.toFixed(2)}" data-t="${t}" ${x.attr}="${b}">` +
          `<title>${escapeHtml(`${utc(t)}${series.length > 1 ? ` ${x.name}` : ''}: ${humanRate(rate(b), units)} (${b} bytes in ${stepName(step)})`)}</title></rect>`,
      );
    });
  });
  out.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}"/>`);
  const labels = Math.min(6, s0.length);
  for (let k = 0; k < labels; k++) {
    const i = labels === 1 ? 0 : Math.round((k * (s0.length - 1)) / (labels - 1));
    const x = L + i * bw + bw / 2;
    const anchor = k === 0 && labels > 1 ? 'start' : k === labels - 1 && labels > 1 ? 'end' : 'middle';
    out.push(
      `<text x="${x.toFixed(1)}" y="${H - B + 16}" text-anchor="${anchor}">${escapeHtml(axisTime(s0[i]![0], step, s0[0]![0], s0[s0.length - 1]![0]))}</text>`,
    );
  }
  const day0 = utc(s0[0]![0]).slice(0, 10),
    day1 = utc(s0[s0.length - 1]![0]).slice(0, 10);
  const legend = series.length > 1 ? ` (${series.map((x) => x.name).join(' left, ')} right)` : '';
  out.push(
    `<text x="${L}" y="${H - 4}">bit/s, average per ${escapeHtml(stepName(step))}${escapeHtml(legend)}, UTC${day0 === day1 ? `, ${day0}` : ''}</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

function shareCell(part: Counter, whole: Counter): string {
  const p = Number(whole) === 0 ? 0 : (Number(part) * 100) / Number(whole);
  return `<td class="n">${p.toFixed(1)}%</td><td class="share"><div style="width:${p.toFixed(1)}%"></div></td>`;
}

function numCell(n: Counter, text: string): string {
  return `<td class="n" title="${n}">${escapeHtml(text)}</td>`;
}

/** Collects rows and writes the page at the end. Memory: tallies hold one entry per distinct key;
 *  of aggregate records only the best `top` so far (plus a buffer) are held, the rest summed. */
export class HtmlReport {
  private readonly bins: TimeBins;
  private readonly tallies: Array<{ type: FlowToolsReportType; tally: KeyTally; seen: number }>;
  private records: Row[] = [];
  private recordCount = 0;
  /** Records pruned from the table (not in the top N). */
  private readonly rest: RowTotals = { rows: 0, packets: 0, bytes: 0, flows: 0 };
  private prims: PmacctPrimitive[] | undefined;
  private readonly totals: Totals = { rows: 0, packets: 0, bytes: 0, flows: 0, first: 0, last: 0 };
  private readonly subscribers = new SubscriberView();

  constructor(
    private readonly o: HtmlOptions,
    fixed?: readonly PmacctPrimitive[],
  ) {
    this.bins = new TimeBins(o.interval);
    this.prims = fixed ? [...fixed] : undefined;
    this.tallies = HTML_REPORTS.map((name) => {
      const type = FLOW_TOOLS_REPORTS.find((t) => t.name === name)!;
      return { type, tally: new KeyTally(type), seen: 0 };
    });
  }

  add(r: Row): void {
    const t = this.totals;
    addToTotals(t, r);
    if (r.time_start > 0 && (t.first === 0 || r.time_start < t.first)) t.first = r.time_start;
    if (Math.max(r.time_end, r.time_start) > t.last) t.last = Math.max(r.time_end, r.time_start);
    this.bins.add(r.time_start, r.time_end, Number(r.bytes)); // the chart's bins: doubles suffice
    this.subscribers.add(r);
    if (r.flow) {
      for (const x of this.tallies) {
        if (x.type.keys.every((k) => r.values[k] !== undefined && r.values[k] !== '')) {
          x.seen++;
          x.tally.add(r);
        }
      }
    } else {
      this.prims ??= primitivesOf(r);
      this.records.push(r);
      this.recordCount++;
      if (this.records.length >= Math.max(4 * this.o.top, 1024)) this.prune();
    }
  }

  /** Sort the held records (stable: ties keep input order) and sum those past the top N. */
  private prune(): void {
    this.sortRecords();
    const gone = this.records.slice(this.o.top);
    this.records = this.records.slice(0, this.o.top);
    for (const r of gone) {
      addToTotals(this.rest, r);
    }
  }

  private sortRecords(): void {
    const prims = this.prims ?? [];
    const key = this.o.sort;
    const rows = this.records;
    if (key === 'key') {
      rows.sort((a, b) => {
        for (const p of prims) {
          const x = a.values[p],
            y = b.values[p];
          if (x === y) continue;
          if (typeof x === 'number' && typeof y === 'number') return x - y;
          return String(x ?? '') < String(y ?? '') ? -1 : 1;
        }
        return 0;
      });
    } else rows.sort((a, b) => compareCounters(b[key], a[key]));
  }

  private recordsTable(): string {
    this.prune();
    const prims = this.prims ?? [];
    const key = this.o.sort;
    const rows = this.records;
    const n = rows.length;
    const u = this.o.units;
    const out = [
      `<h2>Top ${n} of ${this.recordCount} records by ${key === 'key' ? 'key' : key}</h2>`,
      '<table>',
      '<thead><tr>',
    ];
    out.push(
      prims.map((p) => `<th>${escapeHtml(p)}</th>`).join('') +
        '<th class="n">packets</th><th class="n">bytes</th><th class="n">flows</th><th class="n">%</th><th></th></tr></thead><tbody>',
    );
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      out.push(
        '<tr>' +
          prims.map((p) => `<td>${escapeHtml(valueText(p, r.values[p]))}</td>`).join('') +
          numCell(r.packets, humanCount(r.packets, u)) +
          numCell(r.bytes, humanBytes(r.bytes, u)) +
          numCell(r.flows, humanCount(r.flows, u)) +
          shareCell(r.bytes, this.totals.bytes) +
          '</tr>',
      );
    }
    out.push('</tbody>');
    const span = Math.max(prims.length, 1);
    if (this.rest.rows > 0) {
      const sum = { p: this.rest.packets, b: this.rest.bytes, f: this.rest.flows };
      out.push(
        `<tfoot><tr><td colspan="${span}">${this.rest.rows} more</td>${numCell(sum.p, humanCount(sum.p, u))}${numCell(sum.b, humanBytes(sum.b, u))}${numCell(sum.f, humanCount(sum.f, u))}${shareCell(sum.b, this.totals.bytes)}</tr></tfoot>`,
      );
    }
    out.push('</table>');
    return out.join('\n');
  }

  private tallyTable(type: FlowToolsReportType, tally: KeyTally): string {
    const sortField: FtSortField = this.o.sort === 'bytes' ? 'octets' : this.o.sort;
    const list = sortTallies([...tally.entries.values()], sortField);
    const n = Math.min(this.o.top, list.length);
    const u = this.o.units;
    const heads = type.keys.map(
      (k) =>
        (
          ({
            src_host: 'source address',
            dst_host: 'destination address',
            dst_port: 'destination port',
            proto: 'protocol',
            peer_src_ip: 'exporter',
          }) as Record<string, string>
        )[k] ?? k,
    );
    const out = [`<h2>Top ${n} of ${list.length}: ${escapeHtml(heads.join(' / '))}</h2>`, '<table>'];
    out.push(
      '<thead><tr>' +
        heads.map((h) => `<th>${escapeHtml(h)}</th>`).join('') +
        '<th class="n">flows</th><th class="n">packets</th><th class="n">bytes</th><th class="n">%</th><th></th></tr></thead><tbody>',
    );
    for (let i = 0; i < n; i++) {
      const e = list[i]!;
      out.push(
        '<tr>' +
          e.key.map((k, j) => `<td>${escapeHtml(valueText(type.keys[j]!, k))}</td>`).join('') +
          numCell(e.flows, humanCount(e.flows, u)) +
          numCell(e.packets, humanCount(e.packets, u)) +
          numCell(e.octets, humanBytes(e.octets, u)) +
          shareCell(e.octets, tally.total.octets) +
          '</tr>',
      );
    }
    out.push('</tbody></table>');
    if (type.tcpUdpOnly) out.push('<p class="note">TCP and UDP flows only.</p>');
    return out.join('\n');
  }

  /** Top subscribers with bytes in and out side by side, and in/out over time when binned. */
  private subscriberSection(): string {
    const u = this.o.units;
    const v = this.subscribers;
    const rows = v.top(this.o.top);
    const out = [`<h2>Subscribers: top ${rows.length} of ${v.count} by in + out</h2>`, '<table>'];
    out.push(
      '<thead><tr><th>subscriber</th><th class="n">in</th><th class="n">out</th><th class="n">in + out</th><th class="n">%</th><th></th></tr></thead><tbody>',
    );
    for (const r of rows) {
      out.push(
        `<tr><td>${escapeHtml(r.subscriber)}</td>${numCell(r.in, humanBytes(r.in, u))}${numCell(r.out, humanBytes(r.out, u))}${numCell(r.in + r.out, humanBytes(r.in + r.out, u))}${shareCell(r.in + r.out, this.totals.bytes)}</tr>`,
      );
    }
    out.push('</tbody></table>');
    const s = v.series();
    if (s) {
      out.push('<h2>Subscribers in and out over time</h2>');
      out.push(
        `<div class="panel">\n${chart(
          s.step,
          [
            { name: 'in', cls: 'in', attr: 'data-bytes-in', bins: s.in },
            { name: 'out', cls: 'out', attr: 'data-bytes-out', bins: s.out },
          ],
          u,
        )}\n</div>`,
      );
    } else
      out.push(
        '<p class="note">No time chart per direction: the aggregates are not in time bins (flow-aggregate --interval).</p>',
      );
    return out.join('\n');
  }

  render(): string {
    const t = this.totals;
    const u = this.o.units;
    const period = t.first === 0 ? 'no timed records' : `${utc(t.first)} – ${utc(t.last)}`;
    const traffic = this.bins.series(); // before the step is read: drawing may coarsen it
    const out: string[] = [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<meta name="generator" content="flowmeter flow-report">',
      `<title>${escapeHtml(`${this.o.title}: ${period}`)}</title>`,
      `<style>\n${CSS}\n</style>`,
      '</head>',
      '<body>',
      '<main>',
      `<h1>${escapeHtml(this.o.title)}</h1>`,
      `<p class="sub">${escapeHtml(period)}${this.o.subtitle ? ` · ${escapeHtml(this.o.subtitle)}` : ''}</p>`,
      '<div class="cards">',
      `<div class="card"><span>bytes</span><b title="${t.bytes}">${escapeHtml(humanBytes(t.bytes, u))}</b></div>`,
      `<div class="card"><span>packets</span><b title="${t.packets}">${escapeHtml(humanCount(t.packets, u))}</b></div>`,
      `<div class="card"><span>flows</span><b title="${t.flows}">${escapeHtml(humanCount(t.flows, u))}</b></div>`,
      `<div class="card"><span>records</span><b>${t.rows}</b></div>`,
      '</div>',
      '<h2>Traffic over time</h2>',
      `<div class="panel">\n${chart(this.bins.step, [{ name: 'traffic', cls: 'bar', attr: 'data-bytes', bins: traffic }], u)}\n</div>`,
    ];
    if (this.subscribers.shown) out.push(this.subscriberSection());
    if (this.bins.unknown > 0)
      out.push(
        `<p class="note">${escapeHtml(humanBytes(this.bins.unknown, u))} in records without a time are not in the chart.</p>`,
      );
    if (this.records.length > 0) out.push(this.recordsTable());
    for (const x of this.tallies) if (x.seen > 0) out.push(this.tallyTable(x.type, x.tally));
    out.push('</main>', '</body>', '</html>');
    return out.join('\n');
  }
}
