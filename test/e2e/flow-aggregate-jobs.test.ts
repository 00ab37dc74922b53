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
