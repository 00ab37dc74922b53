// Sustained UDP receive: how many flows/s does `flow-capture -l` keep with zero kernel drops and
// zero queue drops while writing NDJSON to a file? The sender is a small C program
// (bench/udp-sender.c, sendmmsg, paced) on another core; the collector is pinned to one core with
// taskset. Each step sends NetFlow v5 datagrams of 30 flows for SECONDS at a rate, then SIGTERM;
// the collector's final stats line says what it received and dropped. A smaller queue than the
// default (8 MiB, about 0.3 s of traffic at 500k flows/s) makes "falling behind" show up as
// queue drops within the step instead of hiding in a large buffer.
//
// Run: npm run build && [LIVE_OUT=rotate] node dist/bench/live-udp.js [SECONDS] [RATE...]
//   (LIVE_OUT=rotate: -w DIR instead of stdout redirected to a file)
//   e.g. node dist/bench/live-udp.js 10 100000 200000 300000 400000 500000

import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  openSync,
  closeSync,
  writeFileSync,
  statSync,
  rmSync,
  readFileSync,
  readdirSync,
} from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLOWS_PER_DATAGRAM = 30;
/** LIVE_OUT=rotate: the collector writes with -w DIR --rotate 3600 instead of to stdout. */
const ROTATE = process.env.LIVE_OUT === 'rotate';

function v5Datagram(): Buffer {
  const b = Buffer.alloc(24 + 48 * FLOWS_PER_DATAGRAM);
  const now = Math.floor(Date.now() / 1000);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(FLOWS_PER_DATAGRAM, 2);
  b.writeUInt32BE(3_600_000, 4); // sysUptime ms
  b.writeUInt32BE(now, 8);
  b.writeUInt32BE(0, 12);
  b.writeUInt32BE(0, 16); // flow_sequence (the sender advances it)
  for (let i = 0; i < FLOWS_PER_DATAGRAM; i++) {
    const o = 24 + 48 * i;
    b.writeUInt32BE(0x0a000001 + i, o); // 10.0.0.1+i
    b.writeUInt32BE(0xc0a80001 + i * 7, o + 4); // 192.168.0.x
    b.writeUInt32BE(0x0a0000fe, o + 8);
    b.writeUInt16BE(1 + (i % 4), o + 12);
    b.writeUInt16BE(2, o + 14);
    b.writeUInt32BE(10 + i, o + 16); // packets
    b.writeUInt32BE(1500 * (10 + i), o + 20); // bytes
    b.writeUInt32BE(3_500_000, o + 24); // first
    b.writeUInt32BE(3_590_000, o + 28); // last
    b.writeUInt16BE(40000 + i, o + 32);
    b.writeUInt16BE(443, o + 34);
    b[o + 37] = 0x18;
    b[o + 38] = 6;
    b.writeUInt16BE(64500, o + 40);
    b.writeUInt16BE(64501, o + 42);
    b[o + 44] = 24;
    b[o + 45] = 16;
  }
  return b;
}

interface Step {
  rate: number;
  sent: number;
  datagrams: number;
  records: number;
  kernelDrops: number;
  queueDrops: number;
  queueMax: number;
  outBytes: number;
  ok: boolean;
  cpuSec: number;
}

/** utime + stime of a process (follows taskset's exec: same pid). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // clock ticks, USER_HZ = 100 on Linux
}

function stat(line: string, key: string): number {
  const m = new RegExp(`\\b${key}=(\\d+)`).exec(line);
  return m ? Number(m[1]) : NaN;
}

async function step(
  rate: number,
  seconds: number,
  sender: string,
  payload: string,
  dir: string,
  haveTaskset: boolean,
): Promise<Step> {
  const outPath = join(dir, `out-${rate}.ndjson`);
  // stdout redirected to a file is written synchronously by Node (a disk stall stalls the
  // receive loop); -w DIR writes through async file handles, as a production set-up would
  const rotDir = join(dir, `rot-${rate}`);
  if (ROTATE) mkdirSync(rotDir);
  const out = openSync(outPath, 'w');
  const pin = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
    haveTaskset ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  const outArgs = ROTATE ? ['-w', rotDir, '--rotate', '3600'] : [];
  const [cmd, args] = pin(0, process.execPath, [
    join(ROOT, 'bin/flow-capture.js'),
    '-v',
    '-l',
    '127.0.0.1:0',
    '--queue-bytes',
    String(8 << 20),
    ...outArgs,
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', out, 'pipe'] });
  let err = '';
  const stderr = child.stderr!;
  stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    stderr.on('data', (d: string) => {
      err += d;
      const m = /listening on [0-9.]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`collector exited: ${err}`)));
  });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const cpuAtStart = cpuSeconds(child.pid!);
  const pps = Math.ceil(rate / FLOWS_PER_DATAGRAM);
  const [scmd, sargs] = pin(1, sender, [payload, '127.0.0.1', String(port), String(pps), String(seconds)]);
  const sOut = execFileSync(scmd, sargs, { encoding: 'utf8' });
  const sent = stat(sOut, 'sent');
  // CPU the collector used while receiving (user + system, from /proc): cost per flow, independent
  // of how much of the core other processes on a shared machine took
  const cpuSec = cpuSeconds(child.pid!) - cpuAtStart;
  child.kill('SIGTERM');
  await exited;
  closeSync(out);
  const final = err.split('\n').find((l) => l.includes('final stats ')) ?? '';
  const s: Step = {
    rate,
    sent,
    datagrams: stat(final, 'datagrams'),
    records: stat(final, 'records'),
    kernelDrops: stat(final, 'kernel_drops'),
    queueDrops: stat(final, 'queue_drops'),
    queueMax: stat(final, 'queue_max_bytes'),
    outBytes:
      statSync(outPath).size +
      (ROTATE ? readdirSync(rotDir).reduce((n, f) => n + statSync(join(rotDir, f)).size, 0) : 0),
    ok: false,
    cpuSec,
  };
  s.ok = s.datagrams === sent && s.kernelDrops === 0 && s.queueDrops === 0 && s.records === sent * FLOWS_PER_DATAGRAM;
  rmSync(outPath);
  rmSync(rotDir, { recursive: true, force: true });
  return s;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const rates = process.argv.slice(3).map(Number);
  if (rates.length === 0) rates.push(100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 800_000);
  const dir = mkdtempSync(join(tmpdir(), 'flowmeter-bench-'));
  const sender = join(dir, 'udp-sender');
  execFileSync('gcc', ['-O2', '-o', sender, join(ROOT, 'bench/udp-sender.c')]);
  const payload = join(dir, 'v5.bin');
  writeFileSync(payload, v5Datagram());
  let haveTaskset = true;
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
  } catch {
    haveTaskset = false;
  }
  console.log(
    `# flow-capture live receive, NetFlow v5 x${FLOWS_PER_DATAGRAM} flows/datagram, ${seconds} s per step, output ${ROTATE ? '-w DIR' : 'stdout to a file'}, ` +
      `collector ${haveTaskset ? 'pinned to cpu 0, sender to cpu 1' : 'not pinned'} (${cpus().length} cpus, ${cpus()[0]?.model ?? ''})`,
  );
  console.log(
    'rate_flows_s\tsent_dgrams\trecv_dgrams\trecords\tkernel_drops\tqueue_drops\tqueue_max_bytes\tndjson_MB\tcpu_s\tus_per_flow\tkept_up',
  );
  let best = 0;
  const costs: number[] = [];
  for (const rate of rates) {
    const s = await step(rate, seconds, sender, payload, dir, haveTaskset);
    console.log(
      `${rate}\t${s.sent}\t${s.datagrams}\t${s.records}\t${s.kernelDrops}\t${s.queueDrops}\t${s.queueMax}\t${(s.outBytes / 1e6).toFixed(1)}\t${s.cpuSec.toFixed(2)}\t${((s.cpuSec * 1e6) / s.records).toFixed(2)}\t${s.ok ? 'yes' : 'NO'}`,
    );
    if (s.records > 0) costs.push((s.cpuSec * 1e6) / s.records);
    if (s.ok) best = Math.max(best, rate);
  }
  console.log(`# highest rate kept with zero kernel and queue drops: ${best} flows/s`);
  if (costs.length > 0) {
    const us = Math.min(...costs);
    console.log(
      `# collector CPU per flow (receive, decode, NDJSON, write): ${us.toFixed(2)} us at best => ${Math.round(1e6 / us)} flows/s on a whole core`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
