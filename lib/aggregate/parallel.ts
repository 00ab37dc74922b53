// flow-aggregate --jobs N: N worker threads (worker.ts) share the scanning and accounting.
//
// Partitioning: the input by pieces, the keys by hash. The main thread reads the input into a
// ring of shared slots, cuts it into pieces of whole lines (the partial last line of a slot is
// carried to the start of the next) and gives each piece to one worker (the one with the fewest
// pieces in hand). A worker scans and accounts the lines of its pieces alone; of the keys they
// make it keeps those of its own part (Aggregator's `part`, a hash of the key) and sends what it
// accounts to any other key to that key's worker as an exchange record (exchange.ts), which
// adds it between its pieces. So the scan, the networks lookups and the key hash, 45-58 % of a
// line's cost, are done once, and no key is held twice (memory: --jobs 2 must stay within 1.3x
// that of one thread, and the tables need no merge after). Adding is a sum, a min, a max and an
// OR, so the records added in any order give exactly what one thread gives. Splitting by key
// alone (every worker scanning every line) would repeat about half of a line's cost per worker.
// What the workers cost: a fixed start-up (~40 MB and a few tenths of a second for two) and the
// exchange (about half of the keys' updates travel as records and are hashed twice). The main
// thread's reading, merging and writing stay serial (figures in bench/README.md, issue 20).
//
// Line numbers, rejects and counts: a worker tells, per piece, its line count and its rejected
// lines (by line within the piece); the main thread takes the pieces in input order and prints
// the rejects with their line in the file, as one thread prints them (and --strict fails at the
// first of them). Counts and aggregation stats are the sums over the workers.
//
// A JSON array written over many lines (nfdump -o json) is one object over many lines: a file
// that starts with one goes whole to one worker, in order; one that starts in the middle of a
// file and is still open at the end of its piece fails the run (read such input with --jobs 1).
//
// Output: each worker sorts its own aggregates (Aggregator.order) and sends them formatted, in
// batches, with what they sort by (Aggregator.sortRow); the main thread merges the N sorted runs,
// which gives exactly the order of one thread (keys are distinct, the order is total).
//
// A worker that fails or ends early fails the run (exit 70, or the worker's own FlowmeterError status)
// before anything is written.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../format/csv.js';
import { FlowmeterError, type ErrorKind } from '../errors.js';
import { INPUT_CHUNK, openInputChunks, type AtomicFile, type ChunkSource } from '../cli/io.js';
import { LineTooLongError } from '../cli/lines.js';
import { MAX_LINE } from '../cli/ndjson-input.js';
import { ByteBatch } from '../format/bytes.js';
import { withReadProgress, type ReadProgress } from '../cli/progress.js';
import { MAX_SAFE } from '../flow/counter.js';
import { aggregateCsvHeader } from './aggregate-csv.js';
import { canonicalOrder } from './primitives.js';
import type { AggregatorStats } from './aggregator.js';
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
/** Slots in the ring: how far the reading may run ahead of the workers. */
const RING_SLOTS = 8;
/** A worker's young generation (MB): a thread allocates little but typed arrays (kept outside
 *  it); larger semi-spaces only add to peak RSS (the target is ≤ 1.3× that of -j 1: 8 MB gave
 *  1.28-1.32×, 4 MB 1.22-1.28× on the bench run), with no difference in time seen. */
const WORKER_YOUNG_MB = 4;
/** Output bytes per write. */
const OUT_BYTES = 1 << 16;

export interface WorkerData {
  /** The run's configuration without what does not cross threads (filter functions: the worker
   *  compiles its own from filterSources; the networks table crosses as data, see
   *  NetworkTable.revive). */
  cfg: AggregateRunConfig;
  index: number;
  count: number;
  ring: SharedArrayBuffer;
  /** peers[i]: the port to worker i (null at this worker's own index). */
  peers: Array<MessagePort | null>;
}

/** A rejected line of a piece: its line within the piece, the reason, the message. */
export type PieceReject = [line: number, reason: string, message: string];

export type ToWorker =
  /** A piece of input `seq` of the file `name`: `len` bytes in ring slot `slot` (or `data`, a
   *  line longer than a slot); with `more`, slots follow as chunks until the next non-chunk. */
  | { t: 'piece'; seq: number; name: string; slot: number; len: number; more: boolean; data?: Uint8Array }
  | { t: 'chunk'; slot: number; len: number }
  | { t: 'pend' }
  /** No more input. */
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

/** A piece read: its lines, its rejected lines, and where an array starts that is open at its
 *  end (see the header); `slot` is given back with it (-1: its slots went back one by one). */
export interface PieceDone {
  t: 'done';
  seq: number;
  slot: number;
  lines: number;
  rejects: PieceReject[];
  unclosed: number | undefined;
}

export type FromWorker =
  | { t: 'release'; slot: number }
  | PieceDone
  | { t: 'read'; counts: ReadCounts; aggregations: AggregationOutcome[] }
  | RowBatch
  | { t: 'error'; message: string; kind: ErrorKind | undefined };

/** One worker thread as the main thread sees it. */
class Job {
  readonly worker: Worker;
  read: Promise<Extract<FromWorker, { t: 'read' }>>;
  /** Pieces given and not yet read. */
  inHand = 0;
  /** Pieces given. */
  given = 0;
  private onRead!: (m: Extract<FromWorker, { t: 'read' }>) => void;
  private onRows: ((b: RowBatch) => void) | undefined;

  constructor(
    readonly index: number,
    data: WorkerData,
    handlers: {
      release(slot: number): void;
      done(m: PieceDone): void;
      fail(e: Error): void;
      finished(): boolean;
    },
  ) {
    this.read = new Promise((r) => (this.onRead = r));
    this.worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: data,
      transferList: data.peers.filter((p) => p !== null),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    this.worker.on('message', (m: FromWorker) => {
      if (m.t === 'release') handlers.release(m.slot);
      else if (m.t === 'done') {
        this.inHand--;
        handlers.done(m);
      } else if (m.t === 'read') this.onRead(m);
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

/** Ports between every two of n workers: ports[i][j] is worker i's port to worker j. */
function peerPorts(n: number): Array<Array<MessagePort | null>> {
  const ports = Array.from({ length: n }, () => new Array<MessagePort | null>(n).fill(null));
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const { port1, port2 } = new MessageChannel();
      ports[i]![j] = port1;
      ports[j]![i] = port2;
    }
  return ports;
}

/** The pieces' reports taken in input order: rejects printed (or, with --strict, the first
 *  one fatal) with their line in the file, as one thread tells them. */
class InputOrder {
  private next = 0;
  /** Lines of the current file before the next piece. */
  private base = 0;
  private readonly names = new Map<number, { name: string; first: boolean }>();
  private readonly reports = new Map<number, PieceDone>();
  /** The pieces that are a line longer than MAX_LINE (their message tells the line). */
  private readonly long = new Set<number>();

  constructor(
    private readonly cfg: AggregateRunConfig,
    private readonly io: AggregateIO,
    private readonly fail: (e: Error) => void,
  ) {}

  /** Piece seq is of file `name` (`first`: its first piece). */
  given(seq: number, name: string, first: boolean): void {
    this.names.set(seq, { name, first });
  }

  /** Piece seq is a line longer than MAX_LINE: rejected, the rest of its file skipped. */
  tooLong(seq: number): void {
    this.long.add(seq);
    this.done({ t: 'done', seq, slot: -1, lines: 1, rejects: [[1, 'line too long', '']], unclosed: undefined });
  }

  done(m: PieceDone): void {
    this.reports.set(m.seq, m);
    for (let r = this.reports.get(this.next); r !== undefined; r = this.reports.get(this.next)) {
      this.reports.delete(this.next);
      this.take(r, this.names.get(this.next)!);
      this.names.delete(this.next++);
    }
  }

  private take(r: PieceDone, piece: { name: string; first: boolean }): void {
    if (piece.first) this.base = 0;
    const at = (line: number): string => `${piece.name}:${this.base + line}`;
    if (r.unclosed !== undefined)
      return this.fail(
        new FlowmeterError(
          'data',
          `${at(r.unclosed)}: a JSON array over many lines, in the middle of a file, runs on past a piece of ` +
            'input: flow-aggregate --jobs reads those only at the start of a file; read this input with --jobs 1',
        ),
      );
    const long = this.long.delete(r.seq);
    for (const [line, reason, said] of r.rejects) {
      const place = at(line);
      const message = long
        ? `${new LineTooLongError(this.base + line, MAX_LINE).message}; rest of ${piece.name} skipped`
        : said;
      if (this.cfg.strict) return this.fail(new FlowmeterError('data', `${place}: ${message}`));
      this.io.log.reject(reason, `${place}: ${message}`, place);
    }
    this.base += r.lines;
  }
}

export async function runParallel(cfg: AggregateRunConfig, io: AggregateIO): Promise<AggregateSummary> {
  const n = cfg.jobs!;
  const sab = new SharedArrayBuffer(RING_SLOTS * RING_CHUNK);
  const ring = Buffer.from(sab);
  const free = Array.from({ length: RING_SLOTS }, (_, i) => RING_SLOTS - 1 - i);
  let slotFreed: (() => void) | undefined;
  let failure: Error | undefined;
  let failed!: (e: Error) => void;
  const failedP = new Promise<never>((_, rej) => (failed = rej));
  failedP.catch(() => undefined);
  let finished = false;
  let reading: ChunkSource | undefined;
  const fail = (e: Error): void => {
    if (failure !== undefined || finished) return;
    failure = e;
    reading?.destroy(); // a read waiting on a pipe ends now
    failed(e);
  };
  const order = new InputOrder(cfg, io, fail);
  const handlers = {
    release(slot: number): void {
      free.push(slot);
      const f = slotFreed;
      slotFreed = undefined;
      f?.();
    },
    done(m: PieceDone): void {
      if (m.slot >= 0) handlers.release(m.slot);
      order.done(m);
    },
    fail,
    finished: () => finished,
  };
  /** p, or the first failure of a worker. */
  const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failedP]);

  const jobs: Job[] = [];
  try {
    const ports = peerPorts(n);
    for (let i = 0; i < n; i++)
      jobs.push(new Job(i, { cfg: forWorkers(cfg), index: i, count: n, ring: sab, peers: ports[i]! }, handlers));
    const slots: Slots = {
      ring,
      async take(): Promise<number> {
        while (free.length === 0) await until(new Promise<void>((r) => (slotFreed = r)));
        return free.pop()!;
      },
      give: (slot) => void free.push(slot),
    };
    const counts: ReadCounts = { lines: 0, flows: 0, aggregates: 0, rejected: 0 };
    const pieces = new PieceCutter(slots, jobs, order, counts);

    const inputs = inputsOf(cfg);
    await withReadProgress(io.log, inputs, false, async (progress) => {
      for (const path of inputs) {
        if (io.signal?.aborted) break;
        const src = await openInputChunks(path, io.stdin);
        reading = src;
        const onAbort = (): void => src.destroy();
        io.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await pieces.file(src, progress, () => io.signal?.aborted === true || failure !== undefined);
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
      }
    });
    jobs.forEach((j) => j.send({ t: 'end' }));

    const done = await until(Promise.all(jobs.map((j) => j.read)));
    if (failure !== undefined) throw failure;
    for (const d of done) addCounts(counts, d.counts);
    jobs.forEach((j, i) => io.log.debug(`worker thread ${i}: ${j.given} pieces, ${done[i]!.counts.lines} lines`));
    const summary: AggregateSummary = {
      ...counts,
      interrupted: io.signal?.aborted === true,
      aggregators: done[0]!.aggregations.map((a, k) => ({
        name: a.name,
        size: done.reduce((s, d) => s + d.aggregations[k]!.size, 0),
        stats: done.reduce((s, d) => addCounts(s, d.aggregations[k]!.stats), zeroStats()),
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

function zeroStats(): AggregatorStats {
  return { flows: 0, aggregates: 0, filtered: 0, renormalized: 0, unknownSamplingRate: 0, notProRated: 0 };
}

/** Add every count of `b` to `a`; returns a. */
function addCounts<T extends object>(a: T, b: T): T {
  const x = a as Record<string, number>;
  for (const [k, v] of Object.entries(b)) x[k] = (x[k] ?? 0) + (v as number);
  return a;
}

/** The ring's free slots. */
interface Slots {
  ring: Buffer;
  /** A free slot (waits for one). */
  take(): Promise<number>;
  /** A slot taken and not used. */
  give(slot: number): void;
}

const BLANK = new Set([32, 9, 13, 10]);

/** Cuts each input into pieces of whole lines in ring slots and gives each to a worker. */
class PieceCutter {
  private seq = 0;

  constructor(
    private readonly slots: Slots,
    private readonly jobs: readonly Job[],
    private readonly order: InputOrder,
    private readonly counts: ReadCounts,
  ) {}

  /** The worker with the fewest pieces in hand. */
  private idlest(): Job {
    let best = this.jobs[0]!;
    for (const j of this.jobs) if (j.inHand < best.inHand) best = j;
    return best;
  }

  private give(
    job: Job,
    name: string,
    first: boolean,
    m: Omit<Extract<ToWorker, { t: 'piece' }>, 't' | 'seq' | 'name'>,
  ): void {
    const seq = this.seq++;
    this.order.given(seq, name, first);
    job.inHand++;
    job.given++;
    job.send({ t: 'piece', seq, name, ...m });
  }

  /** One input, piece by piece, until its end or `stop()`. */
  async file(src: ChunkSource, progress: ReadProgress, stop: () => boolean): Promise<void> {
    const { ring } = this.slots;
    const name = src.name;
    let first = true;
    let slot = await this.slots.take();
    let fill = 0;
    /** A line longer than a slot, being gathered. */
    let long: Buffer[] | undefined;
    let longBytes = 0;
    /** Whether a non-blank byte was seen (a file that starts with '[' goes whole to one worker). */
    let started = false;
    let stream: Job | undefined;
    const send = (job: Job, m: Omit<Extract<ToWorker, { t: 'piece' }>, 't' | 'seq' | 'name'>): void => {
      this.give(job, name, first, m);
      first = false;
    };
    /** The whole lines of the slot as a piece, the rest carried to a fresh slot. */
    const cut = async (): Promise<void> => {
      const at = slot * RING_CHUNK;
      const nl = ring.lastIndexOf(10, at + fill - 1);
      if (nl < at) {
        long = [Buffer.from(ring.subarray(at, at + fill))];
        longBytes = fill;
        fill = 0;
        return;
      }
      const to = await this.slots.take();
      const len = nl + 1 - at;
      ring.copy(ring, to * RING_CHUNK, nl + 1, at + fill);
      send(this.idlest(), { slot, len, more: false });
      fill -= len;
      slot = to;
    };
    /** The long line ends here (or its input does): a piece of its own, or the rest of the file
     *  skipped when it is longer than MAX_LINE, as one thread does (readNdjsonObjects). */
    const endLong = (nl: boolean): boolean => {
      const line = Buffer.concat(long!);
      long = undefined;
      const text = nl ? line.length - (line.length > 1 && line[line.length - 2] === 13 ? 2 : 1) : line.length;
      if (text <= MAX_LINE) {
        send(this.idlest(), { slot: -1, len: line.length, more: false, data: line });
        return true;
      }
      this.tooLong(name, first);
      return false;
    };
    try {
      for await (const raw of src.chunks) {
        const c: Buffer = typeof raw === 'string' ? Buffer.from(raw) : raw;
        progress.add(c.length);
        let at = 0;
        if (!started && stream === undefined) {
          while (at < c.length && BLANK.has(c[at]!)) at++;
          started = at < c.length;
          if (started && c[at] === 91 && long === undefined) {
            stream = this.idlest();
            send(stream, { slot, len: fill, more: true });
          }
          at = 0;
        }
        if (stream !== undefined) {
          await this.streamOn(stream, c);
          if (stop()) break;
          continue;
        }
        while (at < c.length) {
          if (long !== undefined) {
            const nl = c.indexOf(10, at);
            const end = nl < 0 ? c.length : nl + 1;
            long.push(Buffer.from(c.subarray(at, end)));
            longBytes += end - at;
            at = end;
            if (nl >= 0 && !endLong(true)) return;
            if (nl < 0 && longBytes > MAX_LINE) return this.tooLong(name, first);
            continue;
          }
          const len = Math.min(RING_CHUNK - fill, c.length - at);
          c.copy(ring, slot * RING_CHUNK + fill, at, at + len);
          fill += len;
          at += len;
          if (fill === RING_CHUNK) await cut();
        }
        if (stop()) break;
      }
      if (long !== undefined && !stop()) endLong(false);
    } finally {
      // stopped (SIGINT): the whole lines read are read, as with one thread
      const len = stop() ? ring.lastIndexOf(10, slot * RING_CHUNK + fill - 1) + 1 - slot * RING_CHUNK : fill;
      if (stream !== undefined) stream.send({ t: 'pend' });
      else if (len > 0) send(this.idlest(), { slot, len, more: false });
      else this.slots.give(slot);
    }
  }

  /** A chunk of an input that goes whole to one worker: into slots, in order. */
  private async streamOn(job: Job, c: Buffer): Promise<void> {
    for (let at = 0; at < c.length; at += RING_CHUNK) {
      const slot = await this.slots.take();
      const len = c.copy(this.slots.ring, slot * RING_CHUNK, at, Math.min(c.length, at + RING_CHUNK));
      job.send({ t: 'chunk', slot, len });
    }
  }

  /** A line longer than MAX_LINE: rejected, the rest of its file skipped (readNdjsonObjects). */
  private tooLong(name: string, first: boolean): void {
    const seq = this.seq++;
    this.order.given(seq, name, first);
    this.counts.lines++;
    this.counts.rejected++;
    this.order.tooLong(seq);
  }
}

/** The configuration as it crosses to the workers. */
function forWorkers(cfg: AggregateRunConfig): AggregateRunConfig {
  return {
    ...cfg,
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
  // as one thread writes (run.ts writeNdjson): a file's next 64 KiB are merged while the last
  // ones are written, where waiting for each write left the merge idle
  const out = f ? (chunk: Buffer): Promise<void> => f.write(chunk) : stdout;
  const batch = new ByteBatch(out, OUT_BYTES, true, typeof out === 'function');
  if (cfg.format === 'csv') batch.add(stringify([aggregateCsvHeader(canonicalOrder(spec.primitives))], CSV_OPTIONS));

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
    const at = batch.reserve(to - from);
    if (batch.advance(at + run.bytes.copy(batch.buffer, at, from, to))) await until(batch.flush());
    if (++run.at === run.batch.rows && !(await run.advance(until))) live.splice(best, 1);
  }
  await until(batch.end());
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
