// What the protocol decoders share with the FlowDecoder that drives them: counters, the template
// cache, held data, sequence accounting and the one way to reject something.

import type { Datagram } from '../capture/datagram.js';
import type { FlowRecord } from '../flow/record.js';
import type { WireFlow } from '../flow/wire.js';
import type { MessageContext, Scratch } from './data.js';
import type { PendingBuffer, PendingSet } from './pending.js';
import type { SequenceTracker } from './sequence.js';
import type { TemplateCache } from './templates.js';

export type VersionName = 'netflow_v1' | 'netflow_v5' | 'netflow_v7' | 'netflow_v9' | 'ipfix' | 'sflow';

export interface DecoderStats {
  /** Datagrams handed to decode() and decoded (not denied). */
  datagrams: number;
  /** Datagrams from exporters not on the allow list (--allow): dropped undecoded. */
  denied: number;
  /** Flow records emitted. */
  records: number;
  /** Options data records read (sampling, system init time), not emitted as flows. */
  optionsRecords: number;
  byVersion: Record<VersionName, { datagrams: number; records: number }>;
  /** Rejected items by reason (the reasons reported to the RejectListener). */
  rejects: Map<string, number>;
  rejected: number;
  templatesAdded: number;
  templatesUpdated: number;
  templatesWithdrawn: number;
  /** Data sets held waiting for their template / decoded when it came / given up (age, capacity, end). */
  pendingHeld: number;
  pendingDecoded: number;
  pendingExpired: number;
  /** Sequence accounting per exporter + domain. */
  sequenceGaps: number;
  sequenceMissing: number;
  sequenceResets: number;
  sequenceLate: number;
  /** IPFIX records whose sysUpTime-relative times had no systemInitTime yet: given the export time. */
  timesUnanchored: number;
}

export function newStats(): DecoderStats {
  const v = () => ({ datagrams: 0, records: 0 });
  return {
    datagrams: 0,
    denied: 0,
    records: 0,
    optionsRecords: 0,
    byVersion: { netflow_v1: v(), netflow_v5: v(), netflow_v7: v(), netflow_v9: v(), ipfix: v(), sflow: v() },
    rejects: new Map(),
    rejected: 0,
    templatesAdded: 0,
    templatesUpdated: 0,
    templatesWithdrawn: 0,
    pendingHeld: 0,
    pendingDecoded: 0,
    pendingExpired: 0,
    sequenceGaps: 0,
    sequenceMissing: 0,
    sequenceResets: 0,
    sequenceLate: 0,
    timesUnanchored: 0,
  };
}

export type Emit = (r: FlowRecord) => void;

/** Where decoded flows go. NetFlow/IPFIX hand over the decoder's reused WireFlow (valid only
 *  during the call: copy what you keep, or call toRecord()); sFlow hands over FlowRecords. */
export interface FlowSink {
  flow(w: WireFlow): void;
  record(r: FlowRecord): void;
}

/** A sink for code that wants FlowRecord objects only. */
export function recordSink(emit: Emit): FlowSink {
  return { flow: (w) => emit(w.toRecord()), record: emit };
}

export interface DecodeCore {
  readonly stats: DecoderStats;
  readonly templates: TemplateCache;
  readonly pending: PendingBuffer;
  readonly sequences: SequenceTracker;
  /** Reused per datagram. */
  readonly scratch: Scratch;
  /** Reused per record: what decoders hand to FlowSink.flow. */
  readonly wire: WireFlow;
  readonly ctx: MessageContext;
  /** Count a rejection and (rate-limited) say `<place>: <protocol> <where>: <what>`. */
  reject(reason: string, place: Datagram | string, protocol: string, where: string, what: string): void;
  /** Say (rate-limited, counted under `reason`) something decoded but not as well as it could be. */
  warn(reason: string, place: Datagram | string, protocol: string, what: string): void;
  /** describeDatagram(d), for messages about held data. */
  describe(d: Datagram): string;
  /** Give up on held data (age, capacity, end of input): count and say so. */
  expire(p: PendingSet, why: string): void;
  /** Apply a header sequence number to the loss accounting; false for a late (reordered) message,
   *  whose number must not move the expectation backwards. */
  sequence(key: string, seq: number, maxGap: number): boolean;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
