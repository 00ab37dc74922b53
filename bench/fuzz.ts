// Long fuzz run of the flow decoders: millions of mutated and random datagrams (same generator as
// test/unit/netflow/fuzz.test.ts), reporting cases/s, records, rejections by reason and peak RSS.
// Exits 1 if an exception escaped, a decoder bug was caught internally, or a record was malformed.
// Usage: npx tsc -p . && node dist/bench/fuzz.js [cases, default 2000000] [seed, default 1]

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzz, seedDatagrams } from '../test/unit/netflow/fuzz-gen.js';

const cases = Number(process.argv[2] ?? 2_000_000);
const seed = Number(process.argv[3] ?? 1);
const fixtures = fileURLToPath(new URL('../../test/fixtures/netflow/', import.meta.url));
const seeds = [
  ...seedDatagrams(),
  ...readdirSync(fixtures)
    .filter((f) => f.endsWith('.hex'))
    .flatMap((f) =>
      readFileSync(join(fixtures, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((h) => Buffer.from(h, 'hex')),
    ),
];

let peakRss = 0;
const t0 = process.hrtime.bigint();
const r = fuzz(seed, cases, seeds, (i) => {
  if ((i & 0xffff) === 0) {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (i > 0 && (i & 0xfffff) === 0) process.stderr.write(`${i} cases…\n`);
  }
});
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
peakRss = Math.max(peakRss, process.memoryUsage.rss());
const s = r.decoder.stats;
console.log(
  `fuzz: ${cases.toLocaleString('en')} cases, seed ${seed}, ${secs.toFixed(1)} s, ${Math.round(cases / secs).toLocaleString('en')} cases/s`,
);
console.log(
  `records ${r.records.toLocaleString('en')}, rejected ${r.rejected.toLocaleString('en')}, templates added ${s.templatesAdded}, held ${s.pendingHeld} / decoded ${s.pendingDecoded} / expired ${s.pendingExpired}`,
);
console.log(`rejects: ${[...s.rejects].map(([k, v]) => `${k}=${v}`).join(' ')}`);
console.log(
  `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB), templates held at end ${r.decoder.templates.size} in ${r.decoder.templates.domainCount} domains`,
);
if (r.problems.length > 0 || r.internalErrors > 0) {
  console.log(`FAILED: ${r.internalErrors} internal errors`);
  for (const p of r.problems) console.log(p);
  process.exitCode = 1;
} else console.log('no exception escaped, no internal error, every record valid JSON');
