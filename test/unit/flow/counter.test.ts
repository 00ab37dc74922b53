import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addCounters,
  counterFromDigits,
  counterFromJson,
  exactJsonIntegers,
  mulCounter,
  readU64,
  stringifyCounters,
} from '../../../lib/flow/counter.js';
import { FieldError, parseFlowLine, parseJsonObject } from '../../../lib/flow/record.js';
import { Aggregator } from '../../../lib/aggregate/aggregator.js';
import { aggregateLineWriter } from '../../../lib/aggregate/aggregate-json.js';
import { expectedAggregateJson } from '../../helpers/aggregate-json.js';
import { FlowLineScanner } from '../../../lib/aggregate/scan.js';
import { WasmFlowLineScanner } from '../../../lib/aggregate/scan-wasm.js';
import { FlowView } from '../../../lib/aggregate/view.js';

const P53 = 9007199254740992;

describe('counters (lib/flow/counter.ts)', () => {
  test('a number up to 2^53 - 1, a bigint above, refused above 2^64 - 1', () => {
    assert.equal(counterFromDigits('9007199254740991'), 9007199254740991);
    assert.equal(counterFromDigits('9007199254740993'), 9007199254740993n);
    assert.equal(counterFromDigits('18446744073709551615'), 18446744073709551615n);
    assert.equal(counterFromDigits('18446744073709551616'), undefined);
    assert.equal(counterFromDigits('0012'), undefined);
    assert.equal(counterFromJson(P53), undefined, 'a rounded double above 2^53 - 1 is not a known value');
    assert.equal(counterFromJson(2n ** 60n), 2n ** 60n);
    assert.equal(counterFromJson(5n), 5);
    assert.equal(counterFromJson(1.5), undefined);
  });

  test('sums are exact: 2^53 + 1 + 1, and back to a number when small', () => {
    assert.equal(addCounters(addCounters(P53, 1), 1), 9007199254740994n);
    assert.equal(addCounters(1, 2), 3);
    assert.equal(addCounters(2n ** 64n - 1n, 1), 2n ** 64n);
    assert.equal(mulCounter(2 ** 40, 2 ** 20), 2n ** 60n);
    assert.equal(mulCounter(3, 7), 21);
  });

  test('readU64 reads the whole 64 bits', () => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(2n ** 53n + 1n, 0);
    b.writeBigUInt64BE(123n, 8);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    assert.equal(readU64(v, 0), 2n ** 53n + 1n);
    assert.equal(readU64(v, 8), 123);
  });

  test('exactJsonIntegers gives back the digits JSON.parse rounded; the last of duplicate keys', () => {
    const line = '{"note":"\\"bytes\\":1","bytes":5,"bytes":9007199254740993,"t":1e20,"x":12}';
    const o = JSON.parse(line) as Record<string, unknown>;
    exactJsonIntegers(line, o);
    assert.deepEqual(o, { note: '"bytes":1', bytes: 9007199254740993n, t: 1e20, x: 12 });
  });

  test('stringifyCounters writes bigints as plain digits', () => {
    assert.equal(stringifyCounters({ a: 1, b: 2n ** 64n - 1n, c: 'x' }), '{"a":1,"b":18446744073709551615,"c":"x"}');
    assert.equal(stringifyCounters({ a: 1 }), '{"a":1}');
  });

  test('flow records: exact above 2^53, refused above 2^64 - 1 quoting the digits', () => {
    const r = parseFlowLine('{"bytes":9007199254740993,"packets":"18446744073709551615"}');
    assert.equal(r.bytes, 9007199254740993n);
    assert.equal(r.packets, 18446744073709551615n);
    assert.throws(
      () => parseFlowLine('{"bytes":18446744073709551616}'),
      (e: unknown) =>
        e instanceof FieldError && e.field === 'bytes' && e.message.endsWith('(got 18446744073709551616)'),
    );
    assert.throws(() => parseFlowLine('{"bytes":1.8e19}'), FieldError);
    assert.equal(parseJsonObject('{"bytes":1}').bytes, 1);
  });
});

describe('flow-aggregate with counters past 2^53', () => {
  const view = new FlowView();
  const flow = (src: string, bytes: string, packets = '1', rate = 0): string =>
    `{"type":"IPFIX","sampling_rate":${rate},"bytes":${bytes},"packets":${packets},"src_addr":"${src}","dst_addr":"192.0.2.9","time_flow_start_ns":1700000000000000000}`;

  test('the scanners (JavaScript and WebAssembly) take counters up to 2^53 - 1 and leave larger ones to JSON.parse', () => {
    const js = new FlowLineScanner(view);
    const wasm = new WasmFlowLineScanner(view);
    const scanners: Array<[string, (b: Buffer, p: number, e: number) => number, Buffer | undefined]> = [
      ['js', (b, p, e) => js.scan(b, p, e), undefined],
      ['wasm', (b, p, e) => wasm.scanWasm(b, p, e), wasm.chunkBuffers[1]],
    ];
    for (const [name, scan, room] of scanners) {
      for (const [bytes, taken] of [
        ['9007199254740991', true],
        ['9007199254740992', false],
        ['18446744073709551615', false],
      ] as const) {
        const line = Buffer.from(flow('10.0.0.1', bytes) + '\n');
        const buf = room ?? line;
        line.copy(buf);
        const nl = scan(buf, 0, line.length);
        assert.equal(nl >= 0, taken, `${name} ${bytes}`);
        if (taken) assert.equal(view.bytes, Number(bytes));
      }
    }
  });

  test('sums: 2^53 + 1 + 1, merged aggregates, renormalised, sorted and written exactly', () => {
    const agg = new Aggregator({ name: 'x', primitives: ['src_host'], renormalize: true });
    const add = (line: string): void => void agg.addFlow(parseFlowLine(line));
    add(flow('10.0.0.1', String(P53)));
    add(flow('10.0.0.1', '1'));
    add(flow('10.0.0.1', '1'));
    add(flow('10.0.0.2', '18446744073709551615', '9007199254740993'));
    add(flow('10.0.0.3', String(2 ** 40), '1', 2 ** 20)); // 2^60 after renormalising
    agg.addAggregate(parseJsonObject('{"src_host":"10.0.0.3","packets":1,"bytes":1,"flows":9007199254740993}'));
    const rs = agg.results('bytes');
    assert.deepEqual(
      rs.map((r) => [r.values[0], r.bytes, r.packets, r.flows]),
      [
        ['10.0.0.2', 18446744073709551615n, 9007199254740993n, 1],
        ['10.0.0.3', 2n ** 60n + 1n, 2 ** 20 + 1, 9007199254740994n],
        ['10.0.0.1', 9007199254740994n, 3, 3],
      ],
    );
    // the line writer (flow-aggregate's output path) prints the exact sums
    const write = aggregateLineWriter(agg);
    const buf = Buffer.alloc(4096);
    const dv = new DataView(buf.buffer);
    for (const i of Array.from(agg.order('bytes'))) {
      const end = write(dv, 0, i);
      assert.equal(
        buf.toString('latin1', 0, end),
        expectedAggregateJson(agg.primitives, agg.fill(i, agg.newRecord())) + '\n',
      );
    }
  });

  test('exact sort by bytes among sums a double cannot tell apart', () => {
    const agg = new Aggregator({ name: 'x', primitives: ['src_host'] });
    agg.addFlow(parseFlowLine(flow('10.0.0.1', '9007199254740993')));
    agg.addFlow(parseFlowLine(flow('10.0.0.2', '9007199254740994')));
    agg.addFlow(parseFlowLine(flow('10.0.0.3', '9007199254740993')));
    agg.addFlow(parseFlowLine(flow('10.0.0.3', '2')));
    assert.deepEqual(
      agg.results('bytes').map((r) => [r.values[0], r.bytes]),
      [
        ['10.0.0.3', 9007199254740995n],
        ['10.0.0.2', 9007199254740994n],
        ['10.0.0.1', 9007199254740993n],
      ],
    );
  });
});
