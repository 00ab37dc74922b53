// NetFlow v1, v5 and v7: fixed headers and fixed 48/52-byte records (Cisco "NetFlow Export
// Datagram Format"). Times are sysUptime-relative: start = (unix_secs, unix_nsecs) −
// (SysUptime − First) ms, as goflow2 computes them.

import type { Datagram } from '../capture/datagram.js';
import type { FlowType } from '../flow/record.js';
import { V4 } from '../flow/wire.js';
import type { DecodeCore, FlowSink } from './core.js';

interface Layout {
  version: 1 | 5 | 7;
  type: FlowType;
  protocol: string;
  header: number;
  record: number;
  maxCount: number;
}

const V1: Layout = { version: 1, type: 'NETFLOW_V1', protocol: 'NetFlow v1', header: 16, record: 48, maxCount: 24 };
const V5: Layout = { version: 5, type: 'NETFLOW_V5', protocol: 'NetFlow v5', header: 24, record: 48, maxCount: 30 };
const V7: Layout = { version: 7, type: 'NETFLOW_V7', protocol: 'NetFlow v7', header: 24, record: 52, maxCount: 28 };

/** Largest believable jump in flow_sequence before we call it a reset rather than loss. */
const MAX_FLOW_GAP = 1 << 24;

export function decodeV1(core: DecodeCore, d: Datagram, v: DataView, out: FlowSink): number {
  return decodeLegacy(core, d, v, out, V1);
}
export function decodeV5(core: DecodeCore, d: Datagram, v: DataView, out: FlowSink): number {
  return decodeLegacy(core, d, v, out, V5);
}
export function decodeV7(core: DecodeCore, d: Datagram, v: DataView, out: FlowSink): number {
  return decodeLegacy(core, d, v, out, V7);
}

function decodeLegacy(core: DecodeCore, d: Datagram, v: DataView, out: FlowSink, L: Layout): number {
  const len = v.byteLength;
  if (len < L.header) {
    core.reject(
      'truncated',
      d,
      L.protocol,
      'header',
      `datagram of ${len} bytes is shorter than the ${L.header}-byte header`,
    );
    return 0;
  }
  const count = v.getUint16(2);
  if (count === 0 || count > L.maxCount) {
    core.reject('bad count', d, L.protocol, 'header at offset 0x2', `count ${count} is outside 1-${L.maxCount}`);
    return 0;
  }
  const need = L.header + count * L.record;
  if (need > len) {
    core.reject(
      'truncated',
      d,
      L.protocol,
      'header at offset 0x2',
      `count ${count} needs ${need} bytes, datagram has ${len}`,
    );
    return 0;
  }
  const uptime = v.getUint32(4);
  const secs = v.getUint32(8);
  const nsecs = v.getUint32(12);
  let sequence = 0;
  let sampling = 0;
  let engine = 0;
  if (L.version !== 1) {
    sequence = v.getUint32(16);
    if (L.version === 5) {
      engine = v.getUint16(20);
      sampling = v.getUint16(22) & 0x3fff;
    }
    const key = `${d.exporter} ${L.version} ${engine}`;
    if (core.sequence(key, sequence, MAX_FLOW_GAP)) core.sequences.advance(key, sequence, count);
  }
  const baseNs = secs * 1e9 + (nsecs < 1e9 ? nsecs : 0);
  const v5like = L.version !== 1;
  // what the header says, once; the record loop sets the rest (no optional fields in v1/v5/v7)
  const w = core.wire;
  w.clearOptional();
  w.buf = d.payload;
  w.type = L.type;
  w.receivedNs = d.receivedNs;
  w.sequence = sequence;
  w.samplingRate = sampling;
  w.exporter = d.exporter;
  w.etype = 0x0800;
  for (let i = 0, o = L.header; i < count; i++, o += L.record) {
    const src = v.getUint32(o);
    const dst = v.getUint32(o + 4);
    const first = v.getUint32(o + 24);
    const last = v.getUint32(o + 28);
    // v1 keeps proto/tos/flags at 38/39/40; v5/v7 have tcp_flags at 37, proto 38, tos 39
    w.srcKind = V4;
    w.srcV4 = src;
    w.srcMask = v5like ? v.getUint8(o + 44) : 0;
    w.dstKind = V4;
    w.dstV4 = dst;
    w.dstMask = v5like ? v.getUint8(o + 45) : 0;
    w.nhKind = V4;
    w.nhV4 = v.getUint32(o + 8);
    w.startNs = baseNs - ((uptime - first) | 0) * 1e6;
    w.endNs = baseNs - ((uptime - last) | 0) * 1e6;
    w.bytes = v.getUint32(o + 20);
    w.packets = v.getUint32(o + 16);
    w.proto = v.getUint8(o + 38);
    w.srcPort = v.getUint16(o + 32);
    w.dstPort = v.getUint16(o + 34);
    w.inIf = v.getUint16(o + 12);
    w.outIf = v.getUint16(o + 14);
    w.tos = v.getUint8(o + 39);
    w.tcpFlags = v5like ? v.getUint8(o + 37) : v.getUint8(o + 40);
    w.srcAs = v5like ? v.getUint16(o + 40) : 0;
    w.dstAs = v5like ? v.getUint16(o + 42) : 0;
    out.flow(w);
  }
  return count;
}
