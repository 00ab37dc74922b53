// One worker thread of flow-aggregate --jobs (parallel.ts): reads the chunks the main thread
// read (every chunk, so that line numbers, rejects and stats are those of one thread), scans and
// accounts every line into aggregations that keep only this thread's part of the keys, then
// hands its sorted aggregates over, formatted, a batch at a time, for the main thread to merge.

import { parentPort, workerData } from 'node:worker_threads';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../format/csv.js';
import { FlowmeterError } from '../errors.js';
import type { ChunkSource } from '../cli/io.js';
import { compileFilter } from '../filter/filter.js';
import { loadNetworksFile } from '../networks/file.js';
import { Aggregator } from './aggregator.js';
import { aggregateCsvRow } from './aggregate-csv.js';
import { aggregateLineWriter, MAX_AGGREGATE_BYTES } from './aggregate-json.js';
import { accountInput, type AggregateRunConfig, type ReadCounts } from './run.js';
import { RING_CHUNK, type FromWorker, type RowBuffers, type ToWorker, type WorkerData } from './parallel.js';

const port = parentPort!;
const data = workerData as WorkerData;
const ring = Buffer.from(data.ring);

/** Messages from the main thread, taken in order. */
const inbox: ToWorker[] = [];
let waiting: ((m: ToWorker) => void) | undefined;
/** The reader gave up the input being sent (a line too long: the rest of the file is skipped):
 *  its chunks are given back unread until its end. */
let skipping = false;
port.on('message', (m: ToWorker) => {
  if (m.t === 'rows') return void sendRows(m.agg, m.reuse);
  if (skipping && skip(m)) return;
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(m);
  } else inbox.push(m);
});
/** While skipping: true when m was the skipped input's (a chunk, given back, or its end). */
function skip(m: ToWorker): boolean {
  if (m.t === 'chunk') post({ t: 'release', slot: m.slot });
  else if (m.t === 'eof') skipping = false;
  else {
    skipping = false;
    return false;
  }
  return true;
}
const next = (): Promise<ToWorker> =>
  inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((r) => (waiting = r));
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

// Input stops early (SIGINT) only where the main thread stopped: every chunk before is read.
const stop = new AbortController();

/** The next input, as the main thread opened it. */
async function open(): Promise<ChunkSource> {
  const m = await next();
  if (m.t === 'open') return { name: m.name, chunks: chunks(), destroy: () => undefined };
  if (m.t === 'end') stop.abort();
  return { name: '', chunks: (async function* () {})(), destroy: () => undefined };
}

/** One input's chunks, views of the ring. A slot is given back once the chunk after next is
 *  asked for: the reader may still hold the end of the last one (a line cut at the boundary). */
async function* chunks(): AsyncGenerator<Buffer> {
  const held: number[] = [];
  let over = false;
  try {
    for (;;) {
      const m = await next();
      if (m.t === 'end') stop.abort();
      over = m.t !== 'chunk';
      if (m.t !== 'chunk') return;
      while (held.length > 1) post({ t: 'release', slot: held.shift()! });
      held.push(m.slot);
      yield ring.subarray(m.slot * RING_CHUNK, m.slot * RING_CHUNK + m.len);
    }
  } finally {
    for (const slot of held) post({ t: 'release', slot });
    if (!over) {
      skipping = true;
      while (skipping && inbox.length > 0 && skip(inbox[0]!)) inbox.shift();
    }
  }
}

const wire = data.cfg;
const networks = wire.networksPath ? await loadNetworksFile(wire.networksPath) : undefined;
const cfg: AggregateRunConfig = {
  ...wire,
  networks,
  aggregations: wire.aggregations.map((a) => ({
    ...a,
    spec: { ...a.spec, filters: (a.filterSources ?? []).map((f) => compileFilter(f).test) },
  })),
};
const aggs = cfg.aggregations.map(
  (a) => new Aggregator({ ...a.spec, networks, part: { index: data.index, count: data.count } }),
);

try {
  const counts: ReadCounts = { lines: 0, flows: 0, aggregates: 0, rejected: 0 };
  // every thread meets the same bad lines: the first alone tells them
  await accountInput(
    cfg,
    aggs,
    { stdin: undefined as never, signal: stop.signal, open },
    counts,
    (place, reason, message) => {
      counts.rejected++;
      if (cfg.strict) throw new FlowmeterError('data', `${place}: ${message}`);
      if (data.index === 0) post({ t: 'reject', place, reason, message });
    },
  );
  post({
    t: 'read',
    counts,
    interrupted: stop.signal.aborted,
    aggregations: aggs.map((a) => ({ name: a.name, size: a.size, stats: a.stats })),
  });
} catch (e) {
  post({ t: 'error', message: (e as Error).message, kind: e instanceof FlowmeterError ? e.kind : undefined });
}

/** Rows of an aggregation not yet sent, in its order. */
const cursors = new Map<number, { order: ArrayLike<number>; at: number }>();
const BATCH_BYTES = 1 << 18;
const BATCH_ROWS = 2048;

/** The next batch of aggregation k's rows, formatted, with what they sort by, in `reuse` (the
 *  buffers of a batch the main thread is done with) when given. */
function sendRows(k: number, reuse: RowBuffers | undefined): void {
  const agg = aggs[k]!;
  let cur = cursors.get(k);
  if (cur === undefined) cursors.set(k, (cur = { order: agg.order(cfg.sort), at: 0 }));
  const width = agg.sortWidth(cfg.sort);
  const bytes = reuse?.bytes ?? new ArrayBuffer(BATCH_BYTES);
  const dv = new DataView(bytes);
  const buf = Buffer.from(bytes);
  const ends = reuse?.ends ?? new Uint32Array(BATCH_ROWS);
  const sort = reuse && reuse.sort.length >= BATCH_ROWS * width ? reuse.sort : new Float64Array(BATCH_ROWS * width);
  const wide: Array<[number, string]> = [];
  const line = cfg.format === 'ndjson' ? aggregateLineWriter(agg) : undefined;
  const rec = agg.newRecord();
  let off = 0;
  let n = 0;
  for (; n < BATCH_ROWS && cur.at < cur.order.length && off + MAX_AGGREGATE_BYTES <= BATCH_BYTES; n++) {
    const i = cur.order[cur.at++]!;
    off = line
      ? line(dv, off, i)
      : off + buf.write(stringify([aggregateCsvRow(agg.primitives, agg.fill(i, rec))], CSV_OPTIONS), off);
    ends[n] = off;
    agg.sortRow(i, cfg.sort, sort, n * width);
    const exact = agg.exactSum(i, cfg.sort);
    if (exact !== undefined) wide.push([n, exact.toString()]);
  }
  post({ t: 'rows', agg: k, rows: n, bytes, ends, sort, width, wide, done: cur.at === cur.order.length }, [
    bytes,
    ends.buffer,
    sort.buffer,
  ]);
}
