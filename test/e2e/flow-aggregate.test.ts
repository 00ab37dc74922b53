// flow-aggregate end to end: the real bin on real files and pipes (stdout, stderr, exit status).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runBin, runShell, binPath } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { gzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import { randomRecord } from '../helpers/flow-lines.js';
import { rng } from '../helpers/prng.js';
import { flowToJson } from '../../lib/flow/record.js';

const dir = tempDir('flowmeter-agg-');
const S = 1_000_000_000;
const T = 1_700_000_000;

function flow(src: string, dst: string, bytes: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'NETFLOW_V5',
    time_received_ns: (T + 60) * S,
    sequence_num: 1,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: T * S,
    time_flow_end_ns: (T + 30) * S,
    bytes,
    packets: Math.max(1, Math.floor(bytes / 100)),
    src_addr: src,
    dst_addr: dst,
    etype: src.includes(':') ? 'IPv6' : 'IPv4',
    proto: 'TCP',
    src_port: 40000,
    dst_port: 443,
    in_if: 1,
    out_if: 2,
    ip_tos: 0,
    tcp_flags: 24,
    src_as: 0,
    dst_as: 0,
    next_hop: '',
    src_net: '0.0.0.0/0',
    dst_net: '0.0.0.0/0',
    ...extra,
  });
}

const FLOWS = [
  flow('10.5.1.2', '8.8.8.8', 1000),
  flow('10.5.1.2', '8.8.4.4', 500, { proto: 'UDP', dst_port: 53 }),
  flow('8.8.8.8', '10.5.1.2', 9000),
  flow('10.5.2.9', '1.1.1.1', 300),
  flow('2001:db8:5::1', '2606:4700::1111', 700),
  flow('172.16.0.1', '8.8.8.8', 50), // not a subscriber
];
const flowsFile = join(dir, 'flows.ndjson');
writeFileSync(flowsFile, FLOWS.join('\n') + '\n');
const netsFile = join(dir, 'nets.lst');
writeFileSync(netsFile, '! subscribers\n10.5.0.0/16\n10.5.2.0/24\n8.8.8.0/24\n2001:db8:5::/48\n');

function parse(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const sum = (rows: Array<Record<string, unknown>>, k = 'bytes'): number =>
  rows.reduce((s, r) => s + (r[k] as number), 0);

test('--ab with a networks file: rows, exact totals, silent success', async () => {
  const r = await runBin('flow-aggregate', ['--ab', '-n', netsFile, flowsFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const rows = parse(r.stdout);
  assert.deepEqual(
    rows.map((x) => [x.src_host, x.dst_net, x.dst_mask, x.bytes, x.flows]),
    [
      ['8.8.8.8', '10.5.0.0', 16, 9000, 1],
      ['10.5.1.2', '0.0.0.0', 0, 500, 1],
      ['10.5.1.2', '8.8.8.0', 24, 1000, 1],
      ['10.5.2.9', '0.0.0.0', 0, 300, 1],
      ['172.16.0.1', '8.8.8.0', 24, 50, 1],
      ['2001:db8:5::1', '::', 0, 700, 1],
    ],
  );
  assert.equal(sum(rows), 11550);
  assert.deepEqual(Object.keys(rows[0]!), [
    'src_host',
    'dst_net',
    'dst_mask',
    'packets',
    'bytes',
    'flows',
    'time_start',
    'time_end',
  ]);
  assert.equal(rows[0]!.time_start, T);
  assert.equal(rows[0]!.time_end, T + 30);
});

test('stdin, a filter, and the filtered total equals the sum over the flows that pass', async () => {
  const r = await runBin(
    'flow-aggregate',
    ['-a', 'src_host', '-f', 'src net 10.5.0.0/16 or src net 2001:db8:5::/48', '-'],
    { input: FLOWS.join('\n') },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    parse(r.stdout).map((x) => [x.src_host, x.bytes]),
    [
      ['10.5.1.2', 1500],
      ['10.5.2.9', 300],
      ['2001:db8:5::1', 700],
    ],
  );
});

test('--ab --ba in one pass to two atomic files, -v reports counts', async () => {
  const ab = join(dir, 'ab.ndjson');
  const ba = join(dir, 'ba.ndjson');
  const r = await runBin('flow-aggregate', [
    '--ab',
    '--ba',
    '-n',
    netsFile,
    '-o',
    `ab=${ab}`,
    '-o',
    `ba=${ba}`,
    '-v',
    flowsFile,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /aggregation ab: 6 aggregates from 6 flows/);
  assert.match(r.stderr, /6 lines: 6 flows, 0 aggregate records, 0 rejected/);
  const rowsBa = parse(readFileSync(ba, 'utf8'));
  assert.deepEqual(Object.keys(rowsBa[0]!).slice(0, 3), ['src_net', 'dst_host', 'src_mask']);
  assert.equal(sum(parse(readFileSync(ab, 'utf8'))), 11550);
  assert.equal(sum(rowsBa), 11550);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary files left',
  );
});

test('aggregates fed back in merge exactly (shards of the input give the same result)', async () => {
  const a = join(dir, 'shard-a.ndjson');
  const b = join(dir, 'shard-b.ndjson');
  writeFileSync(join(dir, 'in-a.ndjson'), FLOWS.slice(0, 3).join('\n'));
  writeFileSync(join(dir, 'in-b.ndjson'), FLOWS.slice(3).join('\n') + '\n' + FLOWS[0]);
  assert.equal((await runBin('flow-aggregate', ['--ab', '-n', netsFile, '-o', a, join(dir, 'in-a.ndjson')])).code, 0);
  assert.equal((await runBin('flow-aggregate', ['--ab', '-n', netsFile, '-o', b, join(dir, 'in-b.ndjson')])).code, 0);
  const merged = await runShell(`cat '${a}' '${b}' | '${process.execPath}' '${binPath('flow-aggregate')}' --ab`);
  assert.equal(merged.code, 0, merged.stderr);
  const direct = await runBin('flow-aggregate', [
    '--ab',
    '-n',
    netsFile,
    join(dir, 'in-a.ndjson'),
    join(dir, 'in-b.ndjson'),
  ]);
  assert.equal(merged.stdout, direct.stdout);
  assert.equal(sum(parse(merged.stdout)), 11550 + 1000);
});

test('goflow2 JSON as it comes (proto numbers, missing fields, bare prefix lengths)', async () => {
  const goflow = [
    '{"type":"SFLOW_5","time_received_ns":1700000000000000000,"sampling_rate":1024,"sampler_address":"10.10.26.5","bytes":1518,"packets":1,"src_addr":"10.5.1.2","dst_addr":"8.8.8.8","etype":"IPv4","proto":6,"src_port":16443,"dst_port":443,"src_net":24,"dst_net":"0.0.0.0/0","bgp_communities":[],"as_path":[]}',
    '{"type":"SFLOW_5","time_received_ns":1700000001000000000,"sampling_rate":1024,"sampler_address":"10.10.26.5","bytes":60,"packets":1,"src_addr":"10.5.1.2","dst_addr":"8.8.8.8","proto":"TCP"}',
  ];
  const r = await runBin('flow-aggregate', ['-a', 'src_host,dst_host,proto,peer_src_ip', '--renormalize'], {
    input: goflow.join('\n') + '\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parse(r.stdout), [
    {
      peer_src_ip: '10.10.26.5',
      src_host: '10.5.1.2',
      dst_host: '8.8.8.8',
      proto: 'TCP',
      packets: 2048,
      bytes: (1518 + 60) * 1024,
      flows: 2,
      time_start: 1700000000,
      time_end: 1700000001,
    },
  ]);
});

test('bad lines: file:line naming the field, counted, summarised, exit 65, good lines still counted', async () => {
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(
    bad,
    [
      FLOWS[0],
      '{"bytes":"12a","src_addr":"10.0.0.1"}',
      'not json',
      '',
      '[1,2]',
      FLOWS[1],
      '{"src_addr":"10.0.0.999"}',
    ].join('\n') + '\n',
  );
  const r = await runBin('flow-aggregate', ['-a', 'none', bad]);
  assert.equal(r.code, 65);
  assert.deepEqual(
    parse(r.stdout).map((x) => x.bytes),
    [1500],
  );
  const lines = r.stderr.trimEnd().split('\n');
  assert.deepEqual(lines, [
    `flow-aggregate: ${bad}:2: field "bytes": expected a non-negative integer (got "12a")`,
    `flow-aggregate: ${bad}:3: expected a JSON object (got "not json")`,
    `flow-aggregate: ${bad}:5: expected a JSON object (got "[1,2]")`,
    `flow-aggregate: ${bad}:7: field "src_addr": expected an IPv4 or IPv6 address (got "10.0.0.999")`,
    `flow-aggregate: 4 of 7 lines rejected (first: ${bad}:2)`,
  ]);
});

test('--strict stops at the first bad line and writes nothing', async () => {
  const out = join(dir, 'strict.ndjson');
  writeFileSync(join(dir, 'bad2.ndjson'), FLOWS[0] + '\n{"bytes":-1}\n' + FLOWS[1] + '\n');
  const r = await runBin('flow-aggregate', ['--strict', '-o', out, join(dir, 'bad2.ndjson')]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, /bad2\.ndjson:2: field "bytes": expected a non-negative integer \(got -1\)\n$/);
  assert.equal(existsSync(out), false);
});

test('filter syntax errors point at the column (exit 64)', async () => {
  const r = await runBin('flow-aggregate', ['-f', 'src host or dst host 1.2.3.4', flowsFile]);
  assert.equal(r.code, 64);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    'flow-aggregate: --filter: expected a value after "host", got "or" at column 10\n  src host or dst host 1.2.3.4\n           ^\n',
  );
});

test('networks file problems: file:line, skipped (exit 65), or fatal with --strict (exit 78)', async () => {
  const nets = join(dir, 'badnets.lst');
  writeFileSync(nets, '10.5.0.0/16\n10.6.0.0\n10.7.0.0/40\n');
  const r = await runBin('flow-aggregate', ['--ab', '-n', nets, flowsFile]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, new RegExp(`${nets}:2: missing '/' separator in "10.6.0.0"; line skipped`));
  assert.match(r.stderr, new RegExp(`${nets}:3: invalid network mask "40"`));
  assert.ok(parse(r.stdout).length > 0);
  const s = await runBin('flow-aggregate', ['--ab', '--strict', '-n', nets, flowsFile]);
  assert.equal(s.code, 78);
  assert.equal(s.stdout, '');
  assert.match(s.stderr, /badnets\.lst:2: missing '\/' separator/);
});

test('--interval, --pro-rate and --sort bytes; CSV output', async () => {
  const long = flow('10.5.1.2', '8.8.8.8', 1000, {
    time_flow_start_ns: 1_700_000_100 * S,
    time_flow_end_ns: 1_700_001_100 * S,
  });
  const r = await runBin('flow-aggregate', ['-a', 'src_host', '--interval', '5m', '--pro-rate', '--format', 'csv'], {
    input: long + '\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'src_host;packets;bytes;flows;time_start;time_end',
      '10.5.1.2;3;300;1;1700000100;1700000400',
      '10.5.1.2;3;300;0;1700000400;1700000700',
      '10.5.1.2;3;300;0;1700000700;1700001000',
      '10.5.1.2;1;100;0;1700001000;1700001300',
      '',
    ].join('\n'),
  );
  // an end time decades after the start: counted whole in its first bin, with a warning, exit 0
  const absurd = flow('10.5.1.2', '8.8.8.8', 1000, {
    time_flow_start_ns: 1_700_000_100 * S,
    time_flow_end_ns: 4_000_000_000 * S,
  });
  const w = await runBin('flow-aggregate', ['-a', 'src_host', '--interval', '5m', '--pro-rate'], {
    input: absurd + '\n',
  });
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(
    parse(w.stdout).map((x) => [x.bytes, x.time_start]),
    [[1000, 1700000100]],
  );
  assert.match(w.stderr, /1 flows span more than 100000 intervals .*counted whole in their start interval/);
  const b = await runBin('flow-aggregate', ['-a', 'dst_host', '--sort', 'bytes', flowsFile]);
  assert.deepEqual(
    parse(b.stdout).map((x) => x.bytes),
    [9000, 1050, 700, 500, 300],
  );
});

test('a pmacct-style config file with named aggregations and filters', async () => {
  const conf = join(dir, 'agg.conf');
  writeFileSync(
    conf,
    [
      '! like nfacctd.conf',
      'daemonize: true',
      'plugins: print[agg-ab], print[agg-ba]',
      'aggregate[agg-ab]: src_host, dst_net, dst_mask',
      'aggregate[agg-ba]: src_net, src_mask, dst_host',
      'aggregate_filter[agg-ab]: src net 10.5.0.0/16',
      'aggregate_filter[agg-ba]: dst net 10.5.0.0/16',
      'networks_file: nets.lst',
      'print_output_file[agg-ab]: conf-ab.ndjson',
      'print_output_file[agg-ba]: conf-ba.ndjson',
    ].join('\n'),
  );
  const r = await runBin('flow-aggregate', ['-c', conf, flowsFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    parse(readFileSync(join(dir, 'conf-ab.ndjson'), 'utf8')).map((x) => [x.src_host, x.dst_net, x.bytes]),
    [
      ['10.5.1.2', '0.0.0.0', 500],
      ['10.5.1.2', '8.8.8.0', 1000],
      ['10.5.2.9', '0.0.0.0', 300],
    ],
  );
  assert.deepEqual(
    parse(readFileSync(join(dir, 'conf-ba.ndjson'), 'utf8')).map((x) => [x.src_net, x.dst_host, x.bytes]),
    [['8.8.8.0', '10.5.1.2', 9000]],
  );
  writeFileSync(conf, 'aggregate[x]: src_host\naggregate_filter[x]: host\n');
  const bad = await runBin('flow-aggregate', ['-c', conf, flowsFile]);
  assert.equal(bad.code, 78);
  assert.match(bad.stderr, /agg\.conf:2: aggregate_filter: expected a value after "host" at column 5/);
});

test('usage errors: unknown primitive, two aggregations on stdout, --pro-rate without --interval', async () => {
  for (const [args, re] of [
    [['-a', 'src_host,bogus'], /unknown primitive "bogus"/],
    [['--ab', '--ba'], /would all go to stdout/],
    [['-a', 'src_host', '--pro-rate'], /--pro-rate needs --interval/],
    [['-a', 'src_host', '--interval', '0'], /--interval/],
    [['--ab', '-o', 'ba=x.ndjson'], /no aggregation named "ba" \(have: ab/],
  ] as const) {
    const r = await runBin('flow-aggregate', [...args, flowsFile]);
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
  const missing = await runBin('flow-aggregate', ['/nonexistent/flows.ndjson']);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /\/nonexistent\/flows\.ndjson: No such file or directory/);
});

test('| head -1 ends quietly with status 0', async () => {
  const many: string[] = [];
  for (let i = 0; i < 20000; i++)
    many.push(flow(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '8.8.8.8', 100 + i));
  const big = join(dir, 'many.ndjson');
  writeFileSync(big, many.join('\n') + '\n');
  const r = await runShell(`'${process.execPath}' '${binPath('flow-aggregate')}' -a src_host '${big}' | head -1`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    `${JSON.stringify({ src_host: '10.0.0.0', packets: 1, bytes: 100, flows: 1, time_start: T, time_end: T + 30 })}\n`,
  );
});

test('--net-source: exporter masks instead of the networks file, or the longer of both', async () => {
  const input =
    flow('10.5.1.2', '8.8.8.8', 10, { dst_net: '8.8.0.0/16' }) +
    '\n' +
    flow('10.5.1.2', '10.5.2.3', 20, { dst_net: '10.5.2.0/25' }) +
    '\n';
  const run = async (src: string): Promise<unknown[]> => {
    const r = await runBin('flow-aggregate', ['-a', 'dst_net,dst_mask', '-n', netsFile, '--net-source', src], {
      input,
    });
    assert.equal(r.code, 0, r.stderr);
    return parse(r.stdout).map((x) => [x.dst_net, x.dst_mask]);
  };
  assert.deepEqual(await run('file'), [
    ['8.8.8.0', 24],
    ['10.5.2.0', 24],
  ]);
  assert.deepEqual(await run('exporter'), [
    ['8.8.0.0', 16],
    ['10.5.2.0', 25],
  ]);
  assert.deepEqual(await run('longest'), [
    ['8.8.8.0', 24],
    ['10.5.2.0', 25],
  ]);
  const r = await runBin('flow-aggregate', ['-a', 'dst_net', '--net-source', 'longest'], { input });
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--net-source longest needs a networks file/);
});

test('inputs named after -- are read, not ignored for stdin', async () => {
  const direct = await runBin('flow-aggregate', ['-a', 'src_host', flowsFile]);
  const after = await runBin('flow-aggregate', ['-a', 'src_host', '--', flowsFile], { input: '' });
  assert.equal(after.code, 0, after.stderr);
  assert.equal(after.stdout, direct.stdout);
  assert.ok(after.stdout.length > 0);
});

test('a file, a pipe and a .gz of the same 3 MB give the same aggregates and the same errors', async () => {
  // Lines of every shape (IPv4 and IPv6, CRLF, blank, whitespace, bad ones) over many 256 KiB
  // chunks: the file is read into the WebAssembly scanner's buffers, a pipe's chunks are copied
  // there, and lines cut by a chunk boundary go through the JavaScript scanner.
  const r = rng(21);
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const line = flowToJson(randomRecord(r));
    const k = i % 97;
    lines.push(
      k === 3
        ? line + '\r'
        : k === 5
          ? line.replace('{"type"', '{ "type"')
          : k === 7
            ? ''
            : k === 11
              ? line.replace('"bytes":', '"bytes":-')
              : line,
    );
  }
  const text = lines.join('\n') + '\n';
  const file = join(dir, 'many.ndjson');
  writeFileSync(file, text);
  writeFileSync(file + '.gz', gzipSync(text));
  const args = ['-a', 'src_host,dst_host,proto', '--sort', 'key'];
  const fromFile = await runBin('flow-aggregate', [...args, file]);
  const fromPipe = await runShell(`cat '${file}' | node '${binPath('flow-aggregate')}' ${args.join(' ')}`);
  const fromGz = await runBin('flow-aggregate', [...args, file + '.gz']);
  assert.equal(fromFile.code, 65, fromFile.stderr);
  assert.ok(parse(fromFile.stdout).length > 5000);
  for (const other of [fromPipe, fromGz]) {
    assert.equal(other.code, fromFile.code);
    assert.equal(other.stdout, fromFile.stdout);
    assert.equal(
      other.stderr.replaceAll(/\S*many\.ndjson(\.gz)?|stdin/g, 'INPUT'),
      fromFile.stderr.replaceAll(/\S*many\.ndjson(\.gz)?|stdin/g, 'INPUT'),
    );
  }
  // every good line counted once (random byte counts add up past 2^53: count flows instead)
  const good = lines.filter((l) => l.trim() !== '' && !l.includes('"bytes":-'));
  assert.equal(sum(parse(fromFile.stdout), 'flows'), good.length);
  assert.match(
    fromFile.stderr,
    new RegExp(
      `${lines.length - good.length - lines.filter((l) => l === '').length} of ${lines.length} lines rejected`,
    ),
  );
});

test('several output files: a run that cannot write one of them replaces none (and leaves no temporary file)', async () => {
  const out = join(dir, 'all-or-none');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'ab.ndjson'), 'yesterday\n');
  const r = await runBin('flow-aggregate', [
    '--ab',
    '--ba',
    '-n',
    netsFile,
    '-o',
    `ab=${join(out, 'ab.ndjson')}`,
    '-o',
    `ba=${join(out, 'missing-dir', 'ba.ndjson')}`,
    flowsFile,
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /missing-dir\/ba\.ndjson/);
  assert.equal(readFileSync(join(out, 'ab.ndjson'), 'utf8'), 'yesterday\n');
  assert.deepEqual(readdirSync(out), ['ab.ndjson']);
});

test('SIGINT while reading a pipe: what was read is aggregated and written, exit 130', async () => {
  const child = spawn(process.execPath, [binPath('flow-aggregate'), '-a', 'src_host', '-o', join(dir, 'int.ndjson')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // a signal before the command installed its handler ends it at once: not the point here
  child.stdin.on('error', () => undefined);
  // two chunks' worth of lines, then the pipe stays open: the command waits for more. 128 KiB of
  // empty lines behind them: once the pipe (64 KiB) has taken those, every flow line was read,
  // however slow the machine
  const input = FLOWS.join('\n') + '\n' + `${FLOWS[0]}\n`.repeat(5000) + '\n'.repeat(128 << 10);
  await new Promise((r) => child.stdin.write(input, r));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted/);
  const rows = parse(readFileSync(join(dir, 'int.ndjson'), 'utf8'));
  assert.equal(sum(rows, 'flows'), FLOWS.length + 5000);
  assert.equal(sum(rows), 11550 + 5000 * 1000);
});
