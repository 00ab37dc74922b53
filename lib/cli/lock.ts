// An advisory lock file for read-modify-write of a shared file by concurrent runs: created with
// O_EXCL, holding "pid host"; a lock left by a dead process on this host is broken safely (one
// breaker at a time, and only if it still holds the dead owner's text). Busy past the timeout → 75.

import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { randomInt } from 'node:crypto';
import { FlowmeterError } from '../errors.js';
import { describeSystemError, writeAll } from './io.js';

export interface LockOptions {
  /** How long to wait for another run to finish, in milliseconds (0 = try once). */
  timeoutMs?: number;
  /** A lock (or breaker) file this old whose owner cannot be checked is considered abandoned. */
  staleMs?: number;
}

export class LockFile {
  private released = false;
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string, opts: LockOptions = {}): Promise<LockFile> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const staleMs = opts.staleMs ?? 10_000;
    const token = `${process.pid} ${hostname()} ${randomInt(2 ** 47)}\n`;
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    for (;;) {
      try {
        await writeLock(path, token);
        return new LockFile(path, token);
      } catch (e) {
        if (e instanceof FlowmeterError) throw e;
        const err = e as NodeJS.ErrnoException;
        if (err.code !== 'EEXIST')
          throw new FlowmeterError('cant-create', `${path}: cannot create lock: ${describeSystemError(err)}`);
      }
      const holder = await readHolder(path);
      if (holder && (await isAbandoned(holder, staleMs))) {
        await breakLock(path, holder.text, staleMs);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder?.pid ? `pid ${holder.pid} on ${holder.host}` : 'another run';
        throw new FlowmeterError(
          'temporary',
          `${path}: locked by ${who}; try again later (remove the file if no such run exists)`,
        );
      }
      await new Promise((r) => setTimeout(r, delay + randomInt(delay + 1)));
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Remove the lock if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const holder = await readHolder(this.path);
    if (holder?.text === this.token) await fsp.unlink(this.path).catch(() => undefined);
  }
}

/** Create the lock holding `token`; a lock that cannot be written whole (a full disk) is removed,
 *  so that no empty lock is left for the next run to wait out. */
async function writeLock(path: string, token: string): Promise<void> {
  const h = await fsp.open(path, 'wx', 0o644);
  try {
    await writeAll(h, Buffer.from(token));
  } catch (e) {
    await h.close().catch(() => undefined);
    await fsp.unlink(path).catch(() => undefined);
    throw new FlowmeterError('io', `${path}: cannot write lock: ${describeSystemError(e as NodeJS.ErrnoException)}`);
  }
  await h.close();
}

interface Holder {
  text: string;
  pid: number | undefined;
  host: string | undefined;
  mtimeMs: number;
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const [text, st] = await Promise.all([fsp.readFile(path, 'utf8'), fsp.stat(path)]);
    const m = /^(\d+) (\S+)(?:\s|$)/.exec(text);
    return { text, pid: m ? Number(m[1]) : undefined, host: m?.[2], mtimeMs: st.mtimeMs };
  } catch {
    return undefined; // gone meanwhile: just retry
  }
}

async function isAbandoned(h: Holder, staleMs: number): Promise<boolean> {
  if (h.pid === undefined) return Date.now() - h.mtimeMs > staleMs; // being written, or garbage
  if (h.host !== hostname()) return false; // cannot check another machine's processes
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function breakLock(path: string, staleText: string, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  try {
    await (await fsp.open(breaker, 'wx')).close();
  } catch {
    const st = await fsp.stat(breaker).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > staleMs) await fsp.unlink(breaker).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5));
    return;
  }
  try {
    const now = await readHolder(path);
    if (now?.text === staleText) await fsp.unlink(path).catch(() => undefined);
  } finally {
    await fsp.unlink(breaker).catch(() => undefined);
  }
}
