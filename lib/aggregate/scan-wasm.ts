// The flow-line scanner in WebAssembly (lib/aggregate/wasm/scan.ts) with the JavaScript one
// (scan.ts) behind it: lines in the module's own memory go to WebAssembly first, and whatever it
// leaves (whitespace, names it was not taught, IPv6 with a zone, anything odd) to scan.ts, which leaves the
// rest to JSON.parse. The reader reads its chunks into `chunkBuffers` (regions of that memory), so
// the bytes are scanned where they were read, without a copy.

import { readFileSync } from 'node:fs';
import { FLOW_FIELDS, FLOW_TYPES } from '../flow/record.js';
import { PROTO_JSON, etypeNumber, protoNumber } from '../flow/proto.js';
import { INPUT_CHUNK, type ChunkBuffers } from '../cli/io.js';
import { EVIDENCE, FlowLineScanner, SCAN_KINDS, SCAN_BOUNDS } from './scan.js';
import type { FlowView } from './view.js';
import type { LineScanner } from '../cli/ndjson-input.js';
import * as L from './scan-layout.js';

// The WebAssembly global (Node has it) is not in the type libraries this project compiles with:
// what this file uses of it is declared here.
declare global {
  const WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (m: object, imports: object) => { exports: unknown };
  };
}

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasm = WebAssembly;

interface ScanExports {
  memory: WasmMemory;
  textArea(): number;
  numArea(): number;
  wordArea(): number;
  defineField(id: number, len: number, kind: number, slot: number, bound: number): boolean;
  defineName(table: number, len: number, value: number): boolean;
  defineEvidence(i: number, id: number): boolean;
  scan(p: number, end: number): number;
}

/** The slot (scan-layout.ts) of each field the module keeps: number fields in NUM, addresses and
 *  nets in WORD. */
const SLOTS = new Map<string, number>([
  ['time_received_ns', L.NUM_TIME_RECEIVED],
  ['time_flow_start_ns', L.NUM_START],
  ['time_flow_end_ns', L.NUM_END],
  ['bytes', L.NUM_BYTES],
  ['packets', L.NUM_PACKETS],
  ['sampling_rate', L.NUM_SAMPLING_RATE],
  ['etype', L.NUM_ETYPE],
  ['proto', L.NUM_PROTO],
  ['src_port', L.NUM_SRC_PORT],
  ['dst_port', L.NUM_DST_PORT],
  ['in_if', L.NUM_IN_IF],
  ['out_if', L.NUM_OUT_IF],
  ['ip_tos', L.NUM_TOS],
  ['tcp_flags', L.NUM_TCP_FLAGS],
  ['src_as', L.NUM_SRC_AS],
  ['dst_as', L.NUM_DST_AS],
  ['src_addr', L.ADDR_SLOT_SRC],
  ['dst_addr', L.ADDR_SLOT_DST],
  ['sampler_address', L.ADDR_SLOT_PEER],
  ['src_net', L.NET_SLOT_SRC],
  ['dst_net', L.NET_SLOT_DST],
]);
/** Bytes after each chunk buffer: the scanner compares 8 bytes at a time and may read past the end. */
const PAD = 64;
const ETYPE_SPELLINGS = ['IPv4', 'IPv6', 'ARP', 'ipv4', 'ipv6', 'arp', 'IPV4', 'IPV6', ''];

let compiled: object | undefined;

export class WasmFlowLineScanner implements LineScanner {
  readonly chunkBuffers: ChunkBuffers;
  private readonly x: ScanExports;
  private readonly memory: ArrayBuffer;
  private readonly num: Float64Array;
  private readonly word: Uint32Array;
  private readonly fallback: FlowLineScanner;

  constructor(private readonly v: FlowView) {
    this.fallback = new FlowLineScanner(v);
    compiled ??= new wasm.Module(readFileSync(new URL('./scan.wasm', import.meta.url)));
    const x = new wasm.Instance(compiled, {}).exports as ScanExports;
    this.x = x;
    teach(x);
    // the chunk buffers above everything the module has; the memory never grows after this
    const base = x.memory.buffer.byteLength;
    const room = 3 * (INPUT_CHUNK + PAD);
    x.memory.grow(Math.ceil(room / 65536));
    this.memory = x.memory.buffer;
    const at = (i: number): Buffer => Buffer.from(this.memory, base + i * (INPUT_CHUNK + PAD), INPUT_CHUNK);
    this.chunkBuffers = [at(0), at(1), at(2)];
    this.num = new Float64Array(this.memory, x.numArea(), L.NUM_COUNT);
    this.word = new Uint32Array(this.memory, x.wordArea(), L.WORD_COUNT);
  }

  scan(b: Buffer, p: number, end: number): number {
    const nl = this.scanWasm(b, p, end);
    return nl >= 0 ? nl : this.fallback.scan(b, p, end);
  }

  /** The WebAssembly scanner alone: -1 for every line it leaves to scan.ts (and for buffers
   *  outside its memory). */
  scanWasm(b: Buffer, p: number, end: number): number {
    if (b.buffer !== this.memory) return -1;
    const off = b.byteOffset;
    const nl = this.x.scan(off + p, off + end);
    if (nl < 0) return -1;
    const v = this.v;
    const n = this.num;
    const w = this.word;
    v.timeReceivedNs = n[L.NUM_TIME_RECEIVED]!;
    v.startNs = n[L.NUM_START]!;
    v.endNs = n[L.NUM_END]!;
    v.bytes = n[L.NUM_BYTES]!;
    v.packets = n[L.NUM_PACKETS]!;
    v.samplingRate = n[L.NUM_SAMPLING_RATE]!;
    v.etype = n[L.NUM_ETYPE]!;
    v.proto = n[L.NUM_PROTO]!;
    v.srcPort = n[L.NUM_SRC_PORT]!;
    v.dstPort = n[L.NUM_DST_PORT]!;
    v.inIf = n[L.NUM_IN_IF]!;
    v.outIf = n[L.NUM_OUT_IF]!;
    v.tos = n[L.NUM_TOS]!;
    v.tcpFlags = n[L.NUM_TCP_FLAGS]!;
    v.srcAs = n[L.NUM_SRC_AS]!;
    v.dstAs = n[L.NUM_DST_AS]!;
    v.srcFam = w[L.W_SRC_FAM] as 0 | 4 | 6;
    words(v.src, w, L.W_SRC, v.srcFam);
    v.dstFam = w[L.W_DST_FAM] as 0 | 4 | 6;
    words(v.dst, w, L.W_DST, v.dstFam);
    v.peerFam = w[L.W_PEER_FAM] as 0 | 4 | 6;
    words(v.peer, w, L.W_PEER, v.peerFam);
    v.srcXFam = w[L.W_SRC_X_FAM] as 4 | 6;
    words(v.srcX, w, L.W_SRC_X, v.srcXFam);
    v.srcXLen = w[L.W_SRC_X_LEN]!;
    v.dstXFam = w[L.W_DST_X_FAM] as 4 | 6;
    words(v.dstX, w, L.W_DST_X, v.dstXFam);
    v.dstXLen = w[L.W_DST_X_LEN]!;
    v.resetNets();
    return nl - off;
  }
}

/** An address of the family: one word for IPv4, four for IPv6. */
function words(to: Uint32Array, w: Uint32Array, at: number, fam: number): void {
  to[0] = w[at]!;
  if (fam === 6) {
    to[1] = w[at + 1]!;
    to[2] = w[at + 2]!;
    to[3] = w[at + 3]!;
  }
}

/** Field names, kinds and bounds, flow types, protocol and etype names: from record.ts and
 *  proto.ts, so the module has no list of its own to drift. */
function teach(x: ScanExports): void {
  const text = new Uint8Array(x.memory.buffer, x.textArea(), 256);
  const put = (s: string): number => {
    const b = Buffer.from(s, 'latin1');
    text.set(b);
    return b.length;
  };
  FLOW_FIELDS.forEach((f, id) => {
    const name = f.name as string;
    if (!x.defineField(id, put(name), SCAN_KINDS[id]!, SLOTS.get(name) ?? L.NO_SLOT, SCAN_BOUNDS[id]!))
      throw new Error(`scan.wasm: field ${name}`);
  });
  EVIDENCE.forEach((id, i) => {
    if (!x.defineEvidence(i, id)) throw new Error(`scan.wasm: evidence field ${id}`);
  });
  const name = (table: number, s: string, value: number | undefined): void => {
    if (value === undefined) throw new Error(`scan.wasm: ${s} means nothing`);
    if (!x.defineName(table, put(s), value)) throw new Error(`scan.wasm: name ${s}`);
  };
  for (const t of FLOW_TYPES) name(0, t, 1);
  for (const j of PROTO_JSON) {
    if (!j.startsWith('"')) continue;
    const keyword = JSON.parse(j) as string;
    name(1, keyword, protoNumber(keyword));
    if (keyword.toLowerCase() !== keyword) name(1, keyword.toLowerCase(), protoNumber(keyword.toLowerCase()));
  }
  for (const e of ETYPE_SPELLINGS) name(2, e, etypeNumber(e));
}
