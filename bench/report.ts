// flow-report throughput: N aggregate NDJSON rows (agg-ab shaped: src_host,dst_net,dst_mask) through
// `flow-report` in the streaming formats (pmacct table, pmacct json, csv, Hydra CSV) and the keyed
// text table; wall time, rows/s and peak RSS from GNU time.
// Usage: npx tsc -p . && node dist/bench/report.js [rows, default 1000000]

import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIPv4 } from '../lib/net/ip.js';
import { rngInt } from '../test/helpers/prng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const N = Number(process.argv[2] ?? 1_000_000);
const OUT = join(ROOT, 'bench/out/report');
mkdirSync(OUT, { recursive: true });

const rnd = rngInt(12345);

const input = join(OUT, `agg-ab-${N}.ndjson`);
const w = createWriteStream(input);
let buf = '';
for (let i = 0; i < N; i++) {
  const host = formatIPv4((0x0a000000 | (i & 0x3fffff)) >>> 0);
  const len = [0, 16, 24][rnd(3)]!;
  const net =
    len === 0
      ? '0.0.0.0'
      : formatIPv4(
          len === 16 ? ((0xc0a80000 | (rnd(256) << 8)) >>> 0) & 0xffff0000 : (0x5db80000 | (rnd(65536) << 8)) >>> 0,
        );
  buf += `{"src_host":"${host}","dst_net":"${net}","dst_mask":${len},"packets":${1 + rnd(1000)},"bytes":${64 + rnd(1_000_000)},"flows":${1 + rnd(10)},"time_start":1700000000,"time_end":1700000300}\n`;
  if (buf.length > 1 << 16) {
    if (!w.write(buf)) await once(w, 'drain');
    buf = '';
  }
}
w.end(buf);
await once(w, 'finish');

const bin = join(ROOT, 'bin/flow-report.js');
const runs: Array<[string, string[]]> = [
  ['pmacct', ['--format', 'pmacct']],
  ['pmacct-json', ['--format', 'pmacct-json']],
  ['csv', ['--format', 'csv']],
  ['hydra', ['--format', 'hydra', '--good-id', 'c39501']],
  ['text -a dst_net --top 20', ['-a', 'dst_net,dst_mask', '--top', '20']],
];
console.log(`flow-report over ${N.toLocaleString('en')} aggregate rows (${input})`);
for (const [name, args] of runs) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, bin, ...args, '-o', join(OUT, 'out'), input], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  const [secs, kb] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
  console.log(
    `${name.padEnd(28)} ${secs.toFixed(2)} s  ${Math.round(N / secs).toLocaleString('en')} rows/s  peak RSS ${(kb / 1024).toFixed(0)} MiB`,
  );
}
