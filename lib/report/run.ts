// The flow-report pipeline: read flow or aggregate NDJSON once (files or stdin), optionally
// aggregate it with flow-aggregate's Aggregator (-a, networks file, filters), select a time
// window, and render one format to stdout, an atomic file, or (Hydra) agg-ab/agg-ba files.

import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { AtomicFile, commitAll } from '../cli/io.js';
import { readRecords, rejectLine } from '../cli/ndjson-input.js';
import type { InputFormat } from '../flow/dialects.js';
import { BatchWriter } from '../cli/writer.js';
import { CsvBatch, csvLine } from '../format/csv.js';
import { aggregateCsvHeader } from '../aggregate/aggregate-csv.js';
import { FlowmeterError } from '../errors.js';
import type { Log } from '../cli/log.js';
import { withReadProgress } from '../cli/progress.js';
import type { FlowRecord } from '../flow/record.js';
import { PROTO_JSON, etypeName } from '../flow/proto.js';
import { Aggregator, type AggregationSpec } from '../aggregate/aggregator.js';
import { FlowView } from '../aggregate/view.js';
import type { NetworkTable } from '../networks/file.js';
import { primitivesOf, rowFromAggregate, rowFromFlow, rowOfAggregate, type Row } from './record.js';
import type { PmacctPrimitive } from '../aggregate/primitives.js';
import { HcdTableFormatter, PmacctFormatter, isEmptyEntry, type PmacctOptions } from './pmacct.js';
import { HydraError, hydraLine, type Direction, type HydraOptions } from './hydra.js';
import { FLOW_TOOLS_REPORTS, KeyTally, Summary, flowToolsLines, type FtSortField } from './flowtools.js';
import { textTable, totalsOf, valueText, type Units } from './text.js';
import { addCounters, compareCounters, type Counter } from '../flow/counter.js';
import { BinOverflowError, HtmlReport } from './html.js';

export const FORMATS = [
  'text',
  'pmacct',
  'pmacct-csv',
  'pmacct-json',
  'hcd-table',
  'hydra',
  'flow-tools',
  'csv',
  'ndjson',
  'html',
] as const;
export type ReportFormat = (typeof FORMATS)[number];
export type SortKey = 'bytes' | 'packets' | 'flows' | 'key' | 'none';

export interface ReportConfig {
  inputs: readonly string[];
  format: ReportFormat;
  strict: boolean;
  /** The dialect of the input (`auto`: told per line). */
  inputFormat?: InputFormat;
  /** -a: aggregate flows (and re-aggregate aggregates) with flow-aggregate's library. */
  aggregation?: AggregationSpec;
  networks?: NetworkTable;
  sort: SortKey;
  top?: number;
  /** Unix seconds: keep rows whose start is in [since, until). */
  since?: number;
  until?: number;
  output: string; // '-' = stdout
  /** flows: print the FLOWS column (pmacct does when `flows` is aggregated). */
  pmacct: { numericProtocols: boolean; separator: string; flows: boolean };
  hydra: HydraOptions & { split?: string; name: string };
  flowTools: { report: string; percent: boolean; sort: FtSortField };
  text: { units: Units; bars: boolean; barWidth: number; chalk: ChalkInstance };
  /** --format html: page title, chart bin (seconds; default automatic), what was read. */
  html?: { title: string; interval?: number; subtitle?: string };
}

export interface ReportIO {
  stdin: Readable;
  stdout: Writable;
  log: Log;
  signal?: AbortSignal;
}

export interface ReportSummary {
  lines: number;
  flows: number;
  aggregates: number;
  rejected: number;
  rows: number;
  bytesIn: Counter;
  bytesOut: Counter;
  interrupted: boolean;
}

/** Lines to stdout (batched, backpressure) or to an atomic file (committed only by commit()). */
class LineOut {
  private w: BatchWriter | undefined;
  private file: AtomicFile | undefined;
  private buf = '';
  private constructor() {}

  static async open(path: string, stdout: Writable): Promise<LineOut> {
    const o = new LineOut();
    if (path === '-') o.w = new BatchWriter(stdout);
    else o.file = await AtomicFile.create(path);
    return o;
  }

  /** True when the caller should await flush(). */
  line(s: string): boolean {
    return this.text(s + '\n');
  }

  /** Whole lines, each ending in '\n'; true when the caller should await flush(). */
  text(s: string): boolean {
    if (this.w) return this.w.add(s);
    this.buf += s;
    return this.buf.length >= 65536;
  }

  async flush(): Promise<void> {
    if (this.w) return this.w.flush();
    if (this.buf !== '') {
      const b = this.buf;
      this.buf = '';
      await this.file!.write(b);
    }
  }

  async commit(): Promise<void> {
    await this.flush();
    if (this.w) await this.w.end();
    else await this.file!.commit();
  }

  async abort(): Promise<void> {
    this.buf = '';
    await this.file?.abort();
  }

  /** Commit several outputs as one (commitAll): all files replaced or none. */
  static async commitAll(outs: readonly LineOut[]): Promise<void> {
    for (const o of outs) await o.flush();
    for (const o of outs) await o.w?.end();
    await commitAll(outs.flatMap((o) => (o.file ? [o.file] : [])));
  }
}

/** A format: takes rows, writes lines. */
interface Sink {
  add(r: Row): boolean;
  flush(): Promise<void>;
  end(): Promise<void>;
  abort(): Promise<void>;
}

function rowToJson(prims: readonly PmacctPrimitive[], r: Row): string {
  let s = '{';
  for (const p of prims) {
    const v = r.values[p];
    if (v === undefined) continue;
    const j =
      p === 'proto'
        ? PROTO_JSON[v as number]!
        : p === 'etype'
          ? etypeName(v as number)
            ? `"${etypeName(v as number)}"`
            : String(v)
          : typeof v === 'number'
            ? String(v)
            : JSON.stringify(v);
    s += `"${p}":${j},`;
  }
  return `${s}"packets":${r.packets},"bytes":${r.bytes},"flows":${r.flows},"time_start":${r.time_start},"time_end":${r.time_end}}`;
}

function compareRows(sort: SortKey, prims: readonly PmacctPrimitive[]): ((a: Row, b: Row) => number) | undefined {
  if (sort === 'none') return undefined;
  const byKey = (a: Row, b: Row): number => {
    for (const p of prims) {
      const x = a.values[p],
        y = b.values[p];
      if (x === y) continue;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x ?? '') < String(y ?? '') ? -1 : 1;
    }
    return a.time_start - b.time_start;
  };
  if (sort === 'key') return byKey;
  return (a, b) => compareCounters(b[sort], a[sort]) || byKey(a, b);
}

/** How LinesSink renders rows: a line each, or (csv) cells each, stringified a batch at a time. */
type RowRender = {
  header?: string;
  trailer?: (n: number) => string;
} & ({ row: (r: Row) => string | undefined } | { cells: (r: Row) => unknown[] });

/** Rows go out one per line (pmacct tables, csv, ndjson, Hydra); buffered only to sort/top. */
class LinesSink implements Sink {
  private prims: PmacctPrimitive[] | undefined;
  private held: Row[] | undefined;
  private count = 0;
  private r: RowRender | undefined;
  private csv: CsvBatch | undefined;
  constructor(
    private readonly cfg: ReportConfig,
    private readonly out: LineOut,
    private readonly render: (prims: readonly PmacctPrimitive[]) => RowRender,
    fixed: readonly PmacctPrimitive[] | undefined,
  ) {
    this.prims = fixed ? [...fixed] : undefined;
    if (cfg.sort !== 'none' || cfg.top !== undefined) this.held = [];
  }

  private start(first: Row | undefined): RowRender {
    if (this.r) return this.r;
    this.prims ??= first ? primitivesOf(first) : [];
    this.r = this.render(this.prims);
    if ('cells' in this.r) this.csv = new CsvBatch();
    if (this.r.header !== undefined) this.out.line(this.r.header);
    return this.r;
  }

  add(row: Row): boolean {
    if (this.held) {
      this.held.push(row);
      return false;
    }
    const r = this.start(row);
    if ('cells' in r) {
      this.count++;
      return this.csv!.add(r.cells(row)) && this.out.text(this.csv!.take());
    }
    const s = r.row(row);
    if (s === undefined) return false;
    this.count++;
    return this.out.line(s);
  }

  flush(): Promise<void> {
    if (this.csv) this.out.text(this.csv.take());
    return this.out.flush();
  }

  async end(): Promise<void> {
    if (this.held) {
      const rows = this.held;
      this.held = undefined;
      this.start(rows[0]);
      const cmp = compareRows(this.cfg.sort, this.prims!);
      if (cmp) rows.sort(cmp);
      const n = this.cfg.top === undefined ? rows.length : Math.min(this.cfg.top, rows.length);
      for (let i = 0; i < n; i++) if (this.add(rows[i]!)) await this.out.flush();
    }
    const r = this.start(undefined);
    if (this.csv) this.out.text(this.csv.take());
    if (r.trailer) this.out.line(r.trailer(this.count));
    await this.out.commit();
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** Hydra billing CSV: lines to one output, or split into agg-ab / agg-ba files in a directory. */
class HydraSink implements Sink {
  bytesOut: Counter = 0;
  constructor(
    private readonly cfg: ReportConfig,
    private readonly outs: Record<Direction, LineOut>,
    private readonly onReject: (row: Row, message: string) => void,
  ) {}

  add(row: Row): boolean {
    let l;
    try {
      l = hydraLine(row, this.cfg.hydra);
    } catch (e) {
      if (!(e instanceof HydraError)) throw e;
      this.onReject(row, e.message);
      return false;
    }
    if (!l) return false;
    this.bytesOut = addCounters(this.bytesOut, l.bytes);
    return this.outs[l.direction].line(l.text);
  }

  async flush(): Promise<void> {
    await this.outs.ab.flush();
    if (this.outs.ba !== this.outs.ab) await this.outs.ba.flush();
  }

  async end(): Promise<void> {
    await LineOut.commitAll(this.outs.ba === this.outs.ab ? [this.outs.ab] : [this.outs.ab, this.outs.ba]);
  }

  async abort(): Promise<void> {
    await this.outs.ab.abort();
    if (this.outs.ba !== this.outs.ab) await this.outs.ba.abort();
  }
}

/** Formats that need every row first (flow-tools tallies, the text table). */
class TallySink implements Sink {
  private readonly tally: KeyTally | undefined;
  private readonly summary: Summary | undefined;
  private rows: Row[] = [];
  private prims: PmacctPrimitive[] | undefined;
  constructor(
    private readonly cfg: ReportConfig,
    private readonly out: LineOut,
    fixed: readonly PmacctPrimitive[] | undefined,
  ) {
    this.prims = fixed ? [...fixed] : undefined;
    if (cfg.format === 'flow-tools') {
      if (cfg.flowTools.report === 'summary') this.summary = new Summary();
      else {
        const type = FLOW_TOOLS_REPORTS.find((t) => t.name === cfg.flowTools.report);
        if (!type) throw new FlowmeterError('usage', `unknown flow-tools report "${cfg.flowTools.report}"`);
        this.tally = new KeyTally(type);
      }
    }
  }

  add(r: Row): boolean {
    if (this.summary) this.summary.add(r);
    else if (this.tally) this.tally.add(r);
    else {
      this.prims ??= primitivesOf(r);
      this.rows.push(r);
    }
    return false;
  }

  async flush(): Promise<void> {}

  async end(): Promise<void> {
    let lines: string[];
    if (this.summary) lines = this.summary.lines();
    else if (this.tally)
      lines = flowToolsLines(this.tally.type, this.tally, {
        sort: this.cfg.flowTools.sort,
        top: this.cfg.top,
        percent: this.cfg.flowTools.percent,
      });
    else lines = this.textLines();
    for (const l of lines) if (this.out.line(l)) await this.out.flush();
    await this.out.commit();
  }

  private textLines(): string[] {
    const prims = this.prims ?? [];
    const cmp = compareRows(this.cfg.sort === 'none' ? 'bytes' : this.cfg.sort, prims)!;
    this.rows.sort(cmp);
    const shown = this.cfg.top === undefined ? this.rows : this.rows.slice(0, this.cfg.top);
    const rest = this.cfg.top === undefined ? [] : this.rows.slice(this.cfg.top);
    return textTable(shown, {
      primitives: prims,
      ...this.cfg.text,
      total: totalsOf(this.rows),
      others: rest.length > 0 ? totalsOf(rest) : undefined,
    });
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** The HTML page: everything is tallied, the page is written at the end. */
class HtmlSink implements Sink {
  private readonly page: HtmlReport;
  constructor(
    cfg: ReportConfig,
    private readonly out: LineOut,
    fixed: readonly PmacctPrimitive[] | undefined,
  ) {
    const h = cfg.html ?? { title: 'Traffic report' };
    this.page = new HtmlReport(
      {
        title: h.title,
        interval: h.interval,
        subtitle: h.subtitle,
        top: cfg.top ?? 10,
        units: cfg.text.units,
        sort: cfg.sort === 'none' ? 'bytes' : cfg.sort,
      },
      fixed,
    );
  }

  add(r: Row): boolean {
    try {
      this.page.add(r);
    } catch (e) {
      if (e instanceof BinOverflowError) throw new FlowmeterError('usage', e.message);
      throw e;
    }
    return false;
  }

  async flush(): Promise<void> {}

  async end(): Promise<void> {
    this.out.line(this.page.render());
    await this.out.commit();
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

async function makeSink(
  cfg: ReportConfig,
  io: ReportIO,
  fixed: readonly PmacctPrimitive[] | undefined,
  onReject: (row: Row, message: string) => void,
): Promise<Sink> {
  const f = cfg.format;
  if (f === 'hydra') {
    if (cfg.hydra.split !== undefined) {
      const ab = await LineOut.open(join(cfg.hydra.split, `${cfg.hydra.name}-ab`), io.stdout);
      let ba;
      try {
        ba = await LineOut.open(join(cfg.hydra.split, `${cfg.hydra.name}-ba`), io.stdout);
      } catch (e) {
        await ab.abort();
        throw e;
      }
      return new HydraSink(cfg, { ab, ba }, onReject);
    }
    const one = await LineOut.open(cfg.output, io.stdout);
    return new HydraSink(cfg, { ab: one, ba: one }, onReject);
  }
  const out = await LineOut.open(cfg.output, io.stdout);
  if (f === 'flow-tools' || f === 'text') return new TallySink(cfg, out, fixed);
  if (f === 'html') return new HtmlSink(cfg, out, fixed);
  const p = cfg.pmacct;
  switch (f) {
    case 'pmacct':
      return new LinesSink(
        cfg,
        out,
        (prims) => {
          const fm = pmacctFormatter({ primitives: prims, flows: p.flows, numericProtocols: p.numericProtocols });
          return {
            header: fm.header(),
            row: (r) => (isEmptyEntry(r, prims) ? undefined : fm.row(r)),
            trailer: (n) => fm.trailer(n),
          };
        },
        fixed,
      );
    case 'pmacct-csv':
      return new LinesSink(
        cfg,
        out,
        (prims) => {
          const fm = pmacctFormatter({
            primitives: prims,
            flows: p.flows,
            numericProtocols: p.numericProtocols,
            separator: p.separator,
          });
          return { header: fm.csvHeader(), row: (r) => (isEmptyEntry(r, prims) ? undefined : fm.csvRow(r)) };
        },
        fixed,
      );
    case 'pmacct-json':
      return new LinesSink(
        cfg,
        out,
        (prims) => {
          const fm = pmacctFormatter({ primitives: prims, flows: p.flows, numericProtocols: p.numericProtocols });
          return { row: (r) => (isEmptyEntry(r, prims) ? undefined : fm.jsonRow(r)) };
        },
        fixed,
      );
    case 'hcd-table':
      return new LinesSink(
        cfg,
        out,
        (prims) => {
          const fm = asUsageError(() => new HcdTableFormatter(prims));
          return { header: fm.header(), row: (r) => fm.row(r), trailer: (n) => fm.trailer(n) };
        },
        fixed,
      );
    case 'csv':
      return new LinesSink(
        cfg,
        out,
        (prims) => ({
          header: csvLine(aggregateCsvHeader(prims)),
          cells: (r) => [
            ...prims.map((pr) => valueText(pr, r.values[pr]).replace(/^-$/, '')),
            r.packets,
            r.bytes,
            r.flows,
            r.time_start,
            r.time_end,
          ],
        }),
        fixed,
      );
    default:
      return new LinesSink(cfg, out, (prims) => ({ row: (r) => rowToJson(prims, r) }), fixed);
  }
}

function flowSeconds(f: FlowRecord): number {
  return Math.floor((f.time_flow_start_ns || f.time_received_ns) / 1e9);
}

export async function runReport(cfg: ReportConfig, io: ReportIO): Promise<ReportSummary> {
  const { log } = io;
  const s: ReportSummary = {
    lines: 0,
    flows: 0,
    aggregates: 0,
    rejected: 0,
    rows: 0,
    bytesIn: 0,
    bytesOut: 0,
    interrupted: false,
  };
  const agg = cfg.aggregation ? new Aggregator({ ...cfg.aggregation, networks: cfg.networks }) : undefined;
  const view = agg ? new FlowView(cfg.networks) : undefined;
  const fixed = agg?.primitives;
  const inputs = cfg.inputs.length === 0 ? ['-'] : cfg.inputs;

  const reject = rejectLine(log, s, cfg.strict);
  const rowPlace = new WeakMap<Row, string>();
  const sink = await makeSink(cfg, io, fixed, (row, message) =>
    reject(rowPlace.get(row) ?? 'aggregate', 'not billable', message),
  );
  const inWindow = (t: number): boolean =>
    (cfg.since === undefined || t >= cfg.since) && (cfg.until === undefined || t < cfg.until);

  const emit = (row: Row): boolean => {
    s.rows++;
    s.bytesIn = addCounters(s.bytesIn, row.bytes);
    return sink.add(row);
  };

  // rows of an unaggregated report may reach a terminal while it reads: no progress line then
  const dataOnTerminal = !agg && cfg.output === '-' && (io.stdout as { isTTY?: boolean }).isTTY === true;
  try {
    await withReadProgress(log, inputs, dataOnTerminal, (progress) =>
      readRecords(
        inputs,
        { ...io, progress },
        s,
        reject,
        cfg.inputFormat ?? 'auto',
        (rec, file, line) => {
          if (rec.kind === 'aggregate') {
            const row = rowFromAggregate(rec.obj);
            s.aggregates++;
            if (!inWindow(row.time_start)) return false;
            if (agg) agg.commit(agg.prepare(rec.obj));
            else {
              rowPlace.set(row, `${file}:${line}`);
              return emit(row);
            }
          } else {
            const f = rec.flow;
            s.flows++;
            if (!inWindow(flowSeconds(f))) return false;
            if (agg) agg.addFlow(f, view!.set(f));
            else {
              const row = rowFromFlow(f);
              rowPlace.set(row, `${file}:${line}`);
              return emit(row);
            }
          }
          return false;
        },
        () => sink.flush(),
      ),
    );
    s.interrupted = io.signal?.aborted === true;

    if (agg) {
      for (const rec of agg.results('key')) {
        const row = rowOfAggregate(agg.primitives, rec);
        if (emit(row)) await sink.flush();
      }
    }

    if (cfg.format === 'hydra') {
      const hs = sink as HydraSink;
      s.bytesOut = hs.bytesOut;
      // Billing must never lose or invent bytes: refuse to commit files that do not add up.
      if (s.rejected > 0 && cfg.hydra.split !== undefined) {
        await sink.abort();
        throw new FlowmeterError(
          'data',
          `${s.rejected} records could not be billed; ${cfg.hydra.name}-ab/${cfg.hydra.name}-ba not written`,
        );
      }
      if (s.rejected === 0 && s.bytesOut !== s.bytesIn) {
        await sink.abort();
        throw new FlowmeterError(
          'software',
          `billing total ${s.bytesOut} bytes differs from the input total ${s.bytesIn} bytes (this is a bug)`,
        );
      }
    }
    await sink.end();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return s;
}

export { valueText };

/** A table formatter for these primitives; one it cannot print them with is the user's choice of
 *  format for this input: a usage error. */
function asUsageError<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new FlowmeterError('usage', (e as Error).message);
  }
}

const pmacctFormatter = (o: PmacctOptions): PmacctFormatter => asUsageError(() => new PmacctFormatter(o));
