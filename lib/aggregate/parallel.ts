// flow-aggregate --jobs N: N worker threads (worker.ts) share the scanning and accounting.
//
// Partitioning: by key. The main thread reads the input into a ring of shared buffers and every
// worker reads every chunk; each scans every line, but keeps only the keys that hash to it
// (Aggregator's `part`), so the workers hold disjoint key sets. Chosen over splitting the input
// by chunks because with chunks every worker ends up holding nearly every key of a billing run
// (the keys of ab/ba are spread over the whole input): memory would grow by the whole key set
// per worker (--jobs 2 needs ≤ 1.3× the memory of one thread), and the tables would have to be
// merged after. Split by key, nothing is merged but the sorted output, no key is held twice, and
// line numbers, rejects and stats are those of one thread (each worker sees every line; worker
// 0 tells the rejects). What is shared: the key hash tables and counters (memory and cache
// misses, the larger part of a line's cost at ~1 M keys); what every worker repeats: scanning
// and the networks lookups that make the key.
//
// Output: each worker sorts its own aggregates (Aggregator.order) and sends them formatted, in
// batches, with what they sort by (Aggregator.sortRow); the main thread merges the N sorted runs,
// which gives exactly the order of one thread (keys are distinct, the order is total).
//
// A worker that fails or ends early fails the run (exit 70, or the worker's own FlowmeterError status)
// before anything is written.

import { Worker } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../format/csv.js';
import { FlowmeterError, type ErrorKind } from '../errors.js';
import { INPUT_CHUNK, openInputChunks, type AtomicFile, type ChunkSource } from '../cli/io.js';
import { waitDrain } from '../cli/writer.js';
import { withReadProgress } from '../cli/progress.js';
import { MAX_SAFE } from '../flow/counter.js';
import { aggregateCsvHeader } from './aggregate-csv.js';
import { canonicalOrder } from './primitives.js';
import {
  inputsOf,
  writeOutputs,
  type AggregateIO,
  type AggregateRunConfig,
  type AggregateSummary,
  type AggregationOutcome,
  type ReadCounts,
} from './run.js';

/** Bytes per slot of the shared ring the main thread reads into. */
export const RING_CHUNK = INPUT_CHUNK;
/** Slots in the ring: how far the reading may run ahead of the slowest worker. */
const RING_SLOTS = 8;
/** A worker's young generation (MB): a thread allocates little but typed arrays (kept outside
 *  it), and V8's default semi-spaces made -j 2 take ~15 MB more peak RSS on the bench run (the
 *  target is ≤ 1.3× that of -j 1), with no difference in CPU seen. */
const WORKER_YOUNG_MB = 8;
/** Output bytes per write. */
const OUT_BYTES = 1 << 16;

export interface WorkerData {
  /** The run's configuration without what does not cross threads (the networks table, filter
   *  functions: the worker makes its own from networksPath and filterSources). */
  cfg: AggregateRunConfig;
  index: number;
  count: number;
  ring: SharedArrayBuffer;
}

export type ToWorker =
  | { t: 'open'; name: string }
  | { t: 'chunk'; slot: number; len: number }
  | { t: 'eof' }
  /** No more input: reading was interrupted (SIGINT). */
  | { t: 'end' }
  /** `reuse`: a batch's buffers given back, to be filled again (no fresh memory per batch). */
  | { t: 'rows'; agg: number; reuse?: RowBuffers | undefined };

export interface RowBuffers {
  bytes: ArrayBuffer;
  ends: Uint32Array<ArrayBuffer>;
  sort: Float64Array<ArrayBuffer>;
}

export interface RowBatch extends RowBuffers {
  t: 'rows';
  agg: number;
  rows: number;
  /** The rows' bytes; row r ends at ends[r] (and starts where row r - 1 ends). */
  bytes: ArrayBuffer;
  ends: Uint32Array<ArrayBuffer>;
  /** Row r's sortRow doubles at [r·width, (r+1)·width). */
  sort: Float64Array<ArrayBuffer>;
  width: number;
  /** Rows whose sum (--sort bytes/packets) is past 2^53 - 1: [row, exact sum]. */
  wide: Array<[number, string]>;
  done: boolean;
}

export type FromWorker =
  | { t: 'release'; slot: number }
  | { t: 'reject'; place: string; reason: string; message: string }
  | { t: 'read'; counts: ReadCounts; interrupted: boolean; aggregations: AggregationOutcome[] }
  | RowBatch
  | { t: 'error'; message: string; kind: ErrorKind | undefined };

/** One worker thread as the main thread sees it. */
class Job {
  readonly worker: Worker;
  read: Promise<Extract<FromWorker, { t: 'read' }>>;
  private onRead!: (m: Extract<FromWorker, { t: 'read' }>) => void;
  private onRows: ((b: RowBatch) => void) | undefined;

  constructor(
    readonly index: number,
    data: WorkerData,
    handlers: {
      release(slot: number): void;
      reject(m: Extract<FromWorker, { t: 'reject' }>): void;
      fail(e: Error): void;
      finished(): boolean;
    },
  ) {
    this.read = new Promise((r) => (this.onRead = r));
    this.worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    this.worker.on('message', (m: FromWorker) => {
      if (m.t === 'release') handlers.release(m.slot);
      else if (m.t === 'reject') handlers.reject(m);
      else if (m.t === 'read') this.onRead(m);
      else if (m.t === 'rows') this.onRows?.(m);
      else handlers.fail(m.kind === undefined ? new Error(m.message) : new FlowmeterError(m.kind, m.message));
    });
    this.worker.on('error', (e) =>
      handlers.fail(new FlowmeterError('software', `worker thread ${index} failed: ${e.message}; nothing written`)),
    );
    this.worker.on('exit', (code) => {
      if (!handlers.finished())
        handlers.fail(
          new FlowmeterError(
            'software',
            `worker thread ${index} ended (exit code ${code}) before its part was done; nothing written`,
          ),
        );
    });
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** Ask for the next batch of aggregation k's rows (into `reuse`, a batch done with). */
  rows(k: number, reuse?: RowBuffers): Promise<RowBatch> {
    const p = new Promise<RowBatch>((r) => (this.onRows = r));
    const m: ToWorker = {
      t: 'rows',
      agg: k,
      reuse: reuse && { bytes: reuse.bytes, ends: reuse.ends, sort: reuse.sort },
    };
    this.worker.postMessage(m, reuse ? [reuse.bytes, reuse.ends.buffer, reuse.sort.buffer] : []);
    return p;
  }
}

export async function runParallel(cfg: AggregateRunConfig, io: AggregateIO): Promise<AggregateSummary> {
  const n = cfg.jobs!;
  const sab = new SharedArrayBuffer(RING_SLOTS * RING_CHUNK);
  const ring = Buffer.from(sab);
  /** Workers yet to give each slot back. */
  const pending = new Int32Array(RING_SLOTS);
  let slotFreed: (() => void) | undefined;
  let failure: Error | undefined;
  let failed!: (e: Error) => void;
  const failedP = new Promise<never>((_, rej) => (failed = rej));
  failedP.catch(() => undefined);
  let finished = false;
  let reading: ChunkSource | undefined;
  const handlers = {
    release(slot: number): void {
      if (--pending[slot]! === 0 && slotFreed) {
        const f = slotFreed;
        slotFreed = undefined;
        f();
      }
    },
    reject(m: Extract<FromWorker, { t: 'reject' }>): void {
      io.log.reject(m.reason, `${m.place}: ${m.message}`, m.place);
    },
    fail(e: Error): void {
      if (failure !== undefined || finished) return;
      failure = e;
      reading?.destroy(); // a read waiting on a pipe ends now
      failed(e);
    },
    finished: () => finished,
  };
  /** p, or the first failure of a worker. */
  const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failedP]);

  const jobs: Job[] = [];
  try {
    for (let i = 0; i < n; i++)
      jobs.push(new Job(i, { cfg: forWorkers(cfg), index: i, count: n, ring: sab }, handlers));
    const broadcast = (m: ToWorker): void => jobs.forEach((j) => j.send(m));
    let slot = RING_SLOTS - 1;
    const nextSlot = async (): Promise<number> => {
      slot = (slot + 1) % RING_SLOTS;
      while (pending[slot] !== 0) await until(new Promise<void>((r) => (slotFreed = r)));
      return slot;
    };

    const inputs = inputsOf(cfg);
    await withReadProgress(io.log, inputs, false, async (progress) => {
      for (const path of inputs) {
        if (io.signal?.aborted) break;
        const src = await openInputChunks(path, io.stdin);
        reading = src;
        const onAbort = (): void => src.destroy();
        io.signal?.addEventListener('abort', onAbort, { once: true });
        broadcast({ t: 'open', name: src.name });
        try {
          for await (const raw of src.chunks) {
            const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : raw;
            progress.add(chunk.length);
            for (let at = 0; at < chunk.length; at += RING_CHUNK) {
              const s = await nextSlot();
              const len = chunk.copy(ring, s * RING_CHUNK, at, Math.min(chunk.length, at + RING_CHUNK));
              pending[s] = n;
              broadcast({ t: 'chunk', slot: s, len });
            }
            if (io.signal?.aborted) break;
          }
        } catch (e) {
          if (failure !== undefined) throw failure;
          if (!io.signal?.aborted)
            throw e instanceof FlowmeterError
              ? e
              : new FlowmeterError('io', `${src.name}: read error: ${(e as Error).message}`);
        } finally {
          io.signal?.removeEventListener('abort', onAbort);
          reading = undefined;
        }
        if (failure !== undefined) throw failure;
        if (io.signal?.aborted) break;
        broadcast({ t: 'eof' });
      }
    });
    if (io.signal?.aborted) broadcast({ t: 'end' });

    const done = await until(Promise.all(jobs.map((j) => j.read)));
    const first = done[0]!;
    const summary: AggregateSummary = {
      ...first.counts,
      interrupted: io.signal?.aborted === true,
      aggregators: first.aggregations.map((a, k) => ({
        ...a,
        size: done.reduce((s, d) => s + d.aggregations[k]!.size, 0),
      })),
    };
    await writeOutputs(cfg, (k, f) => until(writeMerged(cfg, k, jobs, f, io.stdout, until)));
    finished = true;
    return summary;
  } finally {
    finished = true;
    await Promise.all(jobs.map((j) => j.worker.terminate()));
  }
}

/** The configuration as it crosses to the workers. */
function forWorkers(cfg: AggregateRunConfig): AggregateRunConfig {
  return {
    ...cfg,
    networks: undefined,
    aggregations: cfg.aggregations.map((a) => {
      if ((a.spec.filters?.length ?? 0) !== (a.filterSources?.length ?? 0))
        throw new Error(`aggregation ${a.spec.name}: filters without their sources cannot go to worker threads`);
      return { ...a, spec: { ...a.spec, filters: undefined, networks: undefined } };
    }),
  };
}

/** A worker's sorted run of one aggregation's rows, batch by batch (the next one asked for as
 *  soon as one arrives, into the buffers of the one before: two sets of buffers go back and
 *  forth, so the output takes no more memory however many aggregates there are). */
class Run {
  batch!: RowBatch;
  bytes!: Buffer;
  wide = new Map<number, bigint>();
  at = 0;
  private next: Promise<RowBatch> | undefined;

  constructor(
    private readonly job: Job,
    private readonly k: number,
  ) {}

  /** Load the next batch; false when the run is over. */
  async advance(until: <T>(p: Promise<T>) => Promise<T>): Promise<boolean> {
    for (;;) {
      if (this.batch?.done) return false;
      const spent = this.batch;
      this.batch = await until(this.next ?? this.job.rows(this.k));
      this.next = this.batch.done ? undefined : this.job.rows(this.k, spent);
      this.bytes = Buffer.from(this.batch.bytes);
      this.wide = new Map(this.batch.wide.map(([r, s]) => [r, BigInt(s)]));
      this.at = 0;
      if (this.batch.rows > 0) return true;
    }
  }

  start(): number {
    return this.at === 0 ? 0 : this.batch.ends[this.at - 1]!;
  }
}

/** Aggregation k's rows from every worker, merged into one thread's order, to f or stdout. */
async function writeMerged(
  cfg: AggregateRunConfig,
  k: number,
  jobs: readonly Job[],
  f: AtomicFile | undefined,
  stdout: Writable,
  until: <T>(p: Promise<T>) => Promise<T>,
): Promise<void> {
  const spec = cfg.aggregations[k]!.spec;
  const sumAt = cfg.sort === 'key' ? -1 : (spec.interval ?? 0) > 0 ? 1 : 0;
  const write = async (chunk: Buffer): Promise<void> => {
    if (f) await f.write(chunk);
    else if (!stdout.write(chunk)) await until(waitDrain(stdout));
  };
  let out = Buffer.allocUnsafe(OUT_BYTES);
  let used = 0;
  if (cfg.format === 'csv')
    used = out.write(stringify([aggregateCsvHeader(canonicalOrder(spec.primitives))], CSV_OPTIONS));

  const live: Run[] = [];
  for (const j of jobs) {
    const r = new Run(j, k);
    if (await r.advance(until)) live.push(r);
  }
  while (live.length > 0) {
    let best = 0;
    for (let r = 1; r < live.length; r++) if (compareRows(live[r]!, live[best]!, sumAt) < 0) best = r;
    const run = live[best]!;
    const from = run.start();
    const to = run.batch.ends[run.at]!;
    if (used + to - from > OUT_BYTES) {
      await write(out.subarray(0, used));
      out = Buffer.allocUnsafe(OUT_BYTES);
      used = 0;
    }
    used += run.bytes.copy(out, used, from, to);
    if (++run.at === run.batch.rows && !(await run.advance(until))) live.splice(best, 1);
  }
  if (used > 0) await write(out.subarray(0, used));
}

/** The order of the current rows of two runs, as Aggregator.order would have them: the sortRow
 *  doubles in turn, the sum (at sumAt) largest first and exactly past 2^53 - 1. */
function compareRows(a: Run, b: Run, sumAt: number): number {
  const x = a.batch.sort;
  const y = b.batch.sort;
  const width = a.batch.width;
  const oa = a.at * width;
  const ob = b.at * width;
  for (let j = 0; j < width; j++) {
    const u = x[oa + j]!;
    const v = y[ob + j]!;
    if (j === sumAt) {
      if (u > MAX_SAFE && v > MAX_SAFE) {
        const eu = a.wide.get(a.at)!;
        const ev = b.wide.get(b.at)!;
        if (eu !== ev) return eu > ev ? -1 : 1;
      } else if (u !== v) return v - u;
    } else if (u !== v) return u - v;
  }
  return 0;
}
