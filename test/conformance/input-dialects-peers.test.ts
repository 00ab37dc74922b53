// Records from real peers, made here from the softflowd captures, read by flowmeter as its own:
// - nfcapd + `nfdump -o json` (Debian's 1.7.1: one pretty-printed JSON array, local-time text,
//   printed and read under a non-UTC TZ) → flow-aggregate gives the same aggregates as from
//   flow-capture -r's records of the same capture;
// - nfacctd's print plugin JSON and `pmacct -s -O json` (a memory plugin fed the same capture)
//   → flow-report --format hydra gives the same billing lines as from flow-aggregate's output.
// Skipped, naming the program, when a peer is missing (failed under FLOWMETER_REQUIRE_PEERS=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, binPath, runBin, runProcess, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { nfdumpJson } from '../helpers/nfcapd.js';
import { needs } from '../helpers/peers.js';

const TZ = 'Asia/Kolkata'; // +05:30: a wrong zone would move every 5-minute bin
const node = `'${process.execPath}'`;

for (const name of ['softflowd-v5.pcap', 'softflowd-v9.pcap']) {
  test(`${name}: nfcapd + nfdump -o json | flow-aggregate = flow-capture -r | flow-aggregate`, async (t) => {
    if (!needs(t, 'nfcapd', 'nfdump')) return;
    const pcap = `${ROOT}test/fixtures/${name}`;
    const dir = tempDir('flowmeter-nfdump-dialect-');
    const json = await nfdumpJson(pcap, 'nfcapd', TZ);
    assert.ok(json.startsWith('[') && json.split('\n').length > 100, 'nfdump wrote its JSON array over many lines');
    writeFileSync(join(dir, 'nfdump.json'), json);
    // ports only where both carry them: nfdump prints ICMP type/code instead of ports and reads
    // back as NetFlow v5 carries them (dst_port = type × 256 + code), which v9 exporters that send
    // ICMP_TYPE do not
    const keys = 'src_host,dst_host,proto,tos,tcpflags,in_iface,out_iface,src_as,dst_as';
    for (const args of [
      ['-a', keys],
      ['-a', `${keys},src_port,dst_port`, '-f', 'tcp or udp'],
    ]) {
      const all = [...args, '--interval', '300'];
      const theirs = await runBin('flow-aggregate', [...all, join(dir, 'nfdump.json')], { env: { TZ } });
      assert.equal(theirs.code, 0, theirs.stderr);
      const ours = await runShell(
        `${node} '${binPath('flow-capture')}' -r '${pcap}' | ${node} '${binPath('flow-aggregate')}' ${all.map((a) => `'${a}'`).join(' ')}`,
        { env: { TZ } },
      );
      assert.equal(ours.code, 0, ours.stderr);
      assert.ok(ours.stdout.split('\n').length > 10, 'aggregates to compare');
      assert.equal(theirs.stdout, ours.stdout, args.join(' '));
    }
  });
}

const PCAP = `${ROOT}test/fixtures/softflowd-v9.pcap`;
// IPv4 only: Debian's nfacctd 1.7.7 reads every IPv6 entry as "::" (pmacct issue #577); IPv6
// addresses are unmatched (:: mask 0) on both sides
const NETWORKS = '! subscribers\n10.5.0.0/16\n10.6.0.0/16\n';
const HYDRA = ['--format', 'hydra', '--good-id', 'c39501', '--begin', '1700000000', '--end', '1700000300'];

/** Hydra billing lines, sorted (the order of the input's rows is not the point). */
const billing = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();

test('nfacctd print JSON and pmacct -s -O json | flow-report --format hydra = flow-aggregate | flow-report --format hydra', async (t) => {
  if (!needs(t, 'nfacctd', 'pmacct')) return;
  const dir = tempDir('flowmeter-pmacct-dialect-');
  writeFileSync(join(dir, 'networks.lst'), NETWORKS);
  const common = [`pcap_savefile: ${PCAP}`, `networks_file: ${join(dir, 'networks.lst')}`, 'nfacctd_net: file'];
  const sets = { ab: 'src_host, dst_net, dst_mask', ba: 'src_net, src_mask, dst_host' } as const;
  writeFileSync(
    join(dir, 'print.conf'),
    [
      'daemonize: false',
      ...common,
      'plugins: print[ab], print[ba]',
      'print_output: json',
      ...Object.entries(sets).flatMap(([k, a]) => [
        `aggregate[${k}]: ${a}`,
        `print_output_file[${k}]: ${join(dir, `pm-${k}.json`)}`,
      ]),
      '',
    ].join('\n'),
  );
  const pr = await runProcess('nfacctd', ['-f', join(dir, 'print.conf')], { timeoutMs: 60_000 });
  assert.equal(pr.code, 0, `nfacctd (print): ${pr.stderr}${pr.stdout}`);

  // ours: flow-capture's records aggregated by flow-aggregate, billed by flow-report
  const fa = await runShell(
    `${node} '${binPath('flow-capture')}' -r '${PCAP}' | ${node} '${binPath('flow-aggregate')}' --ab --ba -n '${join(dir, 'networks.lst')}' -o 'ab=${join(dir, 'fa-ab.ndjson')}' -o 'ba=${join(dir, 'fa-ba.ndjson')}'`,
  );
  assert.equal(fa.code, 0, fa.stderr);
  for (const k of ['ab', 'ba'] as const) {
    const ours = await runBin('flow-report', [...HYDRA, join(dir, `fa-${k}.ndjson`)]);
    assert.equal(ours.code, 0, ours.stderr);
    const printed = await runBin('flow-report', [...HYDRA, join(dir, `pm-${k}.json`)]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.ok(billing(ours.stdout).length > 3, `${k}: billing lines to compare`);
    assert.deepEqual(billing(printed.stdout), billing(ours.stdout), `${k}: nfacctd print JSON`);
    // the same through flow-aggregate's merge: pmacct's aggregates are aggregate input there too
    const merged = await runBin('flow-aggregate', ['-a', sets[k].replaceAll(' ', ''), join(dir, `pm-${k}.json`)]);
    assert.equal(merged.code, 0, merged.stderr);
    const strip = (s: string): string[] =>
      s
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.stringify({ ...JSON.parse(l), flows: 0, time_start: 0, time_end: 0 }))
        .sort();
    assert.deepEqual(
      strip(merged.stdout),
      strip(readFileSync(join(dir, `fa-${k}.ndjson`), 'utf8')),
      `${k}: flow-aggregate merge of nfacctd's JSON`,
    );
  }

  // pmacct -s -O json from memory plugins fed the same capture
  const conf = [
    'daemonize: false',
    ...common,
    'pcap_savefile_wait: true',
    'plugins: memory[ab], memory[ba]',
    ...Object.entries(sets).flatMap(([k, a]) => [`aggregate[${k}]: ${a}`, `imt_path[${k}]: ${join(dir, `${k}.pipe`)}`]),
  ];
  writeFileSync(join(dir, 'memory.conf'), conf.join('\n') + '\n');
  const nfacctd = spawn('nfacctd', ['-f', join(dir, 'memory.conf')], { stdio: 'ignore', detached: true });
  try {
    const total = (s: string): number => billing(s).reduce((sum, l) => sum + Number(l.split(';')[6]), 0);
    for (const k of ['ab', 'ba'] as const) {
      const want = billing((await runBin('flow-report', [...HYDRA, join(dir, `fa-${k}.ndjson`)])).stdout);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = await runProcess('pmacct', ['-p', join(dir, `${k}.pipe`), '-s', '-O', 'json']);
        if (s.code === 0) {
          writeFileSync(join(dir, `pmacct-${k}.json`), s.stdout);
          const got = await runBin('flow-report', [...HYDRA, join(dir, `pmacct-${k}.json`)]);
          assert.equal(got.code, 0, got.stderr);
          if (total(got.stdout) === total(want.join('\n'))) {
            assert.deepEqual(billing(got.stdout), want, `${k}: pmacct -s -O json`);
            break;
          }
        }
        assert.ok(Date.now() < deadline, `pmacct table ${k} never held the whole capture (${s.stderr})`);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  } finally {
    // nfacctd's core ignores a lone SIGTERM while plugins run: end the whole group we started
    if (nfacctd.pid !== undefined) {
      try {
        process.kill(-nfacctd.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    nfacctd.unref();
  }
});
