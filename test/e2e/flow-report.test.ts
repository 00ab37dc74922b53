// flow-report end to end: golden output for every format on fixed input (review the diff when
// one changes: UPDATE_GOLDEN=1 rewrites them), the Hydra CSV checked by a parser written from
// flowmeter-record(5) alone with totals equal to the input, --split atomic files, pipes, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';

const F = `${ROOT}test/fixtures/report`;
const GOLDEN = `${F}/golden`;
const FLOWS = `${F}/flows.ndjson`; // 60 flows of the softflowd capture, as read by nfacctd
const AB = `${F}/agg-ab.ndjson`;
const BA = `${F}/agg-ba.ndjson`;
const NETS = `${F}/networks.lst`;

const CASES: Array<[name: string, args: string[]]> = [
  ['pmacct-ab', ['--format', 'pmacct', AB]],
  ['pmacct-flows-ab', ['--ab', '-n', NETS, '--format', 'pmacct', FLOWS]],
  ['pmacct-csv-full', ['-a', 'src_host,dst_host,src_port,dst_port,proto,tos,flows', '--format', 'pmacct-csv', FLOWS]],
  ['pmacct-json-ba', ['--format', 'pmacct-json', BA]],
  ['hcd-table-ab', ['--format', 'hcd-table', AB]],
  ['hcd-table-ba', ['--format', 'hcd-table', BA]],
  ['hydra-maps', ['--format', 'hydra', '--good-map', `${F}/services.map`, '--object-map', `${F}/objects.map`, AB, BA]],
  ['hydra-good-id', ['--format', 'hydra', '--good-id', 'c39501', AB]],
  ['flow-tools-summary', ['--format', 'flow-tools', FLOWS]],
  ['flow-tools-dst-port', ['--format', 'flow-tools', '--report', 'ip-destination-port', '--top', '5', FLOWS]],
  [
    'flow-tools-src-dst-percent',
    [
      '--format',
      'flow-tools',
      '--report',
      'ip-source/destination-address',
      '--percent',
      '--sort',
      'flows',
      '--top',
      '5',
      FLOWS,
    ],
  ],
  ['flow-tools-protocol', ['--format', 'flow-tools', '--report', 'ip-protocol', FLOWS]],
  ['text-dst', ['-a', 'dst_host', '--top', '5', FLOWS]],
  ['text-si-bars', ['-a', 'proto', '--si', '--bars', FLOWS]],
  ['csv-ab', ['--format', 'csv', AB]],
  ['ndjson-ab-flows', ['--ab', '-n', NETS, '--format', 'ndjson', '--sort', 'bytes', FLOWS]],
];

for (const [name, args] of CASES) {
  test(`golden: ${name}`, async () => {
    const r = await runBin('flow-report', args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const path = `${GOLDEN}/${name}.out`;
    if (process.env.UPDATE_GOLDEN) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(path, r.stdout);
    }
    assert.equal(r.stdout, readFileSync(path, 'utf8'));
  });
}

/** A Hydra external statistics line, from flowmeter-record(5) only: seven `;`-separated fields and a
 *  trailing `;`, Unix times, CIDR addresses, bytes. */
function parseBillingLine(line: string): {
  good: string;
  object: string;
  begin: number;
  end: number;
  a: string;
  b: string;
  bytes: number;
} {
  assert.ok(line.endsWith(';'), `trailing ";": ${line}`);
  const f = line.slice(0, -1).split(';');
  assert.equal(f.length, 7, `seven fields: ${line}`);
  const [good, object, begin, end, a, b, bytes] = f as [string, string, string, string, string, string, string];
  for (const t of [begin, end]) assert.match(t, /^[0-9]{9,11}$/, `Unix seconds: ${line}`);
  assert.ok(Number(begin) <= Number(end), `D_BEGIN <= D_END: ${line}`);
  const cidr = /^(([0-9]{1,3}\.){3}[0-9]{1,3}\/([0-9]|[12][0-9]|3[0-2])|[0-9a-f:]+\/([0-9]{1,2}|1[01][0-9]|12[0-8]))$/;
  assert.match(a, cidr, `ADDR_1/MASK_1: ${line}`);
  assert.match(b, cidr, `ADDR_2/MASK_2: ${line}`);
  assert.match(bytes, /^[1-9][0-9]*$/, `BYTES > 0: ${line}`);
  if (good === '' || object === '') assert.ok(a !== '' && b !== '', 'addresses given when ids are empty');
  return { good, object, begin: Number(begin), end: Number(end), a, b, bytes: Number(bytes) };
}

function ndjsonBytes(...paths: string[]): number {
  return paths
    .flatMap((p) => readFileSync(p, 'utf8').trim().split('\n'))
    .reduce((t, l) => t + (JSON.parse(l) as { bytes: number }).bytes, 0);
}

test('hydra: every line parses per flowmeter-record(5) and BYTES add up to the input', async () => {
  const r = await runBin('flow-report', ['--format', 'hydra', '--good-map', `${F}/services.map`, AB, BA]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map(parseBillingLine);
  assert.equal(
    lines.reduce((t, l) => t + l.bytes, 0),
    ndjsonBytes(AB, BA),
  );
  assert.ok(!r.stdout.includes(';0;\n'), 'rows with 0 bytes are left out');
});

test("hydra from flows with --ab: totals equal the flows' bytes", async () => {
  const r = await runBin('flow-report', ['--ab', '-n', NETS, '--format', 'hydra', FLOWS]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map(parseBillingLine);
  assert.equal(
    lines.reduce((t, l) => t + l.bytes, 0),
    ndjsonBytes(FLOWS),
  );
  for (const l of lines) assert.match(l.a, /\/(32|128)$/, 'ab: the sender is a host');
});

test('hydra --split writes agg-ab and agg-ba atomically (no temporary files left)', async () => {
  const dir = tempDir();
  const r = await runBin('flow-report', [
    '--format',
    'hydra',
    '--good-id',
    'c39501',
    '--split',
    dir,
    '--name',
    'agg',
    AB,
    BA,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['agg-ab', 'agg-ba']);
  const ab = readFileSync(join(dir, 'agg-ab'), 'utf8').trim().split('\n').map(parseBillingLine);
  const ba = readFileSync(join(dir, 'agg-ba'), 'utf8').trim().split('\n').map(parseBillingLine);
  assert.equal(
    ab.reduce((t, l) => t + l.bytes, 0),
    ndjsonBytes(AB),
  );
  assert.equal(
    ba.reduce((t, l) => t + l.bytes, 0),
    ndjsonBytes(BA),
  );
  for (const l of ba) assert.match(l.b, /\/(32|128)$/, 'ba: the receiver is a host');
});

test('hydra --split: a row that cannot be billed leaves the old files untouched, exit 65', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'agg-ab'), 'previous\n');
  const bad = join(dir, 'hosts.ndjson');
  writeFileSync(
    bad,
    '{"src_host":"10.5.10.6","dst_host":"8.8.8.8","packets":1,"bytes":100,"flows":1,"time_start":1,"time_end":2}\n',
  );
  const r = await runBin('flow-report', ['--format', 'hydra', '--split', dir, AB, bad]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, /hosts\.ndjson:1: cannot tell outgoing from incoming/);
  assert.equal(readFileSync(join(dir, 'agg-ab'), 'utf8'), 'previous\n');
  assert.deepEqual(readdirSync(dir).sort(), ['agg-ab', 'hosts.ndjson']);
  const ok = await runBin('flow-report', ['--format', 'hydra', '--direction', 'ab', bad]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, ';;1;2;10.5.10.6/32;8.8.8.8/32;100;\n');
});

test('-o writes the report atomically', async () => {
  const dir = tempDir();
  const out = join(dir, 'table.txt');
  const r = await runBin('flow-report', ['--format', 'pmacct', '-o', out, AB]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), readFileSync(`${GOLDEN}/pmacct-ab.out`, 'utf8'));
  assert.deepEqual(readdirSync(dir), ['table.txt']);
});

test('stdin, and a reader that goes away (| head -1) is not an error', async () => {
  const r = await runShell(`cat ${FLOWS} ${FLOWS} ${FLOWS} | node bin/flow-report.js --format ndjson | head -1`, {
    cwd: ROOT,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.split('\n').length, 2);
});

test('--since/--until select records by start time', async () => {
  const r = await runBin('flow-report', [
    '--format',
    'csv',
    '--since',
    '1291242550',
    '--until',
    '2010-12-01T22:30:00Z',
    AB,
  ]);
  assert.equal(r.code, 0, r.stderr);
  // 1291242554 (in) ... 1291242500 and 1291242510 are before --since
  assert.equal(r.stdout.trim().split('\n').length, 2);
  assert.match(r.stdout, /;1291242554;1291242554$/m);
});

test('--format csv over more rows than one csv-stringify batch: every row once, in order, as ndjson has it', async () => {
  const rows = 2500;
  let input = '';
  for (let i = 0; i < rows; i++)
    input += `{"src_host":"10.${i >> 8}.${i & 255}.1","proto":${[6, 17, 1][i % 3]},"packets":${i + 1},"bytes":${(i * 7919) % 100003},"flows":1,"time_start":${1700000000 + i},"time_end":${1700000060 + i}}\n`;
  for (const extra of [[], ['--sort', 'bytes', '--top', '2000']]) {
    const csv = await runBin('flow-report', ['--format', 'csv', ...extra], { input });
    const nd = await runBin('flow-report', ['--format', 'ndjson', ...extra], { input });
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(nd.code, 0, nd.stderr);
    const lines = csv.stdout.split('\n');
    assert.equal(lines.shift(), 'src_host;proto;packets;bytes;flows;time_start;time_end');
    assert.equal(lines.pop(), '');
    const want = nd.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        return [o.src_host, o.proto, o.packets, o.bytes, o.flows, o.time_start, o.time_end].join(';');
      });
    assert.equal(want.length, extra.length ? 2000 : rows);
    assert.deepEqual(lines, want);
  }
});

test('bad input: counted, named by file:line and field, the rest still reported, exit 65', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(
    bad,
    `${readFileSync(AB, 'utf8')}{"src_host":"10.5.10.6","dst_net":"0.0.0.0","dst_mask":0,"packets":1,"bytes":"12a","flows":1}\nnot json\n`,
  );
  const r = await runBin('flow-report', ['--format', 'pmacct', bad]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, /bad\.ndjson:5: field "bytes": expected a non-negative integer \(got "12a"\)/);
  assert.match(r.stderr, /bad\.ndjson:6: expected a JSON object/);
  assert.match(r.stdout, /For a total of: 4 entries/);
  const strict = await runBin('flow-report', ['--format', 'pmacct', '--strict', bad]);
  assert.equal(strict.code, 65);
  assert.equal(strict.stderr.trim().split('\n').length, 1);
});

test('usage errors: unknown primitive, a format that cannot print it, missing map file', async () => {
  let r = await runBin('flow-report', ['-a', 'src_hots', AB]);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /unknown primitive "src_hots"/);
  r = await runBin('flow-report', ['-a', 'src_host,dst_port', '--format', 'hcd-table', AB]);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /hcd-table prints only/);
  r = await runBin('flow-report', ['--format', 'hydra', '--good-map', '/nonexistent/map', AB]);
  assert.equal(r.code, 66);
  r = await runBin('flow-report', ['--split', '/nonexistent/dir', '--format', 'hydra', AB]);
  assert.equal(r.code, 73);
  const dir = tempDir();
  writeFileSync(join(dir, 'bad.map'), 'ab 10.0.0.0/33 x\n');
  r = await runBin('flow-report', ['--format', 'hydra', '--good-map', join(dir, 'bad.map'), AB]);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /bad\.map:1: bad network "10\.0\.0\.0\/33"/);
});

test('sum_* aggregations: the key column is printed, from flows (-a) and from flow-aggregate records alike', async () => {
  for (const [prim, column] of [
    ['sum_host', /^10\.5\.\d+\.\d+;/m],
    ['sum_port', /^\d+;/m],
  ] as const) {
    const fromFlows = await runBin('flow-report', ['-a', prim, '--format', 'csv', FLOWS]);
    assert.equal(fromFlows.code, 0, fromFlows.stderr);
    assert.equal(fromFlows.stdout.split('\n')[0], `${prim};packets;bytes;flows;time_start;time_end`);
    assert.match(fromFlows.stdout, column);
    assert.doesNotMatch(fromFlows.stdout, /^;/m, `${prim}: no row without its key`);
    const piped = await runShell(
      `"${process.execPath}" ${ROOT}bin/flow-aggregate.js -a ${prim} ${FLOWS} | "${process.execPath}" ${ROOT}bin/flow-report.js --format csv`,
    );
    assert.equal(piped.code, 0, piped.stderr);
    const sorted = (t: string): string => t.split('\n').sort().join('\n');
    assert.equal(sorted(piped.stdout), sorted(fromFlows.stdout), `${prim}: the same rows from the aggregates`);
    // pmacct's and hcd's tables have no column for both directions at once: refused, not dropped
    for (const format of ['pmacct', 'pmacct-csv', 'pmacct-json', 'hcd-table']) {
      const r = await runShell(
        `"${process.execPath}" ${ROOT}bin/flow-aggregate.js -a ${prim} ${FLOWS} | "${process.execPath}" ${ROOT}bin/flow-report.js --format ${format}`,
      );
      assert.equal(r.code, 64, `${prim} --format ${format}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(prim));
    }
  }
});

test('text: no bars and no colour when not a terminal; NO_COLOR honoured with --bars', async () => {
  const r = await runBin('flow-report', ['-a', 'proto', FLOWS]);
  assert.ok(!r.stdout.includes('█') && !r.stdout.includes('\x1b['));
  const c = await runBin('flow-report', ['-a', 'proto', '--bars', '--color', FLOWS], { env: { NO_COLOR: '' } });
  assert.ok(c.stdout.includes('█') && c.stdout.includes('\x1b['), 'forced colour');
  const n = await runBin('flow-report', ['-a', 'proto', '--bars', FLOWS], { env: { NO_COLOR: '1' } });
  assert.ok(n.stdout.includes('█') && !n.stdout.includes('\x1b['));
});

test('fixtures exist', () => {
  assert.ok(existsSync(NETS) && existsSync(FLOWS));
});
