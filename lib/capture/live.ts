// flow-capture's live mode: listeners → byte-bounded queue → decoders → FlowWriter → stdout
// or rotated files; loss accounting on stderr; signals (INT/TERM: stop receiving, flush, close,
// final stats, exit 0; HUP: close the current file and open a new one; USR2: stats now).

import type { EventEmitter } from 'node:events';
import { createWriteStream, fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Log } from '../cli/log.js';
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
  log: Log;
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
  const log = o.log;
  const queue = new DatagramQueue(o.queueBytes);
  const started = Date.now();
  let sink: Sink;
  let rotating: RotatingWriter | undefined;
  if (o.rotate) {
    rotating = new RotatingWriter({
      ...o.rotate,
      onClosed: (path, records) => log.info(`closed ${path} (${records} records)`),
      onExecError: (m) => log.warn(m),
      onRecovered: (m) => log.warn(m),
    });
    await rotating.start();
    sink = rotating;
  } else {
    sink = stdoutSink(o.stdout);
  }

  let pumping = false;
  let pumpDone: Promise<void> = Promise.resolve();
  let fatal: unknown;
  let stopping = false;
  const batchSize = o.batch ?? 256;

  const tee: TeeTarget[] = [];
  const teeAllow = o.teeAllow;
  const listeners = new UdpListeners(o.listen, {
    rcvbuf: o.rcvbuf,
    queue,
    onEnqueue: () => {
      if (!pumping && !fatal) schedule(); // also while stopping: the kernel queue is being drained
    },
    onReceive: o.tee?.length
      ? (d) => {
          if (teeAllow === undefined || teeAllow(d.exporter)) for (const t of tee) t.forward(d.payload);
        }
      : undefined,
  });

  // the records of a flush are credited to its first chunk (a rotated file counts what it got)
  let credited = 0;
  let toCredit = 0;
  const writer = new FlowWriter(async (chunk) => {
    const n = toCredit;
    toCredit = 0;
    await sink.write(chunk, n);
  }, o.output);
  const flush = async (): Promise<void> => {
    if (writer.pendingBytes === 0) return;
    toCredit += writer.count - credited;
    credited = writer.count;
    await writer.flush();
  };

  async function pump(): Promise<void> {
    try {
      while (queue.length > 0) {
        // a turn ends after `batchSize` datagrams or ~256 KiB of output, whichever comes first
        for (let i = 0; i < batchSize && writer.pendingBytes < 262144; i++) {
          const d = queue.shift();
          if (!d) break;
          o.decoder.decode(d, writer);
        }
        if (writer.pendingBytes >= 65536) await flush();
        // let the sockets be read between batches
        await new Promise<void>((r) => setImmediate(r));
      }
      await flush();
    } catch (e) {
      fatal ??= e;
      stop('error');
    } finally {
      pumping = false;
    }
  }

  function schedule(): void {
    pumping = true;
    pumpDone = new Promise<void>((r) => setImmediate(r)).then(pump);
  }

  // /proc rows vanish with the sockets: the final line uses the last reading taken before closing
  let lastKernel: ReturnType<typeof readKernelStats> | undefined;
  // the counters of the stats line and of /metrics: one reading
  const statsParts = (): StatsParts => {
    const k = lastKernel ?? readKernelStats(listeners.refs);
    const parts: StatsParts = [
      ['uptime', Math.round((Date.now() - started) / 1000)],
      ['datagrams', listeners.datagrams],
      ['bytes', listeners.bytes],
      ...o.decoder.counters(),
      ['queue_drops', queue.drops],
      ['queue_bytes', queue.bytes],
      ['queue_max_bytes', queue.highWater],
      ['kernel_drops', k.drops ?? 'unavailable'],
    ];
    if (rotating) parts.push(['files', rotating.filesClosed]);
    if (tee.length > 0) parts.push(['tee_drops', tee.reduce((n, t) => n + t.drops, 0)]);
    return parts;
  };
  const statsLine = (final: boolean): void => {
    const tag = final ? 'final stats' : 'stats';
    let out = `${o.prog}: ${tag} ${statsParts()
      .map(([a, b]) => `${a}=${b}`)
      .join(' ')}\n`;
    for (const s of o.decoder.sequenceLines()) out += `${o.prog}: ${tag} sequence ${s}\n`;
    for (const t of tee) out += `${o.prog}: ${tag} tee ${t.statsLine()}\n`;
    o.stderr.write(out);
  };
  let server: Server | undefined;

  let resolveStop!: (why: string) => void;
  const stopped = new Promise<string>((r) => (resolveStop = r));
  function stop(why: string): void {
    if (stopping) return;
    stopping = true;
    resolveStop(why);
  }
  let signalsSeen = 0;
  const onTerm = (sig: string) => (): void => {
    signalsSeen++;
    if (signalsSeen > 1) {
      log.error(`second ${sig}: exiting without flushing`);
      o.hardExit(130);
      return;
    }
    log.info(`${sig}: stopping`);
    stop(sig);
  };
  const onInt = onTerm('SIGINT');
  const onTermSig = onTerm('SIGTERM');
  const onHup = (): void => {
    if (!rotating) {
      log.info('SIGHUP: writing to stdout, nothing to reopen');
      return;
    }
    // write what is decoded so far into the old file, then switch
    void (async () => {
      try {
        await pumpDone;
        await flush();
        await sink.reopen();
      } catch (e) {
        fatal ??= e;
        stop('error');
      }
    })();
  };
  const onUsr2 = (): void => statsLine(false);
  o.signals.on('SIGINT', onInt);
  o.signals.on('SIGTERM', onTermSig);
  o.signals.on('SIGHUP', onHup);
  o.signals.on('SIGUSR2', onUsr2);

  // signals are handled before the first datagram can arrive (and before "listening on" is said)
  try {
    for (const spec of o.tee ?? []) tee.push(await TeeTarget.open(spec));
    await listeners.start();
    if (o.metrics)
      server = await serveMetrics(
        o.metrics,
        captureRegistry({ parts: oneReadingPerScrape(statsParts), exporters: o.decoder.exporters, tee }),
      );
  } catch (e) {
    o.signals.off('SIGINT', onInt);
    o.signals.off('SIGTERM', onTermSig);
    o.signals.off('SIGHUP', onHup);
    o.signals.off('SIGUSR2', onUsr2);
    await listeners.stop();
    await Promise.all(tee.map((t) => t.close()));
    await rotating?.abort().catch(() => undefined);
    throw e;
  }
  for (const g of listeners.grants) {
    const w = rcvbufWarning(g);
    if (w) log.warn(w);
  }
  for (const a of listeners.addresses())
    log.info(`listening on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
  if (server) log.info(`metrics on http://${hostPort(server.address())}/metrics`);
  for (const t of tee) log.info(`forwarding datagrams to ${t.text}`);

  const statsTimer = o.statsInterval > 0 ? setInterval(() => statsLine(false), o.statsInterval * 1000) : undefined;
  const saveTimer =
    o.saveInterval > 0 && o.decoder.save
      ? setInterval(() => {
          o.decoder.save!().catch((e: Error) => log.warn(`saving state: ${e.message}`));
        }, o.saveInterval * 1000)
      : undefined;

  await stopped;
  // Stop receiving, but first take what the kernel already holds for us (datagrams that arrived
  // before the signal): wait, bounded, until our sockets' receive queues are empty.
  // Give up only when no datagram was read for a second (a stuck socket must not block exit).
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
  lastKernel = readKernelStats(listeners.refs);
  await listeners.stop();
  await Promise.all(tee.map((t) => t.close()));
  if (statsTimer) clearInterval(statsTimer);
  if (saveTimer) clearInterval(saveTimer);
  try {
    await pumpDone;
    if (!fatal) {
      pumping = true;
      await pump();
      o.decoder.finish(writer);
      await flush();
    }
  } catch (e) {
    fatal ??= e;
  }
  try {
    await sink.close();
  } catch (e) {
    if (fatal && e !== fatal) log.error((e as Error).message); // e.g. where a partial file was kept
    fatal ??= e;
  }
  if (o.decoder.save) await o.decoder.save().catch((e: Error) => log.warn(`saving state: ${e.message}`));
  o.signals.off('SIGINT', onInt);
  o.signals.off('SIGTERM', onTermSig);
  o.signals.off('SIGHUP', onHup);
  o.signals.off('SIGUSR2', onUsr2);
  log.flushSuppressed();
  if (!o.quiet) statsLine(true);
  if (server) await closeServer(server);
  if (fatal) throw fatal;
  return 0;
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
