// One worker thread of flow-aggregate --jobs (parallel.ts): scans and accounts the pieces of input
// the main thread gives it (whole lines, in the shared ring), keeps the keys of its own part and
// sends the others to their workers (exchange.ts), adds what the other workers send it, tells the
// main thread each piece's line count and rejected lines (which the main thread prints in input
// order), then hands its sorted aggregates over, formatted, a batch at a time, for the main
// thread to merge.

import { parentPort, workerData } from 'node:worker_threads';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../format/csv.js';
import type { ChunkSource } from '../cli/io.js';
import { UNCLOSED_ARRAY } from '../cli/ndjson-input.js';
import { compileFilter } from '../filter/filter.js';
import { NetworkTable } from '../networks/file.js';
import { Aggregator } from './aggregator.js';
import { aggregateCsvRow } from './aggregate-csv.js';
import { aggregateLineWriter, MAX_AGGREGATE_BYTES } from './aggregate-json.js';
import { KeyExchange } from './exchange.js';
import { FlowmeterError } from '../errors.js';
import { accountInput, type AggregateRunConfig, type ReadCounts } from './run.js';
import {
  RING_CHUNK,
  type FromWorker,
  type PieceReject,
  type RowBuffers,
  type ToWorker,
  type WorkerData,
} from './parallel.js';

const port = parentPort!;
const data = workerData as WorkerData;
const ring = Buffer.from(data.ring);

/** Messages from the main thread, taken in order. */
const inbox: ToWorker[] = [];
let waiting: ((m: ToWorker) => void) | undefined;
port.on('message', (m: ToWorker) => {
  if (m.t === 'rows') return void sendRows(m.agg, m.reuse);
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(m);
  } else inbox.push(m);
});
const next = (): Promise<ToWorker> =>
  inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((r) => (waiting = r));
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const wire = data.cfg;
const networks = wire.networks && NetworkTable.revive(wire.networks);
const cfg: AggregateRunConfig = {
  ...wire,
  networks,
  aggregations: wire.aggregations.map((a) => ({
    ...a,
    spec: { ...a.spec, filters: (a.filterSources ?? []).map((f) => compileFilter(f).test) },
  })),
};
const exchange: KeyExchange = new KeyExchange(data.peers, (k, rec, at, exact): number =>
  aggs[k]!.addExchanged(rec, at, exact),
);
const aggs: Aggregator[] = cfg.aggregations.map(
  (a, k) =>
    new Aggregator({
      ...a.spec,
      networks,
      part: { index: data.index, count: data.count, outbox: exchange.outbox(k) },
    }),
);

const counts: ReadCounts = { lines: 0, flows: 0, aggregates: 0, rejected: 0 };
/** The rejected lines of the piece being read (line numbers within it). */
let rejects: PieceReject[] = [];
/** The line of the piece being read where a JSON array starts that is still open at its end. */
let unclosed: number | undefined;

/** The pieces of input as the main thread gives them, each one an input of its own for
 *  readNdjsonObjects (line numbers from 1); when one is read, its count and rejects go back. */
async function* pieces(): AsyncGenerator<ChunkSource> {
  for (;;) {
    // the records other workers sent are added between pieces
    await new Promise<void>((r) => setImmediate(r));
    await exchange.throttle();
    const m = await next();
    if (m.t !== 'piece') return;
    const before = counts.lines;
    rejects = [];
    unclosed = undefined;
    yield { name: m.name, chunks: pieceChunks(m), destroy: () => undefined };
    post({
      t: 'done',
      seq: m.seq,
      slot: m.more ? -1 : m.slot,
      lines: counts.lines - before,
      rejects,
      unclosed: m.more ? undefined : unclosed,
    });
  }
}

/** A piece's bytes: one slot of the ring (or bytes of its own: a line longer than a slot), or,
 *  for a JSON array over many lines (`more`), slot after slot until the piece's end. A slot of
 *  those is given back once the one after next is asked for: the reader may still hold the end
 *  of the last one (a line cut at the boundary). */
async function* pieceChunks(m: Extract<ToWorker, { t: 'piece' }>): AsyncGenerator<Buffer> {
  const view = (slot: number, len: number): Buffer => ring.subarray(slot * RING_CHUNK, slot * RING_CHUNK + len);
  if (m.data) return yield Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  yield view(m.slot, m.len);
  if (!m.more) return;
  const held = [m.slot];
  try {
    for (;;) {
      const c = await next();
      if (c.t !== 'chunk') return;
      while (held.length > 1) post({ t: 'release', slot: held.shift()! });
      held.push(c.slot);
      yield view(c.slot, c.len);
    }
  } finally {
    for (const slot of held) post({ t: 'release', slot });
  }
}

try {
  await accountInput(cfg, aggs, { stdin: undefined as never, sources: pieces() }, counts, (place, reason, message) => {
    counts.rejected++;
    const line = Number(place.slice(place.lastIndexOf(':') + 1));
    if (message === UNCLOSED_ARRAY) unclosed ??= line;
    rejects.push([line, reason, message]);
  });
  await exchange.finish();
  post({
    t: 'read',
    counts,
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
