// --format csv: `;`-separated, one header line naming the columns, values as renderField gives
// them (protocol and EtherType by name, arrays comma-joined and so quoted). csv-stringify does
// the quoting (CsvBatch).

import { stringify } from 'csv-stringify/sync';
import { renderField, type FlowRecord } from '../flow/record.js';
import type { FieldName } from './fields.js';

/** The CSV dialect of every flowmeter command (design: `;`-separated, `\n` line ends). */
export const CSV_OPTIONS = { delimiter: ';', record_delimiter: 'unix' as const, eof: true };

/** One CSV line without its line end (a header, say: one call, so no batch). */
export function csvLine(cells: readonly unknown[]): string {
  return stringify([cells as unknown[]], { ...CSV_OPTIONS, eof: false });
}

/** A character that makes csv-stringify quote a cell (the delimiter, the quote, a line end). */
const NEEDS_QUOTES = /[;"\r\n]/;

/** Whether csv-stringify writes these cells as they are: strings it would not quote, numbers
 *  (it writes `'' + value` for them, as join does). */
function plainCells(cells: readonly unknown[]): boolean {
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (typeof c === 'string') {
      if (NEEDS_QUOTES.test(c)) return false;
    } else if (typeof c !== 'number' && typeof c !== 'bigint') return false;
  }
  return true;
}

/** Rows as CSV lines, taken a batch at a time. csv-stringify writes every row that needs it
 *  (quotes, or a value that is not a string or number); a row of plain cells is joined here
 *  as it would write it, because a call costs ~4x the row itself (bench/README.md), and most
 *  rows (addresses, numbers) need no quotes. test/unit/format/csv.test.ts holds the two equal. */
export class CsvBatch {
  private text = '';
  private rows = 0;

  constructor(readonly batchRows = 1024) {}

  /** Add one row of cells; true when a batch is ready to take(). */
  add(cells: unknown[]): boolean {
    this.text += plainCells(cells) ? `${cells.join(';')}\n` : stringify([cells], CSV_OPTIONS);
    return ++this.rows >= this.batchRows;
  }

  /** The rows added as CSV lines, each ending in `\n` ("" when none). */
  take(): string {
    const text = this.text;
    this.text = '';
    this.rows = 0;
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
