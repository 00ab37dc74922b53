// flow-capture -r: decode the export datagrams of pcap/pcapng captures (files or stdin) with the
// same decoders the live collector uses, so a replayed capture and live traffic give the same records.

import type { Proc } from '../cli/run.js';
import type { Log } from '../cli/log.js';
import { openInput } from '../cli/io.js';
import { BatchWriter } from '../cli/writer.js';
import { EXIT } from '../cli/exit.js';
import { readCapture, newCaptureStats } from './pcap-file.js';
import type { FlowRecord } from '../flow/record.js';
import { LiveFlowDecoder } from './live-cli.js';

export async function readFiles(files: string[], proc: Proc, log: Log, format: (r: FlowRecord) => string, counters: boolean): Promise<number> {
  const out = new BatchWriter(proc.stdout);
  const dec = new LiveFlowDecoder(log, format, counters, undefined, undefined);
  const stats = newCaptureStats();
  const line = (s: string): void => void out.line(s);
  for (const f of files) {
    const input = await openInput(f, proc.stdin);
    try {
      for await (const batch of readCapture(input, log, stats)) {
        for (const d of batch) dec.decode(d, line);
        if (out.pending >= 65536) await out.flush();
      }
    } finally {
      await (input as unknown as { close?: () => Promise<void> }).close?.();
    }
  }
  dec.finish(line);
  await out.end();
  log.flushSuppressed();
  return dec.fd.stats.rejected > 0 ? EXIT.DATAERR : EXIT.OK;
}
