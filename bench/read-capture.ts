// Micro benchmark for readCapture: generates a large capture (classic pcap and pcapng, Ethernet/
// IPv4/UDP with some TCP and IPv6, a share of fragmented datagrams), then reads it back and
// prints datagrams/s, MB/s and peak RSS. Never run by npm test.
//   node dist/bench/read-capture.js [--packets N] [--size BYTES] [--keep DIR]
// Each file is read in a child process (--read FILE) so peak RSS is the reader's alone.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCapture, newCaptureStats, formatCaptureStats } from '../lib/capture/pcap-file.js';
import { Log } from '../lib/cli/log.js';
import { epb, eth, idb, ipv4, ipv6, pcapHeader, pcapRecord, shb, udp } from '../test/helpers/pcap-build.js';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '1400' },
    keep: { type: 'string' },
    read: { type: 'string' },
    label: { type: 'string', default: '' },
  },
});
const N = Number(values.packets);
const SIZE = Number(values.size);

function frames(): Buffer[] {
  const p = Buffer.alloc(SIZE, 0x5a);
  const out: Buffer[] = [];
  // 16 exporters, IPv4 datagrams mostly; one TCP segment and one IPv6 datagram per 20.
  for (let i = 0; i < 18; i++) out.push(eth(0x0800, ipv4(udp(2055, 2055, p), { src: `10.0.0.${i % 16}`, id: i })));
  out.push(eth(0x0800, ipv4(Buffer.alloc(20 + 512), { proto: 6 })));
  out.push(eth(0x86dd, ipv6(udp(4739, 4739, p), { src: '2001:db8::7' })));
  return out;
}

/** 2 fragments of a 3000-byte datagram, every 1000 packets (template-sized exports). */
function fragmentPair(id: number): Buffer[] {
  const d = udp(2055, 2055, Buffer.alloc(3000, 0x33));
  return [
    eth(0x0800, ipv4(d.subarray(0, 1480), { id, flags: 1, src: '10.0.1.1' })),
    eth(0x0800, ipv4(d.subarray(1480), { id, fragOff: 185, src: '10.0.1.1' })),
  ];
}

async function write(path: string, ng: boolean): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const put = async (b: Buffer) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  await put(ng ? Buffer.concat([shb(), idb(1, true, { tsresol: 9 })]) : pcapHeader({ snaplen: 262144 }));
  const fs = frames();
  const batch: Buffer[] = [];
  let t = 1700000000n * 1000000000n;
  for (let i = 0; i < N; i++) {
    const list = i % 1000 === 999 ? fragmentPair(i & 0xffff) : [fs[i % fs.length]!];
    for (const f of list) {
      t += 1000n;
      batch.push(
        ng ? epb(0, t, f) : pcapRecord({ sec: Number(t / 1000000000n), frac: Number((t / 1000n) % 1000000n), data: f }),
      );
    }
    if (batch.length >= 256) await put(Buffer.concat(batch.splice(0)));
  }
  await put(Buffer.concat(batch));
  out.end();
  await once(out, 'finish');
}

async function measure(path: string, label: string): Promise<void> {
  const log = new Log('bench', process.stderr);
  const stats = newCaptureStats();
  const bytes = statSync(path).size;
  let payload = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of readCapture(
    { name: path, stream: createReadStream(path, { highWaterMark: 1 << 16 }) },
    log,
    stats,
  )) {
    for (const d of b) payload += d.payload.length;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${label.padEnd(7)} ${(bytes / 1e6).toFixed(0).padStart(5)} MB file  ${stats.datagrams} datagrams in ${s.toFixed(2)} s: ` +
      `${(stats.datagrams / s / 1e6).toFixed(2)} M datagrams/s, ${(bytes / s / 1e6).toFixed(0)} MB/s, payload ${(payload / 1e6).toFixed(0)} MB, peak RSS ${rssMb.toFixed(0)} MB`,
  );
  console.log(`        ${formatCaptureStats(stats)}`);
}

if (values.read !== undefined) {
  await measure(values.read, values.label);
} else {
  const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'flowmeter-bench-'));
  try {
    const pcap = join(dir, 'big.pcap');
    const pcapng = join(dir, 'big.pcapng');
    await write(pcap, false);
    await write(pcapng, true);
    console.log(`readCapture, ${N} packets of ${SIZE}-byte UDP payloads (node ${process.version})`);
    const self = fileURLToPath(import.meta.url);
    for (const [file, label] of [
      [pcap, 'pcap'],
      [pcapng, 'pcapng'],
    ] as const) {
      process.stdout.write(
        execFileSync(process.execPath, [self, '--read', file, '--label', label], { encoding: 'utf8' }),
      );
    }
  } finally {
    if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
