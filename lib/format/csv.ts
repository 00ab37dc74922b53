// --format csv: `;`-separated, one header line naming the columns, values as renderField gives
// them (protocol and EtherType by name, arrays comma-joined and so quoted). csv-stringify does
// the quoting; it is called once per batch of rows, not once per row, as each call has a set-up
// cost (bench/README.md).

import { stringify } from 'csv-stringify/sync';
import { renderField, type FlowRecord } from '../flow/record.js';
import type { FieldName } from './fields.js';

/** The CSV dialect of every flowmeter command (design: `;`-separated, `\n` line ends). */
export const CSV_OPTIONS = { delimiter: ';', record_delimiter: 'unix' as const, eof: true };

export class CsvFormatter {
  private rows: string[][] = [];

  constructor(
    readonly fields: readonly FieldName[],
    readonly batchRows = 1024,
  ) {}

  header(): string {
    return stringify([this.fields as string[]], CSV_OPTIONS);
  }

  /** Queue one record; true when a batch is ready to take(). */
  add(r: FlowRecord): boolean {
    const f = this.fields;
    const row = new Array<string>(f.length);
    for (let i = 0; i < f.length; i++) row[i] = renderField(r, f[i]!);
    this.rows.push(row);
    return this.rows.length >= this.batchRows;
  }

  /** The queued rows as CSV text ("" when none). */
  take(): string {
    if (this.rows.length === 0) return '';
    const text = stringify(this.rows, CSV_OPTIONS);
    this.rows = [];
    return text;
  }
}
