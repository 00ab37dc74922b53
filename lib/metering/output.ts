// Output like the neutron/openstack CLIs (cliff): a Field/Value table sorted by field for one
// resource, a column table for lists (prettytable borders, left-aligned), or json, csv, value.
// table and value are for reading: control characters in names and descriptions are shown as
// escapes (\x1b, \n). json and csv carry the exact text, except that a csv cell a spreadsheet
// would run as a formula gets a leading ' (csv-stringify's escape_formulas, OWASP's advice).

import { stringify } from 'csv-stringify/sync';
import { usageError } from '../errors.js';
import { visible } from '../cli/visible.js';

export type Format = 'table' | 'json' | 'csv' | 'value';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv', 'value'];

/** A resource as the API shows it: a label, a rule, a router (any object; its own fields are read). */
type Row = object;

/** Field `name` of a resource, undefined when it has none. */
function fieldOf(resource: Row, name: string): unknown {
  return (resource as Record<string, unknown>)[name];
}

/** Python's str() of a value, as cliff prints it in table, csv and value formats. */
function str(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}

/** A value as the table and value formats show it. */
function text(v: unknown): string {
  return visible(str(v));
}

function selectColumns(available: readonly string[], wanted: readonly string[] | undefined): string[] {
  if (!wanted || wanted.length === 0) return [...available];
  const chosen = available.filter((c) => wanted.includes(c)); // cliff keeps the table's order
  if (chosen.length === 0) {
    throw usageError(
      `No recognized column names in ${pyList(wanted)}. Recognized columns are (${available.map((c) => `'${c}'`).join(', ')}).`,
    );
  }
  return chosen;
}

function pyList(items: readonly string[]): string {
  return `[${items.map((c) => `'${c}'`).join(', ')}]`;
}

/** prettytable with cliff's defaults: `+---+` rules, one space of padding, left alignment. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [rule, line(headers), rule, ...rows.map(line), rule].join('\n') + '\n';
}

/** csv with Python's QUOTE_NONNUMERIC (cliff's default): strings (and None) quoted, numbers and
 *  booleans bare; a text cell starting with = + - @ tab or CR gets a leading ' so that a
 *  spreadsheet shows it instead of running it. */
const CSV_OPTIONS = {
  delimiter: ',',
  record_delimiter: 'unix' as const,
  eof: true,
  quoted_string: true,
  escape_formulas: true,
  cast: {
    boolean: (v: boolean): string => str(v),
    undefined: () => ({ value: 'None', quoted: true }),
    null: () => ({ value: 'None', quoted: true }),
  },
};

function csv(rows: unknown[][]): string {
  return stringify(rows, CSV_OPTIONS);
}

/** One resource: rows sorted by field name (neutron's `zip(*sorted(info.items()))`). */
export function formatOne(resource: Row, format: Format, columns?: readonly string[]): string {
  const fields = selectColumns(Object.keys(resource).sort(), columns);
  switch (format) {
    case 'table':
      return renderTable(
        ['Field', 'Value'],
        fields.map((f) => [f, text(fieldOf(resource, f))]),
      );
    case 'json':
      return `${JSON.stringify(Object.fromEntries(fields.map((f) => [f, fieldOf(resource, f) ?? null])), null, 2)}\n`;
    case 'csv':
      return csv([fields, fields.map((f) => fieldOf(resource, f))]);
    case 'value':
      return fields.map((f) => `${text(fieldOf(resource, f))}\n`).join('');
  }
}

/** A list with the given default columns; an empty list prints nothing as a table (cliff). */
export function formatList(
  defaultColumns: readonly string[],
  rows: readonly Row[],
  format: Format,
  columns?: readonly string[],
  allFields?: readonly string[],
): string {
  const cols = selectColumns(columns && columns.length > 0 && allFields ? allFields : defaultColumns, columns);
  switch (format) {
    case 'table':
      return rows.length === 0
        ? ''
        : renderTable(
            cols,
            rows.map((r) => cols.map((c) => text(fieldOf(r, c)))),
          );
    case 'json':
      return `${JSON.stringify(
        rows.map((r) => Object.fromEntries(cols.map((c) => [c, fieldOf(r, c) ?? null]))),
        null,
        2,
      )}\n`;
    case 'csv':
      return csv([cols, ...rows.map((r) => cols.map((c) => fieldOf(r, c)))]);
    case 'value':
      return rows.map((r) => `${cols.map((c) => text(fieldOf(r, c))).join(' ')}\n`).join('');
  }
}
