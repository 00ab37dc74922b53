// uint64 counters end to end through the real binaries: 2^53 + 1 and 2^64 - 1 decoded by
// flow-capture from IPFIX, summed by flow-aggregate, re-read by flow-report, billed by
// hcd-putfile --dry-run and metered by meter-label count, every digit kept; 2^64 refused with
// its digits quoted.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBin } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { eth, ipv4, pcapFile, udp } from '../helpers/pcap-build.js';
import { Bytes, ipfix, set } from '../unit/netflow/helpers.js';

const P53_1 = '9007199254740993'; // 2^53 + 1: the double nearest is …992
const U64_MAX = '18446744073709551615';
const U64_OVER = '18446744073709551616';

function flow(src: string, bytes: string, packets: string): string {
  return (
    `{"type":"IPFIX","time_received_ns":1700000000000000000,"sampler_address":"192.0.2.1",` +
    `"time_flow_start_ns":1700000000000000000,"time_flow_end_ns":1700000000000000000,"bytes":${bytes},"packets":${packets},` +
    `"src_addr":"${src}","dst_addr":"192.0.2.9","etype":"IPv4","proto":6,"src_port":1,"dst_port":2,"src_net":"10.0.0.0/8","dst_net":"192.0.2.0/24"}`
  );
}

/** 2^53 (as large as a double holds exactly, so the scanners take it), + 1 + 1 for 10.0.0.1, and
 *  2^64 - 1 bytes / 2^53 + 1 packets for 10.0.0.2 (JSON.parse path). */
const FLOWS =
  [
    flow('10.0.0.1', '9007199254740992', '1'),
    flow('10.0.0.1', '1', '1'),
    flow('10.0.0.1', '1', '1'),
    flow('10.0.0.2', U64_MAX, P53_1),
  ].join('\n') + '\n';

function lines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l.replace(/:([0-9]{16,})/g, ':"$1"')) as Record<string, unknown>);
}

describe('uint64 counters through the binaries', () => {
  test('flow-aggregate sums 2^53 + 1 + 1 exactly and keeps 2^64 - 1 (ndjson and csv)', async () => {
    const r = await runBin('flow-aggregate', ['-a', 'src_host'], { input: FLOWS });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(r.stdout).map((o) => [o.src_host, String(o.bytes), String(o.packets), o.flows]),
      [
        ['10.0.0.1', '9007199254740994', '3', 3],
        ['10.0.0.2', U64_MAX, P53_1, 1],
      ],
    );
    const csv = await runBin('flow-aggregate', ['-a', 'src_host', '--format', 'csv'], { input: FLOWS });
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(
      csv.stdout,
      `src_host;packets;bytes;flows;time_start;time_end\n10.0.0.1;3;9007199254740994;3;1700000000;1700000000\n10.0.0.2;${P53_1};${U64_MAX};1;1700000000;1700000000\n`,
    );
  });

  test('flow-aggregate merges its own output again: sums past 2^64 stay exact', async () => {
    const once = await runBin('flow-aggregate', ['-a', 'src_host'], { input: FLOWS });
    const twice = await runBin('flow-aggregate', ['-a', 'src_host'], { input: once.stdout + once.stdout });
    assert.equal(twice.code, 0, twice.stderr);
    assert.match(twice.stdout, /"src_host":"10\.0\.0\.1","packets":6,"bytes":18014398509481988,"flows":6,/);
    assert.match(
      twice.stdout,
      /"src_host":"10\.0\.0\.2","packets":18014398509481986,"bytes":36893488147419103230,"flows":2,/,
    );
  });

  test('2^64 is refused, the message quoting its digits (field and line), exit 65', async () => {
    const r = await runBin('flow-aggregate', ['-a', 'src_host'], {
      input: FLOWS + flow('10.0.0.3', U64_OVER, '1') + '\n',
    });
    assert.equal(r.code, 65, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `stdin:5: field "bytes": expected a non-negative integer at most ${U64_MAX} \\(2\\^64-1\\) \\(got ${U64_OVER}\\)`,
      ),
    );
    const rep = await runBin('flow-report', ['-F', 'ndjson'], {
      input: `{"src_host":"10.0.0.1","packets":${U64_OVER},"bytes":1,"flows":1}\n`,
    });
    assert.equal(rep.code, 65, rep.stderr);
    assert.match(rep.stderr, new RegExp(`field "packets": expected .* \\(got ${U64_OVER}\\)`));
  });

  test('flow-report re-reads the sums exactly (ndjson, hydra) and hcd-putfile --dry-run takes them', async () => {
    const agg = await runBin('flow-aggregate', ['-a', 'src_host,dst_net,dst_mask'], { input: FLOWS });
    assert.equal(agg.code, 0, agg.stderr);
    const nd = await runBin('flow-report', ['-F', 'ndjson'], { input: agg.stdout });
    assert.equal(nd.code, 0, nd.stderr);
    assert.deepEqual(
      lines(nd.stdout).map((o) => String(o.bytes)),
      ['9007199254740994', U64_MAX],
    );
    const hydra = await runBin('flow-report', ['-F', 'hydra', '--direction', 'ab'], { input: agg.stdout });
    assert.equal(hydra.code, 0, hydra.stderr);
    assert.equal(
      hydra.stdout,
      `;;1700000000;1700000000;10.0.0.1/32;192.0.2.0/24;9007199254740994;\n;;1700000000;1700000000;10.0.0.2/32;192.0.2.0/24;${U64_MAX};\n`,
    );
    const dir = tempDir();
    const f = join(dir, 'bill.csv');
    writeFileSync(f, hydra.stdout);
    const put = await runBin('hcd-putfile', ['--dry-run', '-f', f, '-u', 'http://127.0.0.1:9/', 'agg-ab']);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^would send .*: 2 lines, /);
    writeFileSync(f, `;;1700000000;1700000000;10.0.0.1/32;192.0.2.0/24;${U64_OVER};\n`);
    const bad = await runBin('hcd-putfile', ['--dry-run', '-f', f, '-u', 'http://127.0.0.1:9/', 'agg-ab']);
    assert.equal(bad.code, 65, bad.stderr);
    assert.match(bad.stderr, new RegExp(`bill\\.csv:1: field "BYTES": .*\\(got "${U64_OVER}"\\)`));
  });

  test('meter-label count sums a label exactly past 2^53', async () => {
    const dir = tempDir();
    const env = { METER_LABEL_DB: join(dir, 'labels.db') };
    for (const args of [
      ['create', 'big', '--tenant-id', 'p1'],
      ['rule-create', 'big', '10.0.0.0/8', '--direction', 'egress'],
    ]) {
      const r = await runBin('meter-label', args, { env });
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await runBin('meter-label', ['count', '--host', 'h'], { env, input: FLOWS });
    assert.equal(r.code, 0, r.stderr);
    // 2^53 + 1 + 1 + (2^64 - 1) bytes; 1 + 1 + 1 + (2^53 + 1) packets
    assert.match(r.stdout, /"pkts":9007199254740996,"bytes":18455751272964292609,/);
  });

  test('flow-capture decodes IPFIX 8-byte counters above 2^53 exactly (generic and compiled readers)', async () => {
    // template 256: octetDeltaCount(1)/8, packetDeltaCount(2)/8, source/destinationIPv4Address(8, 12)/4
    const template = set(2, new Bytes().u16(256, 4).u16(1, 8, 2, 8, 8, 4, 12, 4));
    const record = (bytes: bigint, packets: bigint): Buffer =>
      set(256, new Bytes().u64(bytes).u64(packets).ip4('10.0.0.1').ip4('192.0.2.9'));
    // 20 data sets: the first ones through readRecord, the rest through the compiled reader
    const sets = Array.from({ length: 20 }, (_, i) => record(2n ** 53n + 1n + BigInt(i), 2n ** 64n - 1n - BigInt(i)));
    const msg = ipfix([template, ...sets]);
    const dir = tempDir();
    const pcap = join(dir, 'big.pcap');
    writeFileSync(
      pcap,
      pcapFile({}, [
        { data: eth(0x0800, ipv4(udp(4739, 4739, msg), { src: '192.0.2.1', dst: '192.0.2.2', proto: 17 })) },
      ]),
    );
    const r = await runBin('flow-capture', ['-r', pcap]);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => [/"bytes":([0-9]+)/.exec(l)![1], /"packets":([0-9]+)/.exec(l)![1]]);
    assert.deepEqual(
      got,
      Array.from({ length: 20 }, (_, i) => [String(2n ** 53n + 1n + BigInt(i)), String(2n ** 64n - 1n - BigInt(i))]),
    );
  });
});
