// flow-capture -r: decode the export datagrams of pcap/pcapng captures (files or stdin) with the
// same decoders the live collector uses, so a replayed capture and live traffic give the same
// records; write them as NDJSON, CSV or text (lib/format) to stdout or an atomic -o file.
// Bad packets and datagrams are counted (RejectCounter) and reported by reason (the first few
// named with packet number and offset), summarised on stderr at the end, and make the exit
// status 65; --strict stops at the first one. Memory stays bounded: batches of datagrams in, batched output with
// backpressure out.

import type { Proc } from '../cli/run.js';
import type { Log } from '../cli/log.js';
import { openInput } from '../cli/io.js';
import { ReadProgress } from '../cli/progress.js';
import { openOutput } from '../cli/output.js';
import { readCapture, newCaptureStats, type CaptureStats } from '../capture/pcap-file.js';
import type { FlowSink } from '../netflow/core.js';
import { FlowDecoder } from '../decode/decoder.js';
import { SflowDecoder } from '../sflow/decode.js';
import { counterToJson } from '../sflow/counters.js';
import { FlowWriter, type FlowWriterOptions } from '../format/writer.js';
import { RejectCounter } from '../rejects.js';

export interface ReadFilesConfig extends FlowWriterOptions {
  files: readonly string[];
  /** -o FILE (undefined or "-": stdout). */
  output?: string;
  /** Stop at the first rejected packet or datagram. */
  strict?: boolean;
  /** Emit sFlow counter samples too (NDJSON only). */
  counters?: boolean;
  /** --allow: exporters whose datagrams are decoded (others are counted as denied). */
  allow?: (exporter: string) => boolean;
}

export interface ReadFilesResult {
  files: number;
  capture: CaptureStats;
  datagrams: number;
  /** Datagrams from exporters not allowed (--allow), not decoded. */
  denied: number;
  records: number;
  rejected: number;
  /** Rejected packets and datagrams by reason, in first-seen order. */
  rejections: ReadonlyMap<string, number>;
  /** Records whose times fell back to the export time (DecoderStats.timesUnanchored). */
  timesUnanchored: number;
  stoppedEarly: boolean;
}

/** Decode every file in order into one output; returns the counts (the caller picks the exit status). */
export async function decodeCaptureFiles(cfg: ReadFilesConfig, proc: Proc, log: Log): Promise<ReadFilesResult> {
  const out = await openOutput(cfg.output, proc.stdout);
  const writer = new FlowWriter(out.stream, cfg);
  let pendingFlush = false;
  // sFlow counter samples are NDJSON objects of their own kind: only in NDJSON output
  const sflow = new SflowDecoder(
    cfg.counters === true && cfg.format === 'ndjson'
      ? { onCounters: (c) => void (writer.addLine(counterToJson(c)) && (pendingFlush = true)) }
      : {},
  );
  const rejects = new RejectCounter(log);
  const dec = new FlowDecoder({ rejects, allow: cfg.allow, sflow: (d, v, e, core) => sflow.decode(d, v, e, core) });
  const sink: FlowSink = {
    flow: (w) => void (writer.addWire(w) && (pendingFlush = true)),
    record: (r) => void (writer.add(r) && (pendingFlush = true)),
  };
  const capture = newCaptureStats();
  let stoppedEarly = false;
  const strict = cfg.strict === true;
  const toStdout = cfg.output === undefined || cfg.output === '-';
  const progress = await ReadProgress.start(log, cfg.files, toStdout && proc.stdout.isTTY === true);
  try {
    files: for (const f of cfg.files) {
      const input = await openInput(f, proc.stdin);
      progress.watch(input.stream);
      const gen = readCapture(input, rejects, capture);
      try {
        for await (const batch of gen) {
          for (const d of batch) {
            dec.decode(d, sink);
            if (strict && rejects.total > 0) {
              stoppedEarly = true;
              break files;
            }
          }
          if (strict && rejects.total > 0) {
            stoppedEarly = true;
            break files;
          }
          if (pendingFlush) {
            pendingFlush = false;
            await writer.flush();
          }
        }
      } finally {
        await gen.return(undefined);
      }
    }
    if (!stoppedEarly) dec.finish();
    await writer.end();
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    progress.end();
  }
  log.flushSuppressed();
  const s = dec.stats;
  const res: ReadFilesResult = {
    files: cfg.files.length,
    capture,
    datagrams: s.datagrams,
    denied: s.denied,
    records: s.records,
    rejected: rejects.total,
    rejections: rejects.byReason,
    timesUnanchored: s.timesUnanchored,
    stoppedEarly,
  };
  summarise(res, log);
  return res;
}

/** One line on stderr: when something was rejected (as an error: -q does not hide it), else only with -v. */
function summarise(res: ReadFilesResult, log: Log): void {
  const c = res.capture;
  let line =
    `${res.files} file${res.files === 1 ? '' : 's'}: ${c.packets} packets, ${res.datagrams} datagrams, ${res.records} records` +
    (res.denied > 0 ? `; ${res.denied} datagrams denied (exporter not in --allow)` : '');
  if (res.rejected > 0) {
    const reasons = [...res.rejections].map(([reason, n]) => `${reason} ${n}`).join(', ');
    line += `; rejected ${res.rejected} (${reasons})`;
    if (res.stoppedEarly) line += '; stopped at the first (--strict)';
    log.error(line);
  } else log.info(line);
  if (res.timesUnanchored > 0)
    log.warn(
      `${res.timesUnanchored} IPFIX records had sysUpTime-relative times before their exporter sent systemInitTimeMilliseconds: their start and end are the export time`,
    );
}
