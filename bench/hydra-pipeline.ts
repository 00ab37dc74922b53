// The Hydra billing job against pmacct's nfacctd with memory plugins, side by side on one NetFlow
// v9 capture (issue 20):
//   (a) flow-capture -r PCAP | flow-aggregate --ab --ba -n NETS -o ab=… -o ba=…   (stdin pipe)
//   (b) flow-aggregate --ab --ba -n NETS -o ab=… -o ba=… <(flow-capture -r PCAP)   (a FIFO)
//   (c) nfacctd, pcap_savefile of the same capture, plugins memory[ab] + memory[ba] with the same
//       keys and networks file (nfacctd_net: file), pools, buckets and plugin pipes tuned so that
//       nothing is dropped; the totals read with `pmacct -p PIPE -s -O json`.
// Wall, CPU (user+sys of every process) and peak RSS summed over the processes of each side; the
// ab and ba byte totals and row counts of ours and nfacctd's must be equal (printed; exit 1 if not).
// Usage: npx tsc -p . && node dist/bench/hydra-pipeline.js [FLOWS, default 1000000] [RUNS, default 1]
// nfacctd's queue from core to plugins: ZeroMQ by default (NFACCTD_PIPE=zmq, profile xlarge, no high
// water mark: nothing is dropped, the queue grows in memory instead); NFACCTD_PIPE=ring uses the
// home-grown shared-memory ring, PLUGIN_PIPE_SIZE / PLUGIN_BUFFER_SIZE (bytes) setting its size;
// it drops data ("Missing data detected") when the plugins fall behind the pcap's full speed.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPeers } from '../test/helpers/peers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 1);
const OUT = join(ROOT, 'bench/out/hydra');
mkdirSync(OUT, { recursive: true });
const PCAP = join(OUT, `v9-${N}.pcap`);
const NETS = join(OUT, 'networks.lst');
const NODE = process.execPath;
const CAPTURE = join(ROOT, 'bin/flow-capture.js');
const AGGREGATE = join(ROOT, 'bin/flow-aggregate.js');
const ZMQ = (process.env.NFACCTD_PIPE ?? 'zmq') === 'zmq';
// ring: 128 MiB of queue per plugin in 128 KiB buffers (the 1:1000 ratio CONFIG-KEYS calls good practice)
const PIPE_SIZE = Number(process.env.PLUGIN_PIPE_SIZE ?? 128 * 1024 * 1024);
const BUFFER_SIZE = Number(process.env.PLUGIN_BUFFER_SIZE ?? Math.floor(PIPE_SIZE / 1000));
/** nfacctd's CPU counters unchanged this long (and its plugins answering) = its totals are final. */
const QUIET_MS = 3000;
const CLOCK_TICKS = 100; // USER_HZ, the unit of /proc/PID/stat times on Linux

interface Cost {
  wall: number;
  cpu: number;
  rssMB: number;
}
interface Totals {
  rows: number;
  bytes: number;
}

/** bench/gen-capture.ts's v9 capture: softflowd's template, subscribers in 10.5.0.0/16, remote
 *  ends anywhere in 20.0.0.0-219.255.255.255. */
function makeInputs(): void {
  if (!existsSync(PCAP)) {
    const r = spawnSync(NODE, [join(ROOT, 'dist/bench/gen-capture.js'), 'v9', String(N), PCAP], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gen-capture.js failed: ${r.stderr}`);
  }
  // A Hydra networks file: the subscriber /16 and its /24s, and ten remote "zone" /8s.
  const nets = ['10.5.0.0/16'];
  for (let i = 0; i < 256; i++) nets.push(`10.5.${i}.0/24`);
  for (let a = 20; a <= 200; a += 20) nets.push(`${a}.0.0.0/8`);
  writeFileSync(NETS, nets.join('\n') + '\n');
}

/** GNU time's '%e %U %S %M' line in FILE: CPU seconds and peak RSS in MB. */
function timeFile(file: string): { cpu: number; rssMB: number } {
  const m = /^([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)$/m.exec(existsSync(file) ? readFileSync(file, 'utf8') : '');
  if (!m) throw new Error(`no GNU time figures in ${file}`);
  return { cpu: Number(m[2]) + Number(m[3]), rssMB: Number(m[4]) / 1024 };
}

function totalsOf(ndjson: string): Totals {
  let rows = 0;
  let bytes = 0;
  for (const l of ndjson.split('\n')) {
    if (!l.startsWith('{')) continue;
    rows++;
    bytes += (JSON.parse(l) as { bytes: number }).bytes;
  }
  return { rows, bytes };
}

/** Our pipeline, each process under its own GNU time: wall of the whole, CPU and peak RSS summed. */
async function ours(how: 'pipe' | 'fifo'): Promise<Cost & Record<'ab' | 'ba', Totals>> {
  const tc = join(OUT, `time-capture-${N}-${how}`);
  const ta = join(OUT, `time-aggregate-${N}-${how}`);
  const ab = join(OUT, `ours-${N}-${how}-ab.ndjson`);
  const ba = join(OUT, `ours-${N}-${how}-ba.ndjson`);
  rmSync(tc, { force: true });
  rmSync(ta, { force: true });
  const time = (file: string): string => `/usr/bin/time -f '%e %U %S %M' -o "${file}"`;
  const capture = `${time(tc)} "${NODE}" "${CAPTURE}" -r "${PCAP}"`;
  const aggregate = `${time(ta)} "${NODE}" "${AGGREGATE}" --ab --ba -n "${NETS}" -o "ab=${ab}" -o "ba=${ba}"`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', how === 'pipe' ? `${capture} | ${aggregate}` : `${aggregate} <(${capture})`], {
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`our pipeline (${how}) failed: ${r.stderr}`);
  // bash does not wait for a process substitution: its GNU time may write a moment later
  for (let i = 0; i < 50 && !existsSync(tc); i++) await sleep(100);
  const [c, a] = [timeFile(tc), timeFile(ta)];
  return {
    wall,
    cpu: c.cpu + a.cpu,
    rssMB: c.rssMB + a.rssMB,
    ab: totalsOf(readFileSync(ab, 'utf8')),
    ba: totalsOf(readFileSync(ba, 'utf8')),
  };
}

function smallestPrimeFrom(n: number): number {
  for (let p = n | 1; ; p += 2) {
    let prime = true;
    for (let d = 3; d * d <= p; d += 2)
      if (p % d === 0) {
        prime = false;
        break;
      }
    if (prime) return p;
  }
}

/** nfacctd.conf for the Hydra memory-plugin set-up. Default imt_mem_pools_number (16) ×
 *  imt_mem_pools_size (8 KiB) would hold a few hundred entries: 0 lets the table grow in 16 MiB
 *  pools; buckets ≥ the keys expected (~0.6 per flow here) keep the chains short. */
function nfacctdConf(log: string): string {
  return (
    [
      'daemonize: false',
      `logfile: ${log}`,
      `pcap_savefile: ${PCAP}`,
      'pcap_savefile_wait: true',
      'plugins: memory[ab], memory[ba]',
      'aggregate[ab]: src_host, dst_net, dst_mask',
      'aggregate[ba]: src_net, src_mask, dst_host',
      `networks_file: ${NETS}`,
      'nfacctd_net: file',
      `imt_path[ab]: ${join(OUT, 'ab.pipe')}`,
      `imt_path[ba]: ${join(OUT, 'ba.pipe')}`,
      `imt_buckets: ${smallestPrimeFrom(Math.ceil(N * 0.6))}`,
      'imt_mem_pools_number: 0',
      `imt_mem_pools_size: ${16 * 1024 * 1024}`,
      ...(ZMQ
        ? ['plugin_pipe_zmq: true', 'plugin_pipe_zmq_profile: xlarge', 'plugin_pipe_zmq_hwm: 0']
        : [`plugin_pipe_size: ${PIPE_SIZE}`, `plugin_buffer_size: ${BUFFER_SIZE}`]),
    ].join('\n') + '\n'
  );
}

/** Processes of a process group: CPU ticks (own + waited-for children) and peak RSS (VmHWM, kB). */
function groupUsage(pgid: number): Map<number, { ticks: number; hwmKB: number }> {
  const usage = new Map<number, { ticks: number; hwmKB: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
      if (Number(f[2]) !== pgid) continue;
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
      const hwmKB = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1] ?? 0);
      usage.set(Number(name), { ticks, hwmKB });
    } catch {
      // the process ended between readdir and read
    }
  }
  return usage;
}

function pssMB(pids: Iterable<number>): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  return kb / 1024;
}

function pmacctTotals(pipe: string): Totals | undefined {
  const r = spawnSync('pmacct', ['-p', pipe, '-s', '-O', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return r.status === 0 && !r.stdout.startsWith('ERROR') ? totalsOf(r.stdout) : undefined;
}

/** nfacctd from its start until its CPU counters stop moving (its totals are then final, checked
 *  by two identical queries): wall to the last CPU tick seen, CPU of all its processes, the sum
 *  of their peak RSS (shared pipe pages counted in each process that touched them) and of their
 *  PSS at the end (shared pages split). */
async function nfacctd(): Promise<
  Cost & { pssMB: number; procs: number; dropped: string } & Record<'ab' | 'ba', Totals>
> {
  const log = join(OUT, 'nfacctd.log');
  const conf = join(OUT, 'nfacctd.conf');
  for (const f of [log, join(OUT, 'ab.pipe'), join(OUT, 'ba.pipe')]) rmSync(f, { force: true });
  writeFileSync(conf, nfacctdConf(log));
  const t0 = Date.now();
  const child = spawn('nfacctd', ['-f', conf], { detached: true, stdio: 'ignore' });
  const pgid = child.pid!;
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const hwm = new Map<number, number>();
  let ticks = -1;
  let lastChange = t0;
  try {
    for (;;) {
      await sleep(100);
      if (exited) throw new Error(`nfacctd exited early; see ${log}`);
      const usage = groupUsage(pgid);
      let sum = 0;
      for (const [pid, u] of usage) {
        sum += u.ticks;
        hwm.set(pid, Math.max(hwm.get(pid) ?? 0, u.hwmKB));
      }
      if (sum !== ticks) {
        ticks = sum;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= QUIET_MS && usage.size >= 3) break;
    }
    const pss = pssMB(hwm.keys());
    const ab = pmacctTotals(join(OUT, 'ab.pipe'));
    const ba = pmacctTotals(join(OUT, 'ba.pipe'));
    const again = pmacctTotals(join(OUT, 'ab.pipe'));
    if (!ab || !ba || !again) throw new Error(`pmacct could not query nfacctd's memory plugins; see ${log}`);
    if (again.bytes !== ab.bytes) throw new Error(`nfacctd's ab total still moved after ${QUIET_MS} ms without CPU`);
    const missing = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => /missing data|zmq_send\(\)/i.test(l));
    let hwmKB = 0;
    for (const kb of hwm.values()) hwmKB += kb;
    return {
      wall: (lastChange - t0) / 1000,
      cpu: ticks / CLOCK_TICKS,
      rssMB: hwmKB / 1024,
      pssMB: pss,
      procs: hwm.size,
      dropped:
        missing.length === 0
          ? 'no "Missing data" nor zmq_send() error in its log'
          : `${missing.length} "Missing data" or zmq_send() lines in its log: ${missing[0]}`,
      ab,
      ba,
    };
  } finally {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

function costLine(label: string, c: Cost): string {
  return `${label}: ${c.wall.toFixed(2)} s wall (${(N / c.wall / 1e3).toFixed(0)} k flows/s), ${c.cpu.toFixed(2)} CPU-s (${(N / c.cpu / 1e3).toFixed(0)} k flows/CPU-s), peak RSS ${c.rssMB.toFixed(0)} MB (sum over its processes)`;
}

function compare(name: string, a: Totals, b: Totals): string {
  return `${name} ${a.bytes === b.bytes && a.rows === b.rows ? 'EQUAL' : 'DIFFERENT'} (ours ${a.rows} rows ${a.bytes} bytes, nfacctd ${b.rows} rows ${b.bytes} bytes)`;
}

async function main(): Promise<void> {
  makeInputs();
  const peerMissing = missingPeers('nfacctd', 'pmacct');
  console.log(
    `input: ${N} NetFlow v9 flows (${PCAP}), networks file of 267 prefixes; ${RUNS} run(s); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  if (peerMissing) console.log(`nfacctd side skipped: ${peerMissing}`);
  else
    console.log(
      `nfacctd: configuration in ${join(OUT, 'nfacctd.conf')}:\n${nfacctdConf(join(OUT, 'nfacctd.log')).replace(/^/gm, '    ')}`,
    );
  for (let run = 1; run <= RUNS; run++) {
    console.log(`run ${run}:`);
    const pipe = await ours('pipe');
    console.log(
      `  ${costLine('flow-capture -r | flow-aggregate --ab --ba -n (stdin pipe)', pipe)}; ab ${pipe.ab.rows} keys, ba ${pipe.ba.rows} keys`,
    );
    const fifo = await ours('fifo');
    console.log(`  ${costLine('flow-aggregate --ab --ba -n <(flow-capture -r) (FIFO)', fifo)}`);
    if (fifo.ab.bytes !== pipe.ab.bytes || fifo.ba.bytes !== pipe.ba.bytes)
      throw new Error('the pipe and the FIFO runs gave different totals');
    if (peerMissing) continue;
    const pm = await nfacctd();
    console.log(
      `  ${costLine(`nfacctd, memory[ab] + memory[ba] (${pm.procs} processes; PSS at the end ${pm.pssMB.toFixed(0)} MB)`, pm)}; ${pm.dropped}`,
    );
    console.log(`  ${compare('ab', pipe.ab, pm.ab)}; ${compare('ba', pipe.ba, pm.ba)}`);
    // unequal totals make the ratios meaningless: the run is not to be trusted
    if (pipe.ab.bytes !== pm.ab.bytes || pipe.ba.bytes !== pm.ba.bytes) process.exitCode = 1;
    for (const [how, c] of [
      ['stdin pipe', pipe],
      ['FIFO', fifo],
    ] as const) {
      console.log(
        `  ours (${how}) / nfacctd: throughput ${(pm.wall / c.wall).toFixed(2)}× by wall, ${(pm.cpu / c.cpu).toFixed(2)}× per CPU-s; ` +
          `memory ${(c.rssMB / pm.rssMB).toFixed(3)} of its peak RSS sum (${(c.rssMB / pm.pssMB).toFixed(3)} of its PSS)`,
      );
    }
  }
}

await main();
