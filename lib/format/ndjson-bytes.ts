// NDJSON flow lines written straight into a Buffer: flowToJson's bytes (test/unit/format
// compares them) without building strings. Two entry points: a FlowRecord (sFlow, tests), and
// the decoders' WireFlow (NetFlow/IPFIX), whose addresses, nets and times are still numbers.
// Why it looks like this: a rope of ~50 strings per record, then encoding it, and byte loops or
// TypedArray#set for the ~25 key texts per line would be most of `flow-capture -r` CPU
// (bench/README.md). So key texts are straight-line 8-byte DataView stores generated at load,
// numbers go four digits per table store, the start of the line that a datagram's flows
// share is written once and copied, and stores may run a few bytes past the returned offset (the
// next store overwrites them; callers reserve room).

import { generatedFunction } from '../codegen.js';
import { nsUnit, optionalJson, type FlowRecord } from '../flow/record.js';
import { PROTO_JSON, etypeName } from '../flow/proto.js';
import { NONE, V4, V6, type WireFlow } from '../flow/wire.js';
import { MAPPED_IPV4, ipv6Groups, maskIPv6 } from '../net/ip.js';
import { formatMacAt } from '../net/mac.js';

/** A function that stores `text` (ASCII) at dv[off…] and returns off + its length. */
type Lit = (dv: DataView, off: number) => number;

/**
 * Unrolled little-endian stores of the text's bytes (zero-padded): 8 bytes at a time as float64
 * stores (half as many stores as int32 ones), 4 at a time where a pattern would not come back
 * bit for bit from its printed number (NaN; printable ASCII never makes one, but be sure).
 */
function storesOf(text: string): string {
  const b = Buffer.alloc(Math.ceil(text.length / 8) * 8);
  b.write(text, 'latin1');
  const check = Buffer.alloc(8);
  let js = '';
  for (let i = 0; i < b.length; i += 8) {
    const d = b.readDoubleLE(i);
    check.writeDoubleLE(Number(String(d)));
    if (!Number.isNaN(d) && check.equals(b.subarray(i, i + 8)))
      js += `dv.setFloat64(off + ${i}, ${String(d)}, true);\n`;
    else
      js += `dv.setInt32(off + ${i}, ${b.readInt32LE(i)}, true);\ndv.setInt32(off + ${i + 4}, ${b.readInt32LE(i + 4)}, true);\n`;
  }
  return `${js}off += ${text.length};\n`;
}

function lit(text: string): Lit {
  return generatedFunction(`literal ${JSON.stringify(text)}`, ['dv', 'off'], `${storesOf(text)}return off;`) as Lit;
}

/** A statement of a compiled writer, as opposed to its literal text. */
export class Code {
  constructor(readonly js: string) {}
}
export const $ = (js: string): Code => new Code(js);

/**
 * One function for a whole line: literal pieces become inline stores, Code pieces run as written
 * with `dv`, `off`, the record `r`, the arguments `a` and `b` and the helpers in scope. One
 * function because V8 stops inlining small calls once a function is big, and a call per key
 * text would be a large part of the time (bench/README.md).
 */
export function compileWriter<R, A, B>(
  helpers: Record<string, unknown>,
  parts: ReadonlyArray<string | Code>,
): (dv: DataView, off: number, r: R, a: A, b: B) => number {
  let body = '';
  let text = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      text += p;
      continue;
    }
    if (text !== '') body += storesOf(text);
    text = '';
    body += `${p.js}\n`;
  }
  if (text !== '') body += storesOf(text);
  const names = Object.keys(helpers);
  const make = generatedFunction(
    'writeLine',
    names,
    `return function writeLine(dv, off, r, a, b) {\n${body}return off;\n};`,
  );
  return make(...names.map((n) => helpers[n])) as (dv: DataView, off: number, r: R, a: A, b: B) => number;
}

/** Longest core part: the fixed text plus generous room for every value (numbers 22, addresses 45). */
export const MAX_CORE_BYTES = 2048;

/** ASCII text (addresses, names we generated). */
export function ascii(dv: DataView, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) dv.setUint8(off + i, s.charCodeAt(i));
  return off + s.length;
}

/** i (0-9999) as four digits "0000".."9999", little-endian (first digit in the low byte). */
const DIGITS4 = new Uint32Array(10000);
/** i's digits without leading zeros, first digit in the low byte (the store runs past them). */
export const LEAD4 = new Uint32Array(10000);
export const LEAD4_LEN = new Uint8Array(10000);
{
  const pair = (i: number): number => (48 + ((i / 10) | 0)) | ((48 + (i % 10)) << 8);
  for (let i = 0; i < 10000; i++) {
    const four = (pair((i / 100) | 0) | (pair(i % 100) << 16)) >>> 0;
    const len = i < 10 ? 1 : i < 100 ? 2 : i < 1000 ? 3 : 4;
    DIGITS4[i] = four;
    LEAD4_LEN[i] = len;
    LEAD4[i] = four >>> (8 * (4 - len)); // without the leading zeros (the low bytes)
  }
}

/** Inline code for `off = digits32(dv, off, <expr>)`: the common short case without a call. */
export function digits32Code(expr: string): Code {
  return $(
    `{ const v = ${expr}; if (v < 10000) { dv.setUint32(off, LEAD4[v], true); off += LEAD4_LEN[v]; } else off = digits32(dv, off, v); }`,
  );
}

/** Inline code for `off = num(dv, off, <expr>)`: the common short case without a call. */
export function numCode(expr: string): Code {
  return $(
    `{ const v = ${expr}; if (v >= 0 && v < 10000 && (v | 0) === v) { dv.setUint32(off, LEAD4[v], true); off += LEAD4_LEN[v]; } else off = num(dv, off, v); }`,
  );
}

/** Decimal digits of an integer 0 ≤ v < 2^32: a table store per four digits (one or two divisions). */
export function digits32(dv: DataView, off: number, v: number): number {
  if (v < 10000) {
    dv.setUint32(off, LEAD4[v]!, true);
    return off + LEAD4_LEN[v]!;
  }
  if (v < 100000000) {
    const hi = (v / 10000) >>> 0;
    dv.setUint32(off, LEAD4[hi]!, true);
    off += LEAD4_LEN[hi]!;
    dv.setUint32(off, DIGITS4[v - hi * 10000]!, true);
    return off + 4;
  }
  const hi = (v / 100000000) >>> 0;
  dv.setUint32(off, LEAD4[hi]!, true);
  return eight(dv, off + LEAD4_LEN[hi]!, v - hi * 100000000);
}

/** Exactly eight digits, zero-padded, of an integer below 1e8. */
function eight(dv: DataView, off: number, v: number): number {
  const hi = (v / 10000) >>> 0;
  dv.setUint32(off, DIGITS4[hi]!, true);
  dv.setUint32(off + 4, DIGITS4[v - hi * 10000]!, true);
  return off + 8;
}

/** Decimal digits of a non-negative integer below 2^53, as `${n}` prints it. */
function digits(dv: DataView, off: number, n: number): number {
  if (n < 4294967296) return digits32(dv, off, n >>> 0);
  const hi = Math.floor(n / 1e8);
  return eight(dv, digits(dv, off, hi), n - hi * 1e8);
}

/** Exactly nine digits, zero-padded, of an integer below 1e9. */
function nine(dv: DataView, off: number, v: number): number {
  const hi = (v / 100000000) >>> 0;
  dv.setUint8(off, 48 + hi);
  return eight(dv, off + 1, v - hi * 100000000);
}

/** A number as a template literal prints it (`${n}`). */
export function num(dv: DataView, off: number, n: number): number {
  if (n >= 0 && n < 1e15 && Number.isInteger(n)) return digits(dv, off, n);
  return ascii(dv, off, `${n}`);
}

/** "000000" and "000" as little-endian stores (the ms and µs units' zeros). */
const ZEROS4 = 0x30303030;
const ZEROS2 = 0x3030;

/** A number as intText prints it: ns times as the whole ms or µs they came as, else exactly. */
function big(dv: DataView, off: number, x: number): number {
  if (x < 1e15 || x >= 1e21 || !Number.isInteger(x)) return num(dv, off, x);
  const unit = nsUnit(x);
  if (unit === 1) {
    const hi = Math.floor(x / 1e9);
    return nine(dv, digits(dv, off, hi), x - hi * 1e9);
  }
  // n = the time in ms (µs): at least 1e9 and below 1e16 here, so hi has 2-8 digits
  const n = Math.round(x / unit);
  const hi = Math.floor(n / 1e8);
  off = eight(dv, digits32(dv, off, hi), n - hi * 1e8);
  dv.setUint32(off, ZEROS4, true);
  dv.setUint16(off + 4, ZEROS2, true);
  return off + (unit === 1e6 ? 6 : 3);
}

/** A DataView over a Buffer, for the writers below. */
export function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const writeRecordLine = compileWriter<FlowRecord, Buffer, string>({ ascii, big, num, etypeName, PROTO_JSON }, [
  '{"type":"',
  $('off = ascii(dv, off, r.type);'),
  '","time_received_ns":',
  $('off = big(dv, off, r.time_received_ns);'),
  ',"sequence_num":',
  $('off = num(dv, off, r.sequence_num);'),
  ',"sampling_rate":',
  $('off = num(dv, off, r.sampling_rate);'),
  ',"sampler_address":"',
  $('off = ascii(dv, off, r.sampler_address);'),
  '","time_flow_start_ns":',
  $('off = big(dv, off, r.time_flow_start_ns);'),
  ',"time_flow_end_ns":',
  $('off = big(dv, off, r.time_flow_end_ns);'),
  ',"bytes":',
  $('off = num(dv, off, r.bytes);'),
  ',"packets":',
  $('off = num(dv, off, r.packets);'),
  ',"src_addr":"',
  $('off = ascii(dv, off, r.src_addr);'),
  '","dst_addr":"',
  $('off = ascii(dv, off, r.dst_addr);'),
  '","etype":"',
  $('off = ascii(dv, off, etypeName(r.etype));'),
  '","proto":',
  $('off = ascii(dv, off, PROTO_JSON[r.proto] ?? `${r.proto}`);'),
  ',"src_port":',
  $('off = num(dv, off, r.src_port);'),
  ',"dst_port":',
  $('off = num(dv, off, r.dst_port);'),
  ',"in_if":',
  $('off = num(dv, off, r.in_if);'),
  ',"out_if":',
  $('off = num(dv, off, r.out_if);'),
  ',"ip_tos":',
  $('off = num(dv, off, r.ip_tos);'),
  ',"tcp_flags":',
  $('off = num(dv, off, r.tcp_flags);'),
  ',"src_as":',
  $('off = num(dv, off, r.src_as);'),
  ',"dst_as":',
  $('off = num(dv, off, r.dst_as);'),
  ',"next_hop":"',
  $('off = ascii(dv, off, r.next_hop);'),
  '","src_net":"',
  $('off = ascii(dv, off, r.src_net);'),
  '","dst_net":"',
  $('off = ascii(dv, off, r.dst_net);'),
  '"',
  $('if (b.length > 0) off += a.write(b, off);'),
  '}\n',
]);

/**
 * Write flowToJson(r) + "\n" at buf[off…] (dv views buf); the caller guarantees MAX_CORE_BYTES +
 * 3 × the optional part's length + 2 bytes of room. Returns the new offset.
 */
export function writeFlowJsonLine(buf: Buffer, dv: DataView, off: number, r: FlowRecord, optional: string): number {
  return writeRecordLine(dv, off, r, buf, optional);
}

export { optionalJson };

// ---- WireFlow → NDJSON, without the FlowRecord's strings -------------------------------------
// The same bytes as writeFlowJsonLine(w.toRecord()) (test/unit/format/wire.test.ts compares them
// on every fixture and on generated records). Only MAC text still goes through a string
// formatter.

/** Room writeWireJsonLine may use: the core part plus every optional field at its widest. */
export const MAX_WIRE_BYTES = 4096;

// compiled on first use, so that a start does not pay for 256 Function compilations
const PROTO_LIT: Array<Lit | undefined> = new Array<Lit | undefined>(256).fill(undefined);

export function proto(dv: DataView, off: number, p: number): number {
  return (PROTO_LIT[p] ??= lit(PROTO_JSON[p]!))(dv, off);
}

const IPV4_LIT = lit('IPv4');
const IPV6_LIT = lit('IPv6');

function etype(dv: DataView, off: number, e: number): number {
  if (e === 0x0800) return IPV4_LIT(dv, off);
  if (e === 0x86dd) return IPV6_LIT(dv, off);
  return ascii(dv, off, etypeName(e));
}

/** "d." / "dd." / "ddd." of each octet as a little-endian uint32, and its length without the dot. */
const OCTET = Uint32Array.from({ length: 256 }, (_, i) => {
  const b = Buffer.alloc(4);
  b.write(`${i}.`, 'latin1');
  return b.readUInt32LE(0);
});
const OCTET_LEN = Uint8Array.from({ length: 256 }, (_, i) => String(i).length);

/** Dotted quad of a u32, as formatIPv4 prints it (the last store runs one byte over). */
export function ipv4(dv: DataView, off: number, a: number): number {
  let x = a >>> 24;
  dv.setUint32(off, OCTET[x]!, true);
  off += OCTET_LEN[x]! + 1;
  x = (a >>> 16) & 255;
  dv.setUint32(off, OCTET[x]!, true);
  off += OCTET_LEN[x]! + 1;
  x = (a >>> 8) & 255;
  dv.setUint32(off, OCTET[x]!, true);
  off += OCTET_LEN[x]! + 1;
  x = a & 255;
  dv.setUint32(off, OCTET[x]!, true);
  return off + OCTET_LEN[x]!;
}

const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** A 16-bit group in hex without leading zeros. */
function hexGroup(dv: DataView, off: number, x: number): number {
  if (x >= 0x1000) dv.setUint8(off++, HEX[x >> 12]!);
  if (x >= 0x100) dv.setUint8(off++, HEX[(x >> 8) & 15]!);
  if (x >= 0x10) dv.setUint8(off++, HEX[(x >> 4) & 15]!);
  dv.setUint8(off, HEX[x & 15]!);
  return off + 1;
}

const GROUPS = new Int32Array(8);
const MAPPED_PREFIX = lit('::ffff:');

/** formatIPv6At's text (RFC 5952) of the address at b[o…], as bytes. */
export function ipv6(dv: DataView, off: number, b: Uint8Array, o: number): number {
  const g = GROUPS;
  const run = ipv6Groups(b, o, g);
  if (run === MAPPED_IPV4)
    return ipv4(
      dv,
      MAPPED_PREFIX(dv, off),
      ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0,
    );
  const start = run >> 4;
  if (start < 0) {
    off = hexGroup(dv, off, g[0]!);
    for (let i = 1; i < 8; i++) {
      dv.setUint8(off, 58); // :
      off = hexGroup(dv, off + 1, g[i]!);
    }
    return off;
  }
  for (let i = 0; i < start; i++) {
    if (i > 0) dv.setUint8(off++, 58);
    off = hexGroup(dv, off, g[i]!);
  }
  dv.setUint16(off, 0x3a3a, true); // ::
  off += 2;
  for (let i = start + (run & 15); i < 8; i++) {
    off = hexGroup(dv, off, g[i]!);
    if (i < 7) dv.setUint8(off++, 58);
  }
  return off;
}

function address(dv: DataView, off: number, kind: number, v4: number, b: Uint8Array, o: number): number {
  if (kind === V4) return ipv4(dv, off, v4);
  if (kind === V6) return ipv6(dv, off, b, o);
  return off;
}

const ZERO4 = lit('0.0.0.0/0');
const MASKED6 = new Uint8Array(16);
const ZERO6 = lit('::/0');

/** netText's rendering: the exporter's prefix, or the zero net of the record's family. */
function net(
  dv: DataView,
  off: number,
  kind: number,
  v4: number,
  b: Uint8Array,
  o: number,
  mask: number,
  etype: number,
): number {
  if (kind === V4 && mask > 0) {
    off = ipv4(dv, off, mask >= 32 ? v4 : (v4 & (~0 << (32 - mask))) >>> 0);
    dv.setUint8(off, 47); // /
    return digits32(dv, off + 1, mask > 32 ? 32 : mask);
  }
  if (kind === V6) {
    if (mask <= 0) return ZERO6(dv, off);
    const len = mask > 128 ? 128 : mask;
    maskIPv6(b, o, len, MASKED6);
    off = ipv6(dv, off, MASKED6, 0);
    dv.setUint8(off, 47); // /
    return digits32(dv, off + 1, len);
  }
  return etype === 0x86dd ? ZERO6(dv, off) : ZERO4(dv, off);
}

// The flows of a datagram share type, receive time, sequence number, sampling rate and exporter:
// that start of the line is written once per datagram and copied (a memmove instead of ~25 stores).
const writePrefix = compileWriter<WireFlow, undefined, undefined>({ num, big, ascii }, [
  '{"type":"',
  $('off = ascii(dv, off, r.type);'),
  '","time_received_ns":',
  $('off = big(dv, off, r.receivedNs);'),
  ',"sequence_num":',
  $('off = num(dv, off, r.sequence);'),
  ',"sampling_rate":',
  $('off = num(dv, off, r.samplingRate);'),
  ',"sampler_address":"',
  $('off = ascii(dv, off, r.exporter);'),
  '","time_flow_start_ns":',
]);
const prefixBuf = Buffer.alloc(MAX_WIRE_BYTES);
const prefixView = viewOf(prefixBuf);
let prefixBytes = prefixBuf.subarray(0, 0);
let prefixType = '';
let prefixReceived = -1;
let prefixSequence = -1;
let prefixRate = -1;
let prefixExporter = '';

function prefix(u8: Uint8Array, off: number, w: WireFlow): number {
  if (
    w.receivedNs !== prefixReceived ||
    w.sequence !== prefixSequence ||
    w.samplingRate !== prefixRate ||
    w.exporter !== prefixExporter ||
    w.type !== prefixType
  ) {
    prefixType = w.type;
    prefixReceived = w.receivedNs;
    prefixSequence = w.sequence;
    prefixRate = w.samplingRate;
    prefixExporter = w.exporter;
    prefixBytes = prefixBuf.subarray(0, writePrefix(prefixView, 0, w, undefined, undefined));
  }
  u8.set(prefixBytes, off);
  return off + prefixBytes.length;
}

function mac(dv: DataView, off: number, b: Uint8Array, o: number): number {
  return ascii(dv, off, formatMacAt(b, o));
}

function mpls(dv: DataView, off: number, w: WireFlow): number {
  off = num(dv, off, w.mpls1);
  if (w.mpls2 >= 0) {
    dv.setUint8(off++, 44); // ,
    off = num(dv, off, w.mpls2);
    if (w.mpls3 >= 0) {
      dv.setUint8(off++, 44);
      off = num(dv, off, w.mpls3);
    }
  }
  return off;
}

/** An optional numeric field: `,"name":value` when present (≥ 0). */
function opt(name: string, field: keyof WireFlow): Code {
  return $(`if (r.${field} >= 0) {\n${storesOf(`,"${name}":`)}${numCode(`r.${field}`).js}\n}`);
}

const writeWireLine = compileWriter<WireFlow, Uint8Array, undefined>(
  { prefix, num, big, digits32, LEAD4, LEAD4_LEN, address, etype, proto, net, mac, mpls, NONE },
  [
    $('off = prefix(a, off, r);'),
    $('off = big(dv, off, r.startNs);'),
    ',"time_flow_end_ns":',
    $('off = big(dv, off, r.endNs);'),
    ',"bytes":',
    numCode('r.bytes'),
    ',"packets":',
    numCode('r.packets'),
    ',"src_addr":"',
    $('off = address(dv, off, r.srcKind, r.srcV4, r.buf, r.srcOff);'),
    '","dst_addr":"',
    $('off = address(dv, off, r.dstKind, r.dstV4, r.buf, r.dstOff);'),
    '","etype":"',
    $('off = etype(dv, off, r.etype);'),
    '","proto":',
    $('off = proto(dv, off, r.proto);'),
    ',"src_port":',
    digits32Code('r.srcPort'),
    ',"dst_port":',
    digits32Code('r.dstPort'),
    ',"in_if":',
    numCode('r.inIf'),
    ',"out_if":',
    numCode('r.outIf'),
    ',"ip_tos":',
    digits32Code('r.tos'),
    ',"tcp_flags":',
    digits32Code('r.tcpFlags'),
    ',"src_as":',
    numCode('r.srcAs'),
    ',"dst_as":',
    numCode('r.dstAs'),
    ',"next_hop":"',
    $('off = address(dv, off, r.nhKind, r.nhV4, r.buf, r.nhOff);'),
    '","src_net":"',
    $('off = net(dv, off, r.srcKind, r.srcV4, r.buf, r.srcOff, r.srcMask, r.etype);'),
    '","dst_net":"',
    $('off = net(dv, off, r.dstKind, r.dstV4, r.buf, r.dstOff, r.dstMask, r.etype);'),
    '"',
    // the optional fields, in FLOW_FIELDS order (as optionalJson writes them)
    $(`if (r.srcMacOff >= 0) {\n${storesOf(',"src_mac":"')}off = mac(dv, off, r.buf, r.srcMacOff);\n${storesOf('"')}}`),
    $(`if (r.dstMacOff >= 0) {\n${storesOf(',"dst_mac":"')}off = mac(dv, off, r.buf, r.dstMacOff);\n${storesOf('"')}}`),
    opt('src_vlan', 'srcVlan'),
    opt('dst_vlan', 'dstVlan'),
    opt('vlan_id', 'vlanId'),
    opt('forwarding_status', 'forwardingStatus'),
    opt('ip_ttl', 'ipTtl'),
    opt('ip_flags', 'ipFlags'),
    opt('icmp_type', 'icmpType'),
    opt('icmp_code', 'icmpCode'),
    opt('ipv6_flow_label', 'flowLabel'),
    opt('fragment_id', 'fragmentId'),
    opt('fragment_offset', 'fragmentOffset'),
    opt('next_hop_as', 'nextHopAs'),
    $(
      `if (r.bgpKind !== NONE) {\n${storesOf(',"bgp_next_hop":"')}off = address(dv, off, r.bgpKind, r.bgpV4, r.buf, r.bgpOff);\n${storesOf('"')}}`,
    ),
    $(`if (r.mpls1 >= 0) {\n${storesOf(',"mpls_label":[')}off = mpls(dv, off, r);\n${storesOf(']')}}`),
    opt('observation_domain_id', 'observationDomainId'),
    opt('observation_point_id', 'observationPointId'),
    opt('flow_direction', 'flowDirection'),
    '}\n',
  ],
);

/** Write the NDJSON line of `w` (and "\n") at buf[off…] (dv views buf), which has MAX_WIRE_BYTES of room. */
export function writeWireJsonLine(buf: Uint8Array, dv: DataView, off: number, w: WireFlow): number {
  return writeWireLine(dv, off, w, buf, undefined);
}
