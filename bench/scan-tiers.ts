// Does the JavaScript flow-line scanner (lib/aggregate/scan.ts) still pay between the WebAssembly
// one (scan-wasm.ts) and JSON.parse? flow-aggregate and flow-report's -a path try WebAssembly,
// then scan.ts, then JSON.parse + recordFromObject + FlowView.set. This times, in this process,
// each order over the same lines: wasm → js → JSON (what runs), wasm → JSON (without scan.ts),
// js → JSON, and JSON alone; lines/s and which tier took how many lines.
// Input: the flow records flow-capture -r writes for every test/fixtures/*.pcap (FILE: a file of
// such lines), split into IPv4 lines, IPv6 lines (the WebAssembly scanner leaves IPv6 to scan.ts),
// all of them, all of them with a space after each comma, and all with the fields goflow2 adds.
// Usage: npx tsc -p . && node dist/bench/scan-tiers.js FILE [lines per set, default 200000]

import { readFileSync } from 'node:fs';
import { INPUT_CHUNK } from '../lib/cli/io.js';
import { WasmFlowLineScanner } from '../lib/aggregate/scan-wasm.js';
import { FlowLineScanner } from '../lib/aggregate/scan.js';
import { FlowView } from '../lib/aggregate/view.js';
import { recordFromObject } from '../lib/flow/dialects.js';

const file = process.argv[2];
if (!file) throw new Error('usage: node dist/bench/scan-tiers.js FILE [lines]');
const N = Number(process.argv[3] ?? 200_000);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
// fields goflow2 (v2, -format json) writes that flowmeter does not
const GOFLOW2_MORE =
  ',"src_mac":"00:00:5e:00:53:01","dst_mac":"00:00:5e:00:53:02","src_vlan":0,"dst_vlan":0,"vlan_id":0,' +
  '"forwarding_status":0,"ip_ttl":64,"ip_flags":0,"icmp_type":0,"icmp_code":0,"ipv6_flow_label":0,' +
  '"fragment_id":0,"fragment_offset":0,"next_hop_as":0,"bgp_next_hop":"","bgp_communities":[],"as_path":[],' +
  '"mpls_label":[],"layer_stack":[],"layer_size":[]}';
const v6 = (l: string): boolean => /"src_addr":"[0-9a-f]*:/.test(l);
// where the lines are: the scanner's own chunk buffers (files and pipes), or elsewhere (gzip
// input: zlib's output buffers), where the WebAssembly scanner cannot look
const OWN = 'own';
const ELSEWHERE = 'elsewhere (.gz)';
const SETS: Array<[string, string[], typeof OWN | typeof ELSEWHERE]> = [
  ['IPv4', lines.filter((l) => !v6(l)), OWN],
  ['IPv6', lines.filter(v6), OWN],
  ['all', lines, OWN],
  ['all', lines, ELSEWHERE],
  ['all, spaced', lines.map((l) => l.replace(/,"/g, ', "')), OWN],
  ['goflow2', lines.map((l) => l.slice(0, -1) + GOFLOW2_MORE), OWN],
];

type Tier = (b: Buffer, p: number, end: number) => number;
const view = new FlowView(undefined);
const wasm = new WasmFlowLineScanner(view);
const js = new FlowLineScanner(view);
const ORDERS: Array<[string, Tier[]]> = [
  ['wasm → js → JSON', [(b, p, e) => wasm.scanWasm(b, p, e), (b, p, e) => js.scan(b, p, e)]],
  ['wasm → JSON', [(b, p, e) => wasm.scanWasm(b, p, e)]],
  ['js → JSON', [(b, p, e) => js.scan(b, p, e)]],
  ['JSON', []],
];

/** The lines, repeated to N, in chunks of whole lines that fit the scanner's chunk buffer. */
function chunks(set: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  let text = '';
  for (let i = 0; i < N; i++) {
    const l = `${set[i % set.length]!}\n`;
    if (text.length + l.length > INPUT_CHUNK) {
      out.push(Buffer.from(text));
      text = '';
    }
    text += l;
  }
  if (text) out.push(Buffer.from(text));
  return out;
}

/** One pass; returns the lines each tier took (the last entry: JSON.parse). */
function pass(input: readonly Buffer[], tiers: readonly Tier[], buf: Buffer): number[] {
  const took = new Array<number>(tiers.length + 1).fill(0);
  for (const c of input) {
    c.copy(buf);
    const end = c.length;
    for (let p = 0; p < end;) {
      let nl = -1;
      let t = 0;
      for (; t < tiers.length && nl < 0; t++) nl = tiers[t]!(buf, p, end);
      if (nl >= 0) took[t - 1]!++;
      else {
        nl = buf.indexOf(10, p);
        const rec = recordFromObject(JSON.parse(buf.toString('utf8', p, nl)) as Record<string, unknown>);
        if (rec.kind === 'flow') view.set(rec.flow);
        took[tiers.length]!++;
      }
      p = nl + 1;
    }
  }
  return took;
}

console.log(`${N.toLocaleString('en')} lines per set from ${file} (${lines.length} distinct), best of 5 rounds`);
for (const [name, set, where] of SETS) {
  const input = chunks(set);
  const buf = where === OWN ? wasm.chunkBuffers[0]! : Buffer.alloc(INPUT_CHUNK);
  // the orders take turns within each round, so a slow moment of a shared machine hits all alike
  const best = ORDERS.map(() => Infinity);
  const took: number[][] = [];
  for (let r = 0; r < 5; r++)
    ORDERS.forEach(([, tiers], i) => {
      const t0 = process.hrtime.bigint();
      took[i] = pass(input, tiers, buf);
      best[i] = Math.min(best[i]!, Number(process.hrtime.bigint() - t0) / 1e9);
    });
  ORDERS.forEach(([order], i) => {
    console.log(
      `${name.padEnd(12)} ${where.padEnd(16)} ${order.padEnd(18)} ${Math.round(N / best[i]!)
        .toLocaleString('en')
        .padStart(
          10,
        )} lines/s  ${((best[i]! / N) * 1e9).toFixed(0).padStart(5)} ns/line  taken: ${took[i]!.join(' / ')}`,
    );
  });
}
