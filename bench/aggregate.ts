// flow-aggregate throughput: N flow NDJSON lines (goflow2-shaped, as flow-capture writes them) and a
// 10,000-prefix networks file; `flow-aggregate --ab --ba -n` over them, wall time and peak RSS
// (GNU time), plus the cost of JSON.parse and of the record validator alone for scale. Where
// nfacctd is installed, the same flows as NetFlow v5 in a pcap go through nfacctd
// (pcap_savefile, two print plugins ab/ba, the same networks file) side by side, and the byte
// totals of both are checked to agree. Also: the cost of a line whose keys are already held (the
// flows once and twice), and nfdump's `-A` on the same flows (replayed into nfcapd) as the C
// aggregator on binary records, where both are installed.
// Usage: npx tsc -p . && node dist/bench/aggregate.js [flows, default 1000000]

import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowToJson, flowFromObject, type FlowRecord } from '../lib/flow/record.js';
import { formatIPv4 } from '../lib/net/ip.js';
import { FlowLineScanner } from '../lib/aggregate/scan.js';
import { FlowView } from '../lib/aggregate/view.js';
import { WasmFlowLineScanner } from '../lib/aggregate/scan-wasm.js';
import { rng } from '../test/helpers/prng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const N = Number(process.argv[2] ?? 1_000_000);
const OUT = join(ROOT, 'bench/out/aggregate');
mkdirSync(OUT, { recursive: true });
const T = 1_700_000_000;

const rand = rng(0x9e3779b9);
const u32 = (): number => Math.floor(rand() * 2 ** 32);

// 10,000 prefixes as in a Hydra/pmacct billing set-up: 9,500 subscriber /24s inside
// 10.0.0.0/10 (plus the /10 itself) and 499 "zone" prefixes (peering, IX, local content) /12-/24;
// the rest of the Internet is unmatched (0.0.0.0/0).
const nets: string[] = ['10.0.0.0/10'];
const subNets: number[] = [];
const seen = new Set<number>();
while (subNets.length < 9500) {
  const n = (0x0a000000 | (Math.floor(rand() * 16384) << 8)) >>> 0;
  if (seen.has(n)) continue;
  seen.add(n);
  subNets.push(n);
  nets.push(`${formatIPv4(n)}/24`);
}
const remoteNets: number[] = [];
while (nets.length < 10_000) {
  const len = 12 + Math.floor(rand() * 13);
  const a = (u32() & (-1 << (32 - len))) >>> 0;
  if (a >>> 24 === 10 || a >>> 24 === 0 || a >>> 24 >= 224) continue;
  remoteNets.push(a);
  nets.push(`${formatIPv4(a)}/${len}`);
}
const netsFile = join(OUT, 'networks.lst');
writeFileSync(netsFile, nets.join('\n') + '\n');

// Flows: 50,000 subscriber hosts; 30% of the remote ends inside a zone prefix (skewed toward a
// few), 70% anywhere on the Internet.
const subs: number[] = [];
for (let i = 0; i < 50_000; i++) subs.push((subNets[i % subNets.length]! | (1 + Math.floor(rand() * 254))) >>> 0);
const flows: Array<{
  src: number;
  dst: number;
  bytes: number;
  packets: number;
  proto: number;
  sport: number;
  dport: number;
  start: number;
}> = [];
const flowsFile = join(OUT, `flows-${N}.ndjson`);
const pcapFile = join(OUT, `flows-${N}-v5.pcap`);
const fresh = !existsSync(flowsFile) || !existsSync(pcapFile);

async function writeInputs(): Promise<void> {
  const out = createWriteStream(flowsFile);
  let buf = '';
  for (let i = 0; i < N; i++) {
    const sub = subs[Math.floor(rand() * subs.length)]!;
    const rem =
      rand() < 0.3
        ? (remoteNets[Math.floor(rand() ** 3 * remoteNets.length)]! | (u32() & 0xff)) >>> 0
        : (u32() | 0x01000000) >>> 0;
    const up = rand() < 0.5;
    const f = {
      src: up ? sub : rem >>> 0,
      dst: up ? rem >>> 0 : sub,
      bytes: 40 + Math.floor(rand() * 1_000_000),
      packets: 1 + Math.floor(rand() * 1000),
      proto: rand() < 0.7 ? 6 : 17,
      sport: Math.floor(rand() * 65536),
      dport: [80, 443, 53, 123][Math.floor(rand() * 4)]!,
      start: T + Math.floor(i / 1000),
    };
    flows.push(f);
    const r: FlowRecord = {
      type: 'NETFLOW_V5',
      time_received_ns: (f.start + 60) * 1e9,
      sequence_num: i,
      sampling_rate: 0,
      sampler_address: '192.0.2.1',
      time_flow_start_ns: f.start * 1e9,
      time_flow_end_ns: (f.start + 30) * 1e9,
      bytes: f.bytes,
      packets: f.packets,
      src_addr: formatIPv4(f.src),
      dst_addr: formatIPv4(f.dst),
      etype: 0x0800,
      proto: f.proto,
      src_port: f.sport,
      dst_port: f.dport,
      in_if: 1,
      out_if: 2,
      ip_tos: 0,
      tcp_flags: 0x18,
      src_as: 0,
      dst_as: 0,
      next_hop: '',
      src_net: '0.0.0.0/0',
      dst_net: '0.0.0.0/0',
    };
    buf += flowToJson(r) + '\n';
    if (buf.length >= 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  // The same flows as NetFlow v5 export datagrams (30 records each) in a pcap for nfacctd.
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(101, 20); // LINKTYPE_RAW: IPv4 packets
  parts.push(gh);
  for (let i = 0, seq = 0; i < flows.length; i += 30) {
    const batch = flows.slice(i, i + 30);
    const nf = Buffer.alloc(24 + 48 * batch.length);
    nf.writeUInt16BE(5, 0);
    nf.writeUInt16BE(batch.length, 2);
    nf.writeUInt32BE(3_600_000, 4);
    nf.writeUInt32BE(T + 3600, 8);
    nf.writeUInt32BE(seq, 16);
    seq += batch.length;
    batch.forEach((f, k) => {
      const o = 24 + 48 * k;
      nf.writeUInt32BE(f.src, o);
      nf.writeUInt32BE(f.dst, o + 4);
      nf.writeUInt16BE(1, o + 12);
      nf.writeUInt16BE(2, o + 14);
      nf.writeUInt32BE(f.packets, o + 16);
      nf.writeUInt32BE(f.bytes, o + 20);
      nf.writeUInt32BE(3_600_000 - (T + 3600 - f.start) * 1000, o + 24);
      nf.writeUInt32BE(3_600_000 - (T + 3600 - f.start - 30) * 1000, o + 28);
      nf.writeUInt16BE(f.sport, o + 32);
      nf.writeUInt16BE(f.dport, o + 34);
      nf[o + 37] = 0x18;
      nf[o + 38] = f.proto;
    });
    const ip = Buffer.alloc(28);
    ip[0] = 0x45;
    ip.writeUInt16BE(28 + nf.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    ip.writeUInt32BE(0xc0000201, 12); // 192.0.2.1
    ip.writeUInt32BE(0xc0000202, 16);
    ip.writeUInt16BE(2055, 20);
    ip.writeUInt16BE(2055, 22);
    ip.writeUInt16BE(8 + nf.length, 24);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(T + 3600, 0);
    rh.writeUInt32LE(ip.length + nf.length, 8);
    rh.writeUInt32LE(ip.length + nf.length, 12);
    parts.push(rh, ip, nf);
  }
  writeFileSync(pcapFile, Buffer.concat(parts));
}

function timed(
  cmd: string,
  args: string[],
): { secs: number; cpu: number; rssMB: number; status: number | null; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = [...r.stderr.matchAll(/^([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)$/gm)].pop();
  const [secs, user, sys, kb] = m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : [NaN, NaN, NaN, NaN];
  return { secs: secs!, cpu: user! + sys!, rssMB: kb! / 1024, status: r.status, stderr: r.stderr };
}

/** The one line printed per timed run: wall and CPU (user+sys; the fairer figure on a shared
 *  machine) throughput, and peak RSS. */
function line(label: string, r: { secs: number; cpu: number; rssMB: number }): string {
  return `${label}: ${r.secs.toFixed(2)} s wall (${(N / r.secs / 1e3).toFixed(0)} k flows/s), ${r.cpu.toFixed(2)} s CPU (${(N / r.cpu / 1e3).toFixed(0)} k flows/CPU-s), peak RSS ${r.rssMB.toFixed(0)} MB`;
}

function sumBytes(file: string, key = 'bytes'): number {
  let s = 0;
  for (const l of readFileSync(file, 'utf8').split('\n'))
    if (l.trim() !== '') s += (JSON.parse(l) as Record<string, number>)[key]!;
  return s;
}

/** ns per line of a scanner over `bytes` (whole lines), copied into `room` a chunk at a time
 *  when given (the WebAssembly scanner reads only its own buffers). Every line must be taken. */
function scanCost(
  scanner: { scan(b: Buffer, p: number, end: number): number },
  bytes: Buffer,
  room: Buffer | undefined,
): number {
  let lines = 0;
  let ns = 0;
  for (let from = 0; from < bytes.length;) {
    const to = room ? bytes.lastIndexOf(10, Math.min(bytes.length, from + room.length) - 1) + 1 : bytes.length;
    if (to <= from) throw new Error('a bench line longer than the scanner buffer');
    const b = room ? room.subarray(0, to - from) : bytes.subarray(from, to);
    if (room) bytes.copy(room, 0, from, to);
    const t = process.hrtime.bigint();
    for (let p = 0; p < b.length;) {
      const nl = scanner.scan(b, p, b.length);
      if (nl < 0) throw new Error('a scanner refused a bench line');
      lines++;
      p = nl + 1;
    }
    ns += Number(process.hrtime.bigint() - t);
    from = to;
  }
  return ns / lines;
}

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** What a line costs once its keys are held: --ab --ba over the flows once and twice (alternating,
 *  best of RUNS each); the second copy adds no key, so the difference is the per-line cost of
 *  reading, scanning, two LPM lookups and two counter updates, without key creation or output
 *  growth. A run on a live collector sees mostly such lines. */
function steadyState(bin: string, ab: string, ba: string, onceAb: number): void {
  const RUNS = 3;
  const args = ['-j', '1', '--ab', '--ba', '-n', netsFile, '-o', `ab=${ab}`, '-o', `ba=${ba}`];
  let once = Infinity;
  let twice = Infinity;
  for (let i = 0; i < RUNS; i++) {
    for (const files of [[flowsFile], [flowsFile, flowsFile]]) {
      const r = timed(process.execPath, [bin, ...args, ...files]);
      if (r.status !== 0) throw new Error(`steady-state run failed: ${r.stderr}`);
      if (files.length === 1) once = Math.min(once, r.cpu);
      else twice = Math.min(twice, r.cpu);
    }
  }
  const twiceAb = sumBytes(ab);
  if (twiceAb !== 2 * onceAb) throw new Error(`the flows twice gave ab bytes ${twiceAb}, not 2 × ${onceAb}`);
  const extra = twice - once;
  console.log(
    `flow-aggregate --ab --ba -n, the flows once vs twice (best of ${RUNS} CPU each: ${once.toFixed(2)} s, ${twice.toFixed(2)} s): ` +
      `the second ${N} lines over keys already held took ${extra.toFixed(2)} CPU-s (${(N / extra / 1e3).toFixed(0)} k lines/CPU-s); ab bytes doubled exactly`,
  );
}

/** nfdump (C, binary records) aggregating the same flows, where nfcapd and nfdump are installed:
 *  the v5 pcap is replayed to nfcapd over UDP (Debian's nfcapd cannot read pcap files), then
 *  `nfdump -A` aggregates nfcapd's file. It has no networks file, so its keys are the nearest
 *  it has: srcip (the same keys as `-a src_host`, checked: rows and bytes) and srcip,dstip4/24. */
function nfdumpPeer(): void {
  if (!have('nfcapd') || !have('nfdump')) {
    console.log('nfdump: not installed, skipped');
    return;
  }
  const dir = join(OUT, 'nfcapd');
  spawnSync('rm', ['-rf', dir]);
  mkdirSync(dir);
  const port = String(29056);
  const nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', port, '-w', dir, '-t', '3600', '-B', '33554432'], {
    stdio: 'ignore',
  });
  spawnSync('sleep', ['1']);
  const replay = spawnSync(process.execPath, [join(ROOT, 'dist/bench/replay-udp.js'), pcapFile, '127.0.0.1', port], {
    encoding: 'utf8',
  });
  spawnSync('sleep', ['2']);
  nfcapd.kill('SIGTERM');
  spawnSync('sleep', ['1']);
  const info = spawnSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' }).stdout;
  const stored = Number(/^Flows: (\d+)/m.exec(info)?.[1] ?? 0);
  console.log(`nfdump: nfcapd stored ${stored} of ${N} flows (UDP replay ${replay.stdout.trim()})`);
  if (stored !== N) {
    console.log('  not all flows reached nfcapd (kernel drops on replay); nfdump figures skipped');
    return;
  }
  const fmt = 'fmt:%sa %da %pkt %byt %fl';
  const src = join(OUT, 'nfdump-srcip.txt');
  for (const [label, keys, out] of [
    ['nfdump -A srcip', 'srcip', src],
    ['nfdump -A srcip,dstip4/24', 'srcip,dstip4/24', join(OUT, 'nfdump-srcip-dst24.txt')],
  ] as const) {
    const r = timed('sh', ['-c', `nfdump -R "${dir}" -A ${keys} -N -q -o "${fmt}" > "${out}"`]);
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
    const rows = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '').length;
    console.log(line(`${label} (${rows} aggregates; reads binary records, no text to parse)`, r));
  }
  const rows = readFileSync(src, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const bytes = rows.reduce((s, l) => s + Number(l.trim().split(/\s+/)[3]), 0);
  const ours = join(OUT, 'fa-src.ndjson');
  const ourRows = readFileSync(ours, 'utf8').split('\n').length - 1;
  const ourBytes = sumBytes(ours);
  console.log(
    `  srcip: nfdump ${rows.length} rows, ${bytes} bytes; flow-aggregate -a src_host ${ourRows} rows, ${ourBytes} bytes: ` +
      (rows.length === ourRows && bytes === ourBytes ? 'equal' : 'DIFFERENT'),
  );
}

/** --ab --ba -n with 1, 2 and (where the cores exist) 4 and 8 worker threads: wall, CPU, peak
 *  RSS, the speed-up over -j 1, the outputs checked byte-identical, and the serial fraction
 *  (Amdahl) the -j 2 speed-up implies, with the speed-up it predicts on 16 cores. Then the
 *  Hydra pipeline, flow-capture -r on the v5 pcap into flow-aggregate -j 1 and -j 2. */
function jobsScaling(bin: string): void {
  const cores = availableParallelism();
  const counts = [1, 2, 4, 8].filter((j) => j <= Math.max(2, cores));
  const base = ['--ab', '--ba', '-n', netsFile];
  let one: { secs: number; cpu: number; rssMB: number } | undefined;
  let ref: Buffer | undefined;
  for (const j of counts) {
    const ab = join(OUT, `fa-j${j}-ab.ndjson`);
    const r = timed(process.execPath, [
      bin,
      '-j',
      String(j),
      ...base,
      '-o',
      `ab=${ab}`,
      '-o',
      `ba=${join(OUT, `fa-j${j}-ba.ndjson`)}`,
      flowsFile,
    ]);
    if (r.status !== 0) throw new Error(`-j ${j} failed: ${r.stderr}`);
    const out = readFileSync(ab);
    ref ??= out;
    one ??= r;
    const same =
      out.equals(ref) &&
      readFileSync(join(OUT, `fa-j${j}-ba.ndjson`)).equals(readFileSync(join(OUT, 'fa-j1-ba.ndjson')));
    console.log(
      line(`flow-aggregate -j ${j} --ab --ba -n`, r) +
        (j === 1
          ? ''
          : `; ${(one.secs / r.secs).toFixed(2)}× -j 1's speed, ${(r.rssMB / one.rssMB).toFixed(2)}× its RSS; output ${same ? 'byte-identical' : 'DIFFERENT'}`),
    );
    if (j === 2) {
      // Amdahl's serial fraction twice: from wall (right on an idle machine) and from CPU (each
      // worker repeats a fraction f of one thread's work and shares the rest: CPU_2 = (1 + f)·CPU_1;
      // steadier on a loaded one)
      const fromWall = Math.min(1, Math.max(0, 2 / (one.secs / r.secs) - 1));
      const fromCpu = Math.min(1, Math.max(0, r.cpu / one.cpu - 1));
      const at16 = (f: number): string => (1 / (f + (1 - f) / 16)).toFixed(1);
      console.log(
        `  serial fraction implied by -j 2 (Amdahl): from wall ${(fromWall * 100).toFixed(0)} % (16 cores: ${at16(fromWall)}×), ` +
          `from CPU ${(fromCpu * 100).toFixed(0)} % (16 cores: ${at16(fromCpu)}×)`,
      );
    }
    if (cores < 2) break;
  }
  const capture = join(ROOT, 'bin/flow-capture.js');
  for (const j of [1, 2]) {
    const r = timed('sh', [
      '-c',
      `"${process.execPath}" "${capture}" -r "${pcapFile}" | "${process.execPath}" "${bin}" -j ${j} --ab --ba -n "${netsFile}" -o ab=/dev/null -o ba=/dev/null`,
    ]);
    if (r.status !== 0) throw new Error(`pipeline -j ${j} failed: ${r.stderr}`);
    console.log(line(`flow-capture -r v5.pcap | flow-aggregate -j ${j} --ab --ba -n (RSS of the largest process)`, r));
  }
}

/** Reading alone (-a none, one thread) from the file, from a stdin pipe and from a FIFO. */
function pipeVsFile(bin: string): void {
  const agg = `"${process.execPath}" "${bin}" -j 1 -a none`;
  const file = timed('sh', ['-c', `${agg} "${flowsFile}" > /dev/null`]);
  const pipe = timed('sh', ['-c', `cat "${flowsFile}" | ${agg} > /dev/null`]);
  const fifo = timed('bash', ['-c', `${agg} <(cat "${flowsFile}") > /dev/null`]);
  for (const [label, r] of [
    ['file', file],
    ['stdin pipe', pipe],
    ['FIFO <(…)', fifo],
  ] as const) {
    if (r.status !== 0) throw new Error(`-a none from a ${label} failed: ${r.stderr}`);
    console.log(
      line(
        `flow-aggregate -j 1 -a none from a ${label}${label === 'file' ? '' : ` (with cat's CPU): ${(r.secs / file.secs).toFixed(2)}× the file's wall`}`,
        r,
      ),
    );
  }
}

async function main(): Promise<void> {
  if (fresh) await writeInputs();
  const size = statSync(flowsFile).size;
  console.log(
    `input: ${N} flows, ${(size / 1e6).toFixed(0)} MB NDJSON (${(size / N).toFixed(0)} bytes/line); ${nets.length} prefixes`,
  );

  // Cost of the pieces on a sample, in-process
  const sample = readFileSync(flowsFile, 'utf8')
    .slice(0, 100_000_000)
    .split('\n')
    .slice(0, 200_000)
    .filter((l) => l !== '');
  let t = process.hrtime.bigint();
  let x = 0;
  for (const l of sample) x += (JSON.parse(l) as { bytes: number }).bytes;
  const parseNs = Number(process.hrtime.bigint() - t) / sample.length;
  t = process.hrtime.bigint();
  for (const l of sample) x += Number(flowFromObject(JSON.parse(l) as Record<string, unknown>).bytes);
  const validateNs = Number(process.hrtime.bigint() - t) / sample.length;
  const bytes = Buffer.from(sample.join('\n') + '\n');
  const jsNs = scanCost(new FlowLineScanner(new FlowView()), bytes, undefined);
  const wasm = new WasmFlowLineScanner(new FlowView());
  const wasmNs = scanCost({ scan: (b, p, e) => wasm.scanWasm(b, p, e) }, bytes, wasm.chunkBuffers[0]);
  void x;
  console.log(
    `JSON.parse alone: ${(1e9 / parseNs / 1e6).toFixed(2)} M lines/s; JSON.parse + flowFromObject: ${(1e9 / validateNs / 1e6).toFixed(2)} M lines/s; ` +
      `byte scanners: JavaScript (scan.ts) ${(1e9 / jsNs / 1e6).toFixed(2)} M lines/s, WebAssembly (what flow-aggregate uses first) ${(1e9 / wasmNs / 1e6).toFixed(2)} M lines/s`,
  );

  const bin = join(ROOT, 'bin/flow-aggregate.js');
  const ab = join(OUT, 'fa-ab.ndjson');
  const ba = join(OUT, 'fa-ba.ndjson');
  const billing = join(OUT, 'billing.conf');
  writeFileSync(
    billing,
    [
      'aggregate[ab]: src_host, dst_net, dst_mask',
      'aggregate[ba]: src_net, src_mask, dst_host',
      'aggregate_filter[ab]: src net 10.0.0.0/10',
      'aggregate_filter[ba]: dst net 10.0.0.0/10',
      `networks_file: ${netsFile}`,
    ].join('\n') + '\n',
  );
  jobsScaling(bin);
  pipeVsFile(bin);
  const runs: Array<[string, string[]]> = [
    [
      'flow-aggregate -c billing.conf (ab/ba with subscriber filters)',
      [
        '-c',
        billing,
        '-o',
        `ab=${join(OUT, 'fa-bill-ab.ndjson')}`,
        '-o',
        `ba=${join(OUT, 'fa-bill-ba.ndjson')}`,
        flowsFile,
      ],
    ],
    [
      'flow-aggregate --ab --ba -n nets (10,000 prefixes)',
      ['--ab', '--ba', '-n', netsFile, '-o', `ab=${ab}`, '-o', `ba=${ba}`, flowsFile],
    ],
    ['flow-aggregate -a src_host (no networks)', ['-a', 'src_host', '-o', join(OUT, 'fa-src.ndjson'), flowsFile]],
  ];
  for (const [label, args] of runs) {
    const r = timed(process.execPath, [bin, '-j', '1', ...args]); // one thread, as the figures before --jobs
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
    console.log(line(label, r));
  }
  const abRows = readFileSync(ab, 'utf8').split('\n').length - 1;
  const ourAb = sumBytes(ab);
  console.log(`  ab: ${abRows} aggregates, ba: ${readFileSync(ba, 'utf8').split('\n').length - 1} aggregates`);
  steadyState(bin, ab, ba, ourAb);
  nfdumpPeer();

  if (!have('nfacctd')) {
    console.log('nfacctd: not installed, skipped');
    return;
  }
  const conf = join(OUT, 'nfacctd.conf');
  writeFileSync(
    conf,
    [
      'daemonize: false',
      `pcap_savefile: ${pcapFile}`,
      'plugins: print[ab], print[ba]',
      'aggregate[ab]: src_host, dst_net, dst_mask',
      'aggregate[ba]: src_net, src_mask, dst_host',
      `networks_file: ${netsFile}`,
      'nfacctd_net: file',
      'print_output: json',
      'print_refresh_time: 3600',
      'print_cache_entries: 1048573',
      'print_output_file_append: true',
      'plugin_buffer_size: 10240',
      'plugin_pipe_size: 102400000',
      `print_output_file[ab]: ${join(OUT, 'pm-ab.json')}`,
      `print_output_file[ba]: ${join(OUT, 'pm-ba.json')}`,
    ].join('\n') + '\n',
  );
  for (const f of ['pm-ab.json', 'pm-ba.json']) if (existsSync(join(OUT, f))) writeFileSync(join(OUT, f), '');
  const r = timed('nfacctd', ['-f', conf]);
  if (r.status !== 0) throw new Error(`nfacctd failed: ${r.stderr}`);
  const pmAb = existsSync(join(OUT, 'pm-ab.json')) ? sumBytes(join(OUT, 'pm-ab.json')) : 0;
  console.log(
    line('nfacctd (pcap_savefile, print[ab] + print[ba], same networks file; RSS of the largest process)', r),
  );
  const pmRows = existsSync(join(OUT, 'pm-ab.json'))
    ? readFileSync(join(OUT, 'pm-ab.json'), 'utf8').split('\n').length - 1
    : 0;
  console.log(
    `  ab bytes: nfacctd ${pmAb}, flow-aggregate ${ourAb}: ` +
      (pmAb === ourAb
        ? 'equal'
        : `nfacctd accounted ${((1 - pmAb / ourAb) * 100).toFixed(1)}% less (its plugins drop data when the pcap is replayed at full speed)`) +
      `; rows: nfacctd ${pmRows}, flow-aggregate ${abRows}`,
  );
}

await main();
