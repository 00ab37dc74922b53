// The exchange of keys between the worker threads of flow-aggregate --jobs (parallel.ts): each
// worker accounts the lines of its own pieces of input, adds the keys of its own part, and sends
// what it accounts to any other part's key to that part's worker as an exchange record (see
// Aggregator's KeyOutbox), over a MessagePort between the two workers. Records go in batches, in
// buffers that travel to the peer and back (so memory stays bounded whatever the input), and
// the receiver adds them between its pieces (Aggregator.addExchanged).

import type { MessagePort } from 'node:worker_threads';
import type { KeyOutbox } from './aggregator.js';
import type { WideSums } from './counters.js';

/** Doubles per exchange buffer (64 KiB). */
const BUFFER_DOUBLES = 8192;
/** Buffers one worker may have at one peer before it waits for one back. */
const MAX_AWAY = 8;

/** Between two workers: a batch of records of `n` doubles (each: the aggregation's index, then
 *  its exchange record), a batch given back for reuse, a record with wide addends, or the end
 *  of the sender's records. */
type PeerMessage =
  | { t: 'x'; buf: Float64Array<ArrayBuffer>; n: number }
  | { t: 'back'; buf: Float64Array<ArrayBuffer> }
  | { t: 'wide'; agg: number; rec: Float64Array; bytes: string; packets: string; flows: string }
  | { t: 'done' };

/** What this worker has for one peer. */
interface Outbox {
  port: MessagePort;
  buf: Float64Array<ArrayBuffer>;
  used: number;
  free: Float64Array<ArrayBuffer>[];
  away: number;
}

/** Adds one exchange record of aggregation `agg` at rec[at…]; returns where the next one starts. */
export type ApplyRecord = (agg: number, rec: Float64Array, at: number, exact?: WideSums) => number;

export class KeyExchange {
  private readonly boxes: Array<Outbox | undefined>;
  private peersDone = 0;
  private wake: (() => void) | undefined;
  /** Where room() made room. */
  private at = 0;

  /** ports[i]: the port to worker i (none for this worker itself). */
  constructor(
    ports: ReadonlyArray<MessagePort | null>,
    private readonly apply: ApplyRecord,
  ) {
    this.boxes = ports.map((port) => {
      if (port === null) return undefined;
      const box: Outbox = { port, buf: new Float64Array(BUFFER_DOUBLES), used: 0, free: [], away: 0 };
      port.on('message', (m: PeerMessage) => this.receive(box, m));
      return box;
    });
  }

  /** The outbox aggregation `agg` writes its records for other parts to. */
  outbox(agg: number): KeyOutbox {
    const exchange = this;
    return {
      at: 0,
      room(part: number, n: number): Float64Array {
        const buf = exchange.room(part, n + 1);
        buf[exchange.at] = agg;
        this.at = exchange.at + 1;
        return buf;
      },
      wide(part: number, rec: Float64Array, exact: WideSums): void {
        const m: PeerMessage = {
          t: 'wide',
          agg,
          rec,
          bytes: exact.bytes.toString(),
          packets: exact.packets.toString(),
          flows: exact.flows.toString(),
        };
        exchange.boxes[part]!.port.postMessage(m);
      },
    };
  }

  private room(part: number, n: number): Float64Array {
    const box = this.boxes[part]!;
    if (box.used + n > box.buf.length) this.send(box);
    this.at = box.used;
    box.used += n;
    return box.buf;
  }

  private send(box: Outbox): void {
    const m: PeerMessage = { t: 'x', buf: box.buf, n: box.used };
    box.port.postMessage(m, [box.buf.buffer]);
    box.away++;
    box.buf = box.free.pop() ?? new Float64Array(BUFFER_DOUBLES);
    box.used = 0;
  }

  private receive(box: Outbox, m: PeerMessage): void {
    if (m.t === 'x') {
      for (let at = 0; at < m.n;) at = this.apply(m.buf[at]!, m.buf, at + 1);
      const back: PeerMessage = { t: 'back', buf: m.buf };
      box.port.postMessage(back, [m.buf.buffer]);
      return;
    }
    if (m.t === 'back') {
      box.free.push(m.buf);
      box.away--;
    } else if (m.t === 'wide')
      this.apply(m.agg, m.rec, 0, { bytes: BigInt(m.bytes), packets: BigInt(m.packets), flows: BigInt(m.flows) });
    else this.peersDone++;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private until(ready: () => boolean): Promise<void> | undefined {
    if (ready()) return undefined;
    return (async () => {
      while (!ready()) await new Promise<void>((r) => (this.wake = r));
    })();
  }

  /** Resolves when no peer holds too many of this worker's buffers (their records applied). */
  throttle(): Promise<void> | undefined {
    return this.until(() => this.boxes.every((b) => b === undefined || b.away <= MAX_AWAY));
  }

  /** Send what is left and the end marker to every peer; resolves when every peer's end marker
   *  has come (then every record of every peer for this worker's part has been added). */
  async finish(): Promise<void> {
    for (const box of this.boxes) {
      if (box === undefined) continue;
      if (box.used > 0) this.send(box);
      box.port.postMessage({ t: 'done' } satisfies PeerMessage);
    }
    const peers = this.boxes.filter((b) => b !== undefined).length;
    await this.until(() => this.peersDone === peers);
  }
}
