// Key writers: for each key primitive of an aggregation, a function that writes a flow's value
// of it into the key words, and the function that writes a whole key.

import { generatedFunction } from '../codegen.js';
import type { NetworkTable } from '../networks/file.js';
import type { FlowView } from './view.js';
import type { AddressCodec } from './address-codec.js';
import type { Primitive } from './primitives.js';
import { n2 } from './key-encoding.js';

export type NetSource = 'file' | 'exporter' | 'longest';

/** Writes one primitive's value of a flow (side 0 = source, 1 = destination for sum_*) at k[o]. */
type Writer = (v: FlowView, side: number, k: Uint32Array, o: number) => void;

export function makeWriter(
  p: Primitive,
  table: NetworkTable | undefined,
  source: NetSource,
  renormalize: boolean,
  ac: AddressCodec,
): Writer {
  switch (p) {
    case 'in_iface':
      return (v, _s, k, o) => n2(k, o, v.inIf);
    case 'out_iface':
      return (v, _s, k, o) => n2(k, o, v.outIf);
    case 'etype':
      return (v, _s, k, o) => void (k[o] = v.etype);
    case 'src_as':
      return (v, _s, k, o) => n2(k, o, v.srcAs);
    case 'dst_as':
      return (v, _s, k, o) => n2(k, o, v.dstAs);
    case 'sum_as':
      return (v, side, k, o) => n2(k, o, side === 0 ? v.srcAs : v.dstAs);
    case 'peer_src_ip':
      return (v, _s, k, o) => ac.put(k, o, v.peerFam, v.peer);
    case 'src_host':
      return (v, _s, k, o) => ac.put(k, o, v.srcFam, v.src);
    case 'dst_host':
      return (v, _s, k, o) => ac.put(k, o, v.dstFam, v.dst);
    case 'sum_host':
      return (v, side, k, o) => (side === 0 ? ac.put(k, o, v.srcFam, v.src) : ac.put(k, o, v.dstFam, v.dst));
    case 'src_port':
      return (v, _s, k, o) => void (k[o] = v.srcPort);
    case 'dst_port':
      return (v, _s, k, o) => void (k[o] = v.dstPort);
    case 'sum_port':
      return (v, side, k, o) => void (k[o] = side === 0 ? v.srcPort : v.dstPort);
    case 'proto':
      return (v, _s, k, o) => void (k[o] = v.proto);
    case 'tos':
      return (v, _s, k, o) => void (k[o] = v.tos);
    case 'sampling_rate':
      return renormalize
        ? (v, _s, k, o) => n2(k, o, v.samplingRate > 0 ? 1 : 0)
        : (v, _s, k, o) => n2(k, o, v.samplingRate);
    default:
      break;
  }
  const isSrc = (side: number): boolean => (p === 'sum_net' ? side === 0 : p === 'src_net' || p === 'src_mask');
  const mask = p === 'src_mask' || p === 'dst_mask';
  if (table && source === 'file') {
    const em = ac.entryMask;
    if (mask)
      return (v, side, k, o) => {
        const i = isSrc(side) ? v.srcNetIndex() : v.dstNetIndex();
        k[o] = i < 0 ? 0 : em[i]!;
      };
    return (v, side, k, o) => ac.putEntry(k, o, isSrc(side) ? v.srcNetIndex() : v.dstNetIndex());
  }
  if (table && source === 'longest') {
    // pmacct "longest": the exporter's prefix wins when it is longer than the file's
    const em = ac.entryMask;
    return (v, side, k, o) => {
      const src = isSrc(side);
      const i = src ? v.srcNetIndex() : v.dstNetIndex();
      const xLen = src ? v.srcXLen : v.dstXLen;
      const exporter = xLen > (i < 0 ? 0 : em[i]!);
      if (mask) k[o] = exporter ? xLen : i < 0 ? 0 : em[i]!;
      else if (exporter) ac.put(k, o, src ? v.srcXFam : v.dstXFam, src ? v.srcX : v.dstX);
      else ac.putEntry(k, o, i);
    };
  }
  if (mask) return (v, side, k, o) => void (k[o] = isSrc(side) ? v.srcXLen : v.dstXLen);
  return (v, side, k, o) => (isSrc(side) ? ac.put(k, o, v.srcXFam, v.srcX) : ac.put(k, o, v.dstXFam, v.dstX));
}

export type KeyWriter = (v: FlowView, side: number, k: Uint32Array) => void;

/** The key of a flow: this aggregation's writers called in turn, each from a call site of its
 *  own in a function of its own, so that V8 can inline each writer (and the LPM lookups in it);
 *  a loop over the writers would be one call site shared by every aggregation, megamorphic. */
export function keyWriter(writers: readonly Writer[], offsets: readonly number[]): KeyWriter {
  const names = writers.map((_, i) => `w${i}`);
  const body = names.map((w, i) => `  ${w}(v, side, k, ${offsets[i]!});`).join('\n');
  return generatedFunction(
    'writeKey',
    names,
    `return function writeKey(v, side, k) {\n${body}\n};`,
  )(...writers) as KeyWriter;
}
