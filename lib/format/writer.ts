// Flow records out, in the chosen format, through batched drain-aware output (ByteBatch): the one
// output path for `flow-capture -r` (and any mode that writes a stream of records). Callers
// add() records synchronously and `await flush()` when add() says a batch is full.

import type { Writable } from 'node:stream';
import type { ChalkInstance } from 'chalk';
import { ByteBatch, type ChunkWriter } from './bytes.js';
import type { FlowRecord } from '../flow/record.js';
import { MAX_CORE_BYTES, MAX_WIRE_BYTES, optionalJson, writeFlowJsonLine, writeWireJsonLine } from './ndjson-bytes.js';
import type { WireFlow } from '../flow/wire.js';
import { CsvFormatter } from './csv.js';
import { TextFormatter } from './text.js';
import { DEFAULT_FIELDS, type FieldName } from './fields.js';

export const FORMATS = ['ndjson', 'csv', 'text'] as const;
export type Format = (typeof FORMATS)[number];

export interface FlowWriterOptions {
  format: Format;
  /** Columns for csv/text (csv default: every field a record always has; text default: the tcpdump-like line). */
  fields?: readonly FieldName[];
  /** Colours for text (level 0 = none). */
  chalk: ChalkInstance;
}

export class FlowWriter {
  private readonly out: ByteBatch;
  private readonly csv: CsvFormatter | undefined;
  private readonly text: TextFormatter | undefined;
  private headerDone = false;
  /** Records queued: flows and other records (sFlow counters). */
  count = 0;

  constructor(
    stream: Writable | ChunkWriter,
    readonly opts: FlowWriterOptions,
  ) {
    this.out = new ByteBatch(stream);
    if (opts.format === 'csv') this.csv = new CsvFormatter(opts.fields ?? DEFAULT_FIELDS);
    if (opts.format === 'text') this.text = new TextFormatter(opts.chalk, opts.fields);
  }

  /** Queue a record; true when the caller should `await flush()`. */
  add(r: FlowRecord): boolean {
    this.count++;
    if (this.csv !== undefined) {
      if (!this.headerDone) this.header();
      return this.csv.add(r) ? this.out.add(this.csv.take()) : false;
    }
    if (this.text !== undefined) return this.out.line(this.text.line(r));
    const optional = optionalJson(r);
    const off = this.out.reserve(MAX_CORE_BYTES + optional.length * 3 + 2);
    return this.out.advance(writeFlowJsonLine(this.out.buffer, this.out.view, off, r, optional));
  }

  /** Queue a decoder's flow; NDJSON is written from its numbers, other formats from its record. */
  addWire(w: WireFlow): boolean {
    if (this.opts.format !== 'ndjson') return this.add(w.toRecord());
    this.count++;
    const off = this.out.reserve(MAX_WIRE_BYTES);
    return this.out.advance(writeWireJsonLine(this.out.buffer, this.out.view, off, w));
  }

  /** Queue a line of another kind (sFlow counter records in NDJSON); true when a flush is due. */
  addLine(text: string): boolean {
    this.count++;
    return this.out.line(text);
  }

  /** Bytes queued since the last flush. */
  get pendingBytes(): number {
    return this.out.pending;
  }

  private header(): void {
    this.headerDone = true;
    this.out.add(this.csv!.header());
  }

  async flush(): Promise<void> {
    if (this.csv !== undefined) this.out.add(this.csv.take());
    await this.out.flush();
  }

  /** Flush everything; a CSV output gets its header even when there were no records. */
  async end(): Promise<void> {
    if (this.csv !== undefined && !this.headerDone) this.header();
    await this.flush();
  }
}
