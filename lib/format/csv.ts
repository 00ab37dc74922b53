// --format csv: `;`-separated, one header line naming the columns, values as renderField gives
// them (protocol and EtherType by name, arrays comma-joined and so quoted). csv-stringify does
// the quoting; it is called once per batch of rows, not once per row, as each call has a set-up
// cost (bench/README.md).

import { stringify } from 'csv-stringify/sync';
import { renderField, type FlowRecord } from '../flow/record.js';
import type { FieldName } from './fields.js';

/** The CSV dialect of every flowmeter command (design: `;`-separated, `\n` line ends). */
export const CSV_OPTIONS = { delimiter: ';', record_delimiter: 'unix' as const, eof: true };

/** One CSV line without its line end (a header, say: one call, so no batch). */
export function csvLine(cells: readonly unknown[]): string {
  return stringify([cells as unknown[]], { ...CSV_OPTIONS, eof: false });
}

/** Rows queued and stringified together: one csv-stringify call per batch. */
export class CsvBatch {
  private rows: unknown[][] = [];

  constructor(readonly batchRows = 1024) {}

  /** Queue one row of cells; true when a batch is ready to take(). */
  add(cells: unknown[]): boolean {
    this.rows.push(cells);
    return this.rows.length >= this.batchRows;
  }

  /** The queued rows as CSV lines, each ending in `\n` ("" when none). */
  take(): string {
    if (this.rows.length === 0) return '';
    const text = stringify(this.rows, CSV_OPTIONS);
    this.rows = [];
    return text;
  }
}

export class CsvFormatter {
  private readonly batch: CsvBatch;

  constructor(
    readonly fields: readonly FieldName[],
    batchRows = 1024,
  ) {
    this.batch = new CsvBatch(batchRows);
  }

  header(): string {
    return `${csvLine(this.fields)}\n`;
  }

  /** Queue one record; true when a batch is ready to take(). */
  add(r: FlowRecord): boolean {
    const f = this.fields;
    const row = new Array<string>(f.length);
    for (let i = 0; i < f.length; i++) row[i] = renderField(r, f[i]!);
    return this.batch.add(row);
  }

  /** The queued rows as CSV text ("" when none). */
  take(): string {
    return this.batch.take();
  }
}
