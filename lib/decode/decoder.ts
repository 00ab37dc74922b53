// The decoder front door: one export datagram in, flow records out. Sniffs the version, runs the
// NetFlow v1/v5/v7, v9 or IPFIX decoder (sFlow v5 plugs in through registerDecoder), keeps the
// counters, the template cache, held data and sequence accounting. Never throws on input.

import { type Datagram, describeDatagram } from '../capture/datagram.js';
import type { RejectListener } from '../rejects.js';
import { type DecodeCore, type DecoderStats, type Emit, type FlowSink, newStats, recordSink } from '../netflow/core.js';
import { WireFlow } from '../flow/wire.js';
import { MessageContext, type Scratch, newScratch } from '../netflow/data.js';
import { decodeV1, decodeV5, decodeV7 } from '../netflow/legacy.js';
import { PendingBuffer, type PendingSet } from '../netflow/pending.js';
import { SequenceTracker } from '../netflow/sequence.js';
import { TemplateCache, type TemplateCacheOptions } from '../netflow/templates.js';
import { decodeIpfix, decodeV9 } from '../netflow/v9ipfix.js';

export type { DecoderStats } from '../netflow/core.js';

/** A decoder for another protocol (sFlow v5): gets the datagram, one DataView over its payload,
 *  and the decoder itself for counters (stats.byVersion.sflow, stats.records) and reject(). */
export type ExtraDecoder = (d: Datagram, v: DataView, emit: Emit, core: FlowDecoder) => void;

export interface FlowDecoderOptions {
  /** Where refusals and warnings go (the decoder never prints). */
  rejects: RejectListener;
  /** Data sets held waiting for their template (default 1024). */
  maxPending?: number;
  /** Bytes held waiting for templates (default 16 MiB). */
  maxPendingBytes?: number;
  /** Held data older than this (receive time) is given up (default 60 s). */
  pendingTtlSeconds?: number;
  /** Bounds of the template cache (templates.ts TemplateCacheOptions for the defaults). */
  templateLimits?: TemplateCacheOptions;
  /** Start from a saved template cache (TemplateCache.fromJSON). */
  templates?: TemplateCache;
  /** Exporter addresses whose datagrams are decoded (--allow); others are counted as denied. */
  allow?: (exporter: string) => boolean;
  /** sFlow v5 decoder (datagrams whose first uint32 is 5). */
  sflow?: ExtraDecoder;
}

export class FlowDecoder implements DecodeCore {
  readonly stats: DecoderStats = newStats();
  readonly templates: TemplateCache;
  readonly pending: PendingBuffer;
  readonly sequences = new SequenceTracker();
  readonly scratch: Scratch = newScratch();
  readonly ctx = new MessageContext();
  readonly wire = new WireFlow();
  private readonly rejects: RejectListener;
  /** The sink of the decode() call in progress, and sFlow's way into it. */
  private sink: FlowSink = recordSink(() => {});
  private readonly emitRecord: Emit = (r) => this.sink.record(r);
  private lastEmit: Emit | undefined;
  private sflow: ExtraDecoder | undefined;
  private readonly allow: ((exporter: string) => boolean) | undefined;

  constructor(opts: FlowDecoderOptions) {
    this.rejects = opts.rejects;
    this.templates = opts.templates ?? new TemplateCache(opts.templateLimits);
    this.allow = opts.allow;
    this.pending = new PendingBuffer(
      opts.maxPending ?? 1024,
      opts.maxPendingBytes ?? 16 << 20,
      (opts.pendingTtlSeconds ?? 60) * 1e9,
    );
    this.sflow = opts.sflow;
  }

  /** Plug in the decoder for a protocol that is not NetFlow/IPFIX. */
  registerDecoder(name: 'sflow', fn: ExtraDecoder): void {
    if (name === 'sflow') this.sflow = fn;
  }

  /** Decode one export datagram; flows go to `out` synchronously (a function gets FlowRecords).
   *  Never throws on input. */
  decode(d: Datagram, out: FlowSink | Emit): void {
    if (typeof out === 'function') {
      if (out !== this.lastEmit) {
        this.lastEmit = out;
        this.sink = recordSink(out);
      }
    } else this.sink = out;
    const sink = this.sink;
    const stats = this.stats;
    if (this.allow !== undefined && !this.allow(d.exporter)) {
      stats.denied++;
      return;
    }
    stats.datagrams++;
    if (this.pending.size > 0)
      for (const p of this.pending.expire(d.receivedNs)) this.expire(p, 'its template did not arrive in time');
    const b = d.payload;
    if (b.length < 4) {
      this.reject('truncated', d, 'datagram', 'header', `${b.length} bytes is too short for any flow export header`);
      return;
    }
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const version = v.getUint16(0);
    try {
      switch (version) {
        case 5:
          stats.byVersion.netflow_v5.datagrams++;
          stats.byVersion.netflow_v5.records += this.count(decodeV5(this, d, v, sink));
          return;
        case 9:
          stats.byVersion.netflow_v9.datagrams++;
          decodeV9(this, d, v, b, sink);
          return;
        case 10:
          stats.byVersion.ipfix.datagrams++;
          decodeIpfix(this, d, v, b, sink);
          return;
        case 1:
          stats.byVersion.netflow_v1.datagrams++;
          stats.byVersion.netflow_v1.records += this.count(decodeV1(this, d, v, sink));
          return;
        case 7:
          stats.byVersion.netflow_v7.datagrams++;
          stats.byVersion.netflow_v7.records += this.count(decodeV7(this, d, v, sink));
          return;
        case 0:
          if (v.getUint32(0) === 5) {
            if (this.sflow !== undefined) {
              stats.byVersion.sflow.datagrams++;
              this.sflow(d, v, this.emitRecord, this);
            } else this.reject('unknown version', d, 'sFlow v5', 'header', 'no sFlow decoder is enabled');
            return;
          }
      }
      this.reject('unknown version', d, 'datagram', 'header at offset 0x0', `unknown version ${version}`);
    } catch (e) {
      // a decoder bug must not take the collector down: count it like bad input, with the stack at -vv
      this.reject(
        'internal error',
        d,
        'decoder',
        `version ${version}`,
        `${(e as Error).message ?? String(e)} (please report this datagram)`,
      );
      for (const line of ((e as Error).stack ?? String(e)).split('\n')) this.rejects.debug(line); // a message is one line
    }
  }

  private count(n: number): number {
    this.stats.records += n;
    return n;
  }

  /** End of input: what is still held waiting for a template is given up, counted and said. */
  finish(): void {
    for (const p of this.pending.drain()) this.expire(p, 'its template never arrived');
  }

  reject(reason: string, place: Datagram | string, protocol: string, where: string, what: string): void {
    const stats = this.stats;
    stats.rejected++;
    stats.rejects.set(reason, (stats.rejects.get(reason) ?? 0) + 1);
    const at = typeof place === 'string' ? place : describeDatagram(place);
    this.rejects.reject(reason, `${at}: ${protocol} ${where}: ${what}`, at);
  }

  warn(reason: string, place: Datagram | string, protocol: string, what: string): void {
    const at = typeof place === 'string' ? place : describeDatagram(place);
    this.rejects.note(reason, `${at}: ${protocol}: ${what}`);
  }

  describe(d: Datagram): string {
    return describeDatagram(d);
  }

  expire(p: PendingSet, why: string): void {
    this.stats.pendingExpired++;
    const word = p.protocol === 'IPFIX' ? 'set' : 'flowset';
    this.reject(
      'no template',
      p.place,
      p.protocol,
      `${word} ${p.templateId} at offset 0x${p.setOffset.toString(16)}`,
      `data for template ${p.templateId} dropped: ${why}`,
    );
  }

  sequence(key: string, seq: number, maxGap: number): boolean {
    const st = this.stats;
    switch (this.sequences.check(key, seq, maxGap)) {
      case 'gap':
        st.sequenceGaps++;
        st.sequenceMissing += this.sequences.missing;
        return true;
      case 'late':
        st.sequenceLate++;
        return false;
      case 'reset':
        st.sequenceResets++;
        return true;
      default:
        return true;
    }
  }
}
