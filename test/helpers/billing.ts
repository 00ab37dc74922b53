// examples/billing/billing-cycle.sh under test: a state directory with a configuration, capture
// files, runs of the cycle, and the totals hcd received against those computed from the captures.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, runBin, runProcess, type RunResult } from './spawn.js';
import { tempDir } from './tmp.js';
import type { HcdCall, HcdServer } from './hcd-server.js';

export const SCRIPT = join(ROOT, 'examples/billing/billing-cycle.sh');
export const NETWORKS = join(ROOT, 'test/fixtures/report/networks.lst');
export const SUBSCRIBERS = '10.5.0.0/16 192.168.0.0/16';
export const PCAPS = [
  'test/fixtures/aggregate/nf5.pcap',
  'test/fixtures/aggregate/nf9.pcap',
  'test/fixtures/report/netflow-v9.pcap',
  'examples/softflowd-v9.pcap',
  'examples/softflowd-ipfix.pcap',
];
export interface Setup {
  dir: string;
  capture: string;
  state: string;
  config: string;
}

export function setup(prefix = 'billing-cycle-'): Setup {
  const dir = tempDir(prefix);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // What `npm install -g` puts on PATH: the commands without .js.
  for (const cmd of ['flow-aggregate', 'flow-report', 'hcd-putfile'])
    symlinkSync(join(ROOT, 'bin', `${cmd}.js`), join(bin, cmd));
  const capture = join(dir, 'capture');
  mkdirSync(capture);
  const state = join(dir, 'state');
  const config = join(dir, 'billing.conf');
  writeFileSync(
    config,
    [
      `CAPTURE_DIR=${capture}`,
      `STATE_DIR=${state}`,
      `NETWORKS=${NETWORKS}`,
      `SUBSCRIBERS="${SUBSCRIBERS}"`,
      'HCD_OPTS="--retries 0 --connect-timeout 5 --timeout 20"',
      `FLOWMETER_BIN=${bin}`,
      '',
    ].join('\n'),
  );
  return { dir, capture, state, config };
}

/** Split NDJSON lines into `n` rotated capture files named from minute `first` on. */
export function writeCaptures(s: Setup, lines: string[], n: number, first: number, gzipIndex = -1): string[] {
  const names: string[] = [];
  const per = Math.ceil(lines.length / n);
  for (let i = 0; i < n; i++) {
    const chunk = lines.slice(i * per, (i + 1) * per);
    const body = chunk.length ? chunk.join('\n') + '\n' : '';
    const base = `flows.20260115${String(1200 + first + i).padStart(4, '0')}.ndjson`;
    if (i === gzipIndex) {
      writeFileSync(join(s.capture, `${base}.gz`), gzipSync(body));
      names.push(`${base}.gz`);
    } else {
      writeFileSync(join(s.capture, base), body);
      names.push(base);
    }
  }
  return names;
}

export function cycle(s: Setup, hcd: HcdServer, env: Record<string, string> = {}): Promise<RunResult> {
  return runProcess('/bin/sh', [SCRIPT, s.config], {
    env: { HCD_URL: hcd.url(), BILLING_CYCLE_CRASH_AFTER: '', ...env },
    timeoutMs: 120_000,
  });
}

export type Totals = Map<string, number>;

export function add(m: Totals, key: string, bytes: number): void {
  m.set(key, (m.get(key) ?? 0) + bytes);
}

/** Bytes per direction, subscriber and remote network from the billing lines hcd received. */
export function receivedTotals(calls: HcdCall[]): Totals {
  const m: Totals = new Map();
  for (const c of calls) {
    const dir = c.name.slice(-2);
    for (const line of Buffer.from(c.content_b64, 'base64').toString('utf8').split('\n')) {
      if (!line) continue;
      const f = line.split(';');
      const [a1, a2, bytes] = [f[4]!, f[5]!, Number(f[6])];
      add(m, dir === 'ab' ? `ab ${a1} ${a2}` : `ba ${a2} ${a1}`, bytes);
    }
  }
  return m;
}

/** The same, computed directly by flow-aggregate over every flow of every capture at once. */
export async function expectedTotals(s: Setup, allFlows: string): Promise<Totals> {
  const conf = join(s.dir, 'expect.conf');
  const src = SUBSCRIBERS.split(' ')
    .map((n) => `src net ${n}`)
    .join(' or ');
  const dst = SUBSCRIBERS.split(' ')
    .map((n) => `dst net ${n}`)
    .join(' or ');
  writeFileSync(
    conf,
    `aggregate[ab]: src_host,dst_net,dst_mask\naggregate_filter[ab]: ${src}\n` +
      `aggregate[ba]: src_net,src_mask,dst_host\naggregate_filter[ba]: ${dst}\n`,
  );
  const ab = join(s.dir, 'expect-ab.ndjson');
  const ba = join(s.dir, 'expect-ba.ndjson');
  const r = await runBin('flow-aggregate', ['-c', conf, '-n', NETWORKS, '-o', `ab=${ab}`, '-o', `ba=${ba}`, allFlows]);
  assert.equal(r.code, 0, r.stderr);
  const m: Totals = new Map();
  const host = (a: string): string => `${a}/${a.includes(':') ? 128 : 32}`;
  for (const line of readFileSync(ab, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { src_host: string; dst_net: string; dst_mask: number; bytes: number };
    if (o.bytes) add(m, `ab ${host(o.src_host)} ${o.dst_net}/${o.dst_mask}`, o.bytes);
  }
  for (const line of readFileSync(ba, 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { src_net: string; src_mask: number; dst_host: string; bytes: number };
    if (o.bytes) add(m, `ba ${host(o.dst_host)} ${o.src_net}/${o.src_mask}`, o.bytes);
  }
  return m;
}

export function spoolFiles(s: Setup): string[] {
  const d = join(s.state, 'hcd-spool');
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.hcd')) : [];
}

/** Whether an address is in SUBSCRIBERS (10.5.0.0/16, 192.168.0.0/16). */
function isSubscriber(addr: string): boolean {
  return addr.startsWith('10.5.') || addr.startsWith('192.168.');
}

/** Bytes per direction and subscriber summed straight from the flow records of capture files
 *  (NDJSON, gzip or not), without flowmeter: ab = from a subscriber, ba = to one. */
export function captureTotals(files: string[]): Totals {
  const m: Totals = new Map();
  for (const f of files) {
    const raw = readFileSync(f);
    const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as { src_addr: string; dst_addr: string; bytes: number; sampling_rate?: number };
      const bytes = r.bytes * (r.sampling_rate || 1);
      if (isSubscriber(r.src_addr)) add(m, `ab ${r.src_addr}`, bytes);
      if (isSubscriber(r.dst_addr)) add(m, `ba ${r.dst_addr}`, bytes);
    }
  }
  return m;
}

/** receivedTotals summed over the remote networks: per direction and subscriber (address only). */
export function perSubscriber(t: Totals): Totals {
  const m: Totals = new Map();
  for (const [key, bytes] of t) {
    const [dir, sub] = key.split(' ') as [string, string];
    add(m, `${dir} ${sub.replace(/\/(32|128)$/, '')}`, bytes);
  }
  return new Map([...m].sort());
}
