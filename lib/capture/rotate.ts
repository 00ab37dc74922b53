// `-w DIR --rotate SECONDS`: one output file per interval aligned to the local clock, named so that
// `ls` order is time order (nfcapd's `nfcapd.YYYYMMDDhhmm`): `flows.202611220305.ndjson`, with
// seconds when the interval is under a minute, `.gz` with --compress gzip. The file being written
// is a dot-prefixed temporary in the same directory (AtomicFile: `.flows.….tmp-PID-…`), fsynced and
// renamed when its interval ends, so a cron job globbing `flows.*` only ever sees complete files.
// A file is written for every interval, even an empty one, so consumers can tell "no traffic" from
// "collector down". After SIGHUP (reopen) within one interval, the next file of that interval is
// `flows.202611220305.r1.ndjson`, which sorts after the first and before the next interval.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { AtomicFile } from '../cli/io.js';

export interface RotateOptions {
  dir: string;
  /** Seconds per file. */
  interval: number;
  /** Extension after the time stamp, e.g. "ndjson". */
  extension: string;
  prefix?: string;
  compress?: 'gzip';
  /** Command (argv, no shell) run with each closed file: `%f` in an argument is replaced by the
   *  path, else the path is appended as the last argument. */
  exec?: string[];
  /** Clock in ms (tests may pass their own). */
  now?: () => number;
  onClosed?: (path: string, records: number) => void;
  onExecError?: (message: string) => void;
}

/** Start of the interval containing `ms`, aligned to local time (so 86400 means local midnight). */
export function intervalStart(ms: number, intervalSec: number): number {
  const offsetMs = -new Date(ms).getTimezoneOffset() * 60_000;
  const len = intervalSec * 1000;
  return ms - (((ms + offsetMs) % len) + len) % len;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `YYYYMMDDhhmm` (local), plus `ss` when the interval is under a minute. */
export function stamp(ms: number, intervalSec: number): string {
  const d = new Date(ms);
  const s = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}`;
  return intervalSec < 60 ? s + pad(d.getSeconds()) : s;
}

/** One open output file: plain or gzip, written through AtomicFile. */
class OutFile {
  private gz: Gzip | undefined;
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown;
  records = 0;

  private constructor(private readonly file: AtomicFile, gzip: boolean) {
    if (gzip) {
      this.gz = createGzip();
      this.gz.on('data', (chunk: Buffer) => {
        this.pending = this.pending.then(() => this.file.write(chunk)).catch((e) => {
          this.failed ??= e;
        });
      });
    }
  }

  static async open(path: string, gzip: boolean): Promise<OutFile> {
    return new OutFile(await AtomicFile.create(path), gzip);
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

  async commit(): Promise<void> {
    if (this.gz) {
      const ended = once(this.gz, 'end');
      this.gz.end();
      await ended;
      await this.pending;
      if (this.failed) {
        await this.file.abort();
        throw this.failed;
      }
    }
    await this.file.commit();
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
  readonly now: () => number;
  filesClosed = 0;

  constructor(private readonly o: RotateOptions) {
    this.now = o.now ?? Date.now;
  }

  private name(start: number, reopen: number): string {
    const gz = this.o.compress === 'gzip' ? '.gz' : '';
    const r = reopen > 0 ? `.r${reopen}` : '';
    return join(this.o.dir, `${this.o.prefix ?? 'flows'}.${stamp(start, this.o.interval)}${r}.${this.o.extension}${gz}`);
  }

  /** Open the file for the current interval and arm the rotation timer. */
  async start(): Promise<void> {
    await this.openFor(this.now());
    this.arm();
  }

  private async openFor(ms: number, reopen = 0): Promise<void> {
    this.currentStart = intervalStart(ms, this.o.interval);
    this.reopenCount = reopen;
    this.current = await OutFile.open(this.name(this.currentStart, reopen), this.o.compress === 'gzip');
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.currentStart + this.o.interval * 1000;
    const wait = Math.max(0, next - this.now());
    this.timer = setTimeout(() => {
      this.serial(() => this.rotate(false)).catch(() => undefined);
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
      if (!this.current) throw new Error('RotatingWriter: not open');
      this.current.records += records;
      await this.current.write(data);
    });
  }

  private async rotate(reopen: boolean): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.now();
    const sameInterval = intervalStart(now, this.o.interval) === this.currentStart;
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

  private async finish(f: OutFile): Promise<void> {
    await f.commit();
    this.filesClosed++;
    this.o.onClosed?.(f.path, f.records);
    if (this.o.exec && this.o.exec.length > 0) this.runExec(f.path);
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
        if (code !== 0) this.o.onExecError?.(`--exec ${cmd} ${path}: ${signal ? `killed by ${signal}` : `exit status ${code}`}`);
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
