// Real exporter bytes: softflowd's NetFlow v5 / v9 / IPFIX exports of test/fixtures/netflow/
// traffic.pcap (made by make-softflowd.mjs), checked against the traffic that capture contains.
// The committed fixtures are decoded, and softflowd is also run live on the same capture.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/spawn.js';
import { tempDir } from '../../helpers/tmp.js';
import type { FlowRecord } from '../../../lib/flow/record.js';
import { decoder, dgram as datagram } from './helpers.js';
import { withPeers } from '../../helpers/peers.js';

const FIX = join(ROOT, 'test/fixtures/netflow');
const T0 = 1_700_000_000_000; // ms, the capture's first packet

// What traffic.pcap holds, as unidirectional flows: [start ms, end ms, src, sport, dst, dport, proto, bytes, packets, tcp flags]
type Flow = [number, number, string, number, string, number, number, number, number, number];
const V4: Flow[] = [
  [0, 1000, '10.0.0.1', 40001, '192.0.2.10', 80, 6, 220, 3, 0x1b],
  [100, 600, '192.0.2.10', 80, '10.0.0.1', 40001, 6, 2920, 3, 0x1a],
  [1200, 1200, '10.0.0.2', 5353, '198.51.100.53', 53, 17, 68, 1, 0],
  [1300, 1300, '198.51.100.53', 53, '10.0.0.2', 5353, 17, 148, 1, 0],
  [2000, 2500, '10.0.0.3', 0, '203.0.113.7', 0, 1, 168, 2, 0],
];
const V6: Flow[] = [
  [3000, 3000, '2001:db8::1', 6000, '2001:db8:1::53', 53, 17, 78, 1, 0],
  [3100, 3100, '2001:db8:1::53', 53, '2001:db8::1', 6000, 17, 138, 1, 0],
  [4000, 4000, '2001:db8::1', 50000, '2001:db8:2::80', 443, 6, 60, 1, 0x02],
];

function datagrams(name: string): Buffer[] {
  return readFileSync(join(FIX, `softflowd-${name}.hex`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((h) => Buffer.from(h, 'hex'));
}

/** softflowd reports a bidirectional exchange's times per direction as the flow's (it keys
 *  flows bidirectionally): both directions carry the first and last packet of the pair. */
function check(records: FlowRecord[], expected: Flow[], type: string, tolNs: number): void {
  assert.equal(records.length, expected.length);
  for (const e of expected) {
    const [start, end, src, sport, dst, dport, proto, bytes, packets, flags] = e;
    const r = records.find((x) => x.src_addr === src && x.dst_addr === dst && x.src_port === sport);
    assert.ok(r, `no record ${src}:${sport} > ${dst}:${dport}`);
    assert.equal(r.type, type);
    assert.equal(r.dst_port, proto === 1 && type === 'NETFLOW_V5' ? 0x0800 : dport, `${src} dst_port`);
    assert.equal(r.proto, proto);
    assert.equal(r.etype, src.includes(':') ? 0x86dd : 0x800);
    assert.equal(r.sampler_address, '192.0.2.1');
    assert.equal(r.bytes, bytes, `${src} bytes`);
    assert.equal(r.packets, packets, `${src} packets`);
    assert.equal(r.tcp_flags, flags, `${src} flags`);
    // softflowd keys flows bidirectionally: each direction reports the pair's first/last packet
    const pair = expected.filter((x) => (x[2] === src && x[4] === dst) || (x[2] === dst && x[4] === src));
    const first = Math.min(...pair.map((x) => x[0]));
    const last = Math.max(...pair.map((x) => x[1]));
    assert.ok(Math.abs(r.time_flow_start_ns - (T0 + first) * 1e6) <= tolNs, `${src} start ${r.time_flow_start_ns}`);
    assert.ok(Math.abs(r.time_flow_end_ns - (T0 + last) * 1e6) <= tolNs, `${src} end ${r.time_flow_end_ns}`);
    if (proto === 1 && type !== 'NETFLOW_V5') assert.equal(r.icmp_type, 8);
  }
}

const VARIANTS: [string, string, Flow[], number][] = [
  ['v5', 'NETFLOW_V5', V4, 0],
  ['v9', 'NETFLOW_V9', [...V4, ...V6], 0],
  ['ipfix', 'IPFIX', [...V4, ...V6], 0],
  ['ipfix-milli', 'IPFIX', [...V4, ...V6], 0],
  // softflowd's NTP fractions are about 1 µs off; doubles near 1.7e18 hold 256 ns steps
  ['ipfix-micro', 'IPFIX', [...V4, ...V6], 2000],
  ['ipfix-nano', 'IPFIX', [...V4, ...V6], 2000],
];

for (const [name, type, flows, tol] of VARIANTS) {
  test(`softflowd ${name} fixture decodes to the capture's flows`, () => {
    const { dec, run } = decoder();
    const records = datagrams(name).flatMap((b) => run(b));
    check(records, flows, type, tol);
    assert.equal(dec.stats.rejected, 0);
    assert.equal(dec.stats.pendingHeld, 0);
    if (type !== 'NETFLOW_V5') assert.ok(records.every((r) => r.sampling_rate === 1)); // softflowd's options data: 1 in 1
  });
}

test('softflowd v9 with -s 2: the sampling options data sets sampling_rate 2', () => {
  const { dec, run } = decoder();
  const records = datagrams('v9-sampled').flatMap((b) => run(b));
  assert.ok(records.length > 0);
  assert.ok(records.every((r) => r.sampling_rate === 2));
  assert.equal(dec.stats.optionsRecords, 1);
});

async function live(version: string): Promise<FlowRecord[]> {
  const dir = tempDir();
  copyFileSync(join(FIX, 'traffic.pcap'), join(dir, 'traffic.pcap'));
  const sock = dgram.createSocket('udp4');
  const { run } = decoder();
  const records: FlowRecord[] = [];
  sock.on('message', (m) => records.push(...run(datagram(m))));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  const child = spawn(
    'softflowd',
    [
      '-d',
      '-r',
      'traffic.pcap',
      '-n',
      `127.0.0.1:${port}`,
      '-p',
      'sfd.pid',
      '-c',
      'sfd.ctl',
      '-v',
      version,
      '-6',
      '-a',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
  // loopback datagrams are queued before softflowd exits; give the event loop a moment to read them
  for (let i = 0; i < 50 && records.length < (version === '5' ? 5 : 8); i++)
    await new Promise((r) => setTimeout(r, 20));
  sock.close();
  return records;
}

test('softflowd live: v5, v9 and IPFIX from the capture, over a real UDP socket', withPeers('softflowd'), async () => {
  check(await live('5'), V4, 'NETFLOW_V5', 0);
  check(await live('9'), [...V4, ...V6], 'NETFLOW_V9', 0);
  check(await live('10'), [...V4, ...V6], 'IPFIX', 0);
});
