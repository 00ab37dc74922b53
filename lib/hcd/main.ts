// hcd-putfile's entry point: from the command's options to a connection (CA file, password from
// its sources) and one of the two runs: send a file, or flush the spool.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FlowmeterError, usageError, type Outcome } from '../errors.js';
import { describeSystemError } from '../cli/io.js';
import type { Log } from '../cli/log.js';
import { resolvePassword } from './password.js';
import { listInDoubt } from './doubt.js';
import { runFlushSpool, runMarkDelivered, runPutfile, type ConnectionConfig } from './putfile.js';
import type { RunReport } from '../cli/metrics.js';
import type { HcdEndpoint } from './url.js';

/** A spool always has a ledger (see hcd-putfile(1), "Never twice"). */
export const DEFAULT_LEDGER = '.hcd-putfile-ledger.json';

export interface HcdPutfileOptions {
  /** Unset only for what reads the ledger alone (--in-doubt, --mark-delivered NAME). */
  endpoint: HcdEndpoint | undefined;
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
  /** --in-doubt: list the uploads in doubt, nothing else. */
  listInDoubt: boolean;
  /** Statistics names (or, with flushSpool, spooled files as listed) in doubt: send again although
   *  in doubt, or record as delivered without sending. Without flushSpool, resendInDoubt has one
   *  name: the one being sent. */
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

export async function hcdPutfile(o: HcdPutfileOptions, io: HcdIo): Promise<Outcome> {
  const { log } = io;
  const spoolDir = o.flushSpool ?? o.spool;
  const state = o.state ?? (spoolDir !== undefined ? join(spoolDir, DEFAULT_LEDGER) : undefined);
  if (o.listInDoubt || (o.markDelivered.length > 0 && o.flushSpool === undefined)) {
    // settled from the ledger alone: no connection, no password
    if (state === undefined)
      throw usageError(
        `${o.listInDoubt ? '--in-doubt' : '--mark-delivered'} reads the ledger: give --state FILE (or --spool DIR)`,
      );
    if (o.listInDoubt) return listInDoubt(state, spoolDir, io.stdout);
    return runMarkDelivered(
      { state, spool: spoolDir, lock: o.lock, names: o.markDelivered },
      { stdin: io.stdin, stdout: io.stdout, log },
    );
  }
  // the command refuses a missing --url first, with its hint
  if (o.endpoint === undefined) throw usageError('missing --url (or HCD_URL)');
  return send({ ...o, endpoint: o.endpoint }, state, io);
}

/** Connect (CA file, password from its sources) and send a file or flush the spool. */
async function send(
  o: HcdPutfileOptions & { endpoint: HcdEndpoint },
  state: string | undefined,
  io: HcdIo,
): Promise<Outcome> {
  const { log } = io;
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    if (o.endpoint.protocol !== 'https:') log.warn('--ca is ignored for an http:// URL');
    try {
      ca = await fsp.readFile(o.ca);
    } catch (e) {
      throw new FlowmeterError('no-input', `--ca ${o.ca}: ${describeSystemError(e as NodeJS.ErrnoException)}`);
    }
  }
  if (o.insecure && o.endpoint.protocol === 'https:') {
    log.warn(
      '--insecure: the server certificate is not verified; anyone on the path can read the password and the statistics',
    );
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
  const runIo = { stdin: io.stdin, stdout: io.stdout, log, report: io.report };
  if (o.flushSpool !== undefined) {
    return runFlushSpool(
      {
        spool: o.flushSpool,
        state,
        lock: o.lock,
        force: o.force,
        dryRun: o.dryRun,
        resendInDoubt: o.resendInDoubt,
        markDelivered: o.markDelivered,
      },
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
      resendInDoubt: o.resendInDoubt.length > 0,
      dryRun: o.dryRun,
      now: Math.floor(Date.now() / 1000),
    },
    conn,
    runIo,
  );
}
