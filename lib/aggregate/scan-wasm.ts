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

// (the WebAssembly global is not in the type libraries this project compiles with)
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: unknown } };
};

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

/** Output slot of each number field, in FlowView's order (wasm/scan.ts writes NUM by slot). */
const NUM_SLOTS = [
  'time_received_ns', 'time_flow_start_ns', 'time_flow_end_ns', 'bytes', 'packets', 'sampling_rate', 'etype', 'proto',
  'src_port', 'dst_port', 'in_if', 'out_if', 'ip_tos', 'tcp_flags', 'src_as', 'dst_as',
];
const ADDR_SLOTS = ['src_addr', 'dst_addr', 'sampler_address'];
const NET_SLOTS = ['src_net', 'dst_net'];
const NO_SLOT = 255;
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
    this.num = new Float64Array(this.memory, x.numArea(), 16);
    this.word = new Uint32Array(this.memory, x.wordArea(), 32);
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
    v.timeReceivedNs = n[0]!;
    v.startNs = n[1]!;
    v.endNs = n[2]!;
    v.bytes = n[3]!;
    v.packets = n[4]!;
    v.samplingRate = n[5]!;
    v.etype = n[6]!;
    v.proto = n[7]!;
    v.srcPort = n[8]!;
    v.dstPort = n[9]!;
    v.inIf = n[10]!;
    v.outIf = n[11]!;
    v.tos = n[12]!;
    v.tcpFlags = n[13]!;
    v.srcAs = n[14]!;
    v.dstAs = n[15]!;
    v.srcFam = w[20] as 0 | 4 | 6;
    words(v.src, w, 0, v.srcFam);
    v.dstFam = w[21] as 0 | 4 | 6;
    words(v.dst, w, 4, v.dstFam);
    v.peerFam = w[22] as 0 | 4 | 6;
    words(v.peer, w, 8, v.peerFam);
    v.srcXFam = w[25] as 4 | 6;
    words(v.srcX, w, 12, v.srcXFam);
    v.srcXLen = w[23]!;
    v.dstXFam = w[26] as 4 | 6;
    words(v.dstX, w, 16, v.dstXFam);
    v.dstXLen = w[24]!;
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
    const slot = f.kind === 'ip' ? ADDR_SLOTS.indexOf(name) : f.kind === 'net' ? NET_SLOTS.indexOf(name) : NUM_SLOTS.indexOf(name);
    if (!x.defineField(id, put(name), SCAN_KINDS[id]!, slot < 0 ? NO_SLOT : slot, SCAN_BOUNDS[id]!)) throw new Error(`scan.wasm: field ${name}`);
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
