// readCapture on captures written by real tools (tcpdump, dumpcap, editcap, text2pcap; see
// test/fixtures/pcap/make-fixtures.sh), checked datagram by datagram against tshark reading the
// same file: packet number, exporter, port, timestamp (ns exact), every payload byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture, newCaptureStats, type CaptureStats } from '../../../lib/capture/pcap-file.js';
import type { Datagram } from '../../../lib/capture/datagram.js';
import { ROOT } from '../../helpers/spawn.js';
import { chunked, memoryLog } from '../../helpers/pcap-build.js';
import { tsharkFields, epochToNs } from '../../helpers/tshark.js';
import type { Readable } from 'node:stream';
import { withPeers } from '../../helpers/peers.js';

const DIR = join(ROOT, 'test/fixtures/pcap');

async function read(
  name: string,
  stream?: Readable,
): Promise<{ ds: Datagram[]; stats: CaptureStats; lines: string[]; batches: number }> {
  const path = join(DIR, name);
  const { log, lines } = memoryLog();
  const stats = newCaptureStats();
  const ds: Datagram[] = [];
  let batches = 0;
  for await (const b of readCapture({ name, stream: stream ?? createReadStream(path) }, log, stats)) {
    batches++;
    ds.push(...b);
  }
  return { ds, stats, lines, batches };
}

// The traffic send-traffic.mjs sends: 10 IPv4 datagrams (4 of them fragmented: 1473, 3000,
// 9000, 2000 bytes → 2+3+7+2 fragments) and 5 IPv6 ones (1453 and 3000 fragmented: 2+3).
const PER_CAPTURE = { datagrams: 15, reassembled: 6, fragments: 19 };

const FILES: Array<{ file: string; interfaces?: number; notIp?: number }> = [
  { file: 'udp-lo.pcap' },
  { file: 'udp-lo-ns.pcap' },
  { file: 'udp-any-sll.pcap' },
  { file: 'udp-any-sll2.pcap' },
  { file: 'udp-lo.pcapng' },
  { file: 'udp-lo-ns.pcapng' },
  { file: 'udp-lo.pcapng.gz' },
  { file: 'udp-dumpcap.pcapng', interfaces: 2 },
  { file: 'raw.pcap' },
  { file: 'raw12.pcap' },
  { file: 'null-le.pcap' },
  { file: 'null-be.pcap' },
  { file: 'loop.pcap' },
  { file: 'vlan.pcap', notIp: 2 },
  { file: 'vlan.pcapng', notIp: 2 },
];

const FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'ip.src',
  'ipv6.src',
  'udp.srcport',
  'udp.payload',
  'udp.length',
  'tcp.srcport',
  'icmp.type',
  'icmpv6.type',
];

for (const { file, interfaces = 1, notIp = 0 } of FILES) {
  test(`${file}: every UDP datagram as tshark sees it`, withPeers('tshark'), async () => {
    const { ds, stats, lines } = await read(file);
    // One tshark run: every frame; the UDP ones (not ICMP errors quoting UDP) are datagrams.
    const all = tsharkFields(join(DIR, file), '', FIELDS);
    const rows = all.filter((r) => r[4] !== '' && r[8] === '' && r[9] === '');
    assert.equal(ds.length, rows.length);
    assert.equal(ds.length, PER_CAPTURE.datagrams * interfaces);
    for (let i = 0; i < rows.length; i++) {
      const [no, time, v4, v6, port, payload, ulen] = rows[i]!;
      const d = ds[i]!;
      const where = `${file} datagram ${i} (frame ${no})`;
      assert.equal(d.packetNo, Number(no), where);
      assert.equal(d.exporter, v4 || v6, where);
      assert.equal(d.exporterPort, Number(port), where);
      assert.equal(d.receivedNs, epochToNs(time!), where);
      assert.equal(d.payload.length, Number(ulen) - 8, where);
      assert.equal(d.payload.toString('hex'), payload!.replaceAll(':', ''), where);
      assert.equal(d.source, file);
    }
    const tcp = all.filter((r) => r[7] !== '').length;
    assert.ok(tcp > 0, 'the capture has TCP packets (counted, not errors)');
    assert.equal(stats.packets, all.length);
    assert.equal(stats.datagrams, ds.length);
    assert.equal(stats.notUdp, tcp);
    assert.equal(stats.notIp, notIp);
    assert.equal(stats.fragmentsHeld, PER_CAPTURE.fragments * interfaces);
    assert.equal(stats.fragmentsReassembled, PER_CAPTURE.reassembled * interfaces);
    for (const k of [
      'unsupportedLinkType',
      'truncatedPacket',
      'badLinkHeader',
      'badIpHeader',
      'badUdpHeader',
      'fragmentsExpired',
      'fragmentsOverflow',
      'fragmentsBad',
      'fragmentsDuplicate',
      'badRecord',
      'truncatedFile',
    ] as const) {
      assert.equal(stats[k], 0, k);
    }
    assert.deepEqual(lines, []);
  });
}

test('the payloads are the bytes send-traffic.mjs sent', async () => {
  const { ds } = await read('udp-lo.pcap');
  const sizes = ds.map((d) => d.payload.length);
  assert.deepEqual(sizes, [0, 16, 100, 1472, 1473, 3000, 1200, 9000, 48, 2000, 16, 1452, 1453, 3000, 1200]);
  for (const d of ds) {
    const n = d.payload.length;
    const fam = d.exporter.includes(':') ? 'udp6' : 'udp4';
    const expect = Buffer.alloc(n);
    for (let i = 0; i < n; i++) expect[i] = (i * 7 + n) & 255;
    Buffer.from(`flowmeter ${fam} ${n}`).copy(expect, 0, 0, Math.min(n, 100));
    assert.ok(d.payload.equals(expect), `payload of ${n} bytes from ${d.exporter}`);
  }
  assert.deepEqual(
    [...new Set(ds.map((d) => `${d.exporter}:${d.exporterPort}`))],
    ['127.0.0.1:40001', '127.0.0.2:40003', '::1:40002'],
  );
});

test('nanosecond captures keep the nanoseconds: same packets as the µs capture, same µs', async () => {
  const us = await read('udp-lo.pcap');
  const ns = await read('udp-lo-ns.pcap');
  const nsng = await read('udp-lo-ns.pcapng');
  assert.equal(us.ds.length, ns.ds.length);
  let sub = 0;
  for (let i = 0; i < us.ds.length; i++) {
    const a = us.ds[i]!.receivedNs;
    const b = ns.ds[i]!.receivedNs;
    // Same kernel timestamp: the µs file holds it truncated to µs (±256 ns of double spacing).
    assert.ok(Math.abs(Math.floor(b / 1000) * 1000 - a) <= 1024, `${a} vs ${b}`);
    if (b % 1000 !== 0) sub++;
    assert.equal(nsng.ds[i]!.receivedNs, b);
  }
  assert.ok(sub > 0, 'some timestamps have sub-microsecond digits');
});

test('reading in 1, 13, 100 and 1500-byte chunks gives the same datagrams (records cross chunks)', async () => {
  for (const file of ['udp-lo.pcap', 'udp-lo.pcapng', 'udp-dumpcap.pcapng', 'udp-lo.pcapng.gz']) {
    const whole = await read(file);
    const bytes = readFileSync(join(DIR, file));
    for (const size of [1, 13, 100, 1500]) {
      const parts = await read(file, chunked(bytes, size));
      assert.equal(parts.ds.length, whole.ds.length, `${file} in ${size}-byte chunks`);
      for (let i = 0; i < whole.ds.length; i++) {
        const a = whole.ds[i]!;
        const b = parts.ds[i]!;
        assert.deepEqual({ ...b, payload: b.payload.toString('hex') }, { ...a, payload: a.payload.toString('hex') });
      }
      assert.deepEqual(parts.stats, whole.stats);
    }
  }
});

test('payloads stay valid after later batches are read (buffers are never reused)', async () => {
  const bytes = readFileSync(join(DIR, 'udp-lo.pcap'));
  const held: Array<[Buffer, string]> = [];
  const { log } = memoryLog();
  for await (const b of readCapture({ name: 'x', stream: chunked(bytes, 200) }, log, newCaptureStats())) {
    for (const d of b) held.push([d.payload, d.payload.toString('hex')]);
  }
  assert.equal(held.length, 15);
  for (const [p, hex] of held) assert.equal(p.toString('hex'), hex);
});

test('snaplen 200: datagrams cut by the capture are counted and reported, complete ones decode', async () => {
  const { ds, stats, lines } = await read('udp-lo-snap200.pcap');
  assert.deepEqual(
    ds.map((d) => d.payload.length),
    [0, 16, 100, 48, 16],
  );
  // Cut: the 1472, 1200, 1452, 1200-byte datagrams, and the first fragment of each of the 6
  // fragmented ones (which are then dropped whole, once each).
  assert.equal(stats.truncatedPacket, 4 + 6);
  assert.equal(stats.fragmentsReassembled, 0);
  assert.equal(stats.fragmentsHeld, 19);
  assert.equal(stats.fragmentsBad + stats.fragmentsExpired, 0);
  assert.match(lines[0]!, /^test: udp-lo-snap200\.pcap: packet \d+ \(offset 0x[0-9a-f]+\): /);
  assert.ok(
    lines.some((l) => /UDP payload cut short: 158 of 1472 bytes \(captured 200 of 1514 bytes\)/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) =>
      /dropped IPv6 ::1 > ::1 id 0x[0-9a-f]+ proto 17: fragment at offset 0 cut short by the capture/.test(l),
    ),
    lines.join('\n'),
  );
  assert.equal(lines.length, 10);
});
