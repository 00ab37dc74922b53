// Reading NDJSON objects from input files (`-` = stdin) with the place of every line: blank lines
// skipped, a line that is not a JSON object or that the consumer refuses (FieldError) is rejected
// with FILE:LINE, an over-long line ends that file, a read error is exit 74, and an abort signal
// (SIGINT) stops reading cleanly so the caller can write what it has. A JSON array of objects,
// on one line or over many (nfdump -o json), is read object by object. readRecords on top turns
// every object of any collector's dialect into flowmeter's record (lib/flow/dialects.ts).

import type { Readable } from 'node:stream';
import { openInputChunks, type ChunkBuffers, type ChunkSource } from './io.js';
import { LineTooLongError } from './lines.js';
import { EXIT } from './exit.js';
import { FlowmeterError } from '../errors.js';
import type { Log } from './log.js';
import type { ReadProgress } from './progress.js';
import { FieldError, describeValue } from '../flow/record.js';
import { exactJsonIntegers } from '../flow/counter.js';
import { recordFromObject, type InputFormat, type InputRecord } from '../flow/dialects.js';

export interface NdjsonInputIO {
  stdin: Readable;
  signal?: AbortSignal | undefined;
  /** Told the size of every chunk read (a TTY's progress line). */
  progress?: ReadProgress | undefined;
  /** The inputs to read in place of the paths (opened in turn, stdin for `-`): a worker thread
   *  of flow-aggregate --jobs reads the pieces of input its main thread gives it. The next one
   *  is asked for when the last one is read. */
  sources?: AsyncIterable<ChunkSource> | undefined;
}

/** Called for every rejected line; may throw (e.g. --strict). */
export type RejectLine = (place: string, reason: string, message: string) => void;

/** The usual RejectLine: counted in `counts.rejected`, then fatal (exit 65) with --strict, else
 *  logged under its reason. */
export function rejectLine(log: Log, counts: { rejected: number }, strict: boolean): RejectLine {
  return (place, reason, message) => {
    counts.rejected++;
    if (strict) throw new FlowmeterError('data', `${place}: ${message}`);
    log.reject(reason, `${place}: ${message}`, place);
  };
}

/** Called for every JSON object; returns true when the caller wants to flush its output before
 *  the next batch of lines. Throw FieldError to reject the line. */
export type OnObject = (obj: Record<string, unknown>, file: string, line: number) => boolean | void;

export interface NdjsonCounts {
  lines: number;
}

/** A fast path for whole lines: `scan(buf, start, end)` looks at the line starting at `start`
 *  (buf holds complete lines up to `end`) and returns the index of the '\n' ending it when it
 *  took the line itself (counted, never rejected), or -1 to have it parsed as JSON and handed
 *  to onObject as usual. */
export interface LineScanner {
  scan(buf: Buffer, start: number, end: number): number;
  /** Buffers the scanner is fastest on: chunks are read (files) or copied (streams, when they
   *  fit) into them in turn. */
  readonly chunkBuffers?: ChunkBuffers;
}

/** The longest line read (bytes); a longer one ends its file (readNdjsonObjects). */
export const MAX_LINE = 1 << 20;

export async function readNdjsonObjects(
  paths: readonly string[],
  io: NdjsonInputIO,
  counts: NdjsonCounts,
  reject: RejectLine,
  onObject: OnObject,
  flush?: () => Promise<void>,
  scanner?: LineScanner,
): Promise<void> {
  const own = scanner?.chunkBuffers;
  for await (const src of io.sources ?? openInputs(paths, io, own)) {
    const onAbort = (): void => {
      src.destroy();
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    let lineNo = 1;
    let needFlush = false;
    // A JSON array of objects over many lines (nfdump -o json) is taken apart object by object.
    const array = new JsonArraySplitter();
    // One JSON object's text (from line `no`) through JSON.parse and onObject.
    const parseObject = (text: string, no: number): void => {
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch {
        reject(`${src.name}:${no}`, 'not JSON', `expected a JSON object (got ${describeValue(text)})`);
        return;
      }
      // a whole array on one line: its objects, if that is all it holds
      if (
        Array.isArray(o) &&
        o.length > 0 &&
        o.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))
      ) {
        for (const x of o) takeObject(x as Record<string, unknown>, no);
        return;
      }
      if (typeof o !== 'object' || o === null || Array.isArray(o)) {
        reject(`${src.name}:${no}`, 'not an object', `expected a JSON object (got ${describeValue(text)})`);
        return;
      }
      exactJsonIntegers(text, o as Record<string, unknown>); // counters past 2^53 as written
      takeObject(o as Record<string, unknown>, no);
    };
    const takeObject = (o: Record<string, unknown>, no: number): void => {
      try {
        if (onObject(o, src.name, no)) needFlush = true;
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        reject(`${src.name}:${no}`, e.field === '' ? 'not a flow record' : `field "${e.field}"`, e.message);
      }
    };
    // One line (without '\n' and a trailing '\r').
    const parseLine = (line: string): void => {
      counts.lines++;
      const no = lineNo++;
      if (!array.open && (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === ''))) return;
      // an array over many lines (nfdump -o json); one that is whole on this line is parsed as usual
      if (array.open || (line.trimStart().startsWith('[') && !isJson(line))) {
        const bad = array.feed(line, no, parseObject);
        if (bad !== undefined)
          reject(`${src.name}:${no}`, 'not JSON', `expected a JSON array of objects (got ${describeValue(bad)})`);
        return;
      }
      parseObject(line, no);
    };
    // The whole lines of buf from `start` on; returns where the unfinished last line starts.
    const lines = (buf: Buffer, start: number): number => {
      const n = buf.length;
      while (start < n) {
        // only a buffer of more than MAX_LINE bytes can hold a line that long: check it first
        if (n - start > MAX_LINE) {
          const nl = buf.indexOf(10, start);
          if ((nl < 0 ? n - start : lineLength(buf, start, nl)) > MAX_LINE)
            throw new LineTooLongError(lineNo, MAX_LINE);
        }
        if (scanner !== undefined && !array.open && buf[start]! > 32) {
          const nl = scanner.scan(buf, start, n);
          if (nl >= 0) {
            counts.lines++;
            lineNo++;
            start = nl + 1;
            continue;
          }
        }
        const nl = buf.indexOf(10, start);
        if (nl < 0) break;
        parseLine(buf.toString('utf8', start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      return start;
    };
    try {
      // Chunks split at '\n' as lib/cli/lines.ts readLines does (same lines, same numbers, same
      // limit: a line longer than MAX_LINE ends the file; the lines before it count).
      let tail: Buffer | undefined;
      let k = 0;
      for await (const raw of src.chunks) {
        let chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
        io.progress?.add(chunk.length);
        if (own !== undefined && chunk.buffer !== own[0].buffer && chunk.length <= own[k]!.length) {
          // a stream's chunk into the scanner's buffers (the tail, if any, is in the one before)
          chunk.copy(own[k]!);
          chunk = own[k]!.subarray(0, chunk.length);
          k = (k + 1) % own.length;
        }
        let buf = chunk;
        let start = 0;
        if (tail) {
          // the line cut by the chunk boundary is joined on its own: copying whole chunks onto
          // the tail cost a copy of the input (~8 % of reading)
          const nl = chunk.indexOf(10);
          if (nl < 0) buf = Buffer.concat([tail, chunk]);
          else {
            const joined = Buffer.concat([tail, chunk.subarray(0, nl + 1)]);
            lines(joined, 0);
            start = nl + 1;
          }
        }
        start = lines(buf, start);
        tail = start < buf.length ? buf.subarray(start) : undefined;
        if (tail && tail.length > MAX_LINE) throw new LineTooLongError(lineNo, MAX_LINE);
        if (needFlush && flush) await flush();
        needFlush = false;
        if (io.signal?.aborted) break;
      }
      if (tail && tail.length > 0 && !io.signal?.aborted) {
        parseLine(tail.toString('utf8', 0, tail[tail.length - 1] === 13 ? tail.length - 1 : tail.length));
        if (needFlush && flush) await flush();
      }
      if (array.open && !io.signal?.aborted) reject(`${src.name}:${array.startLine}`, 'not JSON', UNCLOSED_ARRAY);
    } catch (e) {
      if (e instanceof LineTooLongError) {
        counts.lines++; // the over-long line was read (in part) and is the one rejected
        reject(`${src.name}:${e.line}`, 'line too long', `${e.message}; rest of ${src.name} skipped`);
      } else if (io.signal?.aborted) {
        // reading was cut short on purpose: the caller writes what was read
      } else if (e instanceof FlowmeterError) throw e;
      else throw new FlowmeterError('io', `${src.name}: read error: ${(e as Error).message}`);
    } finally {
      io.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** The message of the rejection of a JSON array still open at the end of an input. */
export const UNCLOSED_ARRAY = 'a JSON array that is not closed at the end of the input';

/** The inputs, opened in turn as they are asked for, until the abort signal. */
async function* openInputs(
  paths: readonly string[],
  io: NdjsonInputIO,
  own: ChunkBuffers | undefined,
): AsyncGenerator<ChunkSource> {
  for (const path of paths.length === 0 ? ['-'] : paths) {
    if (io.signal?.aborted) return;
    yield await openInputChunks(path, io.stdin, own);
  }
}

/** Called for every record read; as OnObject. */
export type OnRecord = (rec: InputRecord, file: string, line: number) => boolean | void;

/** The one input of flow records for flow-aggregate, flow-report and meter-label: every line (or
 *  object of a JSON array) of flowmeter, goflow2, goflow v1, nfdump or pmacct as flowmeter's flow
 *  or aggregate record (lib/flow/dialects.ts), the dialect told per line or forced by `format`.
 *  `scanner` takes flowmeter's own lines without JSON.parse when the format allows them. */
export async function readRecords(
  paths: readonly string[],
  io: NdjsonInputIO,
  counts: NdjsonCounts,
  reject: RejectLine,
  format: InputFormat,
  onRecord: OnRecord,
  flush?: () => Promise<void>,
  scanner?: LineScanner,
): Promise<void> {
  const own = format === 'auto' || format === 'flowmeter' || format === 'goflow2';
  await readNdjsonObjects(
    paths,
    io,
    counts,
    reject,
    (o, file, line) => onRecord(recordFromObject(o, format), file, line),
    flush,
    own ? scanner : undefined,
  );
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Length of the line buf[start, nl) without a CR before the newline. */
function lineLength(buf: Buffer, start: number, nl: number): number {
  return nl > start && buf[nl - 1] === 13 ? nl - 1 - start : nl - start;
}

export interface InputOutcome {
  lines: number;
  rejected: number;
  interrupted: boolean;
}

/** FILE:LINE of the first input line rejected (networks file lines aside), if any. */
export function firstRejectedPlace(log: Log): string | undefined {
  return [...log.rejections.keys()]
    .filter((r) => r !== 'networks file')
    .map((r) => log.firstPlaceOf(r))
    .find((p) => p !== undefined);
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
    const first = firstRejectedPlace(log);
    log.error(`${s.rejected} of ${s.lines} lines rejected${first ? ` (first: ${first})` : ''}`);
    return EXIT.DATAERR;
  }
  if (networks && networks.problems > 0) {
    log.error(`${networks.problems} bad lines in ${networks.path} were skipped`);
    return EXIT.DATAERR;
  }
  return EXIT.OK;
}

/** The objects of a JSON array written over many lines (nfdump -o json: `[`, then pretty-printed
 *  objects separated by `,`, then `]`), one line at a time: each object's text goes to `onObject`
 *  with the number of the line it starts on. Strings are followed so that braces in them count
 *  for nothing. */
export class JsonArraySplitter {
  /** Inside an array (its `[` seen, its `]` not yet). */
  open = false;
  /** The line the array, or the object being collected, started on. */
  startLine = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private text: string[] = [];
  private size = 0;

  /** Feed one line; returns the line when it holds something other than the array's objects
   *  (the array is then given up), else undefined. */
  feed(line: string, no: number, onObject: (text: string, line: number) => void): string | undefined {
    let from = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (this.depth === 0) {
        if (c === 32 || c === 9 || c === 13) continue;
        if (!this.open) {
          if (c !== 91) return this.giveUp(line); // [
          this.open = true;
          this.startLine = no;
        } else if (c === 93)
          this.open = false; // ]
        else if (c === 123) {
          this.depth = 1;
          this.startLine = no;
          from = i;
        } else if (c !== 44) return this.giveUp(line); // ,
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92) this.escaped = true;
        else if (c === 34) this.inString = false;
      } else if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if ((c === 125 || c === 93) && --this.depth === 0) {
        this.text.push(line.slice(from, i + 1));
        const text = this.text.join('\n');
        this.text = [];
        this.size = 0;
        onObject(text, this.startLine);
      }
    }
    if (this.depth > 0) {
      this.text.push(line.slice(from));
      this.size += line.length - from;
      if (this.size > MAX_LINE) return this.giveUp(line);
    }
    return undefined;
  }

  private giveUp(line: string): string {
    this.open = false;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.text = [];
    this.size = 0;
    return line;
  }
}
