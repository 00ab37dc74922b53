// Large NetFlow v5 / v9 / IPFIX captures for bench/capture.sh: pcap files of export datagrams
// from one exporter (127.0.0.1 → 127.0.0.1:PORT, so tcpreplay on lo delivers them to a local
// collector), written in bounded chunks whatever the size.
//   node dist/bench/gen-capture.js v5|v9|ipfix FLOWS OUT.pcap [PORT]
// Prints {"flows":N,"datagrams":M,"bytes":B} on stdout. Deterministic (fixed seed and clock).
//   v5     30 records per datagram (1464 bytes), header sampling 0
//   v9     softflowd's IPv4 template (16 fields, 45-byte records, sysUpTime-relative times),
//          31 records per datagram, template every 20 datagrams
//   ipfix  a router-like template (19 fields, 64-bit counters, flowStart/EndMilliseconds),
//          21 records per datagram, template every 20 datagrams

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const [kind, flowsArg, out, portArg] = process.argv.slice(2);
if (!kind || !['v5', 'v9', 'ipfix'].includes(kind) || !flowsArg || !out) {
  process.stderr.write('usage: gen-capture.js v5|v9|ipfix FLOWS OUT.pcap [PORT]\n');
  process.exit(64);
}
const FLOWS = Number(flowsArg);
const PORT = Number(portArg ?? 2055);
const T0 = 1_705_320_000; // 2024-01-15 12:00:00 UTC
const UPTIME0 = 3_600_000; // exporter up for an hour at T0

let seed = 0x12345678;
const rnd = (): number => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>>= 0);
};

// --- flow content ---------------------------------------------------------------------------
interface Flow {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  flags: number;
  tos: number;
  packets: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
  inIf: number;
  outIf: number;
}
const PROTOS = [6, 6, 6, 17, 17, 1];
const PORTS = [80, 443, 443, 53, 123, 22, 25, 993, 8080, 3478];
function flow(nowMs: number): Flow {
  const r = rnd();
  const proto = PROTOS[r % PROTOS.length]!;
  const out = (r & 0x100) !== 0;
  const sub = (0x0a050000 | (rnd() & 0xffff)) >>> 0; // 10.5.x.y subscribers
  const far = ((rnd() % 200) + 20) * 0x1000000 + (rnd() & 0xffffff);
  const eph = 1024 + (rnd() % 64000);
  const svc = PORTS[rnd() % PORTS.length]!;
  const packets = 1 + (rnd() % 2000);
  const dur = rnd() % 60_000;
  return {
    src: out ? sub : far,
    dst: out ? far : sub,
    sport: proto === 1 ? 0 : out ? eph : svc,
    dport: proto === 1 ? 2048 : out ? svc : eph,
    proto,
    flags: proto === 6 ? 0x1b : 0,
    tos: 0,
    packets,
    bytes: packets * (40 + (rnd() % 1400)),
    firstMs: nowMs - dur - 1000,
    lastMs: nowMs - 1000,
    inIf: 1 + (r % 4),
    outIf: 5 + (r % 3),
  };
}

// --- pcap framing ----------------------------------------------------------------------------
function pcapHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  return h;
}
let ipId = 0;
function frame(payload: Buffer, tsUs: number): Buffer {
  const len = 14 + 20 + 8 + payload.length;
  const b = Buffer.alloc(16 + len);
  b.writeUInt32LE(Math.floor(tsUs / 1e6), 0);
  b.writeUInt32LE(tsUs % 1e6, 4);
  b.writeUInt32LE(len, 8);
  b.writeUInt32LE(len, 12);
  const e = 16;
  b.writeUInt16BE(0x0800, e + 12); // Ethernet, MACs 0 (lo)
  const ip = e + 14;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + 8 + payload.length, ip + 2);
  b.writeUInt16BE(ipId++ & 0xffff, ip + 4);
  b.writeUInt16BE(0x4000, ip + 6);
  b[ip + 8] = 64;
  b[ip + 9] = 17;
  b.writeUInt32BE(0x7f000001, ip + 12);
  b.writeUInt32BE(0x7f000001, ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, ip + 10);
  const u = ip + 20;
  b.writeUInt16BE(40000, u);
  b.writeUInt16BE(PORT, u + 2);
  b.writeUInt16BE(8 + payload.length, u + 4); // checksum 0: none
  payload.copy(b, u + 8);
  return b;
}

// --- export formats --------------------------------------------------------------------------
// v9: softflowd's IPv4 template 1024
const V9_FIELDS: Array<[number, number]> = [
  [8, 4],
  [12, 4],
  [22, 4],
  [21, 4],
  [1, 4],
  [2, 4],
  [10, 4],
  [14, 4],
  [61, 1],
  [136, 1],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [60, 1],
  [5, 1],
];
// IPFIX: 64-bit counters, absolute ms times, masks, AS numbers, next hop
const IPFIX_FIELDS: Array<[number, number]> = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [5, 1],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
  [10, 4],
  [14, 4],
  [9, 1],
  [13, 1],
  [16, 4],
  [17, 4],
  [15, 4],
  [61, 1],
];
const recLen = (f: Array<[number, number]>): number => f.reduce((a, [, l]) => a + l, 0);

function templateSet(id: number, setId: number, fields: Array<[number, number]>): Buffer {
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

function writeField(b: Buffer, o: number, type: number, len: number, f: Flow, nowMs: number, exportMs: number): void {
  const uptime = (ms: number): number => (UPTIME0 + (ms - T0 * 1000)) >>> 0;
  let v: number;
  switch (type) {
    case 8:
      v = f.src;
      break;
    case 12:
      v = f.dst;
      break;
    case 7:
      v = f.sport;
      break;
    case 11:
      v = f.dport;
      break;
    case 4:
      v = f.proto;
      break;
    case 6:
      v = f.flags;
      break;
    case 5:
      v = f.tos;
      break;
    case 1:
      v = f.bytes;
      break;
    case 2:
      v = f.packets;
      break;
    case 22:
      v = uptime(f.firstMs);
      break;
    case 21:
      v = uptime(f.lastMs);
      break;
    case 152:
      v = f.firstMs;
      break;
    case 153:
      v = f.lastMs;
      break;
    case 10:
      v = f.inIf;
      break;
    case 14:
      v = f.outIf;
      break;
    case 9:
      v = 16;
      break;
    case 13:
      v = 24;
      break;
    case 16:
      v = 64512;
      break;
    case 17:
      v = 15169;
      break;
    case 15:
      v = 0xc0000201;
      break;
    default:
      v = 0;
  }
  void nowMs;
  void exportMs;
  if (len === 1) b[o] = v;
  else if (len === 2) b.writeUInt16BE(v, o);
  else if (len === 4) b.writeUInt32BE(v >>> 0, o);
  else {
    b.writeUInt32BE(Math.floor(v / 2 ** 32), o);
    b.writeUInt32BE(v >>> 0, o + 4);
  }
}

async function main(): Promise<void> {
  const ws = createWriteStream(out!, { highWaterMark: 1 << 20 });
  const chunks: Buffer[] = [];
  let chunkBytes = 0;
  const push = async (b: Buffer): Promise<void> => {
    chunks.push(b);
    chunkBytes += b.length;
    if (chunkBytes >= 1 << 20) {
      const data = Buffer.concat(chunks);
      chunks.length = 0;
      chunkBytes = 0;
      if (!ws.write(data)) await once(ws, 'drain');
    }
  };
  await push(pcapHeader());
  let flows = 0;
  let datagrams = 0;
  let bytes = 24;
  let seq = 0;
  const perDatagram = kind === 'v5' ? 30 : kind === 'v9' ? 31 : 21;
  const fields = kind === 'v9' ? V9_FIELDS : IPFIX_FIELDS;
  const rl = recLen(fields);
  while (flows < FLOWS) {
    const n = Math.min(perDatagram, FLOWS - flows);
    const tsUs = T0 * 1e6 + datagrams * 200; // 5000 datagrams per second of capture time
    const nowMs = Math.floor(tsUs / 1000);
    let p: Buffer;
    if (kind === 'v5') {
      p = Buffer.alloc(24 + 48 * n);
      p.writeUInt16BE(5, 0);
      p.writeUInt16BE(n, 2);
      p.writeUInt32BE(UPTIME0 + (nowMs - T0 * 1000), 4);
      p.writeUInt32BE(Math.floor(nowMs / 1000), 8);
      p.writeUInt32BE((nowMs % 1000) * 1e6, 12);
      p.writeUInt32BE(seq, 16);
      seq += n;
      for (let i = 0, o = 24; i < n; i++, o += 48) {
        const f = flow(nowMs);
        p.writeUInt32BE(f.src, o);
        p.writeUInt32BE(f.dst, o + 4);
        p.writeUInt16BE(f.inIf, o + 12);
        p.writeUInt16BE(f.outIf, o + 14);
        p.writeUInt32BE(f.packets, o + 16);
        p.writeUInt32BE(f.bytes, o + 20);
        p.writeUInt32BE(UPTIME0 + (f.firstMs - T0 * 1000), o + 24);
        p.writeUInt32BE(UPTIME0 + (f.lastMs - T0 * 1000), o + 28);
        p.writeUInt16BE(f.sport, o + 32);
        p.writeUInt16BE(f.dport, o + 34);
        p[o + 37] = f.flags;
        p[o + 38] = f.proto;
        p[o + 39] = f.tos;
        p.writeUInt16BE(64512, o + 40);
        p.writeUInt16BE(15169, o + 42);
        p[o + 44] = 16;
        p[o + 45] = 24;
      }
    } else {
      const ipfix = kind === 'ipfix';
      const withTemplate = datagrams % 20 === 0;
      const tpl = withTemplate ? templateSet(ipfix ? 256 : 1024, ipfix ? 2 : 0, fields) : Buffer.alloc(0);
      const hdr = ipfix ? 16 : 20;
      const dataLen = 4 + rl * n;
      const pad = (4 - (dataLen % 4)) % 4;
      p = Buffer.alloc(hdr + tpl.length + dataLen + pad);
      if (ipfix) {
        p.writeUInt16BE(10, 0);
        p.writeUInt16BE(p.length, 2);
        p.writeUInt32BE(Math.floor(nowMs / 1000), 4);
        p.writeUInt32BE(seq, 8);
        p.writeUInt32BE(1, 12);
        seq += n;
      } else {
        p.writeUInt16BE(9, 0);
        p.writeUInt16BE(n + (withTemplate ? 1 : 0), 2);
        p.writeUInt32BE(UPTIME0 + (nowMs - T0 * 1000), 4);
        p.writeUInt32BE(Math.floor(nowMs / 1000), 8);
        p.writeUInt32BE(seq++, 12);
        p.writeUInt32BE(1, 16);
      }
      tpl.copy(p, hdr);
      let o = hdr + tpl.length;
      p.writeUInt16BE(ipfix ? 256 : 1024, o);
      p.writeUInt16BE(dataLen + pad, o + 2);
      o += 4;
      for (let i = 0; i < n; i++) {
        const f = flow(nowMs);
        for (const [t, l] of fields) {
          writeField(p, o, t, l, f, nowMs, nowMs);
          o += l;
        }
      }
    }
    const fr = frame(p, tsUs);
    bytes += fr.length;
    await push(fr);
    flows += n;
    datagrams++;
  }
  if (chunks.length > 0) ws.write(Buffer.concat(chunks));
  ws.end();
  await once(ws, 'finish');
  process.stdout.write(`${JSON.stringify({ kind, flows, datagrams, bytes })}\n`);
}

await main();
