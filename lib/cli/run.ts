// The one place that decides how a command ends: exit status from the result (an exit status, or
// the outcome of the domain code the command ran) or the error,
// EPIPE (reader went away, e.g. `| head`) as a quiet success, internal errors as status 70.

import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { EXIT, exitCodeOf, isEpipe } from './exit.js';
import { FlowmeterError, type Outcome } from '../errors.js';
import { visible } from './visible.js';
import { RunReport } from './metrics.js';

export interface Proc {
  argv: string[]; // arguments after the program name
  env: NodeJS.ProcessEnv;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Where SIGINT/SIGTERM/SIGHUP/SIGUSR2 arrive (the process; a test may emit them itself). */
  signals: EventEmitter;
  /** The run's counters for --metrics-file, written when the run ends (lib/cli/metrics.ts). */
  report?: RunReport;
}

export type Main = (proc: Proc) => Promise<Outcome | number | void>;

export function processProc(): Proc {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signals: process,
    report: new RunReport(),
  };
}

/** Run `body` with a signal that aborts when one of `names` arrives at `proc.signals` (a batch
 *  command then stops reading and writes what it has); the handlers are removed afterwards. */
export async function untilSignal<T>(
  proc: Pick<Proc, 'signals'>,
  names: readonly NodeJS.Signals[],
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  for (const name of names) proc.signals.once(name, stop);
  try {
    return await body(ac.signal);
  } finally {
    for (const name of names) proc.signals.off(name, stop);
  }
}

/** Run a command's main with the real process; never calls process.exit while output is pending. */
export async function run(prog: string, main: Main): Promise<void> {
  process.title = prog;
  const proc = processProc();
  proc.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (isEpipe(err)) process.exit(EXIT.OK); // nobody reads any more: nothing left to deliver
    proc.stderr.write(`${prog}: write error on stdout: ${visible(err.message)}\n`);
    process.exit(EXIT.IOERR);
  });
  let status: number;
  try {
    const result = (await main(proc)) ?? EXIT.OK;
    status = typeof result === 'string' ? exitCodeOf(result) : result;
  } catch (e) {
    status = reportError(prog, e, proc);
  }
  // --metrics-file, also after a failure; a run that worked but could not say so is not a success
  try {
    await proc.report?.write(prog, status);
  } catch (e) {
    const failed = reportError(prog, e, proc);
    if (status === EXIT.OK) status = failed;
  }
  process.exitCode = status;
}

export function reportError(prog: string, e: unknown, proc: Pick<Proc, 'stderr' | 'env'>): number {
  if (isEpipe(e)) return EXIT.OK;
  if (e instanceof FlowmeterError) {
    proc.stderr.write([`${prog}: ${e.message}`, ...e.detail].map((line) => `${visible(line)}\n`).join(''));
    return exitCodeOf(e.kind);
  }
  const err = e as Error;
  proc.stderr.write(
    `${prog}: internal error (this is a bug, please report it): ${visible(err?.message ?? String(e))}\n`,
  );
  if (proc.env.FLOWMETER_DEBUG) proc.stderr.write(`${err?.stack ?? ''}\n`);
  return EXIT.SOFTWARE;
}
