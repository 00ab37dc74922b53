// hcd-putfile's entry point: from the command's options to a connection (CA file, password from
// its sources) and one of the two runs: send a file, or flush the spool.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CliError, EXIT } from '../cli/exit.js';
import { describeSystemError } from '../cli/io.js';
import type { Log } from '../cli/log.js';
import { resolvePassword } from './password.js';
import { runFlushSpool, runPutfile, type ConnectionConfig } from './putfile.js';
import type { RunReport } from '../cli/metrics.js';
import type { HcdEndpoint } from './url.js';

/** A spool always has a ledger (see hcd-putfile(1), "Never twice"). */
export const DEFAULT_LEDGER = '.hcd-putfile-ledger.json';

export interface HcdPutfileOptions {
  endpoint: HcdEndpoint;
  urlFromEnv: boolean;
  /** Set: flush this spool instead of sending a file. */
  flushSpool: string | undefined;
  input: string;
  name: string | undefined;
  method: string;
  encoding: 'base64' | 'string';
  passwordFile: string | undefined;
  /** --no-password: send the URL's user without a password on purpose. */
  noPassword: boolean;
  ca: string | undefined;
  insecure: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  skipBad: boolean;
  rejectFile: string | undefined;
  spool: string | undefined;
  state: string | undefined;
  lock: string | undefined;
  force: boolean;
  dryRun: boolean;
  /** With flushSpool: spooled files (as listed) to send although in doubt, or to record as delivered. */
  resendInDoubt: string[];
  markDelivered: string[];
}

export interface HcdIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  log: Log;
  /** --metrics-file: what was delivered. */
  report?: RunReport;
}

export async function hcdPutfile(o: HcdPutfileOptions, io: HcdIo): Promise<number> {
  const { log } = io;
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    if (o.endpoint.protocol !== 'https:') log.warn('--ca is ignored for an http:// URL');
    try {
      ca = await fsp.readFile(o.ca);
    } catch (e) {
      throw new CliError(`--ca ${o.ca}: ${describeSystemError(e as NodeJS.ErrnoException)}`, EXIT.NOINPUT);
    }
  }
  if (o.insecure && o.endpoint.protocol === 'https:') {
    log.warn('--insecure: the server certificate is not verified; anyone on the path can read the password and the statistics');
  }
  const pw = o.dryRun
    ? { password: undefined }
    : await resolvePassword({
        passwordFile: o.passwordFile,
        env: io.env,
        urlPassword: o.endpoint.urlPassword,
        urlFromEnv: o.urlFromEnv,
        user: o.endpoint.user,
        stdin: io.stdin as never,
        promptTo: io.stderr,
        stdinIsData: o.flushSpool === undefined && o.input === '-',
        noPassword: o.noPassword,
        warn: (m) => log.warn(m),
      });
  const conn: ConnectionConfig = {
    endpoint: o.endpoint,
    method: o.method,
    encoding: o.encoding,
    user: o.endpoint.user,
    password: pw.password,
    ca,
    insecure: o.insecure,
    connectTimeoutMs: o.connectTimeoutMs,
    timeoutMs: o.timeoutMs,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
  };
  const spoolDir = o.flushSpool ?? o.spool;
  const state = o.state ?? (spoolDir !== undefined ? join(spoolDir, DEFAULT_LEDGER) : undefined);
  const runIo = { stdin: io.stdin, stdout: io.stdout, log, report: io.report };
  if (o.flushSpool !== undefined) {
    return runFlushSpool(
      { spool: o.flushSpool, state, lock: o.lock, force: o.force, dryRun: o.dryRun, resendInDoubt: o.resendInDoubt, markDelivered: o.markDelivered },
      conn,
      runIo,
    );
  }
  return runPutfile(
    {
      input: o.input,
      name: o.name!,
      skipBad: o.skipBad,
      rejectFile: o.rejectFile,
      spool: o.spool,
      state,
      lock: o.lock,
      force: o.force,
      dryRun: o.dryRun,
      now: Math.floor(Date.now() / 1000),
    },
    conn,
    runIo,
  );
}
