// `meter-label count`: flows in, one l3.meter notification per label per report interval out,
// shaped like neutron-metering-agent's (oslo notification envelope, integer epoch seconds), with
// tenant_id as well as project_id because ceilometer's `bandwidth` meter still reads tenant_id.
// Intervals follow flow time (bins aligned to multiples of --report-interval) or, with --live,
// the wall clock, as the agent does.

import { createHash, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { CliError, EXIT } from '../cli/exit.js';
import { readRecords } from '../cli/ndjson-input.js';
import type { InputFormat } from '../flow/dialects.js';
import type { Log } from '../cli/log.js';
import { withReadProgress } from '../cli/progress.js';
import { BatchWriter } from '../cli/writer.js';
import { FieldError, type FlowRecord } from '../flow/record.js';
import type { MeteringLabel, StoreData } from './model.js';
import { Matcher, ANY_DIRECTION, INGRESS, EGRESS } from './match.js';
import { addCounters, stringifyCounters, type Counter } from '../flow/counter.js';

export type TimeField = 'start' | 'end' | 'received';

export interface CountConfig {
  inputs: string[];
  reportInterval: number; // seconds
  live: boolean;
  granular: boolean;
  host: string;
  timeField: TimeField;
  /** Seconds a flow-time interval stays open after newer flows were seen (out-of-order input). */
  lateness: number;
  strict: boolean;
  /** The dialect of the input (`auto`: told per line). */
  inputFormat?: InputFormat;
  /** SNMP ifIndexes of the router's external side: when given, ingress rules match only flows that
   *  came in on one (in_if) and egress rules only flows that left by one (out_if), like iptables'
   *  `-i`/`-o qg-…`; flows that touch none are not counted. */
  externalIfs?: ReadonlySet<number>;
}

export interface CountIo {
  stdin: Readable;
  stdout: Writable;
  log: Log;
  /** Load the labels and rules (called again in --live mode when the store file changes). */
  load: () => Promise<StoreData>;
  /** The store file to watch in --live mode. */
  storePath?: string;
  signal?: AbortSignal;
  now?: () => number; // ms since the epoch
}

export interface CountStats {
  flows: number;
  matched: number;
  rejected: number;
  late: number;
  samples: number;
}

interface Window {
  start: number; // epoch seconds
  /** Per label, exact (lib/flow/counter.ts). */
  bytes: Counter[];
  pkts: Counter[];
  reopened: number; // 0 for the first emission of this interval, 1.. for late additions
}

/** Deterministic message ids for flow-time samples, so a re-run produces the same notifications. */
function messageId(parts: string): string {
  const h = createHash('sha1').update(parts).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** oslo's notification timestamp: str(datetime.utcnow()). */
function osloTime(sec: number): string {
  return new Date(sec * 1000).toISOString().replace('T', ' ').replace('Z', '').replace(/\.(\d{3})$/, '.$1000');
}

class SampleWriter {
  private readonly firstSeen = new Map<string, number>();
  samples = 0;
  constructor(
    private readonly out: BatchWriter,
    private readonly cfg: CountConfig,
  ) {}

  private line(obj: object): boolean {
    this.samples++;
    return this.out.line(stringifyCounters(obj));
  }

  private first(key: string, at: number): number {
    let f = this.firstSeen.get(key);
    if (f === undefined) this.firstSeen.set(key, (f = at));
    return f;
  }

  /** Queue the samples of one interval; returns true when the writer wants a flush. */
  emit(labels: readonly MeteringLabel[], w: Window, end: number, seconds: number, ids: 'hash' | 'random'): boolean {
    const host = this.cfg.host;
    let full = false;
    const envelope = (event: string, resource: string, payload: object): object => ({
      event_type: event,
      priority: 'INFO',
      publisher_id: `metering.${host}`,
      message_id: ids === 'hash' ? messageId(`${event}|${resource}|${w.start}|${w.reopened}`) : randomUUID(),
      timestamp: osloTime(end),
      payload,
    });
    const projects = new Map<string, { pkts: Counter; bytes: Counter }>();
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      const pkts = w.pkts[i]!;
      const bytes = w.bytes[i]!;
      if (w.reopened > 0 && pkts === 0 && bytes === 0) continue;
      const first = this.first(l.id, w.start);
      full =
        this.line(
          envelope('l3.meter', l.id, {
            label_id: l.id,
            label_name: l.name,
            tenant_id: l.project_id,
            project_id: l.project_id,
            pkts,
            bytes,
            time: seconds,
            first_update: first,
            last_update: end,
            host,
          }),
        ) || full;
      if (this.cfg.granular) {
        full =
          this.line(
            envelope('l3.meter.label', `label-${l.id}`, {
              resource_id: `label-${l.id}`,
              label_id: l.id,
              label_name: l.name,
              label_shared: l.shared,
              project_id: l.shared ? 'all' : l.project_id,
              pkts,
              bytes,
              time: seconds,
              first_update: first,
              last_update: end,
              host,
            }),
          ) || full;
        if (!l.shared) {
          const p = projects.get(l.project_id) ?? { pkts: 0, bytes: 0 };
          p.pkts = addCounters(p.pkts, pkts);
          p.bytes = addCounters(p.bytes, bytes);
          projects.set(l.project_id, p);
        }
      }
    }
    for (const [pid, p] of projects) {
      const first = this.first(`project-${pid}`, w.start);
      full =
        this.line(
          envelope('l3.meter.project', `project-${pid}`, {
            resource_id: `project-${pid}`,
            project_id: pid,
            pkts: p.pkts,
            bytes: p.bytes,
            time: seconds,
            first_update: first,
            last_update: end,
            host,
          }),
        ) || full;
    }
    return full;
  }
}

function flowTimeNs(r: FlowRecord, field: TimeField): number {
  if (field === 'end' && r.time_flow_end_ns > 0) return r.time_flow_end_ns;
  if (field !== 'received' && r.time_flow_start_ns > 0) return r.time_flow_start_ns;
  return r.time_received_ns;
}

/** Read every input, count, write samples; returns the statistics (rejections are in the log). */
export async function runCount(cfg: CountConfig, io: CountIo): Promise<CountStats> {
  const out = new BatchWriter(io.stdout);
  const samples = new SampleWriter(out, cfg);
  const stats: CountStats = { flows: 0, matched: 0, rejected: 0, late: 0, samples: 0 };
  let matcher = new Matcher(await io.load());
  if (matcher.labels.length === 0) io.log.warn(`no metering labels in ${io.storePath ?? 'the store'}: nothing to count`);
  else io.log.info(`counting for ${matcher.labels.length} labels, reporting every ${cfg.reportInterval} s of ${cfg.live ? 'wall-clock' : 'flow'} time`);
  const R = cfg.reportInterval;
  const now = io.now ?? Date.now;
  const newWindow = (start: number, reopened = 0): Window => ({
    start,
    bytes: new Array<Counter>(matcher.labels.length).fill(0),
    pkts: new Array<Counter>(matcher.labels.length).fill(0),
    reopened,
  });

  // flow-time state
  const open = new Map<number, Window>();
  let watermark = -Infinity;
  let emittedUpTo = -Infinity;
  const reopenCount = new Map<number, number>();
  // live state
  let live = newWindow(Math.floor(now() / 1000));
  let lastReport = now() / 1000;
  let storeMtime = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeError: unknown;

  const emitWindow = async (w: Window): Promise<void> => {
    if (samples.emit(matcher.labels, w, w.start + R, R, 'hash')) await out.flush();
  };
  const flushClosed = async (all: boolean): Promise<void> => {
    const ready = [...open.keys()].filter((s) => all || s + R + cfg.lateness <= watermark).sort((a, b) => a - b);
    for (const s of ready) {
      await emitWindow(open.get(s)!);
      open.delete(s);
      if (s > emittedUpTo) emittedUpTo = s;
    }
  };

  const liveReport = async (): Promise<void> => {
    const t = now() / 1000;
    const end = Math.floor(t);
    const w = live;
    live = newWindow(end);
    const seconds = Math.max(0, Math.round(t - lastReport));
    lastReport = t;
    if (samples.emit(matcher.labels, w, end, seconds, 'random')) await out.flush();
    await out.flush();
    if (io.storePath) {
      const st = await fsp.stat(io.storePath).catch(() => undefined);
      if (st && st.mtimeMs !== storeMtime) {
        storeMtime = st.mtimeMs;
        matcher = new Matcher(await io.load());
        live = newWindow(end);
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (cfg.live) {
    if (io.storePath) storeMtime = (await fsp.stat(io.storePath).catch(() => undefined))?.mtimeMs ?? 0;
    timer = setInterval(() => {
      writing = writing.then(liveReport).catch((e) => {
        writeError ??= e;
      });
    }, R * 1000);
  }

  const inputs = cfg.inputs.length === 0 ? ['-'] : cfg.inputs;
  const reject = (place: string, reason: string, message: string): void => {
    if (cfg.strict) throw new CliError(`${place}: ${message}`, EXIT.DATAERR);
    stats.rejected++;
    io.log.reject(reason, `${place}: ${message}`, place);
  };
  const onFlow = (r: FlowRecord, place: () => string): void => {
    stats.flows++;
    let w: Window;
    if (cfg.live) w = live;
    else {
      const tns = flowTimeNs(r, cfg.timeField);
      if (tns <= 0) {
        const at = place();
        reject(at, 'flow without time', `flow has no time_flow_start_ns, time_flow_end_ns or time_received_ns; cannot place it in an interval`);
        return;
      }
      const t = Math.floor(tns / 1e9);
      const start = t - (((t % R) + R) % R);
      if (t > watermark) watermark = t;
      let win = open.get(start);
      if (!win) {
        let re = 0;
        if (start <= emittedUpTo) {
          re = (reopenCount.get(start) ?? 0) + 1;
          reopenCount.set(start, re);
        }
        win = newWindow(start, re);
        open.set(start, win);
      }
      if (win.reopened > 0) stats.late++;
      w = win;
    }
    let dirs = ANY_DIRECTION;
    if (cfg.externalIfs) dirs = (cfg.externalIfs.has(r.in_if) ? INGRESS : 0) | (cfg.externalIfs.has(r.out_if) ? EGRESS : 0);
    const n = dirs === 0 ? 0 : matcher.match(r.src_addr, r.dst_addr, dirs);
    if (n > 0) stats.matched++;
    for (let k = 0; k < n; k++) {
      const l = matcher.hits[k]!;
      w.bytes[l] = addCounters(w.bytes[l]!, r.bytes);
      w.pkts[l] = addCounters(w.pkts[l]!, r.packets);
    }
  };
  try {
    const counts = { lines: 0 };
    // samples are written while reading: no progress line when they go to a terminal
    const dataOnTerminal = (io.stdout as { isTTY?: boolean }).isTTY === true;
    await withReadProgress(io.log, inputs, dataOnTerminal, (progress) => readRecords(
      inputs,
      { ...io, progress },
      counts,
      reject,
      cfg.inputFormat ?? 'auto',
      (rec, file, line) => {
        if (rec.kind === 'aggregate') throw new FieldError('flows', 'a flow record (meter-label counts flows, not aggregate records)', rec.obj.flows);
        onFlow(rec.flow, () => `${file}:${line}`);
        return true;
      },
      async () => {
        if (!cfg.live) await flushClosed(false);
        if (writeError) throw writeError;
      },
    ));
  } finally {
    if (timer) clearInterval(timer);
  }
  await writing;
  if (writeError) throw writeError;
  if (cfg.live) await liveReport();
  else await flushClosed(true);
  await out.end();
  stats.samples = samples.samples;
  if (stats.late > 0) io.log.info(`${stats.late} flows arrived after their interval was reported; they were reported again as extra samples`);
  return stats;
}
