// readCapture on hand-built files for what real tools do not write: truncated and garbage
// headers, absurd lengths, big-endian files, pcapng section byte-order changes, unknown blocks,
// timestamp resolutions, broken packets. Nothing may throw past the generator except "not a
// capture file at all" (FlowmeterError 65).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { readCapture, newCaptureStats, type CaptureStats } from '../../../lib/capture/pcap-file.js';
import type { Datagram } from '../../../lib/capture/datagram.js';
import { FlowmeterError } from '../../../lib/errors.js';
import {
  block,
  chunked,
  epb,
  eth,
  idb,
  ipv4,
  ipv6,
  memoryLog,
  pcapFile,
  pcapHeader,
  shb,
  spb,
  u32,
  udp,
} from '../../helpers/pcap-build.js';

interface Result {
  ds: Datagram[];
  stats: CaptureStats;
  lines: string[];
}

async function read(buf: Buffer, name = 'capture.pcap', chunk = 1 << 16): Promise<Result> {
  const { log, lines } = memoryLog();
  const stats = newCaptureStats();
  const ds: Datagram[] = [];
  for await (const b of readCapture({ name, stream: chunked(buf, chunk) }, log, stats)) ds.push(...b);
  return { ds, stats, lines };
}

const P1 = Buffer.from('first datagram payload');
const P2 = Buffer.from('second one');
const frame1 = eth(0x0800, ipv4(udp(2055, 9995, P1), { src: '192.0.2.1' }));
const frame2 = eth(0x0800, ipv4(udp(4739, 4739, P2), { src: '198.51.100.7' }));

function nonZero(s: CaptureStats): Record<string, number> {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== 0));
}

test('not a capture file: FlowmeterError 65 naming the file and the magic found', async () => {
  for (const [bytes, what] of [
    [Buffer.from('hello, world\n'), /^notes\.txt: not a pcap or pcapng file \(magic 0x68656c6c "hell"\)$/],
    [Buffer.alloc(0), /^notes\.txt: not a pcap or pcapng file \(empty\)$/],
    [Buffer.from([0xd4, 0xc3]), /^notes\.txt: not a pcap or pcapng file \(only 2 bytes\)$/],
    [Buffer.from([0, 1, 2, 3, 4, 5]), /^notes\.txt: not a pcap or pcapng file \(magic 0x00010203\)$/],
    [
      Buffer.from('28b52ffd0058', 'hex'),
      /^notes\.txt: not a pcap or pcapng file \(zstd-compressed: decompress it first, e.g\. zstd -d\)$/,
    ],
    [Buffer.from('BZh91AY&SY'), /\(bzip2-compressed: decompress it first, e\.g\. bzip2 -d\)$/],
  ] as const) {
    await assert.rejects(read(bytes, 'notes.txt'), (e: unknown) => {
      assert.ok(e instanceof FlowmeterError);
      assert.equal(e.kind, 'data');
      assert.match(e.message, what);
      return true;
    });
  }
});

test('classic pcap, little- and big-endian, µs and ns: exporter, port, timestamp, payload', async () => {
  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      const f = pcapFile({ le, ns }, [
        { sec: 1700000000, frac: ns ? 123456789 : 123456, data: frame1 },
        { sec: 1700000001, frac: ns ? 999999999 : 999999, data: frame2 },
      ]);
      const { ds, stats, lines } = await read(f);
      const tag = `le=${le} ns=${ns}`;
      assert.deepEqual(lines, [], tag);
      assert.equal(ds.length, 2, tag);
      assert.equal(ds[0]!.exporter, '192.0.2.1');
      assert.equal(ds[0]!.exporterPort, 2055);
      assert.equal(ds[0]!.receivedNs, ns ? Number(1700000000123456789n) : 1700000000123456000, tag);
      assert.equal(ds[1]!.receivedNs, ns ? Number(1700000001999999999n) : 1700000001999999000, tag);
      assert.ok(ds[0]!.payload.equals(P1));
      assert.ok(ds[1]!.payload.equals(P2));
      assert.equal(ds[1]!.exporter, '198.51.100.7');
      assert.deepEqual(
        [ds[0]!.packetNo, ds[0]!.offset, ds[1]!.packetNo, ds[1]!.offset],
        [1, 24, 2, 24 + 16 + frame1.length],
      );
      assert.deepEqual(nonZero(stats), { packets: 2, datagrams: 2 }, tag);
    }
  }
});

test('modified (Kuznetzov) pcap: 24-byte record headers', async () => {
  const h = pcapHeader({});
  h.writeUInt32LE(0xa1b2cd34, 0);
  const rec = (data: Buffer, sec: number) =>
    Buffer.concat([
      u32(sec, true),
      u32(5, true),
      u32(data.length, true),
      u32(data.length, true),
      Buffer.alloc(8),
      data,
    ]);
  const { ds, lines } = await read(Buffer.concat([h, rec(frame1, 1), rec(frame2, 2)]));
  assert.deepEqual(lines, []);
  assert.deepEqual(
    ds.map((d) => [d.exporter, d.receivedNs]),
    [
      ['192.0.2.1', 1e9 + 5000],
      ['198.51.100.7', 2e9 + 5000],
    ],
  );
});

test('truncated global header: reported with the byte count, nothing read, no throw', async () => {
  const { ds, stats, lines } = await read(pcapHeader({}).subarray(0, 14));
  assert.equal(ds.length, 0);
  assert.equal(stats.truncatedFile, 1);
  assert.deepEqual(lines, ['test: capture.pcap: file ends inside the pcap file header (14 of 24 bytes)']);
});

test('truncated last record (and a cut record header): earlier packets stand, the cut one is reported', async () => {
  const whole = pcapFile({}, [{ data: frame1 }, { data: frame2 }]);
  const second = 24 + 16 + frame1.length;
  for (const [cut, msg] of [
    [
      whole.length - 5,
      `file ends inside the record (${16 + frame2.length - 5} of ${16 + frame2.length} bytes); the last packet is lost`,
    ],
    [second + 10, 'file ends inside the record header (10 of 16 bytes); the last packet is lost'],
  ] as const) {
    for (const chunk of [1 << 16, 7]) {
      const { ds, stats, lines } = await read(whole.subarray(0, cut), 'capture.pcap', chunk);
      assert.equal(ds.length, 1);
      assert.ok(ds[0]!.payload.equals(P1));
      assert.deepEqual(nonZero(stats), { packets: 1, datagrams: 1, truncatedFile: 1 });
      assert.deepEqual(lines, [`test: capture.pcap: packet 2 (offset 0x${second.toString(16)}): ${msg}`]);
    }
  }
});

test('absurd incl_len stops reading cleanly; incl_len > snaplen is garbage only when it also exceeds orig_len', async () => {
  const garbage = pcapFile({ snaplen: 1500 }, [{ data: frame1 }, { data: frame2, incl: 0xfffffff0 }, { data: frame1 }]);
  let r = await read(garbage);
  assert.equal(r.ds.length, 1);
  assert.equal(r.stats.truncatedFile, 1);
  assert.match(
    r.lines[0]!,
    /^test: capture\.pcap: packet 2 \(offset 0x[0-9a-f]+\): bad record header: captured length 4294967280 \(snaplen 1500, original length \d+\); the file is corrupt from here, stopping$/,
  );
  // incl_len 64 > snaplen 40 and > orig_len 50: garbage.
  r = await read(pcapFile({ snaplen: 40 }, [{ data: frame1, orig: 50 }]));
  assert.equal(r.ds.length, 0);
  assert.equal(r.stats.truncatedFile, 1);
  // incl_len > snaplen but <= orig_len: libpcap reads these (writers that got snaplen wrong).
  r = await read(pcapFile({ snaplen: 20 }, [{ data: frame1 }, { data: frame2 }]));
  assert.equal(r.ds.length, 2);
  assert.deepEqual(r.lines, []);
});

test('pcap version other than 2.x is reported, not decoded', async () => {
  const { ds, stats, lines } = await read(pcapFile({ major: 3 }, [{ data: frame1 }]));
  assert.equal(ds.length, 0);
  assert.equal(stats.truncatedFile, 1);
  assert.match(lines[0]!, /unsupported pcap version 3\.4/);
});

test('bad packets are counted by reason with the packet number and offset; the rest decode', async () => {
  const ipHeaderCut = eth(0x0800, ipv4(udp(1, 2, P1)).subarray(0, 10));
  const udpHeaderCut = eth(0x0800, ipv4(Buffer.alloc(0), { totalLength: 24 }).subarray(0, 20)); // header says 24, 4 UDP bytes
  const udpCut = eth(0x0800, Buffer.concat([ipv4(udp(1, 2, P1)).subarray(0, 30)])); // total length says more
  const badVersion = eth(0x0800, ipv4(udp(1, 2, P1), { version: 5 }));
  const badIhl = eth(0x0800, ipv4(udp(1, 2, P1), { ihl: 3 }));
  const badTotal = eth(0x0800, ipv4(udp(1, 2, P1), { totalLength: 12 }));
  const udpLen = eth(0x0800, ipv4(udp(1, 2, P1, 7)));
  const wifi = Buffer.alloc(40);
  const records = [ipHeaderCut, udpHeaderCut, udpCut, badVersion, badIhl, badTotal, udpLen, frame1].map((data) => ({
    data,
  }));
  const { ds, stats, lines } = await read(pcapFile({}, records));
  assert.equal(ds.length, 1);
  assert.equal(ds[0]!.packetNo, 8);
  assert.deepEqual(nonZero(stats), { packets: 8, datagrams: 1, truncatedPacket: 3, badIpHeader: 3, badUdpHeader: 1 });
  let off = 24;
  const offs = records.map((r) => {
    const o = off;
    off += 16 + r.data.length;
    return `0x${o.toString(16)}`;
  });
  assert.deepEqual(lines, [
    `test: capture.pcap: packet 1 (offset ${offs[0]}): truncated IPv4 header`,
    `test: capture.pcap: packet 2 (offset ${offs[1]}): truncated UDP header`,
    `test: capture.pcap: packet 3 (offset ${offs[2]}): UDP payload cut short: 2 of 22 bytes`,
    `test: capture.pcap: packet 4 (offset ${offs[3]}): bad IPv4 header: version 5`,
    `test: capture.pcap: packet 5 (offset ${offs[4]}): bad IPv4 header: header length 12`,
    `test: capture.pcap: packet 6 (offset ${offs[5]}): bad IPv4 header: total length 12 < header length 20`,
    `test: capture.pcap: packet 7 (offset ${offs[6]}): bad UDP header: length 7`,
  ]);
  // An unsupported link type is counted per packet and named.
  const r = await read(pcapFile({ linkType: 105 }, [{ data: wifi }, { data: wifi }]));
  assert.deepEqual(nonZero(r.stats), { packets: 2, unsupportedLinkType: 2 });
  assert.equal(r.lines[0], 'test: capture.pcap: packet 1 (offset 0x18): unsupported link type 105 (IEEE802_11)');
});

test('Ethernet padding and an FCS after a short datagram are not payload', async () => {
  const short = eth(0x0800, ipv4(udp(7, 8, Buffer.from('hi'))));
  const padded = Buffer.concat([short, Buffer.alloc(60 - short.length), Buffer.from('fcs!')]);
  const { ds } = await read(pcapFile({}, [{ data: padded }]));
  assert.equal(ds[0]!.payload.toString(), 'hi');
});

test('non-IP and non-UDP traffic is counted, not an error', async () => {
  const arp = eth(0x0806, Buffer.alloc(28));
  const tcp = eth(0x0800, ipv4(Buffer.alloc(20), { proto: 6 }));
  const icmp6 = eth(0x86dd, ipv6(Buffer.from([128, 0, 0, 0, 0, 1, 0, 1]), { next: 58 }));
  const { ds, stats, lines } = await read(
    pcapFile({}, [{ data: arp }, { data: tcp }, { data: icmp6 }, { data: frame1 }]),
  );
  assert.equal(ds.length, 1);
  assert.deepEqual(nonZero(stats), { packets: 4, datagrams: 1, notIp: 1, notUdp: 2 });
  assert.deepEqual(lines, []);
});

// ---- pcapng

function ts(ns: bigint, unitsPerSec: bigint): bigint {
  return (ns * unitsPerSec) / 1000000000n;
}

test('pcapng: byte order changes between sections, interfaces renumber per section', async () => {
  const raw = ipv4(udp(6343, 6343, P2), { src: '203.0.113.5' });
  const f = Buffer.concat([
    shb(true),
    idb(1, true),
    epb(0, 1700000000000001n, frame1, true),
    shb(false), // big-endian section
    idb(101, false, { tsresol: 9 }),
    epb(0, 1700000002000000003n, raw, false),
    epb(1, 1n, raw, false), // interface 1 does not exist in this section
    shb(true),
    idb(1, true),
    epb(0, 1700000003000000n, frame1, true),
  ]);
  for (const chunk of [1 << 16, 5]) {
    const { ds, stats, lines } = await read(f, 'x.pcapng', chunk);
    assert.deepEqual(
      ds.map((d) => [d.exporter, d.exporterPort, d.receivedNs, d.packetNo]),
      [
        ['192.0.2.1', 2055, 1700000000000001000, 1],
        ['203.0.113.5', 6343, Number(1700000002000000003n), 2],
        ['192.0.2.1', 2055, 1700000003000000000, 4],
      ],
    );
    assert.deepEqual(nonZero(stats), { packets: 3, datagrams: 3, badRecord: 1 });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^test: x\.pcapng: block at offset 0x[0-9a-f]+: packet 3: names interface 1, but the section describes 1$/,
    );
  }
});

test('pcapng: if_tsresol powers of 10 and of 2, if_tsoffset, exact to the ns', async () => {
  const base = 1700000000123456789n;
  const cases: Array<[number | undefined, bigint, number]> = [
    [undefined, ts(base, 1000000n), 1700000000123456000], // default µs
    [6, ts(base, 1000000n), 1700000000123456000],
    [3, ts(base, 1000n), 1700000000123000000],
    [9, base, Number(base)],
    [7, ts(base, 10000000n), Number(1700000000123456700n)], // > 2^53 units: the BigInt path
    [12, 1000123456789n * 1000n + 999n, 1000123456789], // ps (2^64 ps is only 213 days), truncated to ns
    [0x80 | 10, 1700000000n * 1024n + 512n, 1700000000500000000], // 2^-10 s
    [0x80 | 30, 1700000000n * (1n << 30n) + (1n << 29n), 1700000000500000000],
  ];
  for (const [tsresol, units, expect] of cases) {
    const opts = tsresol === undefined ? {} : { tsresol };
    const f = Buffer.concat([shb(), idb(1, true, opts), epb(0, units, frame1)]);
    const { ds, lines } = await read(f, 'x.pcapng');
    assert.deepEqual(lines, []);
    assert.equal(ds[0]!.receivedNs, expect, `if_tsresol ${tsresol}`);
  }
  const off = Buffer.concat([shb(), idb(1, true, { tsoffset: 1000 }), epb(0, 5000000n, frame1)]);
  assert.equal((await read(off, 'x.pcapng')).ds[0]!.receivedNs, 1005e9);
});

test('pcapng: unknown blocks are skipped by length (also ones larger than any chunk), SPB uses interface 0', async () => {
  const big = block(0x00000bad, Buffer.alloc(300000, 0x55)); // custom block
  const isb = block(5, Buffer.alloc(20));
  const f = Buffer.concat([
    shb(),
    block(0x12345678, Buffer.from('unknown block body')),
    idb(1, true, { snaplen: 0 }),
    epb(0, 1700000000000000n, frame1),
    big,
    spb(frame2),
    isb,
  ]);
  for (const chunk of [1 << 16, 4096, 3]) {
    const { ds, stats, lines } = await read(f, 'x.pcapng', chunk);
    assert.deepEqual(lines, []);
    assert.deepEqual(
      ds.map((d) => [d.exporter, d.receivedNs, d.packetNo]),
      [
        ['192.0.2.1', 1700000000000000000, 1],
        ['198.51.100.7', 1700000000000000000, 2], // an SPB has no timestamp: the last one stands in
      ],
    );
    assert.deepEqual(nonZero(stats), { packets: 2, datagrams: 2 });
  }
  // SPB captured length is bounded by the interface snaplen.
  const snap = Buffer.concat([shb(), idb(1, true, { snaplen: 40 }), spb(frame2)]);
  const r = await read(snap, 'x.pcapng');
  assert.deepEqual(nonZero(r.stats), { packets: 1, truncatedPacket: 1 });
});

test('pcapng: bad block lengths, trailing length mismatch, bad byte-order magic, truncation, version', async () => {
  const good = Buffer.concat([shb(), idb(1), epb(0, 1n, frame1)]);
  const bad13 = Buffer.concat([u32(6, true), u32(13, true), Buffer.alloc(8)]);
  const bad8 = Buffer.concat([u32(6, true), u32(8, true), Buffer.alloc(8)]);
  const mismatch = epb(0, 2n, frame2);
  mismatch.writeUInt32LE(mismatch.length + 4, mismatch.length - 4);
  const badBom = shb();
  badBom.writeUInt32LE(0xdeadbeef, 8);
  const v2 = shb(true, 2);
  const cases: Array<[Buffer, RegExp, number]> = [
    [
      Buffer.concat([good, bad13, epb(0, 3n, frame2)]),
      /^test: x\.pcapng: block at offset 0x[0-9a-f]+: bad block length 13 \(block type 0x6\); the file is corrupt from here, stopping$/,
      1,
    ],
    [Buffer.concat([good, bad8]), /bad block length 8 \(block type 0x6\)/, 1],
    [Buffer.concat([good, mismatch]), /block length \d+ does not match the trailing length \d+/, 1],
    [
      Buffer.concat([good, badBom, idb(1), epb(0, 3n, frame2)]),
      /section header with a bad byte-order magic 0xdeadbeef; stopping/,
      1,
    ],
    [
      Buffer.concat([good, epb(0, 2n, frame2)]).subarray(0, good.length + 30),
      /^test: x\.pcapng: block at offset 0x[0-9a-f]+: file ends inside a block \(30 of \d+ bytes\); the rest is lost$/,
      1,
    ],
    [
      Buffer.concat([good, block(0x999, Buffer.alloc(100))]).subarray(0, good.length + 50),
      /file ends inside a block of 112 bytes/,
      1,
    ],
    [Buffer.concat([v2, idb(1), epb(0, 1n, frame1)]), /unsupported pcapng version 2\.0; stopping/, 0],
    [Buffer.concat([shb()]).subarray(0, 20), /file ends inside a block \(20 of 28 bytes\)/, 0],
  ];
  for (const [bytes, msg, n] of cases) {
    for (const chunk of [1 << 16, 6]) {
      const { ds, stats, lines } = await read(bytes, 'x.pcapng', chunk);
      assert.equal(ds.length, n, String(msg));
      assert.equal(stats.truncatedFile, 1, String(msg));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, msg);
    }
  }
});

test('pcapng: EPB whose captured length exceeds the block is skipped, the next one decodes', async () => {
  const bad = epb(0, 1n, frame1);
  bad.writeUInt32LE(5000, 20); // captured length
  const { ds, stats, lines } = await read(Buffer.concat([shb(), idb(1), bad, epb(0, 2n, frame2)]), 'x.pcapng');
  assert.deepEqual(
    ds.map((d) => d.packetNo),
    [2],
  );
  assert.equal(stats.badRecord, 1);
  assert.match(lines[0]!, /packet 1: captured length 5000 exceeds the block/);
});

test('gzip: a compressed capture reads; a cut .gz is a truncated file after what was read', async () => {
  const f = pcapFile(
    {},
    Array.from({ length: 200 }, (_, i) => ({ sec: i, data: i % 2 ? frame1 : frame2 })),
  );
  const gz = gzipSync(f);
  const whole = await read(gz, 'c.pcap.gz');
  assert.equal(whole.ds.length, 200);
  assert.deepEqual(whole.lines, []);
  const cut = await read(gz.subarray(0, Math.floor(gz.length * 0.6)), 'c.pcap.gz', 100);
  assert.ok(cut.ds.length > 0 && cut.ds.length < 200);
  assert.equal(cut.stats.truncatedFile, 1);
  assert.match(
    cut.lines.at(-1)!,
    /^test: c\.pcap\.gz: gzip data ends or is corrupt at uncompressed offset 0x[0-9a-f]+ \(unexpected end of file\)$/,
  );
  await assert.rejects(
    read(Buffer.concat([gz.subarray(0, 10), Buffer.alloc(30, 0x41)]), 'c.gz'),
    /not a pcap or pcapng file \(bad gzip data/,
  );
});

test('stopping early destroys the input stream (| head -1)', async () => {
  const f = pcapFile(
    {},
    Array.from({ length: 5000 }, () => ({ data: frame1 })),
  );
  const stream = Readable.from(chunksOf(f, 1000), { objectMode: false });
  const { log } = memoryLog();
  for await (const b of readCapture({ name: 'x', stream }, log, newCaptureStats())) {
    assert.ok(b.length > 0);
    break;
  }
  assert.equal(stream.destroyed, true);
});

function* chunksOf(b: Buffer, n: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
}

test('batches are bounded', async () => {
  const f = pcapFile(
    {},
    Array.from({ length: 3000 }, () => ({ data: frame1 })),
  );
  const { log } = memoryLog();
  let max = 0;
  let n = 0;
  for await (const b of readCapture({ name: 'x', stream: chunked(f, 1 << 20) }, log, newCaptureStats(), {
    batchSize: 500,
  })) {
    max = Math.max(max, b.length);
    n += b.length;
  }
  assert.equal(n, 3000);
  assert.equal(max, 500);
});

test('a read error mid-file is a FlowmeterError 74 naming the file, after the datagrams before it', async () => {
  const f = pcapFile({}, [{ data: frame1 }, { data: frame2 }]);
  const stream = new Readable({ read() {} });
  stream.push(f.subarray(0, 24 + 16 + frame1.length));
  setImmediate(() =>
    stream.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' })),
  );
  const { log } = memoryLog();
  const got: Datagram[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of readCapture({ name: 'disk.pcap', stream }, log, newCaptureStats())) got.push(...b);
    })(),
    (e: unknown) =>
      e instanceof FlowmeterError && e.kind === 'io' && e.message === 'disk.pcap: read error: EIO: i/o error, read',
  );
  assert.equal(got.length, 1);
});
