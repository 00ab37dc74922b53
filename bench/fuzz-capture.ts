// Long fuzz run for the capture readers and packet parser (the short one is in npm test):
// mutated real captures through readCapture, random frames through parseFrame. Fails loudly on
// any exception other than "not a capture file" (FlowmeterError 65); prints cases/s and peak RSS.
//   node dist/bench/fuzz-capture.js [--cases N] [--seed S]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCapture, newCaptureStats } from '../lib/capture/pcap-file.js';
import { FlowmeterError } from '../lib/errors.js';
import { PacketInfo, parseFrame } from '../lib/packet/frame.js';
import { ROOT } from '../test/helpers/spawn.js';
import { chunked, memoryLog } from '../test/helpers/pcap-build.js';
import { mutate } from '../test/helpers/mutate.js';
import { rng } from '../test/helpers/prng.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } },
});
const N = Number(values.cases);
const r = rng(Number(values.seed));
const dir = join(ROOT, 'test/fixtures/pcap');
const files = [
  'udp-lo.pcap',
  'udp-lo-ns.pcapng',
  'udp-dumpcap.pcapng',
  'vlan.pcap',
  'udp-any-sll.pcap',
  'udp-any-sll2.pcap',
  'null-be.pcap',
  'raw.pcap',
];
const sources = files.map((f) => readFileSync(join(dir, f)));

const t0 = Date.now();
let datagrams = 0;
let notCapture = 0;
for (let i = 0; i < N; i++) {
  const input = mutate(sources[i % sources.length]!, r, i % 50 === 0 ? 0 : 4);
  const { log } = memoryLog(0);
  try {
    for await (const b of readCapture(
      { name: `case${i}`, stream: chunked(input, 1 + Math.floor(r() * 70000)) },
      log,
      newCaptureStats(),
    ))
      datagrams += b.length;
  } catch (e) {
    if (!(e instanceof FlowmeterError && e.kind === 'data')) {
      console.error(`case ${i} (seed ${values.seed}): ${(e as Error).stack}`);
      process.exitCode = 1;
      break;
    }
    notCapture++;
  }
}
const t1 = Date.now();
const info = new PacketInfo();
const buf = Buffer.alloc(256);
const frames = N * 10;
for (let i = 0; i < frames; i++) {
  for (let k = 0; k < buf.length; k += 4) buf.writeUInt32LE((r() * 4294967296) >>> 0, k);
  const lt = [0, 1, 12, 101, 108, 113, 276][i % 7]!;
  if (lt === 1) buf.writeUInt16BE([0x0800, 0x86dd, 0x8100, 0x88a8][i & 3]!, 12);
  if (lt === 101) buf[0] = (i & 1 ? 0x45 : 0x60) | (buf[0]! & 0);
  parseFrame(buf, 0, Math.floor(r() * 257), lt, info);
}
const t2 = Date.now();
console.log(
  `readCapture: ${N} mutated captures in ${((t1 - t0) / 1000).toFixed(1)} s (${Math.round(N / ((t1 - t0) / 1000))}/s), ${datagrams} datagrams, ${notCapture} not a capture; no exception escaped`,
);
console.log(
  `parseFrame: ${frames} random frames in ${((t2 - t1) / 1000).toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
