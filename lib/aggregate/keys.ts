// A hash table of fixed-width keys made of u32 words (aggregation keys, IPv6 addresses), kept in
// typed arrays: no string, object or Map entry per key, so memory is ~4·width + 16-32 bytes per
// key and a lookup allocates nothing. Keys get dense indices 0, 1, 2, … in insertion order (the
// caller keeps its per-key data in columns under that index).

export class KeyTable {
  readonly width: number;
  /** Write the key to look up here, then call `intern()`. */
  readonly scratch: Uint32Array;
  /** Keys by index: key i is words [i·width, (i+1)·width). */
  keys: Uint32Array;
  size = 0;
  /** True when the last `intern()` added the key. */
  added = false;
  /** Open addressing, linear probing, two words a slot: index + 1 (0 = empty) and the key's
   *  hash, so that a probe past another key and a rehash do not have to read that key (each
   *  read of a key row is a cache miss in a big table). */
  private slots: Int32Array;
  private mask: number;

  /** Most keys held; one more throws RangeError. */
  readonly limit: number;

  /** `limit` defaults to what a JS Map holds (2^24), with a Map's error message: flow-aggregate
   *  kept its aggregates in a Map before, and a pro-rated flow with an absurd end time (billions
   *  of bins) ends the run with that error (exit 74) rather than eating all memory. */
  constructor(width: number, initial = 1024, limit = 16_777_216) {
    this.width = width;
    this.limit = limit;
    this.scratch = new Uint32Array(width);
    this.keys = new Uint32Array(width * initial);
    let cap = 16;
    while (cap < initial * 2) cap *= 2;
    this.slots = new Int32Array(2 * cap);
    this.mask = cap - 1;
  }

  private hash(k: Uint32Array, o: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.width; i++) {
      h = Math.imul(h ^ k[o + i]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** Index of the key in `scratch`, adding it if new (then `added` is true). */
  intern(): number {
    const w = this.width;
    const s = this.scratch;
    const keys = this.keys;
    const slots = this.slots;
    const h = this.hash(s, 0);
    let p = h & this.mask;
    for (;;) {
      const e = slots[2 * p]!;
      if (e === 0) break;
      if (slots[2 * p + 1] === h) {
        const o = (e - 1) * w;
        let i = 0;
        while (i < w && keys[o + i] === s[i]) i++;
        if (i === w) {
          this.added = false;
          return e - 1;
        }
      }
      p = (p + 1) & this.mask;
    }
    if (this.size === this.limit) throw new RangeError('Map maximum size exceeded');
    const idx = this.size++;
    if ((idx + 1) * w > keys.length) {
      const k = new Uint32Array(keys.length * 2);
      k.set(keys);
      this.keys = k;
    }
    this.keys.set(s, idx * w);
    slots[2 * p] = idx + 1;
    slots[2 * p + 1] = h;
    this.added = true;
    if (this.size * 2 > this.mask + 1) this.rehash();
    return idx;
  }

  private rehash(): void {
    const old = this.slots;
    const mask = 2 * (this.mask + 1) - 1;
    const slots = new Int32Array(2 * (mask + 1));
    for (let q = 0; q < old.length; q += 2) {
      const e = old[q]!;
      if (e === 0) continue;
      const h = old[q + 1]!;
      let p = h & mask;
      while (slots[2 * p] !== 0) p = (p + 1) & mask;
      slots[2 * p] = e;
      slots[2 * p + 1] = h;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
