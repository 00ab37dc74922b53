// A run lock: a file created with O_EXCL holding "pid host". Held → CliError 75 naming the
// holder. A lock left by a process that no longer runs on this host is taken over, in a way that
// never removes a live run's lock. Released on every exit path by the caller (finally).

import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { CliError, EXIT } from '../cli/exit.js';
import { describeSystemError } from '../cli/io.js';

export interface Lock {
  path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take a dead run's lock out of the way without ever removing a live one: move it aside under a
 * name of our own (atomic; of two racers only one gets it), then check it is still the dead
 * holder's. If a live run re-created the lock in between, put that one back.
 */
async function removeStale(path: string, holder: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await fsp.rename(path, aside);
  } catch {
    return true; // gone already: someone else cleared it; just try to create ours
  }
  const moved = (await fsp.readFile(aside, 'utf8').catch(() => '')).trim();
  if (moved === holder) {
    await fsp.unlink(aside).catch(() => undefined);
    return true;
  }
  await fsp.link(aside, path).catch(() => undefined); // a live lock: restore it (unless replaced again)
  await fsp.unlink(aside).catch(() => undefined);
  return false;
}

export async function acquireLock(path: string): Promise<Lock> {
  const me = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await fsp.open(path, 'wx', 0o644);
      try {
        await h.writeFile(me);
      } finally {
        await h.close();
      }
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          await fsp.unlink(path).catch(() => undefined);
        },
      };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EEXIST') {
        throw new CliError(`lock ${path}: cannot create: ${describeSystemError(err)}`, err.code === 'EACCES' ? EXIT.NOPERM : EXIT.CANTCREAT);
      }
      const holder = (await fsp.readFile(path, 'utf8').catch(() => '')).trim();
      const [pidText, host] = holder.split(/\s+/);
      const pid = Number(pidText);
      const stale = Number.isInteger(pid) && pid > 0 && host === hostname() && !alive(pid);
      if (stale && attempt === 0 && (await removeStale(path, holder))) continue;
      const who = holder ? `process ${pidText}${host && host !== hostname() ? ` on ${host}` : ''}` : 'another run';
      throw new CliError(`lock ${path} is held by ${who}: another hcd-putfile is sending; try again later`, EXIT.TEMPFAIL);
    }
  }
  throw new CliError(`lock ${path}: could not take over a stale lock; try again later`, EXIT.TEMPFAIL);
}
