// Least-recently-used order in two segments (a segmented LRU): entries that have not yet proved
// useful wait on probation and are evicted before the kept ones, so a flood of new entries
// (templates nobody sends data for, spoofed exporters) cannot push out the ones in use.
// Order is a Map's insertion order: touching an entry moves it to the end of its segment.

export class SegmentedLru<K, V> {
  private readonly probation = new Map<K, V>();
  private readonly kept = new Map<K, V>();

  get size(): number {
    return this.probation.size + this.kept.size;
  }

  get(k: K): V | undefined {
    return this.kept.get(k) ?? this.probation.get(k);
  }

  /** A new entry, the newest on probation (or kept, when restoring saved state). */
  add(k: K, v: V, kept = false): void {
    (kept ? this.kept : this.probation).set(k, v);
  }

  /** Make `k` the most recently used of its segment. */
  touch(k: K, v: V): void {
    if (this.kept.delete(k)) this.kept.set(k, v);
    else if (this.probation.delete(k)) this.probation.set(k, v);
  }

  /** `k` proved useful: move it from probation to the newest kept entry. */
  keep(k: K, v: V): void {
    if (this.probation.delete(k)) this.kept.set(k, v);
  }

  isKept(k: K): boolean {
    return this.kept.has(k);
  }

  delete(k: K): boolean {
    return this.kept.delete(k) || this.probation.delete(k);
  }

  /** The entry to evict first, other than `spare`: the oldest on probation, else the oldest kept. */
  oldest(spare?: V): [K, V] | undefined {
    for (const e of this.probation) if (e[1] !== spare) return e;
    for (const e of this.kept) if (e[1] !== spare) return e;
    return undefined;
  }

  /** Eviction order: probation oldest first, then kept oldest first. */
  *entries(): IterableIterator<[K, V]> {
    yield* this.probation;
    yield* this.kept;
  }
}
