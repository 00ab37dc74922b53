// flowToJson written straight into a Buffer: the same bytes (test/unit/format compares them),
// without building a rope of ~50 strings per record that the output then has to flatten and
// encode — that was about half of `flow-capture -r`'s CPU. Core fields are ASCII we generated
// (names, numbers, addresses); the optional fields, which may carry strings from the wire, still
// go through optionalJson (JSON.stringify) and are copied as UTF-8.

import { optionalJson, type FlowRecord } from '../flow/record.js';
import { PROTO_JSON, etypeName } from '../flow/proto.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const P = {
  type: bytes('{"type":"'),
  recv: bytes('","time_received_ns":'),
  seq: bytes(',"sequence_num":'),
  rate: bytes(',"sampling_rate":'),
  sampler: bytes(',"sampler_address":"'),
  start: bytes('","time_flow_start_ns":'),
  end: bytes(',"time_flow_end_ns":'),
  bytes: bytes(',"bytes":'),
  packets: bytes(',"packets":'),
  src: bytes(',"src_addr":"'),
  dst: bytes('","dst_addr":"'),
  etype: bytes('","etype":"'),
  proto: bytes('","proto":'),
  sport: bytes(',"src_port":'),
  dport: bytes(',"dst_port":'),
  inIf: bytes(',"in_if":'),
  outIf: bytes(',"out_if":'),
  tos: bytes(',"ip_tos":'),
  flags: bytes(',"tcp_flags":'),
  srcAs: bytes(',"src_as":'),
  dstAs: bytes(',"dst_as":'),
  nextHop: bytes(',"next_hop":"'),
  srcNet: bytes('","src_net":"'),
  dstNet: bytes('","dst_net":"'),
  close: bytes('"'),
};

/** Longest core part: the fixed text plus generous room for every value (numbers 22, addresses 45). */
export const MAX_CORE_BYTES = 2048;

function put(buf: Uint8Array, off: number, p: Uint8Array): number {
  buf.set(p, off);
  return off + p.length;
}

/** ASCII text we generated (addresses, names). */
function ascii(buf: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  return off + s.length;
}

/** Decimal digits of a non-negative integer below 2^53, as `${n}` prints it. */
function digits(buf: Uint8Array, off: number, n: number): number {
  if (n < 4294967296) {
    let v = n >>> 0;
    const len = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
    for (let i = off + len - 1; i >= off; i--) {
      const q = (v / 10) >>> 0;
      buf[i] = 48 + v - q * 10;
      v = q;
    }
    return off + len;
  }
  const hi = Math.floor(n / 1e9);
  off = digits(buf, off, hi);
  return nine(buf, off, n - hi * 1e9);
}

/** Exactly nine digits, zero-padded, of an integer below 1e9. */
function nine(buf: Uint8Array, off: number, lo: number): number {
  let v = lo >>> 0;
  for (let i = off + 8; i >= off; i--) {
    const q = (v / 10) >>> 0;
    buf[i] = 48 + v - q * 10;
    v = q;
  }
  return off + 9;
}

/** A number as a template literal prints it (`${n}`). */
function num(buf: Uint8Array, off: number, n: number): number {
  if (n >= 0 && n < 1e15 && Number.isInteger(n)) return digits(buf, off, n);
  return ascii(buf, off, `${n}`);
}

/** A number as intText prints it: big integers (ns times) exactly, not in shortest round-trip form. */
function big(buf: Uint8Array, off: number, x: number): number {
  if (x < 1e15 || x >= 1e21 || !Number.isInteger(x)) return num(buf, off, x);
  const hi = Math.floor(x / 1e9);
  return nine(buf, digits(buf, off, hi), x - hi * 1e9);
}

/**
 * Write flowToJson(r) + "\n" at buf[off…]; the caller guarantees MAX_CORE_BYTES + 3 × the optional
 * part's length + 2 bytes of room. Returns the new offset.
 */
export function writeFlowJsonLine(buf: Buffer, off: number, r: FlowRecord, optional: string): number {
  off = put(buf, off, P.type);
  off = ascii(buf, off, r.type);
  off = put(buf, off, P.recv);
  off = big(buf, off, r.time_received_ns);
  off = put(buf, off, P.seq);
  off = num(buf, off, r.sequence_num);
  off = put(buf, off, P.rate);
  off = num(buf, off, r.sampling_rate);
  off = put(buf, off, P.sampler);
  off = ascii(buf, off, r.sampler_address);
  off = put(buf, off, P.start);
  off = big(buf, off, r.time_flow_start_ns);
  off = put(buf, off, P.end);
  off = big(buf, off, r.time_flow_end_ns);
  off = put(buf, off, P.bytes);
  off = num(buf, off, r.bytes);
  off = put(buf, off, P.packets);
  off = num(buf, off, r.packets);
  off = put(buf, off, P.src);
  off = ascii(buf, off, r.src_addr);
  off = put(buf, off, P.dst);
  off = ascii(buf, off, r.dst_addr);
  off = put(buf, off, P.etype);
  off = ascii(buf, off, etypeName(r.etype));
  off = put(buf, off, P.proto);
  off = ascii(buf, off, PROTO_JSON[r.proto] ?? `${r.proto}`);
  off = put(buf, off, P.sport);
  off = num(buf, off, r.src_port);
  off = put(buf, off, P.dport);
  off = num(buf, off, r.dst_port);
  off = put(buf, off, P.inIf);
  off = num(buf, off, r.in_if);
  off = put(buf, off, P.outIf);
  off = num(buf, off, r.out_if);
  off = put(buf, off, P.tos);
  off = num(buf, off, r.ip_tos);
  off = put(buf, off, P.flags);
  off = num(buf, off, r.tcp_flags);
  off = put(buf, off, P.srcAs);
  off = num(buf, off, r.src_as);
  off = put(buf, off, P.dstAs);
  off = num(buf, off, r.dst_as);
  off = put(buf, off, P.nextHop);
  off = ascii(buf, off, r.next_hop);
  off = put(buf, off, P.srcNet);
  off = ascii(buf, off, r.src_net);
  off = put(buf, off, P.dstNet);
  off = ascii(buf, off, r.dst_net);
  off = put(buf, off, P.close);
  if (optional.length > 0) off += buf.write(optional, off);
  buf[off++] = 125; // }
  buf[off++] = 10; // \n
  return off;
}

export { optionalJson };
