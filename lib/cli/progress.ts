// Progress of a long read on a terminal: bytes read (of the total, when the inputs are regular
// files), rate and elapsed time on one stderr line. A timer redraws it (Log.progress: at most 4
// times a second, only on a TTY, never with -q) and end() erases it; runs shorter than a second
// show nothing. The reader's cost is one addition per chunk (add) or nothing at all (watch: the
// stream's own byte counter is read by the timer).

import { promises as fsp } from 'node:fs';
import type { Log } from './log.js';
import { humanBytes } from '../report/text.js';

/** A stream's count of bytes taken in: fs.ReadStream and sockets (stdin) have bytesRead, a zlib
 *  stream bytesWritten (the compressed bytes it consumed). */
interface CountingStream {
  bytesRead?: number;
  bytesWritten?: number;
}

const REDRAW_MS = 250;
const QUIET_MS = 1000;

export class ReadProgress {
  private added = 0;
  private watchedBefore = 0;
  private watched: CountingStream | undefined;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly log: Log,
    private readonly total: number | undefined,
    enabled: boolean,
  ) {
    if (!enabled) return;
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  /** Progress over `paths` (`-` = stdin). Off when the data itself goes to a terminal (stdout is
   *  a TTY and no -o): records and a status line would interleave there. */
  static async start(log: Log, paths: readonly string[], dataOnTerminal: boolean): Promise<ReadProgress> {
    if (dataOnTerminal) return new ReadProgress(log, undefined, false);
    return new ReadProgress(log, await totalSize(paths), true);
  }

  /** The reader read `bytes` more. */
  add(bytes: number): void {
    this.added += bytes;
  }

  /** Count what `stream` reads from now on (the next input file); the last one's bytes are kept. */
  watch(stream: object): void {
    this.watchedBefore += streamBytes(this.watched);
    this.watched = stream as CountingStream;
  }

  get bytes(): number {
    return this.added + this.watchedBefore + streamBytes(this.watched);
  }

  /** Stop redrawing and erase the line. */
  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.log.clearProgress();
  }

  private draw(): void {
    const ms = Date.now() - this.started;
    if (ms >= QUIET_MS) this.log.progress(progressText(this.bytes, this.total, ms / 1000));
  }
}

/** Run `read` with a ReadProgress over `paths`, erased however the read ends. */
export async function withReadProgress<T>(
  log: Log,
  paths: readonly string[],
  dataOnTerminal: boolean,
  read: (p: ReadProgress) => Promise<T>,
): Promise<T> {
  const progress = await ReadProgress.start(log, paths, dataOnTerminal);
  try {
    return await read(progress);
  } finally {
    progress.end();
  }
}

function streamBytes(s: CountingStream | undefined): number {
  if (s === undefined) return 0;
  return typeof s.bytesRead === 'number' ? s.bytesRead : typeof s.bytesWritten === 'number' ? s.bytesWritten : 0;
}

/** The inputs' size when every one is a regular file read as it is (not stdin, not gzip: those
 *  are read as more bytes than the file holds), else undefined. */
async function totalSize(paths: readonly string[]): Promise<number | undefined> {
  let total = 0;
  for (const p of paths) {
    if (p === '-' || p.endsWith('.gz')) return undefined;
    const st = await fsp.stat(p).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    total += st.size;
  }
  return total;
}

/** "read 1.20 GiB of 1.50 GiB (80%), 98.0 MiB/s, 0:12": the total only while the count is within
 *  it (a file that grows, or is gzip without the .gz name, is shown without). */
export function progressText(bytes: number, total: number | undefined, secs: number): string {
  const of =
    total !== undefined && total > 0 && bytes <= total
      ? ` of ${humanBytes(total, 'iec')} (${Math.floor((bytes / total) * 100)}%)`
      : '';
  return `read ${humanBytes(bytes, 'iec')}${of}, ${humanBytes(Math.round(bytes / secs), 'iec')}/s, ${clock(secs)}`;
}

function clock(secs: number): string {
  const s = Math.floor(secs);
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}
