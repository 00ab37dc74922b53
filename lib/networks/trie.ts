// Longest-prefix match over IPv4 (one u32) and IPv6 (four u32 words) keys: a binary trie kept
// in growable typed arrays (no object per node), so 100,000+ prefixes cost a few MB and a lookup
// is at most 32 (IPv4) or 128 (IPv6) array steps with no allocation.

const NONE = -1;
/** Level-2 blocks of the IPv4 jump table: 2 KiB each, 4 MiB at most. */
const MAX_BLOCKS = 2048;

export class BinaryTrie {
  private child0: Int32Array;
  private child1: Int32Array;
  private value: Int32Array;
  private count = 1; // node 0 is the root (the /0 prefix)
  private prefixes = 0;
  /** IPv4 only: for each value of the top 16 bits, the node reached after 16 steps (0 = none;
   *  ~block, < 0, where a level-2 block takes over) and the best value met on the way, so a
   *  lookup walks at most 16 more bits. Built on the first lookup after an insert. */
  private jumpNode: Int32Array | undefined;
  private jumpBest: Int32Array | undefined;
  /** IPv4 only: level-2 blocks of 256 entries, one per next byte, for a top 16 bits under which
   *  prefixes go deeper (its jumpNode is then ~block, < 0): the node reached after 24 steps (0 =
   *  none) and the best value met, so a lookup under a /24 reads two tables instead of taking
   *  eight more steps. At most maxBlocks blocks (the first /16s in address order); the others
   *  walk the bits. */
  private blockNode: Int32Array | undefined;
  private blockBest: Int32Array | undefined;

  /** `maxBlocks`: level-2 blocks at most (tests lower it to check the bit walk that takes over). */
  constructor(
    initialNodes = 1024,
    private readonly maxBlocks = MAX_BLOCKS,
  ) {
    this.child0 = new Int32Array(initialNodes);
    this.child1 = new Int32Array(initialNodes);
    this.value = new Int32Array(initialNodes).fill(NONE);
  }

  /** A trie as another thread receives it (see NetworkTable.revive). */
  static revive(o: BinaryTrie): BinaryTrie {
    return Object.setPrototypeOf(o, BinaryTrie.prototype) as BinaryTrie;
  }

  /** Number of distinct prefixes stored. */
  get size(): number {
    return this.prefixes;
  }

  /** Nodes in use (for memory figures). */
  get nodes(): number {
    return this.count;
  }

  private grow(): void {
    const n = this.child0.length * 2;
    const c0 = new Int32Array(n);
    c0.set(this.child0);
    const c1 = new Int32Array(n);
    c1.set(this.child1);
    const v = new Int32Array(n).fill(NONE);
    v.set(this.value);
    this.child0 = c0;
    this.child1 = c1;
    this.value = v;
  }

  /** Store `value` (>= 0) for the first `len` bits of `words` (big-endian u32 words).
   *  Returns the value already stored for exactly this prefix (then nothing changes), or -1. */
  insert(words: ArrayLike<number>, len: number, value: number): number {
    let node = 0;
    for (let i = 0; i < len; i++) {
      const bit = (words[i >>> 5]! >>> (31 - (i & 31))) & 1;
      const children = bit === 0 ? this.child0 : this.child1;
      let next = children[node]!;
      if (next === 0) {
        if (this.count === this.child0.length) this.grow();
        next = this.count++;
        (bit === 0 ? this.child0 : this.child1)[node] = next;
      }
      node = next;
    }
    const old = this.value[node]!;
    if (old !== NONE) return old;
    this.value[node] = value;
    this.prefixes++;
    this.jumpNode = undefined;
    return NONE;
  }

  private buildJump(): void {
    const jn = new Int32Array(65536);
    const jb = new Int32Array(65536);
    const c0 = this.child0;
    const c1 = this.child1;
    const val = this.value;
    for (let top = 0; top < 65536; top++) {
      let node = 0;
      let best = val[0]!;
      for (let shift = 15; shift >= 0; shift--) {
        node = ((top >>> shift) & 1) === 0 ? c0[node]! : c1[node]!;
        if (node === 0) break;
        const v = val[node]!;
        if (v !== NONE) best = v;
      }
      jn[top] = node;
      jb[top] = best;
    }
    this.jumpNode = jn;
    this.jumpBest = jb;
    this.buildBlocks(jn, jb, this.maxBlocks);
  }

  private buildBlocks(jn: Int32Array, jb: Int32Array, maxBlocks: number): void {
    const c0 = this.child0;
    const c1 = this.child1;
    const val = this.value;
    let blocks = 0;
    for (let top = 0; top < 65536 && blocks < maxBlocks; top++) if (jn[top] !== 0) blocks++;
    const bn = new Int32Array(blocks * 256);
    const bb = new Int32Array(blocks * 256);
    for (let top = 0, b = 0; top < 65536 && b < blocks; top++) {
      if (jn[top] === 0) continue;
      const base = b * 256;
      for (let byte = 0; byte < 256; byte++) {
        let node = jn[top]!;
        let best = jb[top]!;
        for (let shift = 7; shift >= 0; shift--) {
          node = ((byte >>> shift) & 1) === 0 ? c0[node]! : c1[node]!;
          if (node === 0) break;
          const v = val[node]!;
          if (v !== NONE) best = v;
        }
        bn[base + byte] = node;
        bb[base + byte] = best;
      }
      jn[top] = ~b++;
    }
    this.blockNode = bn;
    this.blockBest = bb;
  }

  /** Value of the longest stored prefix covering the IPv4 address `a` (u32), or -1. */
  lookup4(a: number): number {
    if (this.jumpNode === undefined) this.buildJump();
    const top = a >>> 16;
    let node = this.jumpNode![top]!;
    let best: number;
    let shift: number;
    if (node < 0) {
      const e = ~node * 256 + ((a >>> 8) & 255);
      node = this.blockNode![e]!;
      best = this.blockBest![e]!;
      shift = 7;
    } else {
      best = this.jumpBest![top]!;
      shift = 15;
    }
    if (node === 0) return best;
    const c0 = this.child0;
    const c1 = this.child1;
    const val = this.value;
    for (; shift >= 0; shift--) {
      node = ((a >>> shift) & 1) === 0 ? c0[node]! : c1[node]!;
      if (node === 0) return best;
      const v = val[node]!;
      if (v !== NONE) best = v;
    }
    return best;
  }

  /** Value of the longest stored prefix covering the 128-bit key (four big-endian u32 words), or -1. */
  lookup6(w0: number, w1: number, w2: number, w3: number): number {
    const c0 = this.child0;
    const c1 = this.child1;
    const val = this.value;
    let node = 0;
    let best = val[0]!;
    for (let w = 0; w < 4; w++) {
      const word = w === 0 ? w0 : w === 1 ? w1 : w === 2 ? w2 : w3;
      for (let shift = 31; shift >= 0; shift--) {
        node = ((word >>> shift) & 1) === 0 ? c0[node]! : c1[node]!;
        if (node === 0) return best;
        const v = val[node]!;
        if (v !== NONE) best = v;
      }
    }
    return best;
  }
}
