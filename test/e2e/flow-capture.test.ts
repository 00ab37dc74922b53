// flow-capture -r end to end: the real bin on the softflowd fixtures (test/fixtures/make-fixtures.sh)
// and on broken captures derived from them; stdout, stderr and exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { captureRecords } from '../helpers/capture.js';
import { ROOT, binPath, runBin, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { intText, parseFlowLine, renderField, type FlowRecord } from '../../lib/flow/record.js';
import { DEFAULT_FIELDS } from '../../lib/format/fields.js';

const FIX = `${ROOT}test/fixtures/`;
const V5 = `${FIX}softflowd-v5.pcap`;
const V9 = `${FIX}softflowd-v9.pcap`;
const IPFIX = `${FIX}softflowd-ipfix.pcap`;

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

async function ndjson(...files: string[]): Promise<FlowRecord[]> {
  const { records, stderr } = await captureRecords(files);
  assert.equal(stderr, '');
  return records;
}

test("ndjson (default): every line is a valid flow record of the capture's version", async () => {
  for (const [file, type] of [
    [V5, 'NETFLOW_V5'],
    [V9, 'NETFLOW_V9'],
    [IPFIX, 'IPFIX'],
  ] as const) {
    const recs = await ndjson(file);
    assert.ok(recs.length > 10, `${file}: ${recs.length} records`);
    for (const r of recs) {
      assert.equal(r.type, type);
      assert.equal(r.sampler_address, '127.0.0.1');
      assert.ok(r.time_flow_start_ns > 1.7e18 && r.time_flow_end_ns >= r.time_flow_start_ns, 'absolute ns times');
      assert.ok(r.bytes > 0 || r.packets === 0);
    }
    // the generated traffic has subscribers in 10.5.0.0/16 and, except in v5, IPv6 flows
    assert.ok(recs.some((r) => r.src_addr.startsWith('10.5.')));
    if (type !== 'NETFLOW_V5') assert.ok(recs.some((r) => r.etype === 0x86dd && r.src_addr.startsWith('2001:db8:')));
  }
});

test('several -r files (a shell glob) are decoded in order into one stream', async () => {
  const all = await ndjson(V5, V9, IPFIX);
  const each = [...(await ndjson(V5)), ...(await ndjson(V9)), ...(await ndjson(IPFIX))];
  assert.deepEqual(all, each);
  // README's quick start: --format text -r examples/*.pcap (via the shell)
  const r = await runShell(`${JSON.stringify(binPath('flow-capture'))} --format text -r examples/*.pcap`);
  assert.equal(r.code, 0, r.stderr);
  const n = readdirSync(`${ROOT}examples`).filter((f) => f.endsWith('.pcap')).length;
  assert.ok(n >= 3);
  assert.equal(
    lines(r.stdout).length,
    (
      await ndjson(
        ...readdirSync(`${ROOT}examples`)
          .filter((f) => f.endsWith('.pcap'))
          .sort()
          .map((f) => `${ROOT}examples/${f}`),
      )
    ).length,
  );
});

test('-r - reads the capture from stdin', async () => {
  const r = await runBin('flow-capture', ['-r', '-'], { input: readFileSync(V9) });
  assert.equal(r.code, 0, r.stderr);
  const fromFile = await runBin('flow-capture', ['-r', V9]);
  assert.equal(r.stdout, fromFile.stdout);
});

test('csv: ;-separated, one header naming the core fields, the same values as NDJSON', async () => {
  const recs = await ndjson(IPFIX);
  const r = await runBin('flow-capture', ['--format', 'csv', '-r', IPFIX]);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = lines(r.stdout);
  assert.equal(header, DEFAULT_FIELDS.join(';'));
  assert.equal(rows.length, recs.length);
  rows.forEach((row, i) => assert.equal(row, DEFAULT_FIELDS.map((f) => renderField(recs[i]!, f)).join(';')));
});

test('--fields picks and orders the columns for csv and text', async () => {
  const recs = await ndjson(V9);
  const fields = ['dst_addr', 'src_addr', 'proto', 'bytes', 'icmp_type'];
  const csv = await runBin('flow-capture', ['--format', 'csv', '--fields', fields.join(','), '-r', V9]);
  assert.equal(csv.code, 0, csv.stderr);
  const [header, ...rows] = lines(csv.stdout);
  assert.equal(header, fields.join(';'));
  rows.forEach((row, i) =>
    assert.equal(row, fields.map((f) => renderField(recs[i]!, f as keyof FlowRecord)).join(';')),
  );
  const text = await runBin('flow-capture', [
    '--format',
    'text',
    '--fields',
    'src_addr,bytes,time_flow_start_ns',
    '-r',
    V9,
  ]);
  assert.equal(text.code, 0, text.stderr);
  const tl = lines(text.stdout);
  assert.equal(tl.length, recs.length);
  tl.forEach((l, i) =>
    assert.match(
      l,
      new RegExp(`^${recs[i]!.src_addr} ${recs[i]!.bytes} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}$`),
    ),
  );
});

test('text: one tcpdump-like line per flow, no colour off a TTY, colour when forced', async () => {
  const recs = await ndjson(V9);
  const r = await runBin('flow-capture', ['--format', 'text', '-r', V9]);
  assert.equal(r.code, 0, r.stderr);
  const tl = lines(r.stdout);
  assert.equal(tl.length, recs.length);
  assert.ok(!r.stdout.includes('\x1b['), 'no escape codes in a pipe');
  tl.forEach((l, i) => {
    const f = recs[i]!;
    const ported = f.proto === 6 || f.proto === 17;
    const src = ported ? `${f.src_addr}.${f.src_port}` : f.src_addr;
    const dst = ported ? `${f.dst_addr}.${f.dst_port}` : f.dst_addr;
    // the record's own ms (its NDJSON integer cut), not the double's: …682000000 is …682, not …681
    assert.ok(
      l.startsWith(
        new Date(Number(intText(f.time_flow_start_ns).slice(0, -6))).toISOString().replace('T', ' ').slice(0, 23),
      ),
      l,
    );
    assert.ok(l.includes(` 127.0.0.1 `), l);
    assert.ok(l.includes(` ${src} > ${dst}: ${f.packets} pkts ${f.bytes} bytes`), l);
    if (f.proto === 6) assert.match(l, / \[[FSRP.UEW]+\] /);
  });
  const forced = await runBin('flow-capture', ['--format', 'text', '--color', '-r', V9], { env: { NO_COLOR: '' } });
  assert.ok(forced.stdout.includes('\x1b['), 'colour with --color');
  const nd = await runBin('flow-capture', ['--color', '-r', V9], { env: { NO_COLOR: '' } });
  assert.ok(!nd.stdout.includes('\x1b['), 'NDJSON is never coloured');
});

test('| head -1: quiet exit 0 when the reader goes away', async () => {
  const many = Array.from({ length: 300 }, () => `-r ${JSON.stringify(IPFIX)}`).join(' ');
  const r = await runShell(`${JSON.stringify(binPath('flow-capture'))} ${many} | head -1`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(lines(r.stdout).length, 1);
  parseFlowLine(lines(r.stdout)[0]!);
});

test('a truncated capture: the good records, a message naming the packet and offset, exit 65', async () => {
  const dir = tempDir();
  const full = readFileSync(V9);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, full.subarray(0, full.length - 100));
  const all = (await runBin('flow-capture', ['-r', V9])).stdout;
  const r = await runBin('flow-capture', ['-r', cut]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, /cut\.pcap: packet \d+ \(offset 0x[0-9a-f]+\): file ends inside the record/);
  assert.match(r.stderr, /rejected 1 \(truncated file 1\)/);
  assert.ok(r.stdout.length > 0 && all.startsWith(r.stdout), 'the records before the cut are printed');
});

test('a garbage datagram among good ones: counted, named, the rest decoded, exit 65; --strict stops there', async () => {
  const dir = tempDir();
  const file = readFileSync(V5);
  // copy the first packet record (16-byte header + Ethernet/IPv4/UDP + NetFlow) with version 99
  const caplen = file.readUInt32LE(24 + 8);
  const rec = Buffer.from(file.subarray(24, 24 + 16 + caplen));
  rec.writeUInt16BE(99, 16 + 14 + 20 + 8);
  const bad = join(dir, 'bad.pcap');
  writeFileSync(bad, Buffer.concat([file.subarray(0, 24), rec, file.subarray(24)]));
  const good = await ndjson(V5);
  const r = await runBin('flow-capture', ['-r', bad]);
  assert.equal(r.code, 65);
  assert.match(
    r.stderr,
    /bad\.pcap: packet 1 \(offset 0x18\), exporter 127\.0\.0\.1:\d+: datagram header at offset 0x0: unknown version 99/,
  );
  assert.match(r.stderr, /1 file: \d+ packets, \d+ datagrams, \d+ records; rejected 1 \(unknown version 1\)/);
  assert.deepEqual(lines(r.stdout).map(parseFlowLine), good);
  const strict = await runBin('flow-capture', ['--strict', '-r', bad]);
  assert.equal(strict.code, 65);
  assert.equal(strict.stdout, '');
  assert.match(strict.stderr, /stopped at the first \(--strict\)/);
});

test('a file that is not a capture, a missing file: 65 and 66 with the name', async () => {
  const dir = tempDir();
  const txt = join(dir, 'notes.txt');
  writeFileSync(txt, 'hello world\n');
  const r = await runBin('flow-capture', ['-r', txt]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, /notes\.txt: not a pcap or pcapng file/);
  const m = await runBin('flow-capture', ['-r', join(dir, 'missing.pcap')]);
  assert.equal(m.code, 66);
  assert.equal(m.stdout, '');
  assert.match(m.stderr, /^flow-capture: .*missing\.pcap: No such file or directory\n$/);
});

test('-o writes the file atomically and nothing to stdout; -v prints the summary', async () => {
  const dir = tempDir();
  const out = join(dir, 'flows.csv');
  const r = await runBin('flow-capture', ['-v', '--format', 'csv', '-o', out, '-r', V9, '-r', IPFIX]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /2 files: 4 packets, 4 datagrams, (\d+) records\n/);
  const n = Number(/(\d+) records/.exec(r.stderr)![1]);
  assert.equal(lines(readFileSync(out, 'utf8')).length, n + 1);
  assert.deepEqual(readdirSync(dir), ['flows.csv'], 'no temporary left behind');
  const bad = await runBin('flow-capture', ['-o', join(dir, 'no', 'such', 'dir.ndjson'), '-r', V9]);
  assert.equal(bad.code, 73);
  // a failed run (missing input) leaves no output file
  const failed = join(dir, 'failed.ndjson');
  const f = await runBin('flow-capture', ['-o', failed, '-r', V9, '-r', join(dir, 'missing.pcap')]);
  assert.equal(f.code, 66);
  assert.ok(!existsSync(failed));
});

test('bad flags are usage errors (64), one line', async () => {
  for (const args of [
    ['--format', 'xml', '-r', V9],
    ['--format', 'csv', '--fields', 'src_addr,nope', '-r', V9],
    ['--fields', 'src_addr', '-r', V9],
    ['--format', 'csv', '--fields', 'bytes,bytes', '-r', V9],
    [],
  ]) {
    const r = await runBin('flow-capture', args);
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^flow-capture: /);
    assert.ok(lines(r.stderr).length <= 3, r.stderr); // yargs names a bad choice on two lines
  }
});
