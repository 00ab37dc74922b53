// Data sets that arrived before their template: copied (datagram payloads are only valid during
// the decode call), held in a FIFO bounded by count and bytes, released when the template comes,
// expired by receive-time age or evicted by capacity (the caller counts those).

import type { MessageContext } from './data.js';

export interface PendingSet {
  /** Domain key + " " + template id. */
  key: string;
  templateId: number;
  /** The set body (after the 4-byte set header), copied. */
  bytes: Uint8Array;
  /** Offset of the set in its datagram, for messages. */
  setOffset: number;
  ctx: MessageContext;
  /** describeDatagram() of the datagram it came in. */
  place: string;
  protocol: string;
  receivedNs: number;
}

export class PendingBuffer {
  private queue: (PendingSet | undefined)[] = [];
  private head = 0;
  private readonly keys = new Map<string, number>();
  bytes = 0;

  constructor(
    readonly maxSets: number,
    readonly maxBytes: number,
    readonly ttlNs: number,
  ) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Hold one set; returns what had to be evicted to make room (oldest first). */
  hold(p: PendingSet): PendingSet[] {
    const evicted: PendingSet[] = [];
    if (p.bytes.length > this.maxBytes || this.maxSets <= 0) return [p];
    while (this.size > 0 && (this.size >= this.maxSets || this.bytes + p.bytes.length > this.maxBytes)) {
      evicted.push(this.shift()!);
    }
    this.queue.push(p);
    this.bytes += p.bytes.length;
    this.keys.set(p.key, (this.keys.get(p.key) ?? 0) + 1);
    return evicted;
  }

  private shift(): PendingSet | undefined {
    if (this.head >= this.queue.length) return undefined;
    const p = this.queue[this.head]!;
    this.queue[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.forget(p);
    return p;
  }

  private forget(p: PendingSet): void {
    this.bytes -= p.bytes.length;
    const n = (this.keys.get(p.key) ?? 1) - 1;
    if (n <= 0) this.keys.delete(p.key);
    else this.keys.set(p.key, n);
  }

  /** Remove and return every held set for `key`, in arrival order. */
  take(key: string): PendingSet[] {
    if (!this.keys.has(key)) return [];
    const out: PendingSet[] = [];
    const keep: PendingSet[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      if (p.key === key) out.push(p);
      else keep.push(p);
    }
    this.queue = keep;
    this.head = 0;
    for (const p of out) this.forget(p);
    return out;
  }

  /** Remove and return sets received more than ttl before `nowNs`. */
  expire(nowNs: number): PendingSet[] {
    const out: PendingSet[] = [];
    while (this.size > 0 && this.queue[this.head]!.receivedNs < nowNs - this.ttlNs) out.push(this.shift()!);
    return out;
  }

  /** Remove and return everything (end of input). */
  drain(): PendingSet[] {
    const out: PendingSet[] = [];
    while (this.size > 0) out.push(this.shift()!);
    return out;
  }
}
