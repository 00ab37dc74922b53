// The compiled reader of a hot fixed-length template must fill the scratch record exactly as the
// generic readRecord loop does: random templates over every planned element (all widths the
// kinds allow, reduced-size integers, skipped and enterprise fields), random record bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedReader, newScratch, readRecord } from '../../../lib/netflow/data.js';
import { Template, type TemplateField } from '../../../lib/netflow/templates.js';
import { rng } from '../../helpers/prng.js';

// IE id and the lengths an exporter may send for it
const ELEMENTS: ReadonlyArray<[number, number[]]> = [
  [1, [1, 2, 4, 8]],
  [2, [2, 4, 8]],
  [4, [1]],
  [5, [1]],
  [6, [1, 2]],
  [7, [2]],
  [8, [4]],
  [9, [1]],
  [10, [2, 4]],
  [11, [2]],
  [12, [4]],
  [13, [1]],
  [14, [2, 4]],
  [15, [4]],
  [16, [2, 4]],
  [17, [2, 4]],
  [18, [4]],
  [21, [4]],
  [22, [4]],
  [27, [16]],
  [28, [16]],
  [29, [1]],
  [30, [1]],
  [31, [3, 4]],
  [32, [2]],
  [34, [4]],
  [35, [1]],
  [56, [6]],
  [57, [6]],
  [58, [2]],
  [59, [2]],
  [61, [1]],
  [62, [16]],
  [63, [16]],
  [70, [3]],
  [71, [3]],
  [72, [3]],
  [80, [6]],
  [81, [6]],
  [85, [8]],
  [86, [8]],
  [89, [1, 4]],
  [136, [1]],
  [138, [4, 8]],
  [139, [2]],
  [150, [4]],
  [151, [4]],
  [152, [8]],
  [153, [8]],
  [154, [8]],
  [155, [8]],
  [156, [8]],
  [157, [8]],
  [158, [4]],
  [159, [4]],
  [160, [8]],
  [176, [1]],
  [177, [1]],
  [192, [1]],
  [243, [2]],
  [254, [2]],
  [999, [1, 3, 7]],
];

test('a compiled fixed-length reader fills the scratch record as readRecord does', () => {
  const r = rng(5);
  const u = (n: number): number => Math.floor(r() * n);
  for (let round = 0; round < 2000; round++) {
    const fields: TemplateField[] = [];
    const n = 1 + u(30);
    for (let i = 0; i < n; i++) {
      const [id, lens] = ELEMENTS[u(ELEMENTS.length)]!;
      fields.push({ id, length: lens[u(lens.length)]!, pen: r() < 0.05 ? 9 : 0 });
    }
    const scope = r() < 0.2 ? 1 + u(Math.min(3, n)) : 0;
    const t = new Template(256 + round, scope, fields, r() < 0.5);
    let compiled = fixedReader(t);
    while (compiled === undefined) compiled = fixedReader(t);
    const b = Uint8Array.from({ length: 3 + t.fixedLength * 3 }, () => (r() < 0.3 ? 0 : u(256)));
    const v = new DataView(b.buffer);
    for (let k = 0; k < 3; k++) {
      const at = 3 + k * t.fixedLength;
      const want = newScratch();
      const got = newScratch();
      assert.equal(compiled(v, b, at, got), readRecord(v, b, at, b.length, t, want));
      assert.deepEqual(got, want, JSON.stringify(fields));
    }
  }
});

test('a template with a variable-length field never gets a compiled reader', () => {
  const t = new Template(
    300,
    0,
    [
      { id: 8, length: 4, pen: 0 },
      { id: 82, length: 65535, pen: 0 },
    ],
    false,
  );
  for (let i = 0; i < 100; i++) assert.equal(fixedReader(t), undefined);
});
