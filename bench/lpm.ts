// Networks-file LPM: load time, memory and lookups/s with 100,000 IPv4 and 20,000 IPv6 prefixes
// (random lengths /8-/32 and /16-/64), against the same lookups done by scanning the list.
// Usage: npx tsc -p . && node dist/bench/lpm.js [prefixes, default 100000]

import { parseNetworks } from '../lib/networks/file.js';
import { formatIPv4 } from '../lib/net/ip.js';
import { maskV4 } from '../lib/networks/addr.js';
import { rng } from '../test/helpers/prng.js';

const N = Number(process.argv[2] ?? 100_000);
const rand = rng(42);
const lines: string[] = [];
for (let i = 0; i < N; i++) {
  const len = 8 + Math.floor(rand() * 25);
  lines.push(`${formatIPv4(maskV4(Math.floor(rand() * 2 ** 32), len))}/${len}`);
}
for (let i = 0; i < N / 5; i++) {
  const len = 16 + Math.floor(rand() * 49);
  const g = Array.from({ length: 4 }, () => Math.floor(rand() * 65536).toString(16));
  lines.push(`2001:${g.join(':')}::/${Math.max(len, 16)}`);
}
const text = lines.join('\n');
global.gc?.();
const heap0 = process.memoryUsage().heapUsed;
let t = process.hrtime.bigint();
const { table, problems } = parseNetworks(text);
const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
global.gc?.();
const heapMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
if (problems.length) throw new Error(`${problems.length} problems`);

const M = 5_000_000;
const addrs = new Uint32Array(1 << 16).map(() => Math.floor(rand() * 2 ** 32));
t = process.hrtime.bigint();
let hits = 0;
for (let i = 0; i < M; i++) if (table.index4(addrs[i & 0xffff]!) >= 0) hits++;
const v4ns = Number(process.hrtime.bigint() - t) / M;
t = process.hrtime.bigint();
for (let i = 0; i < M; i++)
  if (table.index6(0x20010000 | (addrs[i & 0xffff]! >>> 16), addrs[(i + 1) & 0xffff]!, 0, 1) >= 0) hits++;
const v6ns = Number(process.hrtime.bigint() - t) / M;

// the same IPv4 lookups by scanning the entries, on a small sample (what an LPM avoids)
const entries = table.entries
  .filter((e) => e.family === 4)
  .map((e) => [Number(e.net.split('.').reduce((a, b) => a * 256 + Number(b), 0)), e.mask] as const);
const S = 200;
t = process.hrtime.bigint();
for (let i = 0; i < S; i++) {
  const a = addrs[i]!;
  let best = -1;
  for (const [n, m] of entries) if (m > best && maskV4(a, m) === n) best = m;
  if (best >= 0) hits++;
}
const scanNs = Number(process.hrtime.bigint() - t) / S;
console.log(
  `${table.size} prefixes (${N} IPv4 + ${N / 5} IPv6 lines, ${table.duplicates} duplicates): loaded in ${loadMs.toFixed(0)} ms, ~${heapMB.toFixed(1)} MB heap`,
);
console.log(
  `IPv4 lookup: ${(1e3 / v4ns).toFixed(1)} M/s (${v4ns.toFixed(0)} ns); IPv6 lookup: ${(1e3 / v6ns).toFixed(1)} M/s (${v6ns.toFixed(0)} ns); linear scan: ${(scanNs / 1e3).toFixed(0)} µs per lookup`,
);

// A subscriber networks file as ISPs have them: 10,000 /24s packed into 10.0.0.0/10, looked up
// with addresses inside them (the subscriber end of every flow).
const subNets = new Set<string>();
while (subNets.size < 10_000) subNets.add(`${formatIPv4((0x0a000000 | (Math.floor(rand() * 16384) << 8)) >>> 0)}/24`);
const subLines = ['10.0.0.0/10', ...subNets];
const sub = parseNetworks(subLines.join('\n')).table;
const subAddrs = new Uint32Array(1 << 16).map(() => (0x0a000000 | Math.floor(rand() * 0x400000)) >>> 0);
t = process.hrtime.bigint();
for (let i = 0; i < M; i++) if (sub.index4(subAddrs[i & 0xffff]!) >= 0) hits++;
const subNs = Number(process.hrtime.bigint() - t) / M;
console.log(
  `${sub.size} subscriber prefixes (/24s in 10.0.0.0/10): IPv4 lookup of subscriber addresses ${(1e3 / subNs).toFixed(1)} M/s (${subNs.toFixed(0)} ns)`,
);
void hits;
