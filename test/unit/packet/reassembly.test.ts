// IP fragment reassembly, through readCapture on hand-built captures (real fragments from the
// kernel are in the fixtures tests): order, duplicates, overlaps, timeouts in capture time,
// table limits, IPv6, bytes accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture, newCaptureStats, type CaptureStats } from '../../../lib/capture/pcap-file.js';
import type { Datagram } from '../../../lib/capture/datagram.js';
import type { ReadCaptureOptions } from '../../../lib/capture/pcap-file.js';
import { FragmentTable } from '../../../lib/packet/reassembly.js';
import { PacketInfo, parseFrame, LINKTYPE_RAW } from '../../../lib/packet/frame.js';
import {
  chunked,
  eth,
  frag6,
  ipv4,
  ipv6,
  memoryLog,
  pcapFile,
  udp,
  type PcapRecord,
} from '../../helpers/pcap-build.js';

const T0 = 1700000000;

function datagram(n: number, port = 2055, ulen?: number): Buffer {
  const p = Buffer.alloc(n);
  for (let i = 0; i < n; i++) p[i] = (i * 13 + 1) & 255;
  return udp(port, 9995, p, ulen);
}

/** IPv4 fragments of `d` as Ethernet frames, cut at the given byte offsets (multiples of 8). */
function v4(d: Buffer, cuts: number[], o: { id?: number; src?: string; proto?: number } = {}): Buffer[] {
  const bounds = [0, ...cuts, d.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    out.push(
      eth(
        0x0800,
        ipv4(d.subarray(a, b), {
          id: o.id ?? 7,
          src: o.src ?? '192.0.2.1',
          proto: o.proto ?? 17,
          flags: b < d.length ? 1 : 0,
          fragOff: a / 8,
        }),
      ),
    );
  }
  return out;
}

function v6(d: Buffer, cuts: number[], id = 0x1234567): Buffer[] {
  const bounds = [0, ...cuts, d.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    out.push(
      eth(
        0x86dd,
        ipv6(Buffer.concat([frag6(17, a / 8, b < d.length, id), d.subarray(a, b)]), { next: 44, src: '2001:db8::5' }),
      ),
    );
  }
  return out;
}

async function read(
  frames: Array<Buffer | [Buffer, number]>,
  opts: ReadCaptureOptions = {},
): Promise<{ ds: Datagram[]; stats: CaptureStats; lines: string[] }> {
  const recs: PcapRecord[] = frames.map((f, i) =>
    Array.isArray(f) ? { data: f[0], sec: T0 + f[1] } : { data: f, sec: T0, frac: i },
  );
  const { log, lines } = memoryLog();
  const stats = newCaptureStats();
  const ds: Datagram[] = [];
  for await (const b of readCapture({ name: 'f.pcap', stream: chunked(pcapFile({}, recs), 333) }, log, stats, opts))
    ds.push(...b);
  return { ds, stats, lines };
}

function nonZero(s: CaptureStats): Record<string, number> {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== 0));
}

test('fragments in order, out of order, and interleaved with another exporter reassemble', async () => {
  const d = datagram(3000);
  const [a, b, c] = v4(d, [1480, 2960]);
  for (const order of [
    [a, b, c],
    [c, b, a],
    [b, c, a],
    [c, a, b],
  ]) {
    const { ds, stats, lines } = await read(order as Buffer[]);
    assert.deepEqual(lines, []);
    assert.equal(ds.length, 1);
    assert.ok(ds[0]!.payload.equals(d.subarray(8)));
    assert.deepEqual(
      [ds[0]!.exporter, ds[0]!.exporterPort, ds[0]!.packetNo, ds[0]!.receivedNs],
      ['192.0.2.1', 2055, 3, T0 * 1e9 + 2000],
    );
    assert.deepEqual(nonZero(stats), { packets: 3, datagrams: 1, fragmentsHeld: 3, fragmentsReassembled: 1 });
  }
  // Same id from two sources, interleaved, plus an unfragmented datagram in between.
  const e = datagram(2000, 4739);
  const [x1, x2] = v4(e, [1480], { src: '198.51.100.2' });
  const plain = eth(0x0800, ipv4(datagram(10, 6343)));
  const { ds } = await read([a!, x1!, b!, plain, x2!, c!]);
  assert.deepEqual(
    ds.map((g) => [g.exporter, g.exporterPort, g.payload.length]),
    [
      ['192.0.2.1', 6343, 10],
      ['198.51.100.2', 4739, 2000],
      ['192.0.2.1', 2055, 3000],
    ],
  );
});

test('exact duplicates are ignored; conflicting overlaps drop the datagram once', async () => {
  const d = datagram(3000);
  const [a, b, c] = v4(d, [1480, 2960]);
  let r = await read([a!, b!, b!, c!]);
  assert.equal(r.ds.length, 1);
  assert.deepEqual(nonZero(r.stats), {
    packets: 4,
    datagrams: 1,
    fragmentsHeld: 3,
    fragmentsDuplicate: 1,
    fragmentsReassembled: 1,
  });
  // A fragment overlapping another with different bytes (Teardrop-style): no datagram, one report.
  const evil = v4(datagram(3000, 1), [1472, 2960]);
  r = await read([a!, evil[1]!, b!, c!]);
  assert.equal(r.ds.length, 0);
  assert.equal(r.stats.fragmentsBad, 1);
  assert.deepEqual(r.lines, [
    'test: f.pcap: packet 2 (offset 0x612): dropped IPv4 192.0.2.1 > 192.0.2.9 id 0x7 proto 17: fragments overlap (1472-2960 and 0-1480)',
  ]);
  // The same bytes re-sent with different boundaries is still an overlap (never merged).
  const resplit = v4(d, [1472, 2960]);
  r = await read([a!, resplit[1]!, c!]);
  assert.equal(r.ds.length, 0);
  assert.equal(r.stats.fragmentsBad, 1);
});

test('inconsistent fragments: bad sizes, two different ends, past 65535', async () => {
  const d = datagram(3000);
  const [a, , c] = v4(d, [1480, 2960]);
  const odd = eth(0x0800, ipv4(d.subarray(1480, 1485), { id: 7, flags: 1, fragOff: 185 }));
  let r = await read([a!, odd, c!]);
  assert.equal(r.stats.fragmentsBad, 1);
  assert.match(r.lines[0]!, /non-last fragment of 5 bytes \(not a positive multiple of 8\)/);
  const otherEnd = eth(0x0800, ipv4(d.subarray(0, 16), { id: 7, flags: 0, fragOff: 400 }));
  r = await read([c!, otherEnd]);
  assert.match(r.lines[0]!, /two last fragments \(lengths 3008 and 3216\)/);
  const huge = eth(0x0800, ipv4(Buffer.alloc(100), { flags: 0, fragOff: 8180 }));
  r = await read([huge]);
  assert.match(r.lines[0]!, /fragment ends at 65540, past 65535/);
  assert.equal(r.ds.length, 0);
});

test('incomplete datagrams expire after 30 s of capture time, and at the end of the capture', async () => {
  const d = datagram(3000);
  const [a, b, c] = v4(d, [1480, 2960]);
  const other = eth(0x0800, ipv4(datagram(20)));
  const { ds, stats, lines } = await read([
    [a!, 0],
    [other, 10],
    [other, 31],
    [b!, 32],
    [c!, 33],
  ]);
  assert.equal(ds.length, 2); // only the two unfragmented ones
  assert.equal(stats.fragmentsExpired, 2);
  assert.deepEqual(lines, [
    'test: f.pcap: packet 3 (offset 0x660): dropped incomplete IPv4 192.0.2.1 > 192.0.2.9 id 0x7 proto 17: 1 fragment, 1480 of ? bytes after 30 s',
    'test: f.pcap: end of capture: dropped incomplete IPv4 192.0.2.1 > 192.0.2.9 id 0x7 proto 17: 2 fragments, 1528 of 3008 bytes at the end of the capture',
  ]);
  // Within the timeout it completes.
  const ok = await read([
    [a!, 0],
    [other, 10],
    [b!, 29],
    [c!, 29],
  ]);
  assert.equal(ok.ds.length, 2);
  assert.equal(ok.stats.fragmentsReassembled, 1);
});

test('the table is bounded: datagrams and bytes; what overflows is counted', async () => {
  const frags = [1, 2, 3].map((id) => v4(datagram(3000), [1480, 2960], { id }));
  // Three datagrams in flight with room for two: the oldest is evicted.
  let r = await read(
    [frags[0]![0]!, frags[1]![0]!, frags[2]![0]!, ...frags[1]!.slice(1), ...frags[2]!.slice(1), ...frags[0]!.slice(1)],
    { reassembly: { maxDatagrams: 2 } },
  );
  assert.equal(r.ds.length, 2);
  assert.equal(r.stats.fragmentsOverflow, 1);
  assert.equal(r.stats.fragmentsExpired, 1); // id 1's late fragments never complete
  assert.match(
    r.lines[0]!,
    /dropped incomplete IPv4 192\.0\.2\.1 > 192\.0\.2\.9 id 0x1 proto 17: 1 fragment, 1480 of \? bytes: too many datagrams being reassembled/,
  );
  // Bytes: 4000 bytes allowed, two datagrams' first fragments hold 2960.
  r = await read([frags[0]![0]!, frags[1]![0]!, frags[2]![0]!, ...frags[2]!.slice(1)], {
    reassembly: { maxBytes: 4000 },
  });
  assert.equal(r.ds.length, 1);
  assert.equal(r.stats.fragmentsOverflow, 2);
  assert.ok(r.lines.some((l) => /fragment bytes limit reached/.test(l)));
});

test('IPv6 fragments reassemble (any order); an atomic fragment is a whole datagram', async () => {
  const d = datagram(3000, 6343);
  const [a, b, c] = v6(d, [1448, 2896]);
  const { ds, stats } = await read([b!, c!, a!]);
  assert.equal(ds.length, 1);
  assert.deepEqual([ds[0]!.exporter, ds[0]!.exporterPort], ['2001:db8::5', 6343]);
  assert.ok(ds[0]!.payload.equals(d.subarray(8)));
  assert.equal(stats.fragmentsReassembled, 1);
  const atomic = v6(datagram(50), [], 99);
  const r = await read(atomic);
  assert.equal(r.ds.length, 1);
  assert.equal(r.ds[0]!.payload.length, 50);
});

test('fragments of other protocols are not held; a reassembled bad UDP header is reported', async () => {
  const tcpFrags = v4(Buffer.alloc(3000), [1480], { proto: 6 });
  let r = await read(tcpFrags);
  assert.deepEqual(nonZero(r.stats), { packets: 2, notUdp: 2 });
  const longer = datagram(3000, 2055, 4000); // UDP length says 4000, 3008 bytes arrive
  r = await read(v4(longer, [1480, 2960]));
  assert.equal(r.ds.length, 0);
  assert.equal(r.stats.truncatedPacket, 1);
  assert.match(r.lines[0]!, /reassembled datagram: UDP length 4000 exceeds the 3008 bytes reassembled/);
});

test('FragmentTable gives its bytes back', () => {
  const t = new FragmentTable({ timeoutNs: 1e9 });
  const info = new PacketInfo();
  const frames = v4(datagram(3000), [1480, 2960]).map((f) => f.subarray(14));
  for (const f of frames.slice(0, 2)) {
    assert.equal(parseFrame(f, 0, f.length, LINKTYPE_RAW, info), true);
    assert.equal(t.add(f, info, 0), undefined);
  }
  assert.equal(t.bytesHeld, 2960);
  assert.equal(t.size, 1);
  t.expire(2e9);
  assert.equal(t.bytesHeld, 0);
  assert.equal(t.size, 0);
  assert.equal(t.drops.length, 1);
  for (const f of frames) {
    parseFrame(f, 0, f.length, LINKTYPE_RAW, info);
    const done = t.add(f, info, 3e9);
    if (f === frames[2]) assert.equal(done?.data.length, 3008);
  }
  assert.equal(t.bytesHeld, 0);
  assert.equal(t.size, 0);
});
