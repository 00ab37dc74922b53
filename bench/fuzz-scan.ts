// Long fuzz run of the WebAssembly flow-line scanner (lib/aggregate/wasm/scan.ts): lines as
// flow-capture writes them and edge-case lines (test/helpers/flow-lines.ts), each with up to two
// random byte edits (digits, hex, separators, quotes, escapes, whitespace, a UTF-8 letter). Every
// line the scanner accepts must be one JSON.parse + flowFromObject accepts, with the same view
// (the check of test/unit/aggregate/scan.test.ts, on many more lines). Exits 1 on a mismatch.
// Usage: npx tsc -p . && node dist/bench/fuzz-scan.js [lines, default 1000000] [seed, default 1]

import { FlowView } from '../lib/aggregate/view.js';
import { WasmFlowLineScanner } from '../lib/aggregate/scan-wasm.js';
import { flowToJson } from '../lib/flow/record.js';
import { parseNetworks } from '../lib/networks/file.js';
import { rng } from '../test/helpers/prng.js';
import { randomLine, randomRecord, referenceView, viewSnapshot } from '../test/helpers/flow-lines.js';

const N = Number(process.argv[2] ?? 1_000_000);
const r = rng(Number(process.argv[3] ?? 1));
const EDITS = '0123456789abcdef:./"{},[]-eE x\\\u00e9';

const nets = parseNetworks('10.0.0.0/8\n10.0.3.0/24\n2001:db8::/32\n0.0.0.0/1\n').table;
const view = new FlowView(nets);
const refView = new FlowView(nets);
const scanner = new WasmFlowLineScanner(view);
const room = scanner.chunkBuffers[0];

function mutate(line: string): string {
  for (let m = Math.floor(r() * 3); m > 0; m--) {
    const p = Math.floor(r() * line.length);
    const c = EDITS[Math.floor(r() * EDITS.length)]!;
    const op = r();
    line =
      op < 0.4
        ? line.slice(0, p) + c + line.slice(p + 1)
        : op < 0.7
          ? line.slice(0, p) + c + line.slice(p)
          : line.slice(0, p) + line.slice(p + 1);
  }
  return line;
}

let scanned = 0;
let accepted = 0;
let mismatches = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  const line = mutate(i % 3 === 0 ? randomLine(r) : flowToJson(randomRecord(r)));
  const b = Buffer.from(line + '\n', 'utf8');
  if (b.length > room.length || b[0]! <= 32) continue; // the reader never hands these over
  b.copy(room);
  scanned++;
  const nl = scanner.scanWasm(room, 0, b.length);
  if (nl < 0) continue;
  accepted++;
  const want = JSON.stringify(referenceView(line, refView));
  const got = JSON.stringify(viewSnapshot(view));
  if (nl !== b.length - 1 || want !== got) {
    if (++mismatches <= 5)
      console.error(`mismatch: ${line}\n  reference ${want}\n  scanner   ${got} (line end ${nl} of ${b.length - 1})`);
  }
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  `${scanned} lines in ${secs.toFixed(1)} s: the WebAssembly scanner took ${accepted}, left ${scanned - accepted}; ${mismatches} mismatches`,
);
process.exitCode = mismatches === 0 ? 0 : 1;
