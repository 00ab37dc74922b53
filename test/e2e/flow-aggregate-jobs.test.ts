// flow-aggregate --jobs: worker threads give exactly what one thread gives (stdout, stderr and
// exit status) in every mode, over the fixtures and randomized inputs; a worker that fails or
// ends fails the run (70) with nothing written; SIGINT with workers writes what was read (130).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, binPath, runBin, runProcess, type RunResult } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { rng, randomRecord } from '../helpers/flow-lines.js';
import { flowToJson } from '../../lib/flow/record.js';

const dir = tempDir('flowmeter-agg-jobs-');
const FIX = join(ROOT, 'test/fixtures/report');
const NETS = join(FIX, 'networks.lst');

/** The run with -j 1, then -j 2 and -j 3 must give the same stdout, stderr and status. */
async function sameForAnyJobs(args: readonly string[], input?: string): Promise<RunResult> {
  const one = await runBin('flow-aggregate', ['-j', '1', ...args], { input });
  for (const j of ['2', '3']) {
    const many = await runBin('flow-aggregate', ['-j', j, ...args], { input });
    const what = `flow-aggregate -j ${j} ${args.join(' ')}`;
    assert.equal(many.code, one.code, `${what}: ${many.stderr}`);
    assert.equal(many.stderr, one.stderr, what);
    assert.ok(
      many.stdout === one.stdout,
      `${what}: stdout differs from -j 1 (${many.stdout.length} vs ${one.stdout.length} chars)`,
    );
  }
  return one;
}

test('--jobs 1, 2 and 3 give the same bytes over the report fixtures in every mode', async () => {
  const flows = join(FIX, 'flows.ndjson');
  const modes: string[][] = [
    ['--ab', '--ba', '-n', NETS, '-o', `ab=${join(dir, 'fx-ab.ndjson')}`],
    ['-a', 'src_host,dst_host,proto,dst_port', '--sort', 'bytes'],
    ['-a', 'dst_net,dst_mask', '-n', NETS, '--sort', 'packets', '--format', 'csv'],
    ['-a', 'src_host', '--interval', '60', '--pro-rate'],
    ['-a', 'sum_host', '--interval', '5m', '--time', 'arrival'],
    ['-a', 'src_host,tcpflags', '--interval', '5m'],
    ['-a', 'src_host', '-f', 'tcp', '-f', 'udp and dst port 53', '--renormalize'],
  ];
  for (const m of modes) {
    const r = await sameForAnyJobs([...m, flows]);
    assert.equal(r.code, 0, r.stderr);
  }
  // merge input: aggregates read back, alone and with flows
  const merged = await sameForAnyJobs(['--ab', '-n', NETS, join(FIX, 'agg-ab.ndjson'), join(FIX, 'agg-ab.ndjson')]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.ok(merged.stdout.length > 0);
  assert.equal(readFileSync(join(dir, 'fx-ab.ndjson'), 'utf8').split('\n').length > 1, true);
});

/** count random flow lines (seeded), with a few aggregate records, blank and bad lines mixed in. */
function randomInput(seed: number, count: number, aggregates: string[]): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.01) lines.push('');
    else if (x < 0.015) lines.push('{"not": "a flow"}');
    else if (x < 0.02) lines.push('not json');
    else lines.push(flowToJson(randomRecord(r)));
  }
  return lines.join('\n') + '\n' + aggregates.join('');
}

test('randomized: --jobs 1, 2 and 3 agree on keys, bins, filters, merge input, sorts, csv, rejects and --strict', async () => {
  writeFileSync(
    join(dir, 'nets.lst'),
    '10.0.0.0/8\n10.0.0.0/16\n10.0.128.0/17\n2001:db8::/32\n2001:db8:5::/48\n0.0.0.0/1\n',
  );
  const nets = join(dir, 'nets.lst');
  const modes: string[][] = [
    ['--ab', '--ba', '-n', nets, '-o', `ab=${join(dir, 'r-ab.ndjson')}`],
    ['-a', 'src_host,dst_host,src_port,dst_port,proto,tos,etype', '--sort', 'bytes'],
    [
      '-a',
      'src_net,src_mask,in_iface,out_iface,src_as,dst_as',
      '-n',
      nets,
      '--net-source',
      'longest',
      '--sort',
      'packets',
    ],
    ['-a', 'sum_host', '--interval', '300', '--pro-rate', '--format', 'csv'],
    ['-a', 'peer_src_ip,sampling_rate,tcpflags', '--renormalize', '--interval', '1h'],
    ['-a', 'dst_host', '-f', 'tcp and src net 10.0.0.0/8', '-f', 'ip6'],
  ];
  for (const seed of [1, 2, 3]) {
    const input = randomInput(seed, 3000, []);
    for (const m of modes) {
      const r = await sameForAnyJobs(m, input);
      assert.equal(r.code, 65, `seed ${seed} ${m.join(' ')}: the bad lines are rejected: ${r.stderr}`);
    }
    const strict = await sameForAnyJobs(['-a', 'src_host', '--strict'], input);
    assert.equal(strict.code, 65);
    assert.equal(strict.stdout, '');
  }
  // merge input: aggregates of one run fed back with more flows (no filters: aggregates merge)
  const good =
    randomInput(7, 2000, [])
      .split('\n')
      .filter((l) => l.startsWith('{"type"'))
      .join('\n') + '\n';
  const first = await runBin('flow-aggregate', ['-j', '1', '-a', 'src_host,dst_port', '--interval', '600'], {
    input: good,
  });
  assert.equal(first.code, 0, first.stderr);
  const again = await sameForAnyJobs(
    ['-a', 'src_host,dst_port', '--interval', '600'],
    good + first.stdout + first.stdout,
  );
  assert.equal(again.code, 0, again.stderr);
});

test('a worker thread that cannot start or ends early fails the run: exit 70, nothing written', async () => {
  // a copy of the built command whose worker module is missing, then one whose workers end at
  // their first message (a broken install; a thread killed under the run)
  const copy = join(dir, 'copy');
  mkdirSync(join(copy, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist/lib'), join(copy, 'dist/lib'), { recursive: true });
  copyFileSync(binPath('flow-aggregate'), join(copy, 'bin/flow-aggregate.js'));
  copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const worker = join(copy, 'dist/lib/aggregate/worker.js');
  const flows = join(FIX, 'flows.ndjson');
  const out = join(dir, 'never.ndjson');
  const run = (): Promise<RunResult> =>
    runProcess(process.execPath, [join(copy, 'bin/flow-aggregate.js'), '-j', '2', '-a', 'src_host', '-o', out, flows]);

  rmSync(worker);
  let r = await run();
  assert.equal(r.code, 70, r.stderr);
  assert.match(r.stderr, /worker thread \d failed: .*nothing written/);
  assert.equal(existsSync(out), false);

  writeFileSync(
    worker,
    "import { parentPort } from 'node:worker_threads';\nparentPort.once('message', () => process.exit(9));\n",
  );
  r = await run();
  assert.equal(r.code, 70, r.stderr);
  assert.match(r.stderr, /worker thread \d ended \(exit code 9\) before its part was done; nothing written/);
  assert.equal(existsSync(out), false);
  assert.equal(r.stdout, '');
});

test('SIGINT with worker threads while reading a pipe: what was read is written, exit 130', async () => {
  // the fixture's flows 100 times (~3 MB: more than the pipe and the reader's buffers hold, so the
  // write is done only once the command has read nearly all), then the pipe stays open
  const flows = readFileSync(join(FIX, 'flows.ndjson'), 'utf8').repeat(100);
  const file = join(dir, 'int-input.ndjson');
  writeFileSync(file, flows);
  const out = join(dir, 'int.ndjson');
  const child = spawn(process.execPath, [binPath('flow-aggregate'), '-j', '2', '-a', 'src_host', '-o', out], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  // 128 KiB of empty lines behind the flows: once those are taken, every flow line was read
  await new Promise((r) => child.stdin.write(flows + '\n'.repeat(128 << 10), r));
  await new Promise((r) => setTimeout(r, 1000));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted/);
  const whole = await runBin('flow-aggregate', ['-j', '1', '-a', 'src_host', file]);
  assert.equal(readFileSync(out, 'utf8'), whole.stdout, 'every flow read was aggregated and written');
});

/** count seeded random flow lines (IPv6 keys, counters past 2^53 among them) with a line that is
 *  not JSON every `bad` lines and one that is no flow every `odd` lines: the rejects lie in many
 *  pieces of input (a piece is at most 256 KiB, ~600 of these lines). */
function spreadInput(seed: number, count: number, bad: number, odd: number, extra: string[] = []): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    if (i % bad === 0) lines.push(`not json ${i}`);
    else if (i % odd === 0) lines.push(`{"not": "a flow", "line": ${i}}`);
    else lines.push(flowToJson(randomRecord(r)));
    if (i % 5000 === 0 && extra.length > 0) lines.push(...extra);
  }
  return lines.join('\n') + '\n';
}

test('inputs of many pieces over several files: --jobs 1, 2 and 3 give the same output and the same rejects with their lines', async () => {
  writeFileSync(join(dir, 'spread-nets.lst'), '10.0.0.0/8\n10.0.128.0/17\n2001:db8::/32\n2001:db8:5::/48\n');
  const nets = join(dir, 'spread-nets.lst');
  // aggregate records of a first run, merged in the middle of the flows (merge input)
  const seedRun = await runBin('flow-aggregate', ['-j', '1', '-a', 'src_host,dst_host,proto'], {
    input: spreadInput(5, 3000, 1e9, 1e9),
  });
  assert.equal(seedRun.code, 0, seedRun.stderr);
  const aggregates = seedRun.stdout.trimEnd().split('\n').slice(0, 50);
  const a = join(dir, 'spread-a.ndjson');
  const b = join(dir, 'spread-b.ndjson');
  writeFileSync(a, spreadInput(21, 24000, 2900, 4100, aggregates));
  writeFileSync(b, spreadInput(22, 9000, 1700, 1e9));
  assert.ok(readFileSync(a).length > 20 * 256 * 1024, 'file a is many pieces');

  const modes: string[][] = [
    ['-a', 'src_host,dst_host,proto', '--sort', 'bytes'],
    ['-a', 'sum_host', '--interval', '300', '--pro-rate', '--sort', 'packets'],
    ['-a', 'src_net,dst_host', '-n', nets, '--renormalize', '--format', 'csv'],
    ['--ab', '--ba', '-n', nets, '-o', `ab=${join(dir, 'spread-ab.ndjson')}`],
  ];
  for (const m of modes) {
    const r = await sameForAnyJobs([...m, a, b]);
    assert.equal(r.code, 65, `${m.join(' ')}: ${r.stderr}`);
    // the first rejects of each reason as one thread tells them, lines counted per file
    assert.match(r.stderr, /spread-a\.ndjson:2900: expected a JSON object/);
    assert.match(r.stderr, /spread-a\.ndjson:4100: /);
    assert.match(r.stderr, /spread-b\.ndjson:1700: expected a JSON object/);
  }
  const merged = await sameForAnyJobs(['-v', '-a', 'src_host,dst_host,proto', a]);
  assert.match(merged.stderr, / 200 aggregate records/, 'the aggregate records were merged');
  // --strict stops at the first bad line, which lies in a later piece
  const strict = await sameForAnyJobs(['-a', 'src_host', '--strict', b, a]);
  assert.equal(strict.code, 65);
  assert.equal(strict.stdout, '');
  assert.match(strict.stderr, /spread-b\.ndjson:1700: /);
  // the pieces went to every worker
  const told = await runBin('flow-aggregate', ['-j', '3', '-vv', '-a', 'proto', a, b]);
  const given = [...told.stderr.matchAll(/worker thread \d: (\d+) pieces/g)].map((x) => Number(x[1]));
  assert.equal(given.length, 3, told.stderr);
  assert.ok(
    given.every((g) => g > 3),
    `pieces per worker: ${given.join(', ')}`,
  );
});

test('--jobs 1, 2 and 3 agree on lines longer than a piece and longer than the limit, and on JSON arrays over many lines', async () => {
  const r = rng(31);
  const flows = (n: number): string[] => Array.from({ length: n }, () => flowToJson(randomRecord(r)));
  // a 400 KB line (longer than a piece of 256 KiB, within the 1 MiB limit), then one of 1.5 MB
  // (rejected, the rest of its file skipped), then a second file
  const long = join(dir, 'long.ndjson');
  const wideLine = (bytes: number): string => `{"pad": "${'x'.repeat(bytes)}"}`;
  writeFileSync(
    long,
    [...flows(3000), wideLine(400_000), ...flows(3000), wideLine(1_500_000), ...flows(500)].join('\n') + '\n',
  );
  const after = join(dir, 'after.ndjson');
  writeFileSync(after, flows(2000).join('\n') + '\n');
  const res = await sameForAnyJobs(['-a', 'src_host,dst_port', long, after]);
  assert.equal(res.code, 65, res.stderr);
  assert.match(res.stderr, /long\.ndjson:3001: /);
  assert.match(res.stderr, /long\.ndjson:6002: line 6002 is longer than 1048576 bytes; rest of .*long\.ndjson skipped/);

  // an nfdump-style array of objects over many lines, 2 MB: the file starts with it
  const objects = flows(4000).map((l) => JSON.stringify(JSON.parse(l), null, 2));
  const array = join(dir, 'array.json');
  writeFileSync(array, '[\n' + objects.join(',\n') + '\n]\n');
  const arr = await sameForAnyJobs(['-a', 'src_host,dst_host', array, after]);
  assert.equal(arr.code, 0, arr.stderr);
  assert.ok(arr.stdout.length > 0);

  // one that starts in the middle of a file and runs past its piece: refused with workers
  const middle = join(dir, 'middle.json');
  writeFileSync(middle, flows(10).join('\n') + '\n[\n' + objects.join(',\n') + '\n]\n');
  const one = await runBin('flow-aggregate', ['-j', '1', '-a', 'src_host', middle]);
  assert.equal(one.code, 0, one.stderr);
  const two = await runBin('flow-aggregate', ['-j', '2', '-a', 'src_host', middle]);
  assert.equal(two.code, 65, two.stderr);
  assert.equal(two.stdout, '');
  assert.match(two.stderr, /middle\.json:\d+: a JSON array over many lines, in the middle of a file, .* --jobs 1/);
});
