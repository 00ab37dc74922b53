// `-w DIR --rotate SECONDS`: one output file per interval aligned to the clock, named after the
// interval's start in UTC so that `ls` order is time order and no two intervals share a name
// (nfcapd's `nfcapd.YYYYMMDDhhmm`, with the zone): `flows.202611220305Z.ndjson`, with seconds when
// the interval is under a minute, `.gz` with --compress gzip. With `localTime` the intervals are
// aligned to the local clock and the name carries the local time and its UTC offset
// (`flows.202610250230+0200`, then `flows.202610250230+0100` an hour later when summer time ends). The file being written
// is a dot-prefixed temporary in the same directory (AtomicFile: `.flows.….tmp-PID-…`), fsynced and
// renamed when its interval ends, so a cron job globbing `flows.*` only ever sees complete files.
// A file is written for every interval, even an empty one, so consumers can tell "no traffic" from
// "collector down". A published file is never replaced: after SIGHUP (reopen) or a restart within
// one interval, the next file of that interval is `flows.202611220305.r1.ndjson`, which sorts
// after the first and before the next interval.
// A collector killed mid-interval leaves its temporary behind; the next start publishes what it
// holds (complete lines only) under the first free name of its interval. A file whose write
// failed (a full disk) is never published: it is kept as `NAME.partial` for the operator.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { promises as fsp } from 'node:fs';
import { gunzipSync, gzipSync, constants as zc } from 'node:zlib';
import { AtomicFile, deadTemps, fsyncDir, publishNew, writeFileAtomic } from '../cli/io.js';
import { FlowmeterError } from '../errors.js';

export interface RotateOptions {
  dir: string;
  /** Seconds per file. */
  interval: number;
  /** Extension after the time stamp, e.g. "ndjson". */
  extension: string;
  prefix?: string;
  compress?: 'gzip';
  /** Align to the local clock and name files in local time with the UTC offset (else UTC). */
  localTime?: boolean;
  /** Command (argv, no shell) run with each closed file: `%f` in an argument is replaced by the
   *  path, else the path is appended as the last argument. */
  exec?: string[];
  /** Clock in ms (tests may pass their own). */
  now?: () => number;
  onClosed?: (path: string, records: number) => void;
  onExecError?: (message: string) => void;
  /** A dead collector's temporary was published (or dropped, when it held no complete line). */
  onRecovered?: (message: string) => void;
}

/** Start of the interval containing `ms`, aligned to UTC, or with `local` to local time (so 86400
 *  means midnight there). */
export function intervalStart(ms: number, intervalSec: number, local = false): number {
  const len = intervalSec * 1000;
  const startWith = (offsetMs: number): number => ms - ((((ms + offsetMs) % len) + len) % len);
  if (!local) return startWith(0);
  const offset = (t: number): number => -new Date(t).getTimezoneOffset() * 60_000;
  const start = startWith(offset(ms));
  // an interval that began before a summer-time change is aligned to the clock of its start
  const before = offset(start);
  if (before === offset(ms)) return start;
  const aligned = startWith(before);
  return offset(aligned) === before ? aligned : start;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** A file name's time stamp: `YYYYMMDDhhmm` plus `ss` when the interval is under a minute, then
 *  `Z` (UTC), or with `local` the local time followed by its UTC offset `+hhmm`/`-hhmm`. */
export function stamp(ms: number, intervalSec: number, local = false): string {
  const d = new Date(ms);
  const offsetMin = local ? -d.getTimezoneOffset() : 0;
  const t = new Date(ms + offsetMin * 60_000); // its UTC fields are the wanted wall clock
  const s = `${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}`;
  const secs = intervalSec < 60 ? pad(t.getUTCSeconds()) : '';
  if (!local) return `${s}${secs}Z`;
  const a = Math.abs(offsetMin);
  return `${s}${secs}${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

/** The stamp in a file name: `YYYYMMDDhhmm[ss]` followed by `Z`, a UTC offset, or nothing (names
 *  written before names carried their zone: local time). Shared by every reader of `-w` files. */
export const STAMP_PATTERN = '\\d{12}(?:\\d{2})?(?:Z|[+-]\\d{4})?';

/** One open output file: plain or gzip, written through AtomicFile. */
class OutFile {
  private gz: Gzip | undefined;
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown;
  records = 0;

  private constructor(
    private readonly file: AtomicFile,
    gzip: boolean,
  ) {
    if (gzip) {
      this.gz = createGzip();
      this.gz.on('data', (chunk: Buffer) => {
        this.pending = this.pending
          .then(() => this.file.write(chunk))
          .catch((e) => {
            this.failed ??= e;
          });
      });
    }
  }

  static async open(path: string, gzip: boolean): Promise<OutFile> {
    return new OutFile(await AtomicFile.create(path, 0o644, { keepOnFailure: true }), gzip);
  }

  get path(): string {
    return this.file.path;
  }

  async write(data: string | Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.gz) {
      if (!this.gz.write(data)) await once(this.gz, 'drain');
      await this.pending;
    } else {
      await this.file.write(data);
    }
    if (this.failed) throw this.failed;
  }

  /** Throw the file away (start-up failed before anything was written). */
  async abort(): Promise<void> {
    this.gz?.destroy();
    await this.file.abort();
  }

  /** Publish under `path` (which must not exist: EEXIST otherwise, the file still open). A file
   *  whose write failed is kept as `path.partial` instead and the failure thrown. */
  async commit(path: string): Promise<void> {
    if (this.gz && !this.failed) {
      const ended = once(this.gz, 'end');
      this.gz.end();
      await ended;
      await this.pending;
    }
    if (this.failed) throw await this.keepPartial(path, this.failed);
    try {
      await this.file.commit({ replace: false, as: path });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
      throw await this.keepPartial(path, e);
    }
  }

  private async keepPartial(path: string, failure: unknown): Promise<unknown> {
    const kept = await this.file.keepAs(`${path}.partial`);
    const what = kept ? `what was written is kept as ${kept}, not published` : 'nothing was kept';
    return new FlowmeterError((failure as FlowmeterError).kind ?? 'io', `${(failure as Error).message}; ${what}`);
  }
}

export class RotatingWriter {
  private current: OutFile | undefined;
  private currentStart = 0;
  private reopenCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly children = new Set<Promise<void>>();
  private closed = false;
  /** A rotation by the timer failed: the collector cannot go on writing. */
  private failure: unknown;
  readonly now: () => number;
  filesClosed = 0;

  constructor(private readonly o: RotateOptions) {
    this.now = o.now ?? Date.now;
  }

  private name(start: number, reopen: number): string {
    return this.nameOf(stamp(start, this.o.interval, this.o.localTime), reopen);
  }

  /** `DIR/PREFIX.STAMP[.rN].EXT[.gz]`; `suffix`: `.EXT[.gz]` when not this writer's own. */
  private nameOf(stampText: string, reopen: number, suffix = this.suffix): string {
    const r = reopen > 0 ? `.r${reopen}` : '';
    return join(this.o.dir, `${this.o.prefix ?? 'flows'}.${stampText}${r}${suffix}`);
  }

  private get suffix(): string {
    return `.${this.o.extension}${this.o.compress === 'gzip' ? '.gz' : ''}`;
  }

  /** The first part number from `reopen` on whose name is not taken in the directory. */
  private async freePart(stampText: string, reopen: number, suffix = this.suffix): Promise<number> {
    while (await exists(this.nameOf(stampText, reopen, suffix))) reopen++;
    return reopen;
  }

  /** Publish what dead collectors left, open the file for the current interval and arm the
   *  rotation timer. */
  async start(): Promise<void> {
    await this.recover();
    await this.openFor(this.now());
    this.arm();
  }

  private async openFor(ms: number, reopen = 0): Promise<void> {
    this.currentStart = intervalStart(ms, this.o.interval, this.o.localTime);
    this.reopenCount = await this.freePart(stamp(this.currentStart, this.o.interval, this.o.localTime), reopen);
    this.current = await OutFile.open(this.name(this.currentStart, this.reopenCount), this.o.compress === 'gzip');
  }

  /** The temporaries of collectors that died in this directory: each one's complete lines are
   *  published under the first free name of its own interval (a part `.rN` when the interval
   *  already has a file, which may have been billed and must not change). */
  private async recover(): Promise<void> {
    // either compression: the dead collector may have run with other flags
    const ours = new RegExp(
      `^${escapeRegExp(this.o.prefix ?? 'flows')}\\.(${STAMP_PATTERN})(?:\\.r\\d+)?(\\.${escapeRegExp(this.o.extension)}(?:\\.gz)?)$`,
    );
    const temps = await deadTemps(this.o.dir, (name) => ours.test(name));
    temps.sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const t of temps) {
      const m = ours.exec(t.finalName)!; // deadTemps kept only names it matches
      const [stampText, suffix] = [m[1]!, m[2]!];
      const lines = await salvage(t.path, suffix.endsWith('.gz'));
      if (lines === 'published') continue;
      if (lines === 'unreadable') {
        let kept = `${join(this.o.dir, t.finalName)}.partial`;
        if (await exists(kept)) kept += `.${t.pid}`;
        await publishNew(t.path, kept);
        this.o.onRecovered?.(`${t.path}: left by pid ${t.pid}, not readable as gzip; kept as ${kept}, not published`);
        continue;
      }
      if (lines === 0) {
        await fsp.unlink(t.path);
        this.o.onRecovered?.(`${t.path}: left by pid ${t.pid}, holds no complete record; removed`);
        continue;
      }
      for (
        let part = await this.freePart(stampText, 0, suffix);
        ;
        part = await this.freePart(stampText, part + 1, suffix)
      ) {
        const target = this.nameOf(stampText, part, suffix);
        try {
          await publishNew(t.path, target);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw e;
        }
        await fsyncDir(this.o.dir);
        this.o.onRecovered?.(`${target}: recovered ${lines} records left by pid ${t.pid} (${t.path})`);
        break;
      }
    }
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.currentStart + this.o.interval * 1000;
    const wait = Math.max(0, next - this.now());
    this.timer = setTimeout(() => {
      this.serial(() => this.rotate(false)).catch((e: unknown) => {
        this.failure ??= e; // told by the next write
      });
    }, wait + 5);
  }

  /** Run `f` after every earlier write/rotation (one file operation at a time). */
  private serial(f: () => Promise<void>): Promise<void> {
    const p = this.chain.then(f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Append complete lines holding `records` records. */
  write(data: string | Buffer, records: number): Promise<void> {
    return this.serial(async () => {
      if (this.failure) throw this.failure;
      if (!this.current) throw new Error('RotatingWriter: not open');
      this.current.records += records;
      await this.current.write(data);
    });
  }

  private async rotate(reopen: boolean): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.now();
    const sameInterval = intervalStart(now, this.o.interval, this.o.localTime) === this.currentStart;
    if (!reopen && sameInterval) {
      this.arm(); // the timer fired a little early: keep the file
      return;
    }
    const old = this.current;
    this.current = undefined;
    if (old) await this.finish(old);
    // a reopen within the interval gets the next `.rN` name: a name is never reused
    await this.openFor(now, sameInterval ? this.reopenCount + 1 : 0);
    this.arm();
  }

  /** SIGHUP: close the current file now and continue in a new one. */
  reopen(): Promise<void> {
    return this.serial(() => this.rotate(true));
  }

  /** Publish under the file's name, or the next free part of its interval if that name was
   *  taken meanwhile (by another process: a published file is never replaced). */
  private async finish(f: OutFile): Promise<void> {
    const stampText = stamp(this.currentStart, this.o.interval, this.o.localTime);
    let part = this.reopenCount;
    let path = f.path;
    for (;;) {
      try {
        await f.commit(path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        part = await this.freePart(stampText, part + 1);
        path = this.nameOf(stampText, part);
      }
    }
    this.reopenCount = part;
    this.filesClosed++;
    this.o.onClosed?.(path, f.records);
    if (this.o.exec && this.o.exec.length > 0) this.runExec(path);
  }

  private runExec(path: string): void {
    const [cmd, ...rest] = this.o.exec!;
    let substituted = false;
    const args = rest.map((a) => {
      if (!a.includes('%')) return a;
      substituted = true;
      return a.replaceAll('%f', path).replaceAll('%d', dirname(path)).replaceAll('%n', basename(path));
    });
    if (!substituted) args.push(path);
    const p = new Promise<void>((resolve) => {
      const child = spawn(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', (e) => {
        this.o.onExecError?.(`--exec ${cmd}: ${e.message}`);
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (code !== 0)
          this.o.onExecError?.(`--exec ${cmd} ${path}: ${signal ? `killed by ${signal}` : `exit status ${code}`}`);
        resolve();
      });
    });
    this.children.add(p);
    void p.then(() => this.children.delete(p));
  }

  /** Start-up failed: remove the file being written, rename nothing, run nothing. */
  async abort(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.closed = true;
    const f = this.current;
    this.current = undefined;
    await f?.abort();
  }

  /** Close the current file (renamed into place) and wait for --exec commands still running. */
  async close(): Promise<void> {
    await this.serial(async () => {
      if (this.timer) clearTimeout(this.timer);
      const f = this.current;
      this.current = undefined;
      this.closed = true;
      if (f) await this.finish(f);
    });
    await Promise.all([...this.children]);
  }
}

function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Cut a dead collector's temporary to its complete lines, in place: a killed write may have left
 *  half a line, and a killed gzip stream has no trailer (what it holds is decompressed and
 *  compressed again). Returns the number of complete lines, 'published' when the file is
 *  already linked under its final name (the publishing run died before removing the temporary;
 *  the temporary is then removed), or 'unreadable' for gzip data that is corrupt. */
async function salvage(path: string, gzip: boolean): Promise<number | 'published' | 'unreadable'> {
  if ((await fsp.stat(path)).nlink > 1) {
    await fsp.unlink(path);
    return 'published';
  }
  const raw = await fsp.readFile(path);
  let text: Buffer;
  try {
    text = gzip ? gunzipSync(raw, { finishFlush: zc.Z_SYNC_FLUSH }) : raw;
  } catch {
    return raw.length === 0 ? 0 : 'unreadable'; // corrupt, not just cut: left for the operator
  }
  const end = text.lastIndexOf(10) + 1;
  let lines = 0;
  for (let i = text.indexOf(10); i >= 0 && i < end; i = text.indexOf(10, i + 1)) lines++;
  if (lines === 0) return 0;
  if (gzip) {
    // written beside and renamed over, so a crash now leaves the temporary as it was
    const repaired = `${path}.salvage`;
    await writeFileAtomic(repaired, gzipSync(text.subarray(0, end)));
    await fsp.rename(repaired, path);
  } else if (end < raw.length) {
    const h = await fsp.open(path, 'r+');
    try {
      await h.truncate(end);
      await h.sync();
    } finally {
      await h.close();
    }
  }
  return lines;
}
