// Reading NDJSON objects from input files (`-` = stdin) with the place of every line: blank lines
// skipped, a line that is not a JSON object or that the consumer refuses (FieldError) is rejected
// with FILE:LINE, an over-long line ends that file, a read error is exit 74, and an abort signal
// (SIGINT) stops reading cleanly so the caller can write what it has.

import type { Readable } from 'node:stream';
import { openInput } from './io.js';
import { readLines, LineTooLongError } from './lines.js';
import { CliError, EXIT } from './exit.js';
import type { Log } from './log.js';
import { FieldError, describeValue } from '../flow/record.js';

export interface NdjsonInputIO {
  stdin: Readable;
  signal?: AbortSignal | undefined;
}

/** Called for every rejected line; may throw (e.g. --strict). */
export type RejectLine = (place: string, reason: string, message: string) => void;

/** Called for every JSON object; returns true when the caller wants to flush its output before
 *  the next batch of lines. Throw FieldError to reject the line. */
export type OnObject = (obj: Record<string, unknown>, file: string, line: number) => boolean | void;

export interface NdjsonCounts {
  lines: number;
}

export async function readNdjsonObjects(
  paths: readonly string[],
  io: NdjsonInputIO,
  counts: NdjsonCounts,
  reject: RejectLine,
  onObject: OnObject,
  flush?: () => Promise<void>,
): Promise<void> {
  for (const path of paths.length === 0 ? ['-'] : paths) {
    if (io.signal?.aborted) return;
    const src = await openInput(path, io.stdin);
    const onAbort = (): void => {
      src.stream.destroy();
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const batch of readLines(src.stream)) {
        const lines = batch.lines;
        let needFlush = false;
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!;
          counts.lines++;
          if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) continue;
          const lineNo = batch.firstLine + i;
          let o: unknown;
          try {
            o = JSON.parse(line);
          } catch {
            reject(`${src.name}:${lineNo}`, 'not JSON', `expected a JSON object (got ${describeValue(line)})`);
            continue;
          }
          if (typeof o !== 'object' || o === null || Array.isArray(o)) {
            reject(`${src.name}:${lineNo}`, 'not an object', `expected a JSON object (got ${describeValue(line)})`);
            continue;
          }
          try {
            if (onObject(o as Record<string, unknown>, src.name, lineNo)) needFlush = true;
          } catch (e) {
            if (!(e instanceof FieldError)) throw e;
            reject(`${src.name}:${lineNo}`, `field "${e.field}"`, e.message);
          }
        }
        if (needFlush && flush) await flush();
        if (io.signal?.aborted) break;
      }
    } catch (e) {
      if (e instanceof LineTooLongError) reject(`${src.name}:${e.line}`, 'line too long', `${e.message}; rest of ${src.name} skipped`);
      else if (io.signal?.aborted) {
        // reading was cut short on purpose: the caller writes what was read
      } else if (e instanceof CliError) throw e;
      else throw new CliError(`${src.name}: read error: ${(e as Error).message}`, EXIT.IOERR);
    } finally {
      io.signal?.removeEventListener('abort', onAbort);
    }
  }
}

export interface InputOutcome {
  lines: number;
  rejected: number;
  interrupted: boolean;
}

/** The exit status of a run over NDJSON input, with its last words on stderr: 130 when
 *  interrupted, 65 when lines (or `networksProblems` networks-file lines) were rejected. */
export function inputExitStatus(
  log: Log,
  s: InputOutcome,
  interruptedNote: string,
  networks?: { problems: number; path: string | undefined },
): number {
  if (s.interrupted) {
    log.warn(`interrupted: ${interruptedNote}`);
    return EXIT.INTERRUPTED;
  }
  if (s.rejected > 0) {
    const first = [...log.rejections.keys()].filter((r) => r !== 'networks file').map((r) => log.firstPlaceOf(r)).find((p) => p !== undefined);
    log.error(`${s.rejected} of ${s.lines} lines rejected${first ? ` (first: ${first})` : ''}`);
    return EXIT.DATAERR;
  }
  if (networks && networks.problems > 0) {
    log.error(`${networks.problems} bad lines in ${networks.path} were skipped`);
    return EXIT.DATAERR;
  }
  return EXIT.OK;
}
