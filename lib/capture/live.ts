// flow-capture's live mode: listeners → byte-bounded queue → decoders → FlowWriter → stdout
// or rotated files; loss accounting on stderr; signals (INT/TERM: stop receiving, flush, close,
// final stats, exit 0; HUP: close the current file and open a new one; USR2: stats now).

import type { EventEmitter } from 'node:events';
import { createWriteStream, fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { waitDrain } from '../cli/writer.js';
import { FlowWriter, type FlowWriterOptions } from '../format/writer.js';
import type { Datagram } from './datagram.js';
import { DatagramQueue, UdpListeners, rcvbufWarning, type ListenSpec } from './udp.js';
import { readKernelStats } from './kernel-drops.js';
import { RotatingWriter, type RotateOptions } from './rotate.js';
import type { ExporterTable } from './exporters.js';
import { TeeTarget, type TeeSpec } from './tee.js';
import { captureRegistry, closeServer, serveMetrics, type StatsParts } from './metrics.js';
import type { Server } from 'node:http';

/** What the live loop needs from the decoding side (NetFlow/IPFIX/sFlow dispatch). */
export interface LiveDecoder {
  /** Decode one datagram; its records go to `out`. Never throws. */
  decode(d: Datagram, out: FlowWriter): void;
  /** End of input: emit whatever is held back (e.g. data waiting for templates). */
  finish(out: FlowWriter): void;
  /** Counters for the stats line, `key=value` order preserved. */
  counters(): Array<[string, number]>;
  /** Records emitted so far. */
  readonly records: number;
  /** Per-stream sequence accounting lines (`exporter=… lost=…`), for the stats output. */
  sequenceLines(): string[];
  /** Save state (template cache) if configured; called periodically and at exit. */
  save?(): Promise<void>;
  /** Per exporter and protocol counters, for /metrics. */
  readonly exporters?: ExporterTable;
}

/** Where the live loop says what happens, on stderr (flow-capture passes its Log). */
export interface LiveLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Say how many repeated messages were held back. */
  flushSuppressed(): void;
}

export interface LiveOptions {
  listen: ListenSpec[];
  rcvbuf: number;
  queueBytes: number;
  decoder: LiveDecoder;
  /** Output format (ndjson or text), fields and colours. */
  output: FlowWriterOptions;
  /** stdout (no rotation) or a directory with rotation. */
  stdout: Writable;
  rotate?: Omit<RotateOptions, 'onClosed' | 'onExecError' | 'onRecovered'>;
  /** Seconds between stats lines on stderr (0: only at exit and on SIGUSR2). */
  statsInterval: number;
  /** Seconds between state saves (template cache); 0 disables the periodic save. */
  saveInterval: number;
  log: LiveLog;
  /** Stats lines go here as `<prog>: stats key=value …`. */
  stderr: Writable;
  prog: string;
  /** -q: no final stats (periodic --stats lines are still printed: they were asked for). */
  quiet: boolean;
  /** Where signals arrive (the process). */
  signals: EventEmitter;
  /** Second INT/TERM: give up at once. */
  hardExit: (code: number) => void;
  /** Datagrams decoded per turn before yielding to the sockets. */
  batch?: number;
  /** --metrics: serve /metrics here. */
  metrics?: ListenSpec;
  /** --tee: forward every datagram received (that `teeAllow` lets through) to these. */
  tee?: TeeSpec[];
  teeAllow?: (exporter: string) => boolean;
}

interface Sink {
  write(data: Buffer, records: number): Promise<void>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * stdout. Redirected to a regular file (`> flows.ndjson`) it is written through an fs stream of
 * its own: Node writes a file on stdout synchronously, so a disk write-back stall stalled the
 * sockets too (kernel drops at 500 k flows/s in bench/live-udp.ts).
 */
function stdoutSink(out: Writable): Sink {
  const fd = (out as { fd?: unknown }).fd;
  const file =
    typeof fd === 'number' && isRegularFile(fd) ? createWriteStream('', { fd, autoClose: false }) : undefined;
  let failed: Error | undefined;
  file?.on('error', (e) => (failed ??= e));
  const target = file ?? out;
  return {
    async write(data) {
      if (failed) throw failed;
      if (!target.write(data)) await waitDrain(target);
    },
    async reopen() {
      /* stdout cannot be reopened */
    },
    async close() {
      if (file)
        await new Promise<void>((resolve, reject) =>
          file.end((e?: Error | null) => ((e ?? failed) ? reject(e ?? failed) : resolve())),
        );
    },
  };
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

export async function runLive(o: LiveOptions): Promise<number> {
  const rotating = o.rotate ? await startRotating(o.rotate, o.log) : undefined;
  const run = new LiveRun(o, rotating ?? stdoutSink(o.stdout), rotating);
  run.listenForSignals();
  // signals are handled before the first datagram can arrive (and before "listening on" is said)
  await run.start();
  run.announce();
  const timers = run.startTimers();
  await run.stopped;
  await run.drainKernelQueues();
  await run.finish(timers);
  return 0;
}

async function startRotating(rotate: NonNullable<LiveOptions['rotate']>, log: LiveLog): Promise<RotatingWriter> {
  const rotating = new RotatingWriter({
    ...rotate,
    onClosed: (path, records) => log.info(`closed ${path} (${records} records)`),
    onExecError: (m) => log.warn(m),
    onRecovered: (m) => log.warn(m),
  });
  await rotating.start();
  return rotating;
}

/** One live capture: sockets → queue → decoder → writer → sink, its signals, timers and stats. */
class LiveRun {
  private readonly log: LiveLog;
  private readonly queue: DatagramQueue;
  private readonly started = Date.now();
  private readonly tee: TeeTarget[] = [];
  private readonly listeners: UdpListeners;
  private readonly writer: FlowWriter;
  private readonly batchSize: number;
  private server: Server | undefined;
  private pumping = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private fatal: unknown;
  private stopping = false;
  private signalsSeen = 0;
  // the records of a flush are credited to its first chunk (a rotated file counts what it got)
  private credited = 0;
  private toCredit = 0;
  // /proc rows vanish with the sockets: the final line uses the last reading taken before closing
  private lastKernel: ReturnType<typeof readKernelStats> | undefined;
  private resolveStop!: (why: string) => void;
  readonly stopped = new Promise<string>((r) => (this.resolveStop = r));

  constructor(
    private readonly o: LiveOptions,
    private readonly sink: Sink,
    private readonly rotating: RotatingWriter | undefined,
  ) {
    this.log = o.log;
    this.queue = new DatagramQueue(o.queueBytes);
    this.batchSize = o.batch ?? 256;
    this.listeners = new UdpListeners(o.listen, {
      rcvbuf: o.rcvbuf,
      queue: this.queue,
      onEnqueue: () => {
        if (!this.pumping && !this.fatal) this.schedule(); // also while stopping: the kernel queue is being drained
      },
      onReceive: o.tee?.length ? (d) => this.forward(d) : undefined,
    });
    this.writer = new FlowWriter(async (chunk) => {
      const n = this.toCredit;
      this.toCredit = 0;
      await sink.write(chunk, n);
    }, o.output);
  }

  /** Open the --tee targets, bind the sockets, serve /metrics; on failure undo what was done. */
  async start(): Promise<void> {
    try {
      for (const spec of this.o.tee ?? []) this.tee.push(await TeeTarget.open(spec));
      await this.listeners.start();
      if (this.o.metrics)
        this.server = await serveMetrics(
          this.o.metrics,
          captureRegistry({
            parts: oneReadingPerScrape(() => this.statsParts()),
            exporters: this.o.decoder.exporters,
            tee: this.tee,
          }),
        );
    } catch (e) {
      this.stopListeningForSignals();
      await this.listeners.stop();
      await Promise.all(this.tee.map((t) => t.close()));
      await this.rotating?.abort().catch(() => undefined);
      throw e;
    }
  }

  /** Say where it listens, serves and forwards, and any receive buffer smaller than asked. */
  announce(): void {
    const log = this.log;
    for (const g of this.listeners.grants) {
      const w = rcvbufWarning(g);
      if (w) log.warn(w);
    }
    for (const a of this.listeners.addresses())
      log.info(`listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    if (this.server) log.info(`metrics on http://${hostPort(this.server.address())}/metrics`);
    for (const t of this.tee) log.info(`forwarding datagrams to ${t.text}`);
  }

  /** The periodic stats line and state save. */
  startTimers(): NodeJS.Timeout[] {
    const { o } = this;
    const timers: NodeJS.Timeout[] = [];
    if (o.statsInterval > 0) timers.push(setInterval(() => this.statsLine(false), o.statsInterval * 1000));
    if (o.saveInterval > 0 && o.decoder.save) timers.push(setInterval(() => void this.save(), o.saveInterval * 1000));
    return timers;
  }

  /**
   * Stop receiving, but first take what the kernel already holds for us (datagrams that arrived
   * before the signal): wait, bounded, until our sockets' receive queues are empty. Give up only
   * when no datagram was read for a second (a stuck socket must not block exit).
   */
  async drainKernelQueues(): Promise<void> {
    const listeners = this.listeners;
    let lastCount = listeners.datagrams;
    let lastProgress = Date.now();
    for (;;) {
      const k = readKernelStats(listeners.refs);
      if (!k.rxQueue) break;
      if (listeners.datagrams !== lastCount) {
        lastCount = listeners.datagrams;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > 1000) {
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.lastKernel = readKernelStats(listeners.refs);
  }

  /** Close the sockets, decode and write what is queued, close the output, final stats. */
  async finish(timers: readonly NodeJS.Timeout[]): Promise<void> {
    await this.listeners.stop();
    await Promise.all(this.tee.map((t) => t.close()));
    for (const t of timers) clearInterval(t);
    await this.writeTheRest();
    await this.closeSink();
    if (this.o.decoder.save) await this.save();
    this.stopListeningForSignals();
    this.log.flushSuppressed();
    if (!this.o.quiet) this.statsLine(true);
    if (this.server) await closeServer(this.server);
    if (this.fatal) throw this.fatal;
  }

  listenForSignals(): void {
    const s = this.o.signals;
    s.on('SIGINT', this.onInt);
    s.on('SIGTERM', this.onTerm);
    s.on('SIGHUP', this.onHup);
    s.on('SIGUSR2', this.onUsr2);
  }

  private stopListeningForSignals(): void {
    const s = this.o.signals;
    s.off('SIGINT', this.onInt);
    s.off('SIGTERM', this.onTerm);
    s.off('SIGHUP', this.onHup);
    s.off('SIGUSR2', this.onUsr2);
  }

  private readonly onInt = (): void => this.onStopSignal('SIGINT');
  private readonly onTerm = (): void => this.onStopSignal('SIGTERM');
  private readonly onUsr2 = (): void => this.statsLine(false);

  private onStopSignal(sig: string): void {
    this.signalsSeen++;
    if (this.signalsSeen > 1) {
      this.log.error(`second ${sig}: exiting without flushing`);
      this.o.hardExit(130);
      return;
    }
    this.log.info(`${sig}: stopping`);
    this.stop(sig);
  }

  private readonly onHup = (): void => {
    if (!this.rotating) {
      this.log.info('SIGHUP: writing to stdout, nothing to reopen');
      return;
    }
    // write what is decoded so far into the old file, then switch
    void (async () => {
      try {
        await this.pumpDone;
        await this.flush();
        await this.sink.reopen();
      } catch (e) {
        this.fail(e);
      }
    })();
  };

  private stop(why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.resolveStop(why);
  }

  private fail(e: unknown): void {
    this.fatal ??= e;
    this.stop('error');
  }

  private forward(d: Datagram): void {
    const allow = this.o.teeAllow;
    if (allow === undefined || allow(d.exporter)) for (const t of this.tee) t.forward(d.payload);
  }

  private schedule(): void {
    this.pumping = true;
    this.pumpDone = new Promise<void>((r) => setImmediate(r)).then(() => this.pump());
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        this.decodeTurn();
        if (this.writer.pendingBytes >= 65536) await this.flush();
        // let the sockets be read between batches
        await new Promise<void>((r) => setImmediate(r));
      }
      await this.flush();
    } catch (e) {
      this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  /** A turn ends after `batchSize` datagrams or ~256 KiB of output, whichever comes first. */
  private decodeTurn(): void {
    const { queue, writer, batchSize } = this;
    for (let i = 0; i < batchSize && writer.pendingBytes < 262144; i++) {
      const d = queue.shift();
      if (!d) break;
      this.o.decoder.decode(d, writer);
    }
  }

  private async flush(): Promise<void> {
    if (this.writer.pendingBytes === 0) return;
    this.toCredit += this.writer.count - this.credited;
    this.credited = this.writer.count;
    await this.writer.flush();
  }

  /** Decode what is still queued and what the decoder holds back, and write it. */
  private async writeTheRest(): Promise<void> {
    try {
      await this.pumpDone;
      if (!this.fatal) {
        this.pumping = true;
        await this.pump();
        this.o.decoder.finish(this.writer);
        await this.flush();
      }
    } catch (e) {
      this.fatal ??= e;
    }
  }

  private async closeSink(): Promise<void> {
    try {
      await this.sink.close();
    } catch (e) {
      if (this.fatal && e !== this.fatal) this.log.error((e as Error).message); // e.g. where a partial file was kept
      this.fatal ??= e;
    }
  }

  private save(): Promise<void> {
    return this.o.decoder.save!().catch((e: Error) => this.log.warn(`saving state: ${e.message}`));
  }

  /** The counters of the stats line and of /metrics: one reading. */
  private statsParts(): StatsParts {
    const { listeners, queue, o } = this;
    const k = this.lastKernel ?? readKernelStats(listeners.refs);
    const parts: StatsParts = [
      ['uptime', Math.round((Date.now() - this.started) / 1000)],
      ['datagrams', listeners.datagrams],
      ['bytes', listeners.bytes],
      ...o.decoder.counters(),
      ['queue_drops', queue.drops],
      ['queue_bytes', queue.bytes],
      ['queue_max_bytes', queue.highWater],
      ['kernel_drops', k.drops ?? 'unavailable'],
    ];
    if (this.rotating) parts.push(['files', this.rotating.filesClosed]);
    if (this.tee.length > 0) parts.push(['tee_drops', this.tee.reduce((n, t) => n + t.drops, 0)]);
    return parts;
  }

  private statsLine(final: boolean): void {
    const { o } = this;
    const tag = final ? 'final stats' : 'stats';
    let out = `${o.prog}: ${tag} ${this.statsParts()
      .map(([a, b]) => `${a}=${b}`)
      .join(' ')}\n`;
    for (const s of o.decoder.sequenceLines()) out += `${o.prog}: ${tag} sequence ${s}\n`;
    for (const t of this.tee) out += `${o.prog}: ${tag} tee ${t.statsLine()}\n`;
    o.stderr.write(out);
  }
}

/** A scrape reads every counter of the stats line; /proc is read once for all of them. */
function oneReadingPerScrape(read: () => StatsParts): () => StatsParts {
  let at = 0;
  let last: StatsParts = [];
  return () => {
    const now = Date.now();
    if (now - at > 50) {
      last = read();
      at = now;
    }
    return last;
  };
}

function hostPort(a: ReturnType<Server['address']>): string {
  if (a === null || typeof a === 'string') return String(a);
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
