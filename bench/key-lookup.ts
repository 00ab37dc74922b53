// What a lookup of a key already held costs in flow-aggregate's key table (lib/aggregate/keys.ts),
// by table size: random 5-word keys (an --ab key: src_host, dst_net, dst_mask) interned once,
// then looked up again in random order, the key words coming from a sequential array (as from a
// scanned line, in cache). Past the CPU caches a lookup is two dependent misses (slot, key row)
// and on a VM each can cost a page walk; this shows where that starts.
// Usage: npx tsc -p . && node dist/bench/key-lookup.js [lookups, default 4000000]

import { KeyTable } from '../lib/aggregate/keys.js';

const LOOKUPS = Number(process.argv[2] ?? 4_000_000);
const WIDTH = 5;

let seed = 0x2545f491;
function rand32(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

for (const keys of [10_000, 100_000, 700_000, 2_000_000]) {
  const table = new KeyTable(WIDTH);
  const words = new Uint32Array(keys * WIDTH);
  for (let i = 0; i < words.length; i++) words[i] = rand32();
  for (let i = 0; i < keys; i++) {
    table.scratch.set(words.subarray(i * WIDTH, (i + 1) * WIDTH));
    table.intern();
  }
  const probe = new Uint32Array(LOOKUPS * WIDTH);
  const expect = new Uint32Array(LOOKUPS);
  for (let q = 0; q < LOOKUPS; q++) {
    const i = rand32() % keys;
    expect[q] = i;
    probe.set(words.subarray(i * WIDTH, (i + 1) * WIDTH), q * WIDTH);
  }
  const s = table.scratch;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = process.hrtime.bigint();
    for (let q = 0; q < LOOKUPS; q++) {
      const o = q * WIDTH;
      s[0] = probe[o]!;
      s[1] = probe[o + 1]!;
      s[2] = probe[o + 2]!;
      s[3] = probe[o + 3]!;
      s[4] = probe[o + 4]!;
      if (table.intern() !== expect[q] || table.added) throw new Error(`lookup ${q} found the wrong key`);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t) / LOOKUPS);
  }
  console.log(
    `${keys} keys (table ${table.size}): ${best.toFixed(0)} ns per lookup of a key held (best of 3 × ${LOOKUPS})`,
  );
}
