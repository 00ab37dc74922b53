// Column choice for the CSV and text formats (--fields): names are the flow record's field names
// (flowmeter-record(5)), so NDJSON keys, CSV headers and --fields columns are one vocabulary.

import { FLOW_FIELDS, FIELD_NAMES, type FlowRecord } from '../flow/record.js';
import { usageError } from '../errors.js';

export type FieldName = keyof FlowRecord;

/** The columns printed when --fields is not given: every field a record always has. */
export const DEFAULT_FIELDS: readonly FieldName[] = FLOW_FIELDS.filter((f) => !f.optional).map((f) => f.name);

/** "src_addr,dst_addr, bytes" → the names, checked against the record's fields (usage error, 64). */
export function parseFields(list: string, option = '--fields'): FieldName[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw usageError(`${option}: expected a comma-separated list of field names`);
  const seen = new Set<string>();
  for (const n of names) {
    if (!FIELD_NAMES.has(n)) {
      throw usageError(`${option}: unknown field "${n}"; known fields: ${FLOW_FIELDS.map((f) => f.name).join(', ')}`);
    }
    if (seen.has(n)) throw usageError(`${option}: field "${n}" given twice`);
    seen.add(n);
  }
  return names as FieldName[];
}
