// Output like the neutron/openstack CLIs (cliff): a Field/Value table sorted by field for one
// resource, a column table for lists (prettytable borders, left-aligned), or json, csv, value.

import { usageError } from '../cli/exit.js';

export type Format = 'table' | 'json' | 'csv' | 'value';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv', 'value'];

type Row = Record<string, unknown>;

/** Python's str() of a value, as cliff prints it in table, csv and value formats. */
function text(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}

function selectColumns(available: readonly string[], wanted: readonly string[] | undefined): string[] {
  if (!wanted || wanted.length === 0) return [...available];
  const chosen = available.filter((c) => wanted.includes(c)); // cliff keeps the table's order
  if (chosen.length === 0) {
    throw usageError(`No recognized column names in ${pyList(wanted)}. Recognized columns are (${available.map((c) => `'${c}'`).join(', ')}).`);
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

/** csv with Python's QUOTE_NONNUMERIC (cliff's default): strings quoted, numbers and booleans bare. */
function csvCell(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return text(v);
  return `"${text(v).replace(/"/g, '""')}"`;
}

/** One resource: rows sorted by field name (neutron's `zip(*sorted(info.items()))`). */
export function formatOne(resource: Row, format: Format, columns?: readonly string[]): string {
  const fields = selectColumns(Object.keys(resource).sort(), columns);
  switch (format) {
    case 'table':
      return renderTable(['Field', 'Value'], fields.map((f) => [f, text(resource[f])]));
    case 'json':
      return `${JSON.stringify(Object.fromEntries(fields.map((f) => [f, resource[f] ?? null])), null, 2)}\n`;
    case 'csv':
      return `${fields.map((f) => csvCell(f)).join(',')}\n${fields.map((f) => csvCell(resource[f])).join(',')}\n`;
    case 'value':
      return fields.map((f) => `${text(resource[f])}\n`).join('');
  }
}

/** A list with the given default columns; an empty list prints nothing as a table (cliff). */
export function formatList(defaultColumns: readonly string[], rows: readonly Row[], format: Format, columns?: readonly string[], allFields?: readonly string[]): string {
  const cols = selectColumns(columns && columns.length > 0 && allFields ? allFields : defaultColumns, columns);
  switch (format) {
    case 'table':
      return rows.length === 0 ? '' : renderTable(cols, rows.map((r) => cols.map((c) => text(r[c]))));
    case 'json':
      return `${JSON.stringify(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null]))), null, 2)}\n`;
    case 'csv':
      return [cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
    case 'value':
      return rows.map((r) => `${cols.map((c) => text(r[c])).join(' ')}\n`).join('');
  }
}
