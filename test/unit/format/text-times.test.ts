// Text times are the NDJSON record's instant truncated to the millisecond, on every record of every
// fixture capture: the expected text is made from the NDJSON integer's digits (BigInt), not from
// the double, and compared with formatTimeNs of the parsed record and with flow-capture --format
// text's own lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ROOT, runBin } from '../../helpers/spawn.js';
import { parseFlowLine } from '../../../lib/flow/record.js';
import { formatTimeNs, spanNs } from '../../../lib/format/time.js';

const FIXTURES = readdirSync(`${ROOT}test/fixtures`)
  .filter((f) => f.endsWith('.pcap'))
  .sort();
const TIMES = ['time_received_ns', 'time_flow_start_ns', 'time_flow_end_ns'] as const;

/** "YYYY-MM-DD HH:MM:SS.mmm" (UTC) of an ns integer given as digits. */
function expected(digits: string): string {
  const ms = BigInt(digits) / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // exact: ms < 2^53
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

test('every fixture record: text times equal the NDJSON times truncated to the ms', async () => {
  let records = 0;
  let times = 0;
  for (const name of FIXTURES) {
    const file = `${ROOT}test/fixtures/${name}`;
    const nd = await runBin('flow-capture', ['-r', file]);
    const lines = nd.stdout.split('\n').filter((l) => l !== '');
    const text = await runBin('flow-capture', ['-r', file, '--format', 'text', '--fields', TIMES.join(',')]);
    const textLines = text.stdout.split('\n').filter((l) => l !== '');
    assert.equal(textLines.length, lines.length, `${name}: as many text lines as records`);
    lines.forEach((line, i) => {
      const r = parseFlowLine(line);
      const want = TIMES.map((k) => expected(new RegExp(`"${k}":([0-9]+)`).exec(line)![1]!));
      assert.deepEqual(
        TIMES.map((k) => formatTimeNs(r[k])),
        want,
        `${name} record ${i + 1}: formatTimeNs`,
      );
      assert.equal(textLines[i], want.join(' '), `${name} record ${i + 1}: flow-capture --format text`);
      const start = BigInt(/"time_flow_start_ns":([0-9]+)/.exec(line)![1]!);
      const end = BigInt(/"time_flow_end_ns":([0-9]+)/.exec(line)![1]!);
      if (end >= start)
        assert.equal(
          spanNs(r.time_flow_start_ns, r.time_flow_end_ns),
          Number(end - start),
          `${name} record ${i + 1}: duration`,
        );
      records++;
      times += 3;
    });
  }
  assert.ok(records > 500, `${records} records, ${times} times compared`);
});

test('an ns time a double cannot hold exactly prints the ms the record says, not the one before', () => {
  // 1705320002682000000 is 1705320002681999872 as a double: Math.floor(ns / 1e6) gave …681
  assert.equal(formatTimeNs(1705320002682000000), '2024-01-15 12:00:02.682');
  assert.equal(spanNs(1705320002682000000, 1705320002681000000), 0);
});
