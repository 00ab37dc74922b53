// flow-capture's live-mode options (the "Live capture:" group) and the glue from parsed flags to
// runLive: the FlowDecoder with sFlow plugged in, the template cache file, counters output and
// the stats counters. Kept apart from lib/commands/flow-capture.ts so the command only adds a
// group of options and one call.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Proc } from '../cli/run.js';
import type { Log } from '../cli/log.js';
import { FlowmeterError, usageError } from '../errors.js';
import { writeFileAtomic, describeSystemError } from '../cli/io.js';
import { intInRange } from '../cli/options.js';
import type { Datagram } from '../capture/datagram.js';
import { FlowDecoder } from '../decode/decoder.js';
import { TemplateCache } from '../netflow/templates.js';
import type { FlowSink } from '../netflow/core.js';
import type { FlowWriter, FlowWriterOptions } from '../format/writer.js';
import { SflowDecoder } from '../sflow/decode.js';
import { counterToJson } from '../sflow/counters.js';
import { parseListen, type ListenSpec } from '../capture/udp.js';
import { runLive, type LiveDecoder } from '../capture/live.js';
import { ExporterTable } from '../capture/exporters.js';
import { parseTee } from '../capture/tee.js';

const GROUP = 'Live capture:';
/** Exporter streams listed with their own loss line. */
const MAX_LOSS_STREAMS = 4096;

export interface LiveArgs {
  listen?: string[];
  rcvbuf: number;
  'queue-bytes': number;
  w?: string;
  rotate: number;
  'local-time': boolean;
  compress?: string;
  exec?: string;
  'template-cache'?: string;
  'template-save': number;
  'template-timeout': number;
  stats: number;
  counters: boolean;
  metrics?: string;
  'metrics-max-exporters': number;
  tee?: string[];
}

/** Add the live-mode options to a command's parser. */
export function addLiveOptions<T>(y: Argv<T>): Argv<T & LiveArgs> {
  return y
    .option('listen', {
      alias: 'l',
      type: 'string',
      array: true,
      requiresArg: true,
      group: GROUP,
      describe: 'Receive NetFlow/IPFIX/sFlow on [ADDR]:PORT (repeatable; [::]:PORT is dual-stack)',
    })
    .option('rcvbuf', {
      type: 'string',
      default: '33554432',
      group: GROUP,
      describe: 'Socket receive buffer to ask for, bytes',
      coerce: intInRange('rcvbuf', 65536, 2 ** 31 - 1),
    })
    .option('queue-bytes', {
      type: 'string',
      default: '67108864',
      group: GROUP,
      describe: 'Bound of the queue between sockets and output, bytes (beyond: queue_drops)',
      coerce: intInRange('queue-bytes', 65536, 2 ** 40),
    })
    .option('w', {
      type: 'string',
      requiresArg: true,
      group: GROUP,
      describe: 'Write rotated files into DIR instead of stdout',
    })
    .option('rotate', {
      type: 'string',
      default: '300',
      group: GROUP,
      describe: 'Seconds per file with -w, aligned to the clock',
      coerce: intInRange('rotate', 2, 86400 * 7),
    })
    .option('local-time', {
      type: 'boolean',
      default: false,
      group: GROUP,
      describe: 'With -w, align to the local clock and name files in local time with its UTC offset (default: UTC)',
    })
    .option('compress', { type: 'string', choices: ['gzip'], group: GROUP, describe: 'Compress files written with -w' })
    .option('exec', {
      type: 'string',
      requiresArg: true,
      group: GROUP,
      describe: 'Run CMD with each closed file (no shell; %f = path, else appended)',
    })
    .option('template-cache', {
      type: 'string',
      requiresArg: true,
      group: GROUP,
      describe: 'Load v9/IPFIX templates and sampling from FILE at start, save them there',
    })
    .option('template-save', {
      type: 'string',
      default: '60',
      group: GROUP,
      describe: 'Seconds between template cache saves and sweeps of timed-out templates (and at exit)',
      coerce: intInRange('template-save', 1, 86400),
    })
    .option('template-timeout', {
      type: 'string',
      default: '1800',
      group: GROUP,
      describe: 'Forget v9/IPFIX templates neither resent nor used for SECONDS (not saved)',
      coerce: intInRange('template-timeout', 60, 86400 * 30),
    })
    .option('stats', {
      type: 'string',
      default: '0',
      group: GROUP,
      describe: 'Print key=value counters on stderr every N seconds (0: at exit and on SIGUSR2)',
      coerce: intInRange('stats', 0, 86400),
    })
    .option('counters', {
      type: 'boolean',
      default: false,
      group: GROUP,
      describe: 'Also emit sFlow counter samples as SFLOW_5_COUNTERS records',
    })
    .option('metrics', {
      type: 'string',
      requiresArg: true,
      group: GROUP,
      describe: 'Serve Prometheus metrics at http://[ADDR:]PORT/metrics (PORT alone: all addresses)',
    })
    .option('metrics-max-exporters', {
      type: 'string',
      default: '1000',
      group: GROUP,
      describe: 'Exporters labelled one by one in the metrics; the rest are summed as exporter="other"',
      coerce: intInRange('metrics-max-exporters', 1, 1_000_000),
    })
    .option('tee', {
      type: 'string',
      array: true,
      requiresArg: true,
      group: GROUP,
      describe: 'Forward every datagram received, unchanged, to HOST:PORT (repeatable; not spoofed: from this host)',
    });
}

/** The FlowDecoder with sFlow plugged in, adapted to what the live loop needs. */
export class LiveFlowDecoder implements LiveDecoder {
  readonly fd: FlowDecoder;
  readonly sflow: SflowDecoder;
  private out: FlowWriter | undefined;
  private readonly sink: FlowSink = {
    flow: (w) => void this.out!.addWire(w),
    record: (r) => void this.out!.add(r),
  };
  private readonly lossByStream = new Map<string, number>();
  /** Per exporter and protocol, for /metrics: deltas of the decoder's own counters. */
  readonly exporters: ExporterTable;

  constructor(
    log: Log,
    counters: boolean,
    templates: TemplateCache | undefined,
    private readonly cachePath: string | undefined,
    /** Templates neither resent nor used for this long are swept at each save, ns. */
    private readonly templateTimeoutNs: number,
    allow?: (exporter: string) => boolean,
    maxExporters = 1000,
  ) {
    this.exporters = new ExporterTable(maxExporters);
    this.sflow = new SflowDecoder(counters ? { onCounters: (c) => void this.out?.addLine(counterToJson(c)) } : {});
    const sflow = this.sflow;
    this.fd = new FlowDecoder({
      rejects: log,
      templates,
      allow,
      sflow: (d, v, emit, core) => sflow.decode(d, v, emit, core),
    });
    // per-stream loss for the stats lines: wrap the core's sequence accounting
    const fd = this.fd;
    const base = fd.sequence.bind(fd);
    const loss = this.lossByStream;
    fd.sequence = (key: string, seq: number, maxGap: number): boolean => {
      const before = fd.stats.sequenceMissing;
      const ok = base(key, seq, maxGap);
      const missing = fd.stats.sequenceMissing - before;
      // bounded like the core's tracker: streams beyond the cap are summed under one entry
      if (missing > 0) {
        const k = loss.has(key) || loss.size < MAX_LOSS_STREAMS ? key : 'other streams';
        loss.set(k, (loss.get(k) ?? 0) + missing);
      }
      return ok;
    };
  }

  get records(): number {
    return this.fd.stats.records;
  }

  decode(d: Datagram, out: FlowWriter): void {
    this.out = out;
    const s = this.fd.stats;
    const { records, sequenceMissing, denied } = s;
    this.fd.decode(d, this.sink);
    if (s.denied !== denied) return; // counted in the total only: not an exporter we listen to
    const c = this.exporters.countsFor(d);
    c.datagrams++;
    c.bytes += d.payload.length;
    c.records += s.records - records;
    c.seqLost += s.sequenceMissing - sequenceMissing;
  }

  finish(out: FlowWriter): void {
    this.out = out;
    this.fd.finish();
  }

  counters(): Array<[string, number]> {
    const s = this.fd.stats;
    const evicted = this.fd.templates.evicted;
    const out: Array<[string, number]> = [
      ['records', s.records],
      ['denied', s.denied],
      ['decode_errors', s.rejected],
    ];
    for (const [reason, n] of s.rejects) out.push([`error_${reason.replace(/[^a-z0-9]+/gi, '_')}`, n]);
    for (const [name, v] of Object.entries(s.byVersion))
      if (v.datagrams > 0) out.push([`${name}_datagrams`, v.datagrams]);
    out.push(
      ['sflow_counter_samples', this.sflow.stats.counterSamples],
      ['templates', this.fd.templates.size],
      ['template_exporters', this.fd.templates.exporterCount],
      ['template_evictions', evicted.templates],
      ['domain_evictions', evicted.domains],
      ['exporter_evictions', evicted.exporters],
      ['templates_timed_out', evicted.timedOut],
      ['pending_held', s.pendingHeld],
      ['pending_decoded', s.pendingDecoded],
      ['pending_expired', s.pendingExpired],
      ['seq_gaps', s.sequenceGaps],
      ['seq_lost', s.sequenceMissing],
      ['seq_resets', s.sequenceResets],
      ['times_unanchored', s.timesUnanchored],
    );
    return out;
  }

  sequenceLines(): string[] {
    const lines: string[] = [];
    for (const [key, lost] of this.lossByStream) {
      if (lost > 0) lines.push(`stream="${key}" lost=${lost}`);
    }
    return lines;
  }

  /** Sweep timed-out templates (live receive times are the wall clock), then save what is left. */
  async save(): Promise<void> {
    this.fd.templates.expire(this.templateTimeoutNs, Date.now() * 1e6);
    if (!this.cachePath) return;
    await writeFileAtomic(this.cachePath, JSON.stringify(this.fd.templates.toJSON()) + '\n');
  }
}

/** Read the template cache; a missing file is a fresh start, a bad one is exit 78. */
export function loadTemplateCache(path: string, log: Log): TemplateCache | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      log.info(`${path}: no template cache yet, starting empty`);
      return undefined;
    }
    throw new FlowmeterError('no-input', `${path}: cannot read template cache: ${describeSystemError(err)}`);
  }
  try {
    const cache = TemplateCache.fromJSON(JSON.parse(text));
    log.info(`${path}: loaded ${cache.size} templates of ${cache.domainCount} exporter domains`);
    return cache;
  } catch (e) {
    throw new FlowmeterError(
      'config',
      `${path}: not a usable template cache: ${(e as Error).message} (move it away to start empty)`,
    );
  }
}

/** Split --exec into argv without a shell: whitespace separates, '…' and "…" group. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  if (out.length === 0) throw usageError('--exec: empty command');
  return out;
}

export interface LiveRunInput {
  args: LiveArgs;
  proc: Proc;
  log: Log;
  /** Output format (ndjson or text), fields and colours. */
  output: FlowWriterOptions;
  /** --allow: exporters whose datagrams are decoded (others are counted as denied). */
  allow?: (exporter: string) => boolean;
  /** File extension for -w files ("ndjson", "csv", "txt"). */
  extension: string;
  quiet: boolean;
}

/** Run the collector until SIGINT/SIGTERM. */
export async function runLiveFromArgs(i: LiveRunInput): Promise<number> {
  const a = i.args;
  const specs: ListenSpec[] = (a.listen ?? []).map((t) => parseListen(t));
  const metrics = a.metrics === undefined ? undefined : parseListen(a.metrics, '--metrics');
  const tee = (a.tee ?? []).map(parseTee);
  if (specs.length === 0) throw usageError('--listen: give at least one [ADDR]:PORT');
  if (a.w === undefined && (a.compress !== undefined || a.exec !== undefined || a['local-time']))
    throw usageError('--compress, --exec and --local-time need -w DIR');
  if (a.counters && i.output.format !== 'ndjson')
    throw usageError('--counters emits NDJSON records: use it with --format ndjson');
  const templates = a['template-cache'] ? loadTemplateCache(a['template-cache'], i.log) : undefined;
  const decoder = new LiveFlowDecoder(
    i.log,
    a.counters,
    templates,
    a['template-cache'],
    a['template-timeout'] * 1e9,
    i.allow,
    a['metrics-max-exporters'],
  );
  return runLive({
    listen: specs,
    rcvbuf: a.rcvbuf,
    queueBytes: a['queue-bytes'],
    decoder,
    output: i.output,
    stdout: i.proc.stdout,
    rotate:
      a.w !== undefined
        ? {
            dir: a.w,
            interval: a.rotate,
            extension: i.extension,
            localTime: a['local-time'],
            compress: a.compress === 'gzip' ? 'gzip' : undefined,
            exec: a.exec !== undefined ? splitCommand(a.exec) : undefined,
          }
        : undefined,
    statsInterval: a.stats,
    saveInterval: a['template-save'],
    log: i.log,
    stderr: i.proc.stderr,
    prog: 'flow-capture',
    quiet: i.quiet,
    signals: i.proc.signals,
    hardExit: (code) => process.exit(code),
    metrics,
    tee,
    teeAllow: i.allow,
  });
}
