// The billing cycle (examples/billing/billing-cycle.sh) on one 5-minute capture file of N flows
// (issue 8: 3,000,000): wall time and peak RSS of each stage (flow-aggregate, flow-report, each
// hcd-putfile) and of the whole run, uploading to the test hcd server (Python's xmlrpc.server).
// Each stage runs under GNU time through a wrapper in FLOWMETER_BIN, so the script is measured
// as installed, unchanged. The capture file is deleted once billed (AFTER=delete).
// Measured (3,000,000 flows, 20,000 subscribers x 201 networks: 380 k lines per billing file,
// shared 2-core machine): whole cycle 49 s, peak 622 MB (flow-aggregate 39 s, 77 k flows/s;
// flow-report 5.5 s, 105 MB; each hcd-putfile upload of 23 MB 1.7-2.0 s, 238 MB).
// Usage: npx tsc -p . && node dist/bench/billing-cycle.js [flows, default 3000000]

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowToJson, type FlowRecord } from '../lib/flow/record.js';
import { formatIPv4 } from '../lib/net/ip.js';
import { rng } from '../test/helpers/prng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const N = Number(process.argv[2] ?? 3_000_000);
const OUT = join(ROOT, 'bench/out/billing-cycle');
rmSync(OUT, { recursive: true, force: true });
const capture = join(OUT, 'capture');
const bin = join(OUT, 'bin');
for (const d of [capture, bin]) mkdirSync(d, { recursive: true });
const timeLog = join(OUT, 'time.log');

const rand = rng(0x2545f491);

// 20,000 subscriber hosts in 10.0.0.0/10, 200 remote "zone" networks, the rest of the Internet.
const nets = ['10.0.0.0/10'];
const zones: number[] = [];
while (zones.length < 200) {
  const a = (Math.floor(rand() * 2 ** 32) & 0xffff0000) >>> 0;
  if (a >>> 24 === 10 || a >>> 24 === 0 || a >>> 24 >= 224) continue;
  zones.push(a);
  nets.push(`${formatIPv4(a)}/16`);
}
const netsFile = join(OUT, 'networks.lst');
writeFileSync(netsFile, nets.join('\n') + '\n');
const subs = Array.from({ length: 20_000 }, () => (0x0a000000 | Math.floor(rand() * 0x3fffff)) >>> 0);

// One 5-minute interval, ending an hour ago (hcd-putfile refuses times far in the future).
const T = Math.floor(Date.now() / 1000 / 300) * 300 - 3600;
const file = join(capture, `flows.${new Date(T * 1000).toISOString().replace(/[-T:]/g, '').slice(0, 12)}.ndjson`);
const t0 = Date.now();
const out = createWriteStream(file);
let buf = '';
for (let i = 0; i < N; i++) {
  const sub = subs[Math.floor(rand() * subs.length)]!;
  const rem =
    rand() < 0.3
      ? (zones[Math.floor(rand() ** 3 * zones.length)]! | Math.floor(rand() * 65536)) >>> 0
      : (Math.floor(rand() * 2 ** 32) | 0x01000000) >>> 0;
  const up = rand() < 0.5;
  const start = T + Math.floor((i / N) * 300);
  const r: FlowRecord = {
    type: 'IPFIX',
    time_received_ns: (start + 5) * 1e9,
    sequence_num: i,
    sampling_rate: 1,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: start * 1e9,
    time_flow_end_ns: (start + 2) * 1e9,
    bytes: 40 + Math.floor(rand() * 100_000),
    packets: 1 + Math.floor(rand() * 100),
    src_addr: formatIPv4(up ? sub : rem),
    dst_addr: formatIPv4(up ? rem : sub),
    etype: 0x0800,
    proto: 6,
    src_port: 40000,
    dst_port: 443,
    in_if: 1,
    out_if: 2,
    ip_tos: 0,
    tcp_flags: 0x18,
    src_as: 0,
    dst_as: 0,
    next_hop: '',
    src_net: '0.0.0.0/0',
    dst_net: '0.0.0.0/0',
  };
  buf += flowToJson(r) + '\n';
  if (buf.length >= 1 << 20) {
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  }
}
out.end(buf);
await once(out, 'finish');
console.log(
  `input: ${N} flows, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB NDJSON (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);

for (const cmd of ['flow-aggregate', 'flow-report', 'hcd-putfile']) {
  const w = join(bin, cmd);
  writeFileSync(
    w,
    `#!/bin/sh\nexec /usr/bin/time -a -o '${timeLog}' -f '${cmd} %e %M' '${process.execPath}' '${ROOT}bin/${cmd}.js' "$@"\n`,
  );
  chmodSync(w, 0o755);
}

const hcd = spawn('python3', [join(ROOT, 'test/fixtures/hcd/hcd-server.py'), '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve) => {
  createInterface({ input: hcd.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { port: number }).port));
});
const config = join(OUT, 'billing.conf');
writeFileSync(
  config,
  `CAPTURE_DIR=${capture}\nSTATE_DIR=${join(OUT, 'state')}\nNETWORKS=${netsFile}\nSUBSCRIBERS=10.0.0.0/10\n` +
    `HCD_URL=http://127.0.0.1:${port}\nHCD_OPTS="--retries 0 --timeout 300"\nAFTER=delete\nFLOWMETER_BIN=${bin}\n`,
);
const run = spawnSync(
  '/usr/bin/time',
  ['-f', 'whole-cycle %e %M', '-a', '-o', timeLog, '/bin/sh', join(ROOT, 'examples/billing/billing-cycle.sh'), config],
  { stdio: 'inherit' },
);
hcd.kill();
if (run.status !== 0) throw new Error(`billing-cycle.sh exited ${run.status}`);

console.log('stage            wall s   peak RSS MB');
for (const line of readFileSync(timeLog, 'utf8').trim().split('\n')) {
  const [name, wall, rss] = line.split(' ');
  console.log(
    `${name!.padEnd(16)} ${Number(wall).toFixed(2).padStart(6)}   ${(Number(rss) / 1024).toFixed(0).padStart(6)}`,
  );
}
console.log(
  `(${(N / Number(readFileSync(timeLog, 'utf8').match(/flow-aggregate (\S+)/)![1])).toFixed(0)} flows/s through flow-aggregate)`,
);
