// hcd-putfile's work: read and validate a billing CSV, then deliver it to hcd exactly once —
// under a run lock, checked against and recorded in the ledger, retried when the failure is
// transient, kept in the spool when it could not be delivered. Also --flush-spool.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { CliError, EXIT, usageError } from '../cli/exit.js';
import { describeSystemError, openInput, writeFileAtomic } from '../cli/io.js';
import { LineTooLongError, readLines } from '../cli/lines.js';
import type { Log } from '../cli/log.js';
import { describeProblem, isProblem, parseBillingLine } from './billing.js';
import { Ledger } from './ledger.js';
import { LockFile } from '../cli/lock.js';
import { keepRejectedInput, listSpool, spoolFile, type SpoolItem } from './spool.js';
import { CallFailure, callWithRetries, type CallOptions, type FailureKind } from './transport.js';
import type { HcdEndpoint } from './url.js';

/** Whole files are sent in one call; past this, refuse rather than exhaust memory. */
export const MAX_FILE_BYTES = 64 << 20;

export interface ConnectionConfig {
  endpoint: HcdEndpoint;
  method: string;
  encoding: 'base64' | 'string';
  user: string | undefined;
  password: string | undefined;
  ca: Buffer | undefined;
  insecure: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

export interface PutfileConfig {
  input: string; // path or '-'
  name: string;
  skipBad: boolean;
  rejectFile: string | undefined;
  spool: string | undefined;
  state: string | undefined;
  lock: string | undefined;
  force: boolean;
  dryRun: boolean;
  /** Unix seconds, for the "not in the future" check. */
  now: number;
}

export interface Io {
  stdin: Readable;
  stdout: Writable;
  log: Log;
}

export interface Prepared {
  source: string;
  content: Buffer;
  lines: number;
  rejected: number;
  sha256: string;
}

const EXIT_FOR: Record<FailureKind, number> = {
  transient: EXIT.TEMPFAIL,
  protocol: EXIT.PROTOCOL,
  auth: EXIT.NOPERM,
  unavailable: EXIT.UNAVAILABLE,
};

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

async function readAll(path: string, stdin: Readable): Promise<{ name: string; data: Buffer }> {
  const src = await openInput(path, stdin);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of src.stream) {
      const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
      size += b.length;
      if (size > MAX_FILE_BYTES) {
        throw new CliError(`${src.name}: larger than ${MAX_FILE_BYTES} bytes: split it into several uploads`, EXIT.DATAERR);
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${src.name}: read error: ${describeSystemError(e as NodeJS.ErrnoException)}`, EXIT.IOERR);
  } finally {
    src.stream.destroy();
  }
  return { name: src.name, data: Buffer.concat(chunks) };
}

/** Read and validate; bad lines are reported through the log. With skipBad the good lines are kept. */
export async function prepare(cfg: PutfileConfig, io: Io): Promise<Prepared> {
  const { name: source, data } = await readAll(cfg.input, io.stdin);
  const good: string[] = [];
  const bad: string[] = [];
  let goodCount = 0;
  let total = 0;
  let firstBad: string | undefined;
  try {
    for await (const batch of readLines(Readable.from([data]))) {
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i]!;
        const lineNo = batch.firstLine + i;
        total++;
        const r = parseBillingLine(text, cfg.now);
        if (isProblem(r)) {
          const place = `${source}:${lineNo}`;
          firstBad ??= place;
          io.log.reject('bad line', `${place}: ${describeProblem(r)}`, place);
          bad.push(text);
        } else {
          goodCount++;
          if (cfg.skipBad) good.push(text); // only needed to rebuild the content without the bad lines
        }
      }
    }
  } catch (e) {
    if (e instanceof LineTooLongError) throw new CliError(`${source}:${e.line}: line longer than ${e.limit} bytes: not a billing CSV`, EXIT.DATAERR);
    throw e;
  }
  io.log.flushSuppressed();
  if (bad.length > 0 && !cfg.skipBad) {
    // A pipe cannot be read again: with a spool, keep what came in so it can be fixed and re-sent.
    const kept = cfg.input === '-' && cfg.spool ? `; the input is kept in ${await keepRejectedInput(cfg.spool, cfg.name, data)}` : '';
    throw new CliError(`${bad.length} of ${total} lines rejected (first: ${firstBad}); nothing sent (--skip-bad sends the good lines)${kept}`, EXIT.DATAERR);
  }
  let content = data;
  if (bad.length > 0) {
    const rejectPath = cfg.rejectFile ?? `${cfg.input}.rejected`;
    await writeFileAtomic(rejectPath, bad.map((l) => `${l}\n`).join(''));
    io.log.warn(`${bad.length} of ${total} lines rejected (first: ${firstBad}); kept in ${rejectPath}`);
    content = Buffer.from(good.map((l) => `${l}\n`).join(''), 'utf8');
  }
  return { source, content, lines: goodCount, rejected: bad.length, sha256: sha256(content) };
}

function callOptions(c: ConnectionConfig, name: string, content: Buffer, log: Log): CallOptions {
  let payload: Buffer | string = content;
  if (c.encoding === 'string') {
    try {
      payload = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      throw new CliError('--encoding string: the file is not valid UTF-8; use --encoding base64', EXIT.DATAERR);
    }
  }
  return {
    method: c.method,
    params: [name, payload],
    user: c.user,
    password: c.password,
    ca: c.ca,
    insecure: c.insecure,
    connectTimeoutMs: c.connectTimeoutMs,
    timeoutMs: c.timeoutMs,
    trace: (line: string) => log.info(line),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** One delivery under the lock: ledger check, "sending" mark, call, "sent" mark. */
async function deliver(
  c: ConnectionConfig,
  ledger: Ledger | undefined,
  what: { source: string; name: string; content: Buffer; sha256: string; lines: number },
  force: boolean,
  log: Log,
): Promise<'sent' | 'duplicate'> {
  const prior = ledger?.find(what.sha256, what.name);
  if (prior && !force) {
    if (prior.state === 'sent') {
      log.warn(`${what.source}: already sent as "${what.name}" at ${prior.time} (sha256 ${what.sha256.slice(0, 16)}…, ledger ${ledger!.path}); not sent again (--force sends it anyway)`);
      return 'duplicate';
    }
    throw new CliError(
      `${what.source}: a run (pid ${prior.pid}) stopped while sending it as "${what.name}" at ${prior.time}; whether hcd stored it is unknown. Check hcd, then send it with --force`,
      EXIT.FAILURE,
    );
  }
  const entry = {
    sha256: what.sha256,
    name: what.name,
    bytes: what.content.length,
    lines: what.lines,
    source: what.source,
    url: c.endpoint.display,
    pid: process.pid,
  };
  // The "sending" mark is there only while a request is in flight, so a run killed while it
  // waits to retry leaves nothing to clear up; a failed attempt restores what was there
  // (an earlier "sent" record, for a failed --force).
  const value = await callWithRetries(c.endpoint, callOptions(c, what.name, what.content, log), {
    retries: c.retries,
    delayMs: c.retryDelayMs,
    onRetry: (f, attempt, wait) => log.warn(`${f.message}; attempt ${attempt} of ${c.retries + 1} failed, retrying in ${(wait / 1000).toFixed(wait < 1000 ? 2 : 0)} s`),
    beforeAttempt: async () => ledger?.record({ ...entry, state: 'sending', time: new Date().toISOString() }),
    afterFailedAttempt: async () => {
      if (prior?.state === 'sent') await ledger?.record(prior);
      else await ledger?.remove(what.sha256, what.name);
    },
  });
  await ledger?.record({ ...entry, state: 'sent', time: new Date().toISOString() });
  log.info(`${what.source}: sent as "${what.name}" (${plural(what.lines, 'line')}, ${plural(what.content.length, 'byte')}, sha256 ${what.sha256.slice(0, 16)}…) to ${c.endpoint.display}; hcd answered ${describeValue(value)}`);
  return 'sent';
}

function lockPath(cfg: { lock: string | undefined; state: string | undefined }): string | undefined {
  if (cfg.lock) return cfg.lock;
  if (cfg.state) return `${cfg.state}.lock`;
  return undefined;
}

async function withLock<T>(path: string | undefined, spoolDir: string | undefined, body: () => Promise<T>): Promise<T> {
  if (spoolDir) await fsp.mkdir(spoolDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
  // never wait: a second cron run should give way at once (75) rather than queue behind an upload
  const lock = path ? await LockFile.acquire(path, { timeoutMs: 0 }) : undefined;
  try {
    return await body();
  } finally {
    await lock?.release();
  }
}

export function failureToCliError(f: CallFailure): CliError {
  return new CliError(f.message, EXIT_FOR[f.kind]);
}

/** Validate and send one file. Returns the exit status. */
export async function runPutfile(cfg: PutfileConfig, conn: ConnectionConfig, io: Io): Promise<number> {
  const p = await prepare(cfg, io);
  const okStatus = p.rejected > 0 ? EXIT.DATAERR : EXIT.OK;
  if (p.lines === 0) {
    io.log.info(`${p.source}: no lines to send`);
    return okStatus;
  }
  if (cfg.dryRun) {
    const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
    const prior = ledger?.find(p.sha256, cfg.name);
    const note = prior?.state === 'sent' ? ` (already sent at ${prior.time}: would be refused without --force)` : '';
    io.stdout.write(
      `would send ${p.source} as "${cfg.name}": ${plural(p.lines, 'line')}, ${plural(p.content.length, 'byte')}, sha256 ${p.sha256}, ` +
        `${conn.method}("${cfg.name}", <${conn.encoding}>) to ${conn.endpoint.display}${note}\n`,
    );
    return okStatus;
  }
  const what = { source: p.source, name: cfg.name, content: p.content, sha256: p.sha256, lines: p.lines };
  const keep = async (reason: CliError): Promise<never> => {
    if (cfg.spool) {
      const path = await spoolFile(cfg.spool, cfg.name, p.sha256, p.content);
      throw new CliError(`${reason.message}; kept in ${path} (hcd-putfile --flush-spool ${cfg.spool} sends it)`, reason.exitCode);
    }
    throw reason;
  };
  let outcome: 'sent' | 'duplicate';
  try {
    outcome = await withLock(lockPath(cfg), cfg.spool, async () => {
      const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
      return deliver(conn, ledger, what, cfg.force, io.log);
    });
  } catch (e) {
    if (e instanceof CallFailure) return keep(failureToCliError(e));
    if (e instanceof CliError && e.exitCode === EXIT.TEMPFAIL) return keep(e); // lock held
    throw e;
  }
  void outcome;
  return okStatus;
}

/** Send what waits in the spool, oldest first. */
export async function runFlushSpool(
  cfg: { spool: string; state: string | undefined; lock: string | undefined; force: boolean; dryRun: boolean },
  conn: ConnectionConfig,
  io: Io,
): Promise<number> {
  if (cfg.dryRun) {
    const items = await listSpool(cfg.spool);
    for (const it of items) io.stdout.write(`would send ${it.path} as "${it.name}" to ${conn.endpoint.display}\n`);
    return EXIT.OK;
  }
  return withLock(lockPath(cfg), cfg.spool, async () => {
    const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
    const items = await listSpool(cfg.spool);
    let status: number = EXIT.OK;
    let sent = 0;
    for (let i = 0; i < items.length; i++) {
      const it: SpoolItem = items[i]!;
      let content: Buffer;
      try {
        content = await fsp.readFile(it.path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // sent by someone else meanwhile
        throw new CliError(`${it.path}: ${describeSystemError(e as NodeJS.ErrnoException)}`, EXIT.IOERR);
      }
      const digest = sha256(content);
      if (!digest.startsWith(it.sha12)) {
        io.log.error(`${it.path}: content does not match the digest in its name (damaged?); left in place`);
        status = Math.max(status, EXIT.DATAERR);
        continue;
      }
      const lines = content.length === 0 ? 0 : content.toString('latin1').split('\n').length - (content[content.length - 1] === 10 ? 1 : 0);
      try {
        await deliver(conn, ledger, { source: it.path, name: it.name, content, sha256: digest, lines }, cfg.force, io.log);
        sent++;
      } catch (e) {
        if (e instanceof CliError && e.exitCode === EXIT.FAILURE) {
          io.log.error(`${e.message}; left in the spool`);
          status = Math.max(status, EXIT.FAILURE);
          continue;
        }
        if (!(e instanceof CallFailure)) throw e;
        const err = failureToCliError(e);
        if (e.kind === 'protocol') {
          io.log.error(`${it.path}: ${err.message}; left in the spool`);
          status = EXIT.PROTOCOL;
          continue;
        }
        const left = items.length - i;
        throw new CliError(`${err.message}; ${left} file${left === 1 ? '' : 's'} left in ${cfg.spool}`, err.exitCode);
      }
      await fsp.unlink(it.path).catch(() => undefined);
    }
    if (items.length > 0) io.log.info(`${cfg.spool}: ${sent} of ${items.length} spooled files sent`);
    return status;
  });
}

export function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith('.')) {
    throw usageError(`statistics NAME: expected letters, digits, ".", "_" or "-" like agg-ab (got ${JSON.stringify(name)})`);
  }
  return name;
}
