// CsvBatch writes what csv-stringify writes, whatever the cells: the rows it joins itself (no
// character to quote) and those it hands to csv-stringify alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS, CsvBatch } from '../../../lib/format/csv.js';
import { rng } from '../../helpers/prng.js';

const CELLS: readonly unknown[] = [
  '',
  'TCP',
  '10.5.0.0',
  '2001:db8::1',
  'a;b',
  'say "hi"',
  'two\nlines',
  'cr\r',
  ' padded ',
  '-1',
  '=SUM(A1)',
  'ü',
  0,
  -1,
  1.5,
  9007199254740993n,
  Number.NaN,
  true,
  false,
  undefined,
  null,
  ['a', 'b'],
];

test('CsvBatch: every row as csv-stringify writes it, in order, across batches', () => {
  const rand = rng(7);
  const rows = Array.from({ length: 5000 }, () =>
    Array.from({ length: 1 + Math.floor(rand() * 6) }, () => CELLS[Math.floor(rand() * CELLS.length)]),
  );
  const batch = new CsvBatch(100);
  let text = '';
  let ready = 0;
  for (const r of rows) if (batch.add(r)) ((text += batch.take()), ready++);
  text += batch.take();
  assert.equal(ready, 50);
  assert.equal(text, stringify(rows, CSV_OPTIONS));
  assert.equal(batch.take(), '');
});
