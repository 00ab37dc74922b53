// Deterministic fuzz cases for the flow decoders: valid seed datagrams (hand-built here plus any
// real ones passed in) mutated by bit flips, truncation, length fields forced to 0/1/max, absurd
// template field counts, splices, and purely random datagrams behind a valid version number.
// Shared by test/unit/netflow/fuzz.test.ts (short run) and bench/fuzz.ts (long run).

import { Writable } from 'node:stream';
import { Log } from '../../../lib/cli/log.js';
import { FlowDecoder } from '../../../lib/decode/decoder.js';
import { flowToJson, type FlowRecord } from '../../../lib/flow/record.js';
import { rng } from '../../helpers/prng.js';
import { Bytes, ipfix, set, v9 } from './helpers.js';

/** Hand-built valid datagrams of every kind. */
export function seedDatagrams(): Buffer[] {
  const v5 = new Bytes().u16(5, 2).u32(100000, 1700000000, 0, 1).u8(0, 0).u16(0x4010);
  for (let i = 0; i < 2; i++)
    v5.ip4('10.0.0.1')
      .ip4('10.0.0.2')
      .ip4('10.0.0.3')
      .u16(1, 2)
      .u32(3, 400, 90000, 99000)
      .u16(1234, 80)
      .u8(0, 0x1b, 6, 0)
      .u16(1, 2)
      .u8(24, 16)
      .u16(0);
  const v1 = new Bytes()
    .u16(1, 1)
    .u32(100000, 1700000000, 0)
    .ip4('10.0.0.1')
    .ip4('10.0.0.2')
    .ip4('0.0.0.0')
    .u16(1, 2)
    .u32(3, 400, 90000, 99000)
    .u16(1, 2, 0)
    .u8(6, 0, 2, 0, 0, 0)
    .u32(0);
  const v7 = new Bytes()
    .u16(7, 1)
    .u32(100000, 1700000000, 0, 1, 0)
    .ip4('10.0.0.1')
    .ip4('10.0.0.2')
    .ip4('10.0.0.3')
    .u16(1, 2)
    .u32(3, 400, 90000, 99000)
    .u16(1, 2)
    .u8(0, 2, 6, 0)
    .u16(1, 2)
    .u8(8, 8)
    .u16(0)
    .ip4('10.0.0.9');
  const v9t = new Bytes().u16(256, 8).u16(8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 1, 4, 2, 4, 22, 4);
  const v9d = new Bytes();
  for (let i = 0; i < 3; i++)
    v9d
      .ip4(`10.0.0.${i}`)
      .ip4('10.1.0.1')
      .u16(1000 + i, 53)
      .u8(17)
      .u32(100, 1, 99000);
  const v9o = new Bytes().u16(257, 4, 8).u16(1, 4).u16(34, 4, 35, 1);
  const v9od = new Bytes().u32(0, 100).u8(1);
  const v96 = new Bytes().u16(258, 5).u16(27, 16, 28, 16, 29, 1, 62, 16, 1, 8);
  const v96d = new Bytes()
    .ip6('2001:db8::1')
    .ip6('2001:db8::2')
    .u8(64)
    .ip6('fe80::1')
    .u64(1n << 40n);
  const it = new Bytes()
    .u16(300, 7)
    .u16(8, 4, 12, 4)
    .u16(0x8000 | 100, 4)
    .u32(9)
    .u16(82, 65535)
    .u16(152, 8, 153, 8)
    .u16(1, 3);
  const id = new Bytes()
    .ip4('10.0.0.1')
    .ip4('10.0.0.2')
    .u32(7)
    .u8(3)
    .raw([1, 2, 3])
    .u64(1700000000000n)
    .u64(1700000001000n)
    .u8(0, 1, 0)
    .ip4('10.0.0.3')
    .ip4('10.0.0.4')
    .u32(8)
    .u8(255)
    .u16(5)
    .raw([1, 2, 3, 4, 5])
    .u64(1700000000000n)
    .u64(1700000001000n)
    .u8(0, 2, 0);
  const io = new Bytes().u16(301, 3, 1).u16(149, 4, 305, 4, 306, 4);
  const iod = new Bytes().u32(1, 1, 99);
  const it6 = new Bytes().u16(302, 6).u16(27, 16, 28, 16, 156, 8, 157, 8, 158, 4, 2, 1);
  const id6 = new Bytes()
    .ip6('2001:db8::1')
    .ip6('::1')
    .u32(3908988800, 1 << 31, 3908988801, 0, 5000)
    .u8(9);
  return [
    v5.build(),
    v1.build(),
    v7.build(),
    v9([set(0, v9t), set(256, v9d, 4), set(1, v9o, 4), set(257, v9od, 4), set(0, v96), set(258, v96d)]),
    v9([set(256, v9d), set(0, v9t)]),
    ipfix([set(2, it, 4), set(300, id, 4), set(3, io), set(301, iod), set(2, it6), set(302, id6)]),
    ipfix([set(2, new Bytes().u16(300, 0)), set(3, new Bytes().u16(3, 0)), set(300, id)]),
  ];
}

/** One mutated or random datagram. */
export function mutate(rnd: () => number, seeds: readonly Buffer[]): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number) => Math.floor(rnd() * n);
  const kind = int(10);
  if (kind === 0) {
    // random bytes behind a valid version number
    const b = Buffer.alloc(int(1500));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    if (b.length >= 2) b.writeUInt16BE(pick([1, 5, 7, 9, 10, 0]), 0);
    return b;
  }
  let b = Buffer.from(pick(seeds));
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const op = kind === 1 ? 1 : int(7);
    if (b.length === 0) break;
    switch (op) {
      case 0: // bit flips
        for (let i = 1 + int(8); i > 0; i--) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // truncation
        b = b.subarray(0, int(b.length));
        break;
      case 2: // a 16-bit field (lengths, counts, ids) set to 0, 1, max or a random value
      case 3: {
        if (b.length < 2) break;
        const o = int(b.length - 1) & ~1;
        b.writeUInt16BE(pick([0, 1, 2, 3, 4, 0xffff, 0x7fff, 0x8000, int(65536)]), o);
        break;
      }
      case 4: // absurd template field count right after a template set header
        for (let o = 16; o + 8 <= b.length; o += 2) {
          const id = b.readUInt16BE(o);
          if (id <= 3 && rnd() < 0.3) {
            b.writeUInt16BE(pick([0, 1, 0xffff, 0x7fff, 3000]), o + 6);
            break;
          }
        }
        break;
      case 5: // splice with another seed
        b = Buffer.concat([b.subarray(0, int(b.length)), pick(seeds).subarray(int(40))]);
        break;
      case 6: // append garbage
        b = Buffer.concat([b, Buffer.from(Array.from({ length: int(64) }, () => int(256)))]);
        break;
    }
  }
  return b;
}

export interface FuzzResult {
  cases: number;
  records: number;
  rejected: number;
  internalErrors: number;
  problems: string[];
  decoder: FlowDecoder;
}

/** A uint64 counter: a safe integer, or a bigint above 2^53-1 (lib/flow/counter.ts). */
function saneCounter(v: number | bigint): boolean {
  return typeof v === 'bigint'
    ? v > BigInt(Number.MAX_SAFE_INTEGER) && v < 1n << 64n
    : Number.isSafeInteger(v) && v >= 0;
}

/** Run `n` cases through one decoder (state accumulates, as in a long-running collector).
 *  Every emitted record must serialise to valid JSON with sane field ranges. */
export function fuzz(seed: number, n: number, seeds: readonly Buffer[], onCase?: (i: number) => void): FuzzResult {
  const rnd = rng(seed);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const dec = new FlowDecoder({
    rejects: new Log('fuzz', sink, { perReason: 0, quiet: true }),
    maxPending: 64,
    maxPendingBytes: 1 << 20,
    templateLimits: { maxTemplatesPerExporter: 64, maxDomainsPerExporter: 64, maxDomains: 256 },
    pendingTtlSeconds: 5,
  });
  const problems: string[] = [];
  let records = 0;
  let now = 1700000000e9;
  const check = (r: FlowRecord) => {
    records++;
    const line = flowToJson(r);
    try {
      JSON.parse(line);
    } catch {
      if (problems.length < 10) problems.push(`bad JSON: ${line}`);
    }
    if (!(
      r.src_port >= 0 &&
      r.src_port <= 65535 &&
      r.proto >= 0 &&
      r.proto <= 255 &&
      saneCounter(r.bytes) &&
      saneCounter(r.packets) &&
      Number.isFinite(r.time_flow_start_ns)
    )) {
      if (problems.length < 10) problems.push(`bad record: ${line}`);
    }
  };
  for (let i = 0; i < n; i++) {
    const payload = mutate(rnd, seeds);
    now += Math.floor(rnd() * 1e9);
    const exporter = `192.0.2.${1 + Math.floor(rnd() * 4)}`;
    try {
      dec.decode(
        { payload, exporter, exporterPort: 2055, receivedNs: now, source: 'fuzz', packetNo: i + 1, offset: 0 },
        check,
      );
    } catch (e) {
      if (problems.length < 10) problems.push(`exception escaped: ${(e as Error).stack}`);
    }
    onCase?.(i);
  }
  dec.finish();
  return {
    cases: n,
    records,
    rejected: dec.stats.rejected,
    internalErrors: dec.stats.rejects.get('internal error') ?? 0,
    problems,
    decoder: dec,
  };
}
