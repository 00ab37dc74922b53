// The flow-aggregate pipeline: read flow (or aggregate) NDJSON from files/stdin once, feed every
// aggregation, then write each one's sorted results (NDJSON or CSV) to stdout or an atomic file.

import type { Readable, Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../format/csv.js';
import { readRecords, type LineScanner, type NdjsonInputIO, type RejectLine } from '../cli/ndjson-input.js';
import type { InputFormat } from '../flow/dialects.js';
import { AtomicFile, commitAll } from '../cli/io.js';
import { BatchWriter } from '../cli/writer.js';
import { ByteBatch, type ChunkWriter } from '../format/bytes.js';
import { FlowmeterError } from '../errors.js';
import type { Log } from '../cli/log.js';
import { withReadProgress } from '../cli/progress.js';
import { FieldError } from '../flow/record.js';
import type { NetworkTable } from '../networks/file.js';
import { FlowView } from './view.js';
import { WasmFlowLineScanner } from './scan-wasm.js';
import { aggregateLineWriter, MAX_AGGREGATE_BYTES } from './aggregate-json.js';
import { runParallel } from './parallel.js';
import {
  Aggregator,
  type AggregatorStats,
  type AggregationSpec,
  type PreparedAggregate,
  type SortOrder,
} from './aggregator.js';
import { aggregateCsvHeader, aggregateCsvRow } from './aggregate-csv.js';

export interface AggregationConfig {
  spec: AggregationSpec;
  /** '-' = stdout. */
  output: string;
  /** The filter expressions spec.filters were compiled from (worker threads compile their own). */
  filterSources?: readonly string[];
}

export interface AggregateRunConfig {
  inputs: readonly string[];
  aggregations: readonly AggregationConfig[];
  networks?: NetworkTable;
  format: 'ndjson' | 'csv';
  sort: SortOrder;
  strict: boolean;
  /** The dialect of the input (`auto`: told per line). */
  inputFormat?: InputFormat;
  /** Threads that scan and account (1 = this thread alone; see parallel.ts). */
  jobs?: number;
}

export interface AggregateIO {
  stdin: Readable;
  stdout: Writable;
  log: Log;
  /** Set to stop reading early (SIGINT); what was read is still written. */
  signal?: AbortSignal;
}

export interface AggregateSummary {
  lines: number;
  flows: number;
  aggregates: number;
  rejected: number;
  interrupted: boolean;
  aggregators: AggregationOutcome[];
}

/** What the summary tells of one aggregation. */
export interface AggregationOutcome {
  readonly name: string;
  readonly size: number;
  readonly stats: AggregatorStats;
}

/** The counts of a read (AggregateSummary's first four). */
export interface ReadCounts {
  lines: number;
  flows: number;
  aggregates: number;
  rejected: number;
}

export async function runAggregate(cfg: AggregateRunConfig, io: AggregateIO): Promise<AggregateSummary> {
  if ((cfg.jobs ?? 1) > 1) return runParallel(cfg, io);
  const aggs = cfg.aggregations.map((a) => new Aggregator({ ...a.spec, networks: cfg.networks }));
  const summary: AggregateSummary = {
    lines: 0,
    flows: 0,
    aggregates: 0,
    rejected: 0,
    interrupted: false,
    aggregators: aggs,
  };
  const inputs = inputsOf(cfg);
  // the aggregates are written after the read: the progress line never meets them
  await withReadProgress(io.log, inputs, false, (progress) =>
    accountInput(cfg, aggs, { ...io, progress }, summary, rejecter(cfg, io.log, summary)),
  );
  summary.interrupted = io.signal?.aborted === true;
  await writeOutputs(cfg, (k, f) => writeResults(aggs[k]!, f, cfg, io.stdout));
  return summary;
}

export function inputsOf(cfg: AggregateRunConfig): readonly string[] {
  return cfg.inputs.length === 0 ? ['-'] : cfg.inputs;
}

/** A rejected line: counted, then fatal with --strict, else logged. */
export function rejecter(cfg: AggregateRunConfig, log: Log, counts: ReadCounts): RejectLine {
  return (place, reason, message) => {
    counts.rejected++;
    if (cfg.strict) throw new FlowmeterError('data', `${place}: ${message}`);
    log.reject(reason, `${place}: ${message}`, place);
  };
}

/** Every input line into the aggregations. */
export async function accountInput(
  cfg: AggregateRunConfig,
  aggs: readonly Aggregator[],
  io: NdjsonInputIO,
  counts: ReadCounts,
  reject: RejectLine,
): Promise<void> {
  const anyFilter = aggs.some((_, i) => (cfg.aggregations[i]!.spec.filters?.length ?? 0) > 0);
  const view = new FlowView(cfg.networks);
  const prepared: PreparedAggregate[] = new Array(aggs.length);

  // Flow lines go straight from bytes into the view (scan-wasm.ts, then scan.ts); any other line,
  // and any line the scanners do not fully understand, takes the JSON.parse path below.
  const scanner = new WasmFlowLineScanner(view);
  const fast: LineScanner = {
    chunkBuffers: scanner.chunkBuffers,
    scan(buf, start, end) {
      const nl = scanner.scan(buf, start, end);
      if (nl >= 0) {
        for (let k = 0; k < aggs.length; k++) aggs[k]!.addView(view);
        counts.flows++;
      }
      return nl;
    },
  };

  await readRecords(
    inputsOf(cfg),
    io,
    counts,
    reject,
    cfg.inputFormat ?? 'auto',
    (rec) => {
      if (rec.kind === 'aggregate') {
        if (anyFilter) {
          throw new FieldError(
            'flows',
            'a flow record: filters apply to flows, not to aggregate records (merge without -f)',
            rec.obj.flows,
          );
        }
        for (let k = 0; k < aggs.length; k++) prepared[k] = aggs[k]!.prepare(rec.obj);
        for (let k = 0; k < aggs.length; k++) aggs[k]!.commit(prepared[k]!);
        counts.aggregates++;
      } else {
        view.set(rec.flow);
        for (let k = 0; k < aggs.length; k++) aggs[k]!.addView(view);
        counts.flows++;
      }
    },
    undefined,
    fast,
  );
}

/** Each aggregation's results through `write` (k: its index; f: its uncommitted file, or none
 *  for stdout). Every output file is written before any is renamed into place, so that a failed
 *  run replaces none of them (a billing run's ab and ba belong together); commitAll publishes
 *  them as one. */
export async function writeOutputs(
  cfg: AggregateRunConfig,
  write: (k: number, f: AtomicFile | undefined) => Promise<void>,
): Promise<void> {
  const files: AtomicFile[] = [];
  try {
    for (let k = 0; k < cfg.aggregations.length; k++) {
      const output = cfg.aggregations[k]!.output;
      const f = output === '-' ? undefined : await AtomicFile.create(output);
      if (f) files.push(f);
      await write(k, f);
    }
    await commitAll(files);
  } catch (e) {
    await Promise.all(files.map((f) => f.abort()));
    throw e;
  }
}

/** One aggregation's sorted results to its (uncommitted) file, or stdout. */
async function writeResults(
  agg: Aggregator,
  f: AtomicFile | undefined,
  cfg: AggregateRunConfig,
  stdout: Writable,
): Promise<void> {
  const order = agg.order(cfg.sort);
  if (cfg.format === 'ndjson') await writeNdjson(agg, order, f ? (chunk) => f.write(chunk) : stdout);
  else await writeCsv(agg, order, f, stdout);
}

async function writeNdjson(agg: Aggregator, order: ArrayLike<number>, out: Writable | ChunkWriter): Promise<void> {
  // a file's next 64 KiB are formatted while the last ones are written (the write is a thread-pool
  // round trip the main thread otherwise waits out)
  const batch = new ByteBatch(out, 65536, true, typeof out === 'function');
  const write = aggregateLineWriter(agg);
  for (let i = 0; i < order.length; i++) {
    const off = batch.reserve(MAX_AGGREGATE_BYTES);
    if (batch.advance(write(batch.view, off, order[i]!))) await batch.flush();
  }
  await batch.end();
}

async function writeCsv(
  agg: Aggregator,
  order: ArrayLike<number>,
  f: AtomicFile | undefined,
  stdout: Writable,
): Promise<void> {
  const prims = agg.primitives;
  const rec = agg.newRecord();
  const chunks = function* (): Generator<string> {
    yield stringify([aggregateCsvHeader(prims)], CSV_OPTIONS);
    for (let i = 0; i < order.length; i += 1000) {
      const rows = [];
      for (let j = i; j < Math.min(order.length, i + 1000); j++)
        rows.push(aggregateCsvRow(prims, agg.fill(order[j]!, rec)));
      yield stringify(rows, CSV_OPTIONS);
    }
  };
  if (f) {
    for (const c of chunks()) await f.write(c);
    return;
  }
  const w = new BatchWriter(stdout);
  for (const c of chunks()) if (w.add(c)) await w.flush();
  await w.end();
}
