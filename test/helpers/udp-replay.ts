// Live-collector test helpers: start `flow-capture -l …` as a real process, learn its port from
// the "listening on" line (-v), replay a capture's datagrams to it over a real UDP socket.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import dgram from 'node:dgram';
import { Log } from '../../lib/cli/log.js';
import { openInput } from '../../lib/cli/io.js';
import { readCapture, newCaptureStats } from '../../lib/capture/pcap-file.js';
import type { Datagram } from '../../lib/capture/datagram.js';
import { binPath, ROOT } from './spawn.js';
import { Writable } from 'node:stream';

export async function captureDatagrams(path: string): Promise<Datagram[]> {
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const log = new Log('test', sink, {});
  const input = await openInput(path, process.stdin);
  const out: Datagram[] = [];
  for await (const batch of readCapture(input, log, newCaptureStats())) {
    for (const d of batch) out.push({ ...d, payload: Buffer.from(d.payload) });
  }
  return out;
}

export interface Collector {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start flow-capture with `args` (which should listen on port 0 and include -v). */
export function startCollector(args: string[], family: 4 | 6 = 4): Promise<Collector> {
  const child = spawn(process.execPath, [binPath('flow-capture'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector did not start: ${err}`));
    }, 20_000);
    child.stderr.on('data', (d: string) => {
      err += d;
      const re = family === 6 ? /listening on \[[^\]]*\]:(\d+)/ : /listening on [0-9.]+:(\d+)/;
      const m = re.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), stdout: () => out, stderr: () => err, exited });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`collector exited early: ${err}`));
    });
  });
}

/** Send each payload from one socket bound to `from` (default the loopback address; any
 *  127.0.0.0/8 address works on Linux, to play another exporter). */
export async function replay(
  datagrams: readonly Datagram[],
  host: string,
  port: number,
  family: 4 | 6 = 4,
  from = family === 6 ? '::1' : '127.0.0.1',
): Promise<void> {
  const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.bind(0, from, () => r()));
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => sock.send(d.payload, port, host, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((r) => sock.close(() => r()));
}

/** Records as comparable strings without the fields that depend on when they were received. */
export function normalise(ndjson: string, dropTimes = false): string[] {
  return ndjson
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      delete o.time_received_ns;
      if (dropTimes) {
        delete o.time_flow_start_ns;
        delete o.time_flow_end_ns;
      }
      return JSON.stringify(o);
    })
    .sort();
}

/** The collector's counters now (SIGUSR2), as numbers by key. */
export async function countersNow(c: Collector): Promise<Map<string, number>> {
  const before = c.stderr().length;
  c.child.kill('SIGUSR2');
  for (let i = 0; i < 500; i++) {
    const m = /flow-capture: stats (.*)\n/.exec(c.stderr().slice(before));
    if (m)
      return new Map(
        m[1]!.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), Number(kv.slice(kv.indexOf('=') + 1))]),
      );
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no stats line after SIGUSR2: ${c.stderr()}`);
}

/** Wait until the collector has read and decoded all that was sent (its counts stop moving). */
export async function settle(c: Collector): Promise<void> {
  let last = -1;
  for (;;) {
    const s = await countersNow(c);
    if (s.get('datagrams') === last && s.get('queue_bytes') === 0) return;
    last = s.get('datagrams')!;
    await new Promise((r) => setTimeout(r, 100));
  }
}
