// `meter-label count`: flows in, one l3.meter notification per label per report interval out,
// shaped like neutron-metering-agent's (oslo notification envelope, integer epoch seconds), with
// tenant_id as well as project_id because ceilometer's `bandwidth` meter still reads tenant_id.
// Intervals follow flow time (bins aligned to multiples of --report-interval) or, with --live,
// the wall clock, as the agent does.

import { createHash, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { readRecords, rejectLine, type RejectLine } from '../cli/ndjson-input.js';
import type { InputFormat } from '../flow/dialects.js';
import type { Log } from '../cli/log.js';
import { withReadProgress } from '../cli/progress.js';
import { BatchWriter } from '../cli/writer.js';
import { FieldError, type FlowRecord } from '../flow/record.js';
import { addCounters, stringifyCounters, type Counter } from '../flow/counter.js';
import type { MeteringLabel, StoreData } from './model.js';
import { Matcher } from './match.js';
import { parsePrefix } from './prefix.js';
import { Scope, type Slot } from './scope.js';
import type { NetworkTable } from '../networks/file.js';

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
  /** Internal subnets for routers that list none (count --subnets). */
  subnets?: NetworkTable;
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
  /** Where samples go (default: NDJSON on stdout). */
  sink?: SampleSink;
}

export interface CountStats {
  flows: number;
  matched: number;
  rejected: number;
  late: number;
  samples: number;
  /** Flows from an exporter (or interface) no router claims. */
  unclaimed: number;
}

interface Window {
  start: number; // epoch seconds
  /** Per slot (router) and label: index slot * labels + label. */
  bytes: Counter[];
  pkts: Counter[];
  reopened: number; // 0 for the first emission of this interval, 1.. for late additions
}

/** One notification, as oslo.messaging's notifier builds it. */
export interface Sample {
  event_type: string;
  priority: 'INFO';
  publisher_id: string;
  message_id: string;
  timestamp: string;
  payload: Record<string, unknown>;
}

/** Where samples go: stdout, or the message bus (which writes them to stdout once confirmed). */
export interface SampleSink {
  /** Queue a sample; true when the sink wants `flush()`. */
  add(sample: Sample): boolean;
  flush(): Promise<void>;
  end(): Promise<void>;
}

export class StdoutSink implements SampleSink {
  private readonly out: BatchWriter;
  constructor(stdout: Writable) {
    this.out = new BatchWriter(stdout);
  }
  add(sample: Sample): boolean {
    return this.out.line(stringifyCounters(sample));
  }
  flush(): Promise<void> {
    return this.out.flush();
  }
  end(): Promise<void> {
    return this.out.end();
  }
}

/** Deterministic message ids for flow-time samples, so a re-run produces the same notifications. */
function messageId(parts: string): string {
  const h = createHash('sha1').update(parts).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** oslo's notification timestamp: str(datetime.utcnow()). */
function osloTime(sec: number): string {
  return new Date(sec * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '')
    .replace(/\.(\d{3})$/, '.$1000');
}

/** One granular sample's sums (exact: lib/flow/counter.ts). */
interface GranularSum {
  event: string;
  fields: Record<string, unknown>;
  pkts: Counter;
  bytes: Counter;
}

/** The granular counters of one interval, keyed as Neutron's iptables driver keys them
 *  (label-L, router-R, project-P, router-R-label-L, project-P-label-L), with the payload fields
 *  the agent's set_project_id_for_granular_traffic_data adds for each kind of key. */
function granularCounters(
  labels: readonly MeteringLabel[],
  slots: readonly Slot[],
  w: Window,
): Map<string, GranularSum> {
  const acc = new Map<string, GranularSum>();
  const add = (key: string, event: string, fields: Record<string, unknown>, pkts: Counter, bytes: Counter): void => {
    const c = acc.get(key);
    if (c) {
      c.pkts = addCounters(c.pkts, pkts);
      c.bytes = addCounters(c.bytes, bytes);
    } else acc.set(key, { event: `l3.meter.${event}`, fields, pkts, bytes });
  };
  const n = labels.length;
  slots.forEach((slot, s) => {
    const r = slot.router;
    if (r) {
      add(`router-${r.id}`, 'router', { router_id: r.id, project_id: r.project_id }, 0, 0);
      add(`project-${r.project_id}`, 'project', { project_id: r.project_id }, 0, 0);
    }
    for (let i = 0; i < n; i++) {
      if (!slot.applies[i]) continue;
      const l = labels[i]!;
      const pkts = w.pkts[s * n + i]!;
      const bytes = w.bytes[s * n + i]!;
      const project = r ? r.project_id : l.project_id;
      const lf = { label_id: l.id, label_name: l.name, label_shared: l.shared };
      add(`label-${l.id}`, 'label', { ...lf, project_id: l.shared ? 'all' : project }, pkts, bytes);
      if (r) {
        add(`project-${project}-label-${l.id}`, 'label_project', { ...lf, project_id: project }, pkts, bytes);
        add(
          `router-${r.id}-label-${l.id}`,
          'label_router',
          l.shared ? { ...lf, router_id: r.id, project_id: project } : { ...lf, project_id: project },
          pkts,
          bytes,
        );
        add(`router-${r.id}`, 'router', {}, pkts, bytes);
        add(`project-${project}`, 'project', {}, pkts, bytes);
      } else if (!l.shared) {
        add(`project-${project}-label-${l.id}`, 'label_project', { ...lf, project_id: project }, pkts, bytes);
        add(`project-${project}`, 'project', { project_id: project }, pkts, bytes);
      }
    }
  });
  return acc;
}

class SampleWriter {
  private readonly firstSeen = new Map<string, number>();
  samples = 0;
  constructor(
    private readonly sink: SampleSink,
    private readonly cfg: CountConfig,
  ) {}

  private first(key: string, at: number): number {
    let f = this.firstSeen.get(key);
    if (f === undefined) this.firstSeen.set(key, (f = at));
    return f;
  }

  /** Queue the samples of one interval; returns true when the sink wants a flush. */
  emit(
    labels: readonly MeteringLabel[],
    slots: readonly Slot[],
    w: Window,
    end: number,
    seconds: number,
    ids: 'hash' | 'random',
  ): boolean {
    const host = this.cfg.host;
    let full = false;
    const send = (event: string, key: string, pkts: Counter, bytes: Counter, fields: Record<string, unknown>): void => {
      if (w.reopened > 0 && pkts === 0 && bytes === 0) return;
      this.samples++;
      const payload = {
        ...fields,
        pkts,
        bytes,
        time: seconds,
        first_update: this.first(key, w.start),
        last_update: end,
        host,
      };
      const sample: Sample = {
        event_type: event,
        priority: 'INFO',
        publisher_id: `metering.${host}`,
        message_id: ids === 'hash' ? messageId(`${event}|${key}|${w.start}|${w.reopened}`) : randomUUID(),
        timestamp: osloTime(end),
        payload,
      };
      full = this.sink.add(sample) || full;
    };
    if (this.cfg.granular) {
      for (const [key, c] of granularCounters(labels, slots, w))
        send(c.event, key, c.pkts, c.bytes, { resource_id: key, ...c.fields });
      return full;
    }
    const n = labels.length;
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      let pkts: Counter = 0;
      let bytes: Counter = 0;
      for (let s = 0; s < slots.length; s++) {
        pkts = addCounters(pkts, w.pkts[s * n + i]!);
        bytes = addCounters(bytes, w.bytes[s * n + i]!);
      }
      send('l3.meter', l.id, pkts, bytes, {
        label_id: l.id,
        label_name: l.name,
        tenant_id: l.project_id,
        project_id: l.project_id,
      });
    }
    return full;
  }
}

function flowTimeNs(r: FlowRecord, field: TimeField): number {
  if (field === 'end' && r.time_flow_end_ns > 0) return r.time_flow_end_ns;
  if (field !== 'received' && r.time_flow_start_ns > 0) return r.time_flow_start_ns;
  return r.time_received_ns;
}

/** Say once what the counting will and will not see: no labels, no routers, and remote rules that
 *  leave nothing outside their prefix where direction is known only by crossing it. */
function describeScope(
  data: StoreData,
  scope: Scope,
  io: CountIo,
  cfg: CountConfig,
  warn: (message: string) => void,
): void {
  const labels = data.metering_labels;
  if (labels.length === 0) {
    warn(`no metering labels in ${io.storePath ?? 'the store'}: nothing to count`);
    return;
  }
  io.log.info(
    `counting for ${labels.length} labels, reporting every ${cfg.reportInterval} s of ${cfg.live ? 'wall-clock' : 'flow'} time`,
  );
  if (!scope.hasRouters)
    warn(
      'no routers in the store: every label counts every flow (router-create attributes flows to routers and projects)',
    );
  if (!scope.anyCrossingOnly) return;
  const index = new Map(labels.map((l, i) => [l.id, i]));
  const warned = new Set<string>();
  for (const r of data.metering_label_rules) {
    const p = r.remote_ip_prefix === null ? undefined : parsePrefix(r.remote_ip_prefix);
    if (!p || p.len !== 0 || r.excluded || warned.has(r.metering_label_id)) continue;
    const i = index.get(r.metering_label_id)!;
    if (!scope.slots.some((s) => s.subnets === undefined && s.applies[i])) continue;
    warned.add(r.metering_label_id);
    warn(
      `label '${labels[i]!.name}' (${labels[i]!.id}): rule ${r.remote_ip_prefix} leaves no address outside it, so without internal subnets it counts nothing; ` +
        'give count --subnets FILE, router-create --subnet CIDR or count --external-if N',
    );
  }
}

/** Read every input, count, write samples; returns the statistics (rejections are in the log). */
export async function runCount(cfg: CountConfig, io: CountIo): Promise<CountStats> {
  const run = new CountRun(cfg, io, io.sink ?? new StdoutSink(io.stdout));
  await run.load();
  run.openLiveWindow();
  const timer = cfg.live ? await run.startLiveReports() : undefined;
  try {
    await run.read();
  } finally {
    if (timer) clearInterval(timer);
  }
  await run.end();
  return run.stats;
}

/** One count run: the store (labels, routers), the open intervals, the samples written. */
class CountRun {
  readonly stats: CountStats = { flows: 0, matched: 0, rejected: 0, late: 0, samples: 0, unclaimed: 0 };
  private readonly samples: SampleWriter;
  private readonly unclaimedExporters = new Map<string, number>();
  private readonly said = new Set<string>(); // a --live run re-reads the store: say each thing once
  private readonly reject: RejectLine;
  private readonly now: () => number;
  private matcher!: Matcher;
  private scope!: Scope;
  // flow time: the intervals still open, the newest flow second seen, the intervals reported
  private readonly open = new Map<number, Window>();
  private watermark = -Infinity;
  private emittedUpTo = -Infinity;
  private readonly reopenCount = new Map<number, number>();
  // --live: the interval being counted, when the last was reported, the store file's mtime
  private live!: Window;
  private lastReport = 0;
  private storeMtime = 0;
  private writing: Promise<void> = Promise.resolve();
  private writeError: unknown;

  constructor(
    private readonly cfg: CountConfig,
    private readonly io: CountIo,
    private readonly out: SampleSink,
  ) {
    this.samples = new SampleWriter(out, cfg);
    this.reject = rejectLine(io.log, this.stats, cfg.strict);
    this.now = io.now ?? Date.now;
  }

  /** (Re)load the labels and rules, and say what they leave uncounted. */
  async load(): Promise<void> {
    const data = await this.io.load();
    this.matcher = new Matcher(data);
    this.scope = new Scope(data, this.cfg.subnets, this.cfg.externalIfs);
    describeScope(data, this.scope, this.io, this.cfg, (message) => {
      if (!this.said.has(message)) this.io.log.warn(message);
      this.said.add(message);
    });
  }

  openLiveWindow(): void {
    this.live = this.newWindow(Math.floor(this.now() / 1000));
    this.lastReport = this.now() / 1000;
  }

  /** --live: report every --report-interval seconds of wall clock. */
  async startLiveReports(): Promise<NodeJS.Timeout> {
    if (this.io.storePath) this.storeMtime = (await fsp.stat(this.io.storePath).catch(() => undefined))?.mtimeMs ?? 0;
    return setInterval(() => {
      this.writing = this.writing
        .then(() => this.liveReport())
        .catch((e) => {
          this.writeError ??= e;
        });
    }, this.cfg.reportInterval * 1000);
  }

  read(): Promise<void> {
    const { cfg, io } = this;
    const inputs = cfg.inputs.length === 0 ? ['-'] : cfg.inputs;
    // samples are written while reading: no progress line when they go to a terminal
    const dataOnTerminal = (io.stdout as { isTTY?: boolean }).isTTY === true;
    return withReadProgress(io.log, inputs, dataOnTerminal, (progress) =>
      readRecords(
        inputs,
        { ...io, progress },
        { lines: 0 },
        this.reject,
        cfg.inputFormat ?? 'auto',
        (rec, file, line) => {
          if (rec.kind === 'aggregate')
            throw new FieldError(
              'flows',
              'a flow record (meter-label counts flows, not aggregate records)',
              rec.obj.flows,
            );
          this.addFlow(rec.flow, () => `${file}:${line}`);
          return true;
        },
        async () => {
          if (!cfg.live) await this.flushClosed(false);
          if (this.writeError) throw this.writeError;
        },
      ),
    );
  }

  /** Report what is still open, end the output, say what went uncounted. */
  async end(): Promise<void> {
    await this.writing;
    if (this.writeError) throw this.writeError;
    if (this.cfg.live) await this.liveReport();
    else await this.flushClosed(true);
    await this.out.end();
    this.stats.samples = this.samples.samples;
    this.warnUnclaimed();
    if (this.stats.late > 0)
      this.io.log.info(
        `${this.stats.late} flows arrived after their interval was reported; they were reported again as extra samples`,
      );
  }

  private addFlow(r: FlowRecord, place: () => string): void {
    this.stats.flows++;
    const w = this.cfg.live ? this.live : this.flowTimeWindow(r, place);
    if (!w) return;
    const s = this.scope.slotOf(r);
    if (s < 0) {
      this.stats.unclaimed++;
      this.unclaimedExporters.set(r.sampler_address, (this.unclaimedExporters.get(r.sampler_address) ?? 0) + 1);
      return;
    }
    if (this.countIn(w, s, r)) this.stats.matched++;
  }

  /** Add the flow to the labels of router slot `s` it matches; true when it matched one. */
  private countIn(w: Window, s: number, r: FlowRecord): boolean {
    const { scope, matcher } = this;
    const slot = scope.slots[s]!;
    const d = scope.direction(slot, r);
    const n = d.dirs === 0 ? 0 : matcher.match(r.src_addr, r.dst_addr, d.dirs, d.crossing);
    const base = s * matcher.labels.length;
    let counted = false;
    for (let k = 0; k < n; k++) {
      const l = matcher.hits[k]!;
      if (!slot.applies[l]) continue;
      counted = true;
      w.bytes[base + l] = addCounters(w.bytes[base + l]!, r.bytes);
      w.pkts[base + l] = addCounters(w.pkts[base + l]!, r.packets);
    }
    return counted;
  }

  /** The flow-time interval of a flow (opened again when it was reported already); undefined,
   *  and the flow rejected, when it has no time. */
  private flowTimeWindow(r: FlowRecord, place: () => string): Window | undefined {
    const tns = flowTimeNs(r, this.cfg.timeField);
    if (tns <= 0) {
      this.reject(
        place(),
        'flow without time',
        `flow has no time_flow_start_ns, time_flow_end_ns or time_received_ns; cannot place it in an interval`,
      );
      return undefined;
    }
    const R = this.cfg.reportInterval;
    const t = Math.floor(tns / 1e9);
    const start = t - (((t % R) + R) % R);
    if (t > this.watermark) this.watermark = t;
    let win = this.open.get(start);
    if (!win) {
      let re = 0;
      if (start <= this.emittedUpTo) {
        re = (this.reopenCount.get(start) ?? 0) + 1;
        this.reopenCount.set(start, re);
      }
      win = this.newWindow(start, re);
      this.open.set(start, win);
    }
    if (win.reopened > 0) this.stats.late++;
    return win;
  }

  private newWindow(start: number, reopened = 0): Window {
    const cells = this.matcher.labels.length * this.scope.slots.length;
    return { start, bytes: new Array<Counter>(cells).fill(0), pkts: new Array<Counter>(cells).fill(0), reopened };
  }

  /** Report the flow-time intervals past the watermark and lateness (all of them at the end). */
  private async flushClosed(all: boolean): Promise<void> {
    const R = this.cfg.reportInterval;
    const ready = [...this.open.keys()]
      .filter((s) => all || s + R + this.cfg.lateness <= this.watermark)
      .sort((a, b) => a - b);
    for (const s of ready) {
      const w = this.open.get(s)!;
      if (this.samples.emit(this.matcher.labels, this.scope.slots, w, w.start + R, R, 'hash')) await this.out.flush();
      this.open.delete(s);
      if (s > this.emittedUpTo) this.emittedUpTo = s;
    }
    if (ready.length > 0) await this.out.flush(); // a closed interval goes out (to the bus) now, not with the next batch
  }

  /** --live: report the interval counted since the last report, then reload a changed store. */
  private async liveReport(): Promise<void> {
    const t = this.now() / 1000;
    const end = Math.floor(t);
    const w = this.live;
    this.live = this.newWindow(end);
    const seconds = Math.max(0, Math.round(t - this.lastReport));
    this.lastReport = t;
    if (this.samples.emit(this.matcher.labels, this.scope.slots, w, end, seconds, 'random')) await this.out.flush();
    await this.out.flush();
    if (await this.storeChanged()) {
      await this.load();
      this.live = this.newWindow(end);
    }
  }

  private async storeChanged(): Promise<boolean> {
    if (!this.io.storePath) return false;
    const st = await fsp.stat(this.io.storePath).catch(() => undefined);
    if (!st || st.mtimeMs === this.storeMtime) return false;
    this.storeMtime = st.mtimeMs;
    return true;
  }

  private warnUnclaimed(): void {
    const { unclaimed } = this.stats;
    if (unclaimed === 0) return;
    const top = [...this.unclaimedExporters]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([a, c]) => `${a} (${c})`);
    this.io.log.warn(
      `${unclaimed} flows from exporters no router claims, counted under no label: ${top.join(', ')}${this.unclaimedExporters.size > 5 ? ', …' : ''}`,
    );
  }
}
