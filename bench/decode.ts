// Decoder throughput: builds large realistic NetFlow v5, v9 and IPFIX datagram sets in memory and
// reports records/s for decode alone and decode + NDJSON (as flow-capture writes it), one core.
// Usage: npx tsc -p . && node dist/bench/decode.js [records per protocol, default 3000000]

import { Writable } from 'node:stream';
import { Log } from '../lib/cli/log.js';
import type { Datagram } from '../lib/capture/datagram.js';
import { FlowDecoder } from '../lib/decode/decoder.js';
import type { FlowSink } from '../lib/netflow/core.js';
import {
  MAX_CORE_BYTES,
  MAX_WIRE_BYTES,
  optionalJson,
  viewOf,
  writeFlowJsonLine,
  writeWireJsonLine,
} from '../lib/format/ndjson-bytes.js';
import { rngInt } from '../test/helpers/prng.js';

const TOTAL = Number(process.argv[2] ?? 3_000_000);
const POOL = 2000; // distinct datagrams, cycled
const SECS = 1_700_000_000;

const rnd = rngInt(12345);
const next = (): number => rnd(2 ** 32);

function v5Datagram(seq: number): Buffer {
  const n = 30;
  const b = Buffer.alloc(24 + 48 * n);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(n, 2);
  b.writeUInt32BE(3_600_000, 4);
  b.writeUInt32BE(SECS, 8);
  b.writeUInt32BE(seq, 16);
  b.writeUInt16BE(0x4000 | 64, 22);
  for (let i = 0, o = 24; i < n; i++, o += 48) {
    b.writeUInt32BE(0x0a000000 | (next() & 0xffffff), o);
    b.writeUInt32BE(next(), o + 4);
    b.writeUInt32BE(0x0a0000fe, o + 8);
    b.writeUInt16BE(1 + (next() & 7), o + 12);
    b.writeUInt16BE(1 + (next() & 7), o + 14);
    b.writeUInt32BE(1 + (next() & 1023), o + 16);
    b.writeUInt32BE(64 + (next() & 0xfffff), o + 20);
    b.writeUInt32BE(3_500_000, o + 24);
    b.writeUInt32BE(3_599_000, o + 28);
    b.writeUInt16BE(next() & 0xffff, o + 32);
    b.writeUInt16BE([80, 443, 53, 25][next() & 3]!, o + 34);
    b[o + 37] = 0x1b;
    b[o + 38] = [6, 17, 6, 1][next() & 3]!;
    b.writeUInt16BE(next() & 0xffff, o + 40);
    b.writeUInt16BE(next() & 0xffff, o + 42);
    b[o + 44] = 24;
    b[o + 45] = 16;
  }
  return b;
}

// a typical router template: 19 fields, 55 bytes per record (IPv4); IPFIX adds 64-bit counters and ms times
const V9_FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [15, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [5, 1],
  [6, 1],
  [10, 4],
  [14, 4],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
  [9, 1],
  [13, 1],
  [16, 4],
  [17, 4],
  [61, 1],
];
const IPFIX_FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [15, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [5, 1],
  [6, 1],
  [10, 4],
  [14, 4],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
  [9, 1],
  [13, 1],
  [16, 4],
  [17, 4],
  [61, 1],
];
const IPFIX6_FIELDS: [number, number][] = [
  [27, 16],
  [28, 16],
  [62, 16],
  [7, 2],
  [11, 2],
  [4, 1],
  [5, 1],
  [6, 1],
  [10, 4],
  [14, 4],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
  [29, 1],
  [30, 1],
  [16, 4],
  [17, 4],
  [61, 1],
];

function templateSet(setId: number, id: number, fields: [number, number][]): Buffer {
  const b = Buffer.alloc(8 + 4 * fields.length);
  b.writeUInt16BE(setId, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(fields.length, 6);
  fields.forEach(([t, l], i) => {
    b.writeUInt16BE(t, 8 + 4 * i);
    b.writeUInt16BE(l, 10 + 4 * i);
  });
  return b;
}

/** Value ranges seen on real routers: small ifindexes, 16/32-bit AS numbers, flows of a few
 *  hundred packets. (Uniformly random 32-bit values would make every number a heap double.) */
function realistic(ie: number): number {
  switch (ie) {
    case 1:
      return 40 + (next() % 2_000_000); // bytes
    case 2:
      return 1 + (next() % 2000); // packets
    case 10:
    case 14:
      return 1 + (next() % 64); // ifindex
    case 16:
    case 17:
      return next() & 1 ? next() % 65536 : 131072 + (next() % 300000); // AS
    case 5:
      return next() & 0xfc; // tos
    case 6:
      return next() & 0x3f; // tcp flags
    case 61:
      return next() & 1; // direction
    default:
      return next();
  }
}

function record(fields: [number, number][]): Buffer {
  const len = fields.reduce((s, [, l]) => s + l, 0);
  const b = Buffer.alloc(len);
  let o = 0;
  for (const [t, l] of fields) {
    if (t === 8 || t === 12) b.writeUInt32BE(t === 8 ? 0x0a000000 | (next() & 0xffffff) : next(), o);
    else if (t === 27 || t === 28) {
      b.writeUInt32BE(0x20010db8, o);
      for (let k = 4; k < 16; k += 4) b.writeUInt32BE(next(), o + k);
    } else if (t === 152 || t === 153) b.writeBigUInt64BE(BigInt(SECS * 1000 - (t === 152 ? 60000 : 1000)), o);
    else if (t === 22 || t === 21) b.writeUInt32BE(t === 22 ? 3_500_000 : 3_599_000, o);
    else if (t === 4) b[o] = [6, 17, 6, 1][next() & 3]!;
    else if (t === 9 || t === 13 || t === 29 || t === 30) b[o] = 8 + (next() % 17);
    else if (t === 7 || t === 11)
      b.writeUInt16BE(next() & 1 ? [80, 443, 53, 123][next() & 3]! : 1024 + (next() % 64000), o);
    else if (l <= 4 || t === 1 || t === 2)
      b.writeUIntBE(realistic(t) % 2 ** (8 * Math.min(l, 6)), o + Math.max(0, l - 6), Math.min(l, 6));
    else b.writeBigUInt64BE(BigInt(next()), o);
    o += l;
  }
  return b;
}

function dataDatagram(version: 9 | 10, seq: number, sets: [number, [number, number][], number][]): Buffer {
  const parts: Buffer[] = [];
  for (const [id, fields, n] of sets) {
    const recs = Buffer.concat(Array.from({ length: n }, () => record(fields)));
    const h = Buffer.alloc(4);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(4 + recs.length, 2);
    parts.push(h, recs);
  }
  return header(version, seq, Buffer.concat(parts));
}

function header(version: 9 | 10, seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(version === 9 ? 20 : 16);
  h.writeUInt16BE(version, 0);
  if (version === 9) {
    h.writeUInt16BE(30, 2);
    h.writeUInt32BE(3_600_000, 4);
    h.writeUInt32BE(SECS, 8);
    h.writeUInt32BE(seq, 12);
  } else {
    h.writeUInt16BE(16 + body.length, 2);
    h.writeUInt32BE(SECS, 4);
    h.writeUInt32BE(seq, 8);
    h.writeUInt32BE(1, 12);
  }
  return Buffer.concat([h, body]);
}

interface Workload {
  name: string;
  templates: Buffer | undefined;
  pool: Buffer[];
  perDatagram: number;
}

function workloads(): Workload[] {
  const v5 = Array.from({ length: POOL }, (_, i) => v5Datagram(i * 30));
  const v9 = Array.from({ length: POOL }, (_, i) => dataDatagram(9, i + 1, [[256, V9_FIELDS, 25]])); // 25 × 55 = 1375 bytes
  // IPFIX: 4 of 5 records IPv4, 1 of 5 IPv6
  const ipfix = Array.from({ length: POOL }, (_, i) =>
    dataDatagram(10, i * 20, [
      [256, IPFIX_FIELDS, 16],
      [257, IPFIX6_FIELDS, 4],
    ]),
  );
  return [
    { name: 'NetFlow v5', templates: undefined, pool: v5, perDatagram: 30 },
    { name: 'NetFlow v9', templates: header(9, 0, templateSet(0, 256, V9_FIELDS)), pool: v9, perDatagram: 25 },
    {
      name: 'IPFIX (20% IPv6)',
      templates: header(10, 0, Buffer.concat([templateSet(2, 256, IPFIX_FIELDS), templateSet(2, 257, IPFIX6_FIELDS)])),
      pool: ipfix,
      perDatagram: 20,
    },
  ];
}

function run(w: Workload, json: boolean): number {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const dec = new FlowDecoder({ rejects: new Log('bench', sink, { quiet: true }) });
  const d: Datagram = {
    payload: Buffer.alloc(0),
    exporter: '192.0.2.1',
    exporterPort: 2055,
    receivedNs: SECS * 1e9,
    source: 'bench',
    packetNo: 0,
    offset: -1,
  };
  if (w.templates) {
    d.payload = w.templates;
    dec.decode(d, { flow: () => {}, record: () => {} });
  }
  let records = 0;
  // NDJSON as flow-capture writes it: NetFlow/IPFIX from the decoder's WireFlow, straight into a
  // reused buffer (lib/format/ndjson-bytes.ts); records (sFlow, none here) through their writer
  const out = Buffer.allocUnsafe(1 << 20);
  const dv = viewOf(out);
  let off = 0;
  const emit: FlowSink = json
    ? {
        flow: (w) => {
          if (off > out.length - MAX_WIRE_BYTES) off = 0;
          off = writeWireJsonLine(out, dv, off, w);
          records++;
        },
        record: (r) => {
          const optional = optionalJson(r);
          if (off > out.length - MAX_CORE_BYTES - 3 * optional.length - 2) off = 0;
          off = writeFlowJsonLine(out, dv, off, r, optional);
          records++;
        },
      }
    : { flow: () => void records++, record: () => void records++ };
  const datagrams = Math.ceil(TOTAL / w.perDatagram);
  const c0 = process.cpuUsage();
  for (let i = 0; i < datagrams; i++) {
    d.payload = w.pool[i % POOL]!;
    d.receivedNs += 1000;
    dec.decode(d, emit);
  }
  // CPU time, not wall time: the figure is per core even on a shared, busy machine
  const c = process.cpuUsage(c0);
  const secs = (c.user + c.system) / 1e6;
  if (dec.stats.rejected !== 0) throw new Error(`${w.name}: ${[...dec.stats.rejects]}`);
  if (records !== datagrams * w.perDatagram) throw new Error(`${w.name}: ${records} records`);
  return records / secs;
}

const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
console.log(
  `flowmeter decoder benchmark: ${TOTAL.toLocaleString('en')} records per protocol, Node ${process.version}, best of 3, records per CPU second`,
);
console.log('protocol            decode only   decode + NDJSON');
const only = process.env.BENCH_ONLY; // e.g. BENCH_ONLY=v9 to profile one protocol
for (const w of workloads().filter((x) => only === undefined || x.name.toLowerCase().includes(only.toLowerCase()))) {
  let a = 0;
  let b = 0;
  for (let k = 0; k < 3; k++) {
    a = Math.max(a, run(w, false));
    b = Math.max(b, run(w, true));
  }
  console.log(`${w.name.padEnd(20)}${fmt(a).padStart(11)}   ${fmt(b).padStart(15)}`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
