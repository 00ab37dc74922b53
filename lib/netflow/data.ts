// Data records of NetFlow v9 / IPFIX: run a template's field plan over one record into a reusable
// scratch struct (numbers and byte offsets, nothing allocated), then either resolve it into a
// WireFlow (goflow2 semantics) or apply an options record to the domain state (sampling, systemInitTime).

import { generatedFunction } from '../codegen.js';
import type { FlowType } from '../flow/record.js';
import { NONE, V4, V6, type WireFlow } from '../flow/wire.js';
import { A, K } from './fields.js';
import { MAX_SAFE, type Counter } from '../flow/counter.js';
import type { Domain, Template } from './templates.js';

/** What the message header tells every record in it. One instance reused per datagram. */
export class MessageContext {
  type: FlowType = 'NETFLOW_V9';
  version = 9;
  exporter = '';
  receivedNs = 0;
  sequence = 0;
  /** Export time, Unix seconds (v9 unix_secs, IPFIX Export Time). */
  exportSecs = 0;
  /** v9 sysUptime in ms; -1 for IPFIX (no uptime in the header). */
  uptimeMs = -1;
  domainId = 0;
  domain: Domain | undefined = undefined;

  copy(): MessageContext {
    return Object.assign(new MessageContext(), this);
  }
}

/** One record's fields as found, indexed by action code (fields.ts A.*); -1 = absent. Integers
 *  as read, addresses and MACs as byte offsets into the datagram, NTP times as Unix ns. A flat
 *  Float64Array: the record loop is "read by length, store at code", no per-field switch. */
export type Scratch = Float64Array;

export const SCRATCH_SIZE = A.INIT_PKTS + 1;

export function newScratch(): Scratch {
  return new Float64Array(SCRATCH_SIZE).fill(-1);
}

/** The exact value of scratch slot c whenever the slot holds more than 2^53 - 1 (a double then
 *  holds only its nearest value): written by the same record's read, so never stale when read. */
const WIDE: bigint[] = [];

/** Keep `x` exactly for slot c (see WIDE); its nearest double for the scratch. */
function wide(c: number, x: bigint): number {
  WIDE[c] = x;
  return Number(x);
}

/** Unsigned big-endian integer of 1-8 bytes (reduced-size encoding) for slot c; beyond 2^53 - 1
 *  it is also kept exactly in WIDE. */
function uint(v: DataView, b: Uint8Array, o: number, len: number, c: number): number {
  switch (len) {
    case 1:
      return b[o]!;
    case 2:
      return v.getUint16(o);
    case 4:
      return v.getUint32(o);
    case 8: {
      const hi = v.getUint32(o);
      return hi < 0x200000 ? hi * 4294967296 + v.getUint32(o + 4) : wide(c, v.getBigUint64(o));
    }
    default: {
      let x = 0;
      for (let i = 0; i < len; i++) x = x * 256 + b[o + i]!;
      if (x <= MAX_SAFE) return x;
      let e = 0n;
      for (let i = 0; i < len; i++) e = (e << 8n) | BigInt(b[o + i]!);
      return wide(c, e);
    }
  }
}

/** The first of the counter slots `codes` the record has, exactly; 0 when it has none. */
function counterOf(s: Scratch, codes: readonly number[]): Counter {
  for (const c of codes) {
    const x = s[c]!;
    if (x >= 0) return x <= MAX_SAFE ? x : WIDE[c]!;
  }
  return 0;
}

// counters in goflow2's order of preference; initiator counters (Cisco ASA NSEL, IE 231/298)
// last, as nfdump's in_bytes/in_packets (the responder's, 232/299, have no field here)
const BYTES_SLOTS = [A.BYTES, A.OUT_BYTES, A.TOT_BYTES, A.INIT_BYTES];
const PACKETS_SLOTS = [A.PKTS, A.OUT_PKTS, A.TOT_PKTS, A.INIT_PKTS];

const NTP_UNIX_OFFSET = 2208988800;

/** NTP timestamp (RFC 7011 dateTimeMicroseconds / dateTimeNanoseconds) → Unix ns. */
function ntpNs(v: DataView, o: number, micro: boolean): number {
  let sec = v.getUint32(o);
  let frac = v.getUint32(o + 4);
  if (micro) frac = (frac & 0xfffff800) >>> 0; // the low 11 bits are not meaningful for µs
  // NTP era 1 starts in 2036: small second counts belong to it (RFC 4330 §3)
  if (sec < 0x80000000) sec += 4294967296;
  return (sec - NTP_UNIX_OFFSET) * 1e9 + Math.floor((frac * 1e9) / 4294967296);
}

/** Decode one record at `o` with template `t` into `s`. Returns the offset after the record, or -1
 *  when a variable-length field runs past `end`. Skipped fields are not read. The caller fills `s`
 *  with -1 before the first record of a set: every record of a template writes the same slots. */
export function readRecord(v: DataView, b: Uint8Array, o: number, end: number, t: Template, s: Scratch): number {
  const codes = t.codes;
  const kinds = t.kinds;
  const lens = t.lens;
  const n = codes.length;
  for (let i = 0; i < n; i++) {
    let len = lens[i]!;
    if (len < 0) {
      if (o >= end) return -1;
      len = b[o++]!;
      if (len === 255) {
        if (o + 2 > end) return -1;
        len = v.getUint16(o);
        o += 2;
      }
      if (o + len > end) return -1;
      o += len; // variable-length fields are never planned (strings, lists): skipped
      continue;
    }
    if (o + len > end) return -1;
    const c = codes[i]!;
    if (c !== 0) {
      const k = kinds[i]!;
      if (k === K.UINT)
        s[c] = len === 4 ? v.getUint32(o) : len === 2 ? v.getUint16(o) : len === 1 ? b[o]! : uint(v, b, o, len, c);
      else if (k === K.OFFSET) s[c] = o;
      else if (k === K.NTP_NS) s[c] = ntpNs(v, o, false);
      else if (k === K.NTP_US) s[c] = ntpNs(v, o, true);
      else s[c] = (b[o]! << 12) | (b[o + 1]! << 4) | (b[o + 2]! >> 4);
    }
    o += len;
  }
  return o;
}

/** readRecord of a fixed-length template, with room for the whole record checked by the caller. */
export type FixedReader = (v: DataView, b: Uint8Array, o: number, s: Scratch) => number;

/** Data sets a template decodes before it gets a compiled reader: compiling costs as much as
 *  decoding many records (bench/README.md), so only templates in steady use get one (a flood of
 *  one-off templates must not cost more). */
const HOT_SETS = 16;

/**
 * The compiled reader of a fixed-length template once it is hot, else undefined (use readRecord).
 * Straight-line code per field (offset, width and slot known in advance) instead of the generic
 * loop, which it outruns per record (bench/README.md).
 */
export function fixedReader(t: Template): FixedReader | undefined {
  if (t.reader !== undefined || t.fixedLength <= 0) return t.reader;
  if (++t.sets < HOT_SETS) return undefined;
  let js = '';
  let o = 0;
  for (let i = 0; i < t.codes.length; i++) {
    const c = t.codes[i]!;
    const len = t.lens[i]!;
    const at = `o + ${o}`;
    o += len;
    if (c === 0) continue;
    const k = t.kinds[i]!;
    if (k === K.UINT)
      js += `s[${c}] = ${len === 4 ? `v.getUint32(${at})` : len === 2 ? `v.getUint16(${at})` : len === 1 ? `b[${at}]` : len === 8 ? `(h = v.getUint32(${at})) < 0x200000 ? h * 4294967296 + v.getUint32(${at} + 4) : uint(v, b, ${at}, 8, ${c})` : `uint(v, b, ${at}, ${len}, ${c})`};\n`;
    else if (k === K.OFFSET) js += `s[${c}] = ${at};\n`;
    else if (k === K.NTP_NS || k === K.NTP_US) js += `s[${c}] = ntpNs(v, ${at}, ${k === K.NTP_US});\n`;
    else js += `s[${c}] = (b[${at}] << 12) | (b[${at} + 1] << 4) | (b[${at} + 2] >> 4);\n`;
  }
  const make = generatedFunction(
    'readFixed',
    ['uint', 'ntpNs'],
    `return function readFixed(v, b, o, s) {\nlet h;\n${js}return o + ${o};\n};`,
  );
  t.reader = make(uint, ntpNs) as FixedReader;
  return t.reader;
}

/** Sampling rate a record states (-1 = none): samplingPacketInterval/Space (RFC 5477; interval
 *  alone is taken as the rate, as goflow2 does), samplerRandomInterval, samplingInterval,
 *  samplingPopulation/Size — in goflow2's order of preference. */
export function samplingOf(s: Scratch): number {
  if (s[A.PKT_INTERVAL]! > 0)
    return s[A.PKT_SPACE]! >= 0
      ? Math.round((s[A.PKT_INTERVAL]! + s[A.PKT_SPACE]!) / s[A.PKT_INTERVAL]!)
      : s[A.PKT_INTERVAL]!;
  if (s[A.SAMPLER_RANDOM]! > 0) return s[A.SAMPLER_RANDOM]!;
  if (s[A.SAMPLING_INTERVAL]! > 0) return s[A.SAMPLING_INTERVAL]!;
  if (s[A.SAMPLING_POP]! > 0 && s[A.SAMPLING_SIZE]! > 0) return Math.round(s[A.SAMPLING_POP]! / s[A.SAMPLING_SIZE]!);
  return -1;
}

/** An options data record: keep what it says about sampling and system init time. Returns true
 *  when it changed the domain state. */
export function applyOptions(s: Scratch, d: Domain): boolean {
  let changed = false;
  const rate = samplingOf(s);
  if (rate > 0) {
    const id = s[A.SAMPLER_ID]! >= 0 ? s[A.SAMPLER_ID]! : s[A.SELECTOR_ID]!;
    if (id >= 0) d.samplers.set(id, rate);
    d.samplingRate = rate;
    changed = true;
  }
  if (s[A.SYS_INIT_MS]! >= 0) {
    d.systemInitMs = s[A.SYS_INIT_MS]!;
    changed = true;
  }
  return changed;
}

function zero16(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** Set by timeOf when an IPFIX sysUpTime-relative time had no systemInitTime to anchor it. */
let unanchored = false;

/** Fill `w` with the flow of the data record in `s` (goflow2 semantics: which field wins).
 *  Returns false when its times had to fall back to the export time: sysUpTime-relative IPFIX
 *  times before the exporter sent systemInitTimeMilliseconds (the caller counts and says so). */
export function resolveFlow(s: Scratch, m: MessageContext, b: Uint8Array, w: WireFlow): boolean {
  const d = m.domain;
  unanchored = false;
  w.buf = b;
  // addresses: an all-zero IPv6 field loses to an IPv4 one (dual templates), as goflow2 does
  let etype = 0;
  if (s[A.SRC6]! >= 0 && (s[A.SRC4]! < 0 || !zero16(b, s[A.SRC6]!))) {
    w.srcKind = V6;
    w.srcOff = s[A.SRC6]!;
    w.srcMask = s[A.SRC6_MASK]! >= 0 ? s[A.SRC6_MASK]! : s[A.SRC_MASK]! >= 0 ? s[A.SRC_MASK]! : 0;
    etype = 0x86dd;
  } else if (s[A.SRC4]! >= 0) {
    w.srcKind = V4;
    w.srcV4 = s[A.SRC4]!;
    w.srcMask = s[A.SRC_MASK]! >= 0 ? s[A.SRC_MASK]! : 0;
    etype = 0x0800;
  } else w.srcKind = NONE;
  if (s[A.DST6]! >= 0 && (s[A.DST4]! < 0 || !zero16(b, s[A.DST6]!))) {
    w.dstKind = V6;
    w.dstOff = s[A.DST6]!;
    w.dstMask = s[A.DST6_MASK]! >= 0 ? s[A.DST6_MASK]! : s[A.DST_MASK]! >= 0 ? s[A.DST_MASK]! : 0;
    if (etype === 0) etype = 0x86dd;
  } else if (s[A.DST4]! >= 0) {
    w.dstKind = V4;
    w.dstV4 = s[A.DST4]!;
    w.dstMask = s[A.DST_MASK]! >= 0 ? s[A.DST_MASK]! : 0;
    if (etype === 0) etype = 0x0800;
  } else w.dstKind = NONE;
  if (etype === 0 && s[A.IP_VERSION]! === 4) etype = 0x0800;
  else if (etype === 0 && s[A.IP_VERSION]! === 6) etype = 0x86dd;
  w.etype = etype;
  if (s[A.NH6]! >= 0 && (s[A.NH4]! < 0 || !zero16(b, s[A.NH6]!))) {
    w.nhKind = V6;
    w.nhOff = s[A.NH6]!;
  } else if (s[A.NH4]! >= 0) {
    w.nhKind = V4;
    w.nhV4 = s[A.NH4]!;
  } else w.nhKind = NONE;

  // times: absolute, else delta from export time, else sysUpTime-relative, else the export time
  const exportNs = m.exportSecs * 1e9;
  const startAbs =
    s[A.START_NS]! >= 0
      ? s[A.START_NS]!
      : s[A.START_US]! >= 0
        ? s[A.START_US]!
        : s[A.START_MS]! >= 0
          ? s[A.START_MS]! * 1e6
          : s[A.START_S]! >= 0
            ? s[A.START_S]! * 1e9
            : -1;
  const endAbs =
    s[A.END_NS]! >= 0
      ? s[A.END_NS]!
      : s[A.END_US]! >= 0
        ? s[A.END_US]!
        : s[A.END_MS]! >= 0
          ? s[A.END_MS]! * 1e6
          : s[A.END_S]! >= 0
            ? s[A.END_S]! * 1e9
            : -1;
  w.startNs = timeOf(startAbs, s[A.START_DELTA_US]!, s[A.FIRST_SW]!, s, m, exportNs);
  w.endNs = timeOf(endAbs, s[A.END_DELTA_US]!, s[A.LAST_SW]!, s, m, exportNs);

  let rate = samplingOf(s);
  if (rate < 0) {
    const id = s[A.SAMPLER_ID]! >= 0 ? s[A.SAMPLER_ID]! : s[A.SELECTOR_ID]!;
    const r = id >= 0 && d !== undefined ? d.samplers.get(id) : undefined;
    rate = r ?? d?.samplingRate ?? 0;
  }

  w.type = m.type;
  w.receivedNs = m.receivedNs;
  w.sequence = m.sequence;
  w.samplingRate = rate;
  w.exporter = m.exporter;
  w.bytes = counterOf(s, BYTES_SLOTS);
  w.packets = counterOf(s, PACKETS_SLOTS);
  w.proto = s[A.PROTO]! >= 0 ? s[A.PROTO]! & 255 : 0;
  w.srcPort = s[A.SRC_PORT]! >= 0 ? s[A.SRC_PORT]! & 0xffff : 0;
  w.dstPort = s[A.DST_PORT]! >= 0 ? s[A.DST_PORT]! & 0xffff : 0;
  w.inIf = s[A.IN_IF]! >= 0 ? s[A.IN_IF]! : s[A.IN_PHYS]! >= 0 ? s[A.IN_PHYS]! : 0;
  w.outIf = s[A.OUT_IF]! >= 0 ? s[A.OUT_IF]! : s[A.OUT_PHYS]! >= 0 ? s[A.OUT_PHYS]! : 0;
  w.tos = s[A.TOS]! >= 0 ? s[A.TOS]! & 255 : 0;
  w.tcpFlags = s[A.TCP_FLAGS]! >= 0 ? s[A.TCP_FLAGS]! & 0xffff : 0;
  w.srcAs = s[A.SRC_AS]! >= 0 ? s[A.SRC_AS]! : 0;
  w.dstAs = s[A.DST_AS]! >= 0 ? s[A.DST_AS]! : 0;

  // optional goflow2 fields, only when the exporter sent them
  w.srcMacOff = s[A.SRC_MAC]! >= 0 ? s[A.SRC_MAC]! : s[A.POST_SRC_MAC]!;
  w.dstMacOff = s[A.DST_MAC]! >= 0 ? s[A.DST_MAC]! : s[A.POST_DST_MAC]!;
  const srcVlan = s[A.SRC_VLAN]! >= 0 ? s[A.SRC_VLAN]! : s[A.DOT1Q_VLAN]!;
  w.srcVlan = srcVlan;
  w.vlanId = srcVlan;
  w.dstVlan = s[A.DST_VLAN]! >= 0 ? s[A.DST_VLAN]! : s[A.POST_DOT1Q_VLAN]!;
  w.forwardingStatus = s[A.FWD_STATUS]!;
  w.ipTtl = s[A.TTL]! >= 0 ? s[A.TTL]! & 255 : s[A.MIN_TTL]! >= 0 ? s[A.MIN_TTL]! & 255 : -1;
  w.ipFlags = s[A.FRAG_FLAGS]! >= 0 ? s[A.FRAG_FLAGS]! >> 5 : -1;
  w.icmpType = s[A.ICMP_TYPE]! >= 0 ? s[A.ICMP_TYPE]! & 255 : s[A.ICMP_TC]! >= 0 ? s[A.ICMP_TC]! >> 8 : -1;
  w.icmpCode = s[A.ICMP_CODE]! >= 0 ? s[A.ICMP_CODE]! & 255 : s[A.ICMP_TC]! >= 0 ? s[A.ICMP_TC]! & 255 : -1;
  w.flowLabel = s[A.FLOW_LABEL]!;
  w.fragmentId = s[A.FRAG_ID]!;
  w.fragmentOffset = s[A.FRAG_OFF]!;
  w.nextHopAs = s[A.NEXT_HOP_AS]!;
  if (s[A.BGP_NH6]! >= 0 && (s[A.BGP_NH4]! < 0 || !zero16(b, s[A.BGP_NH6]!))) {
    w.bgpKind = V6;
    w.bgpOff = s[A.BGP_NH6]!;
  } else if (s[A.BGP_NH4]! >= 0) {
    w.bgpKind = V4;
    w.bgpV4 = s[A.BGP_NH4]!;
  } else w.bgpKind = NONE;
  w.mpls1 = s[A.MPLS1]!;
  w.mpls2 = w.mpls1 >= 0 ? s[A.MPLS2]! : -1;
  w.mpls3 = w.mpls2 >= 0 ? s[A.MPLS3]! : -1;
  // always known for v9/IPFIX
  w.observationDomainId = s[A.OBS_DOMAIN]! >= 0 ? s[A.OBS_DOMAIN]! : m.domainId;
  w.observationPointId = s[A.OBS_POINT]!;
  w.flowDirection = s[A.DIRECTION]!;
  return !unanchored;
}

function timeOf(abs: number, deltaUs: number, sysUp: number, s: Scratch, m: MessageContext, exportNs: number): number {
  if (abs >= 0) return abs;
  if (deltaUs >= 0) return exportNs - deltaUs * 1e3;
  if (sysUp >= 0) {
    if (m.uptimeMs >= 0) {
      // v9: relative to the header's sysUptime; signed 32-bit difference survives uptime wrap
      return exportNs - ((m.uptimeMs - sysUp) | 0) * 1e6;
    }
    const init = s[A.SYS_INIT_MS]! >= 0 ? s[A.SYS_INIT_MS]! : m.domain !== undefined ? m.domain.systemInitMs : -1;
    if (init >= 0) return (init + sysUp) * 1e6;
    unanchored = true;
  }
  return exportNs;
}
