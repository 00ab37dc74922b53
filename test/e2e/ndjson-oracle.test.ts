// An independent NDJSON reader as the oracle of what the commands write: the npm ndjson parser
// (split2 + JSON.parse, strict) reads flow-capture's, flow-aggregate's and flow-report's NDJSON
// into the same objects, one per line, as a line-by-line JSON.parse, with no line it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import ndjson from 'ndjson';
import { runShell } from '../helpers/spawn.js';

async function viaNdjson(text: string): Promise<unknown[]> {
  const out: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from([text])
      .pipe(ndjson.parse({ strict: true }))
      .on('data', (o: unknown) => out.push(o))
      .on('error', reject)
      .on('end', resolve);
  });
  return out;
}

const COMMANDS = [
  'bin/flow-capture.js -r test/fixtures/softflowd-ipfix.pcap -r test/fixtures/sflow-v4.pcap --counters',
  'bin/flow-capture.js -r examples/softflowd-v9.pcap | bin/flow-aggregate.js --ab -n examples/networks.lst',
  'bin/flow-report.js -a dst_host,proto --sort bytes -F ndjson test/fixtures/report/flows.ndjson',
];

for (const cmd of COMMANDS) {
  test(`ndjson reads what ${cmd.split(' ')[0]} writes: ${cmd.slice(0, 60)}…`, async () => {
    const r = await runShell(cmd);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '', 'the output ends with a newline');
    assert.ok(lines.length >= 5, `${lines.length} lines`);
    assert.deepEqual(
      await viaNdjson(r.stdout),
      lines.map((l) => JSON.parse(l) as unknown),
    );
  });
}
