// hcd-putfile's work: read and validate a billing CSV, then deliver it to hcd at most once —
// under a run lock, checked against and recorded in the ledger, retried only when it provably
// did not reach hcd, kept in the spool when it could not be delivered or is in doubt. Also
// --flush-spool.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { FlowmeterError, usageError, type ErrorKind } from '../errors.js';
import { describeSystemError, openInput, writeFileAtomic } from '../cli/io.js';
import { LineTooLongError, readLines } from '../cli/lines.js';
import type { Log } from '../cli/log.js';
import { describeValue } from '../flow/record.js';
import { describeProblem, isProblem, parseBillingLine, withTrailingSemicolon } from './billing.js';
import { isInDoubt, Ledger, type LedgerEntry } from './ledger.js';
import { LockFile } from '../cli/lock.js';
import { keepRejectedInput, listSpool, SPOOL_NAME, spoolFile, type SpoolItem } from './spool.js';
import { CallFailure, callWithRetries, type CallOptions, type FailureKind } from './transport.js';
import type { RunReport } from '../cli/metrics.js';
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
  /** Send content the ledger says hcd accepted (never content in doubt). */
  force: boolean;
  /** Send this content although in doubt: the operator found it missing in Hydra. */
  resendInDoubt: boolean;
  dryRun: boolean;
  /** Unix seconds, for the "not in the future" check. */
  now: number;
}

export interface Io {
  stdin: Readable;
  stdout: Writable;
  log: Log;
  /** --metrics-file: what was delivered. */
  report?: RunReport;
}

export interface Prepared {
  source: string;
  content: Buffer;
  lines: number;
  rejected: number;
  sha256: string;
}

const KIND_OF_FAILURE: Record<FailureKind, ErrorKind> = {
  transient: 'temporary',
  protocol: 'protocol',
  auth: 'permission',
  unavailable: 'unavailable',
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
        throw new FlowmeterError(
          'data',
          `${src.name}: larger than ${MAX_FILE_BYTES} bytes: split it into several uploads`,
        );
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof FlowmeterError) throw e;
    throw new FlowmeterError('io', `${src.name}: read error: ${describeSystemError(e as NodeJS.ErrnoException)}`);
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
  let completed = 0;
  let firstBad: string | undefined;
  try {
    for await (const batch of readLines(Readable.from([data]))) {
      for (let i = 0; i < batch.lines.length; i++) {
        const raw = batch.lines[i]!;
        const text = withTrailingSemicolon(raw);
        if (text !== raw) completed++;
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
          good.push(text); // to rebuild the content without bad lines, or in the header's form
        }
      }
    }
  } catch (e) {
    if (e instanceof LineTooLongError)
      throw new FlowmeterError('data', `${source}:${e.line}: line longer than ${e.limit} bytes: not a billing CSV`);
    throw e;
  }
  io.log.flushSuppressed();
  if (bad.length > 0 && !cfg.skipBad) {
    // A pipe cannot be read again: with a spool, keep what came in so it can be fixed and re-sent.
    const kept =
      cfg.input === '-' && cfg.spool
        ? `; the input is kept in ${await keepRejectedInput(cfg.spool, cfg.name, data)}`
        : '';
    throw new FlowmeterError(
      'data',
      `${bad.length} of ${total} lines rejected (first: ${firstBad}); nothing sent (--skip-bad sends the good lines)${kept}`,
    );
  }
  let content = data;
  if (bad.length > 0) {
    const rejectPath = cfg.rejectFile ?? `${cfg.input}.rejected`;
    await writeFileAtomic(rejectPath, bad.map((l) => `${l}\n`).join(''));
    io.log.warn(`${bad.length} of ${total} lines rejected (first: ${firstBad}); kept in ${rejectPath}`);
  }
  if (completed > 0)
    io.log.info(`${source}: ${plural(completed, 'line')} without the trailing ";" after BYTES, sent with it`);
  if (bad.length > 0 || completed > 0) content = Buffer.from(good.map((l) => `${l}\n`).join(''), 'utf8');
  return { source, content, lines: goodCount, rejected: bad.length, sha256: sha256(content) };
}

function callOptions(c: ConnectionConfig, name: string, content: Buffer, log: Log): CallOptions {
  let payload: Buffer | string = content;
  if (c.encoding === 'string') {
    try {
      payload = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      throw new FlowmeterError('data', '--encoding string: the file is not valid UTF-8; use --encoding base64');
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

/** What one delivery sends, and what the ledger records of it. */
interface Upload {
  source: string;
  name: string;
  content: Buffer;
  sha256: string;
  lines: number;
}

/** The ledger entry for an upload, in a given state as of now. */
function entryFor(c: ConnectionConfig, what: Upload, state: LedgerEntry['state'], note?: string): LedgerEntry {
  return {
    sha256: what.sha256,
    name: what.name,
    bytes: what.content.length,
    lines: what.lines,
    source: what.source,
    url: c.endpoint.display,
    state,
    time: new Date().toISOString(),
    pid: process.pid,
    ...(note === undefined ? {} : { note }),
  };
}

/** What an operator looks for in Hydra to tell whether hcd stored an upload in doubt. */
export function hydraCheck(e: Pick<LedgerEntry, 'name' | 'lines' | 'bytes' | 'time'>): string {
  return `check in Hydra whether statistics "${e.name}" has an upload of ${plural(e.lines, 'line')} (${plural(e.bytes, 'byte')}) made at ${e.time}`;
}

/** Why an earlier run left this content in doubt. */
export function doubtCause(e: LedgerEntry): string {
  return e.state === 'sending'
    ? `a run (pid ${e.pid}) stopped while sending it as "${e.name}" at ${e.time}`
    : `sent as "${e.name}" at ${e.time}, ${e.note ?? 'no answer could be read'}`;
}

/** Content the ledger has in doubt, not sent: the operator decides (a temporary failure). */
class InDoubtRefusal extends FlowmeterError {
  constructor(message: string) {
    super('temporary', message);
  }
}

/** The commands that settle an upload in doubt, by its statistics name. */
export function settleCommands(ledger: string, name: string, flushSpool?: string): string {
  const base = `hcd-putfile --state ${ledger}${flushSpool === undefined ? '' : ` --flush-spool ${flushSpool}`}`;
  const resend =
    flushSpool === undefined
      ? `hcd-putfile --state ${ledger} -f FILE --resend-in-doubt ${name}`
      : `${base} --resend-in-doubt ${name}`;
  return `if it has, ${base} --mark-delivered ${name}; if not, ${resend}`;
}

/** What may be sent despite the ledger: content it says hcd accepted (--force), content in doubt
 *  (--resend-in-doubt, the operator's decision; --force never decides that). */
interface Allow {
  force: boolean;
  inDoubt: boolean;
}

/** Sum a delivery into the run's metrics: files by outcome, and the lines and bytes hcd got. */
function reportDelivery(report: RunReport | undefined, what: Upload, outcome: 'sent' | 'duplicate'): void {
  if (!report) return;
  report.add(
    'flowmeter_run_uploads',
    'Statistics files delivered in the run, by outcome (duplicate: already sent, not sent again)',
    1,
    { outcome },
  );
  if (outcome !== 'sent') return;
  report.add('flowmeter_run_uploaded_lines', 'Statistics lines hcd accepted in the run', what.lines);
  report.add('flowmeter_run_uploaded_bytes', 'Bytes of statistics files hcd accepted in the run', what.content.length);
}

/** One delivery under the lock: ledger check, "sending" mark, call, "sent" mark. A failure in
 *  doubt is recorded as "in-doubt" and not retried; content the ledger has in doubt is refused
 *  (a temporary failure) unless `allow.inDoubt`. */
async function deliver(
  c: ConnectionConfig,
  ledger: Ledger | undefined,
  what: Upload,
  allow: Allow,
  log: Log,
  flushSpool?: string,
): Promise<'sent' | 'duplicate'> {
  const prior = ledger?.find(what.sha256, what.name);
  if (prior?.state === 'sent' && !allow.force) {
    log.warn(
      `${what.source}: already sent as "${what.name}" at ${prior.time} (sha256 ${what.sha256.slice(0, 16)}…, ledger ${ledger!.path}); not sent again (--force sends it anyway)`,
    );
    return 'duplicate';
  }
  if (isInDoubt(prior) && !allow.inDoubt) {
    throw new InDoubtRefusal(
      `${what.source}: in doubt: ${doubtCause(prior!)}; not sent: ${hydraCheck(prior!)}; ${settleCommands(ledger!.path, what.name, flushSpool)}`,
    );
  }
  // The "sending" mark is there only while a request is in flight, so a run killed while it
  // waits to retry leaves nothing to clear up; a failed attempt restores what was there
  // (an earlier "sent" record, for a failed --force), or records the doubt.
  const value = await callWithRetries(c.endpoint, callOptions(c, what.name, what.content, log), {
    retries: c.retries,
    delayMs: c.retryDelayMs,
    onRetry: (f, attempt, wait) =>
      log.warn(
        `${f.message}; attempt ${attempt} of ${c.retries + 1} failed, retrying in ${(wait / 1000).toFixed(wait < 1000 ? 2 : 0)} s`,
      ),
    beforeAttempt: async () => ledger?.record(entryFor(c, what, 'sending')),
    afterFailedAttempt: async (f) => {
      if (f.inDoubt)
        await ledger?.record({ ...ledger.find(what.sha256, what.name)!, state: 'in-doubt', note: f.message });
      else if (prior?.state === 'sent') await ledger?.record(prior);
      else await ledger?.remove(what.sha256, what.name);
    },
  });
  await ledger?.record(entryFor(c, what, 'sent'));
  log.info(
    `${what.source}: sent as "${what.name}" (${plural(what.lines, 'line')}, ${plural(what.content.length, 'byte')}, sha256 ${what.sha256.slice(0, 16)}…) to ${c.endpoint.display}; hcd answered ${describeValue(value, 80)}`,
  );
  return 'sent';
}

function lockPath(cfg: { lock: string | undefined; state: string | undefined }): string | undefined {
  if (cfg.lock) return cfg.lock;
  if (cfg.state) return `${cfg.state}.lock`;
  return undefined;
}

async function withLock<T>(path: string | undefined, spoolDir: string | undefined, body: () => Promise<T>): Promise<T> {
  if (spoolDir) await fsp.mkdir(spoolDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
  // never wait: a second cron run should give way at once (a temporary failure) rather than queue behind an upload
  const lock = path ? await LockFile.acquire(path, { timeoutMs: 0 }) : undefined;
  try {
    return await body();
  } finally {
    await lock?.release();
  }
}

export function errorOfFailure(f: CallFailure): FlowmeterError {
  return new FlowmeterError(f.inDoubt ? 'temporary' : KIND_OF_FAILURE[f.kind], f.message);
}

/** A failure in doubt, told with what to check in Hydra and what to do then. */
function inDoubtError(f: CallFailure, what: Upload, ledger: Ledger | undefined, remedy: string): FlowmeterError {
  const entry = ledger?.find(what.sha256, what.name) ?? {
    name: what.name,
    lines: what.lines,
    bytes: what.content.length,
    time: new Date().toISOString(),
  };
  return new FlowmeterError(
    'temporary',
    `${f.message}: hcd got the whole file and may have stored it, so it is in doubt and not sent again; ${hydraCheck(entry)}; ${remedy}`,
  );
}

/** --resend-in-doubt NAME with a file: only the content the ledger has in doubt as NAME. */
function requireInDoubt(ledger: Ledger | undefined, what: Upload): void {
  if (!ledger) throw usageError('--resend-in-doubt needs the ledger (--state FILE, or --spool DIR)');
  if (!isInDoubt(ledger.find(what.sha256, what.name))) {
    throw new FlowmeterError(
      'data',
      `${what.source}: not in doubt as "${what.name}" in ${ledger.path} (sha256 ${what.sha256.slice(0, 16)}…): nothing to resend; hcd-putfile --state ${ledger.path} --in-doubt lists what is`,
    );
  }
}

/** Validate and send one file: 'data' when bad lines were left out (--skip-bad), else 'ok'. */
export async function runPutfile(cfg: PutfileConfig, conn: ConnectionConfig, io: Io): Promise<'ok' | 'data'> {
  const p = await prepare(cfg, io);
  const done = p.rejected > 0 ? 'data' : 'ok';
  if (p.lines === 0) {
    io.log.info(`${p.source}: no lines to send`);
    return done;
  }
  if (cfg.dryRun) {
    const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
    const prior = ledger?.find(p.sha256, cfg.name);
    const note =
      prior?.state === 'sent'
        ? ` (already sent at ${prior.time}: would be refused without --force)`
        : isInDoubt(prior)
          ? ` (in doubt since ${prior!.time}: would be refused without --resend-in-doubt)`
          : '';
    io.stdout.write(
      `would send ${p.source} as "${cfg.name}": ${plural(p.lines, 'line')}, ${plural(p.content.length, 'byte')}, sha256 ${p.sha256}, ` +
        `${conn.method}("${cfg.name}", <${conn.encoding}>) to ${conn.endpoint.display}${note}\n`,
    );
    return done;
  }
  const what: Upload = { source: p.source, name: cfg.name, content: p.content, sha256: p.sha256, lines: p.lines };
  const spoolIt = (): Promise<string> => spoolFile(cfg.spool!, cfg.name, p.sha256, p.content);
  const keep = async (reason: FlowmeterError): Promise<never> => {
    if (cfg.spool)
      throw new FlowmeterError(
        reason.kind,
        `${reason.message}; kept in ${await spoolIt()} (hcd-putfile --flush-spool ${cfg.spool} sends it)`,
      );
    throw reason;
  };
  let ledger: Ledger | undefined;
  try {
    const outcome = await withLock(lockPath(cfg), cfg.spool, async () => {
      ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
      if (cfg.resendInDoubt) requireInDoubt(ledger, what);
      return deliver(conn, ledger, what, { force: cfg.force, inDoubt: cfg.resendInDoubt }, io.log, cfg.spool);
    });
    reportDelivery(io.report, what, outcome);
  } catch (e) {
    if (e instanceof CallFailure && e.inDoubt) {
      // Kept where --flush-spool will not send it unasked; without a spool, the input is what to resend.
      if (cfg.spool) {
        const path = await spoolIt();
        throw inDoubtError(e, what, ledger, `kept in ${path}: ${settleCommands(ledger!.path, what.name, cfg.spool)}`);
      }
      throw inDoubtError(
        e,
        what,
        ledger,
        ledger ? settleCommands(ledger.path, what.name) : 'if it has not, send it again',
      );
    }
    if (e instanceof CallFailure) return keep(errorOfFailure(e));
    if (e instanceof InDoubtRefusal) throw e;
    if (e instanceof FlowmeterError && e.kind === 'temporary') return keep(e); // lock held
    throw e;
  }
  return done;
}

export interface FlushConfig {
  spool: string;
  state: string | undefined;
  lock: string | undefined;
  force: boolean;
  dryRun: boolean;
  /** Spooled files (names as listed) or statistics names in doubt the operator found missing in
   *  Hydra: send them although in doubt. */
  resendInDoubt: readonly string[];
  /** The same, found in Hydra: record them as sent, without sending. */
  markDelivered: readonly string[];
}

/** A spooled file with its content, digest and what the ledger says of it. */
interface SpooledUpload extends Upload {
  item: SpoolItem;
  prior: LedgerEntry | undefined;
}

/** Read a spooled file: "gone" when it went meanwhile, "damaged" (reported) when its digest is wrong. */
async function readSpooled(
  it: SpoolItem,
  ledger: Ledger | undefined,
  log: Log,
): Promise<SpooledUpload | 'gone' | 'damaged'> {
  let content: Buffer;
  try {
    content = await fsp.readFile(it.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'; // sent by someone else meanwhile
    throw new FlowmeterError('io', `${it.path}: ${describeSystemError(e as NodeJS.ErrnoException)}`);
  }
  const digest = sha256(content);
  if (!digest.startsWith(it.sha12)) {
    log.error(`${it.path}: content does not match the digest in its name (damaged?); left in place`);
    return 'damaged';
  }
  const lines =
    content.length === 0
      ? 0
      : content.toString('latin1').split('\n').length - (content[content.length - 1] === 10 ? 1 : 0);
  return {
    item: it,
    source: it.path,
    name: it.name,
    content,
    sha256: digest,
    lines,
    prior: ledger?.find(digest, it.name),
  };
}

const MARKED = 'marked delivered by the operator (--mark-delivered): found in Hydra, not sent';

/** Record what the operator found in Hydra: the upload is delivered, nothing is sent. */
async function recordDelivered(ledger: Ledger | undefined, entry: LedgerEntry): Promise<void> {
  await ledger?.record({ ...entry, state: 'sent', time: new Date().toISOString(), pid: process.pid, note: MARKED });
}

function markDelivered(ledger: Ledger | undefined, conn: ConnectionConfig, up: SpooledUpload): Promise<void> {
  return recordDelivered(ledger, up.prior ?? entryFor(conn, up, 'sent'));
}

/** The spooled files the verbs act on. A verb names a spooled file (as listed) or a statistics
 *  NAME: the one upload the ledger has in doubt as NAME. An upload in doubt with no copy in the
 *  spool is marked delivered in the ledger at once, or, to be resent, copied into the spool from
 *  the file it was sent from when that still holds the same bytes. */
async function resolveVerbs(
  cfg: FlushConfig,
  ledger: Ledger | undefined,
  apply: boolean,
): Promise<{ markDelivered: Set<string>; resendInDoubt: Set<string> }> {
  const items = await listSpool(cfg.spool);
  const resolved = { markDelivered: new Set<string>(), resendInDoubt: new Set<string>() };
  for (const [flag, list, into] of [
    ['--resend-in-doubt', cfg.resendInDoubt, resolved.resendInDoubt],
    ['--mark-delivered', cfg.markDelivered, resolved.markDelivered],
  ] as const) {
    for (const arg of list) {
      if (SPOOL_NAME.test(arg)) {
        if (!items.some((i) => i.file === arg))
          throw new FlowmeterError('no-input', `${flag} ${arg}: no such file waiting in ${cfg.spool}`);
        into.add(arg);
        continue;
      }
      const entry = theOneInDoubt(flag, arg, ledger);
      const copy = items.find((i) => i.name === entry.name && entry.sha256.startsWith(i.sha12));
      if (copy) into.add(copy.file);
      else if (!apply) continue;
      else if (flag === '--mark-delivered') await recordDelivered(ledger, entry);
      else
        into.add(
          basename(await spoolFile(cfg.spool, entry.name, entry.sha256, await sameBytes(entry), new Date(entry.time))),
        ); // in its place: sent before what followed
    }
  }
  return resolved;
}

/** The upload in doubt as `name`; several are refused (name each by its spooled file). */
function theOneInDoubt(flag: string, name: string, ledger: Ledger | undefined): LedgerEntry {
  if (!ledger) throw usageError(`${flag} NAME needs the ledger (--state FILE, or --spool DIR)`);
  const found = ledger.inDoubt(name);
  if (found.length === 0)
    throw new FlowmeterError('no-input', `${flag} ${name}: nothing is in doubt as "${name}" in ${ledger.path}`);
  if (found.length > 1) {
    throw usageError(
      `${flag} ${name}: ${found.length} uploads are in doubt as "${name}" (sent at ${found.map((e) => e.time).join(', ')}): name each by its spooled file (hcd-putfile --in-doubt lists them)`,
    );
  }
  return found[0]!;
}

/** The bytes an upload in doubt was sent from, if its source still holds them. */
async function sameBytes(entry: LedgerEntry): Promise<Buffer> {
  const gone = `no copy of the upload in doubt as "${entry.name}" is in the spool and ${entry.source} `;
  let content: Buffer;
  try {
    content = await fsp.readFile(entry.source);
  } catch {
    throw new FlowmeterError(
      'no-input',
      `${gone}cannot be read: send the same file again with hcd-putfile -f FILE --resend-in-doubt ${entry.name}`,
    );
  }
  if (sha256(content) !== entry.sha256)
    throw new FlowmeterError(
      'no-input',
      `${gone}no longer holds what was sent (sha256 differs): send the file that was sent with hcd-putfile -f FILE --resend-in-doubt ${entry.name}`,
    );
  return content;
}

/** --mark-delivered NAME without --flush-spool: record each in the ledger as delivered, remove
 *  its spooled copy if the spool holds one; nothing is sent. */
export async function runMarkDelivered(
  cfg: { state: string | undefined; spool: string | undefined; lock: string | undefined; names: readonly string[] },
  io: Io,
): Promise<'ok'> {
  return withLock<'ok'>(lockPath(cfg), cfg.spool, async () => {
    const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
    for (const name of cfg.names) {
      const entry = theOneInDoubt('--mark-delivered', name, ledger);
      await recordDelivered(ledger, entry);
      const copy = cfg.spool
        ? (await listSpool(cfg.spool)).find((i) => i.name === name && entry.sha256.startsWith(i.sha12))
        : undefined;
      if (copy) await fsp.unlink(copy.path).catch(() => undefined);
      io.log.info(
        `"${name}" sent at ${entry.time} (sha256 ${entry.sha256.slice(0, 16)}…): recorded as delivered in ${ledger!.path}, not sent${copy ? `; ${copy.path} removed from the spool` : ''}`,
      );
    }
    return 'ok';
  });
}

/** How a flush can end, least severe first: the worst of its files' outcomes is the flush's. A
 *  file hcd refused outweighs one waiting for the operator, which outweighs a damaged one. */
const FLUSH_SEVERITY = ['ok', 'data', 'temporary', 'protocol'] as const;
type FlushOutcome = (typeof FLUSH_SEVERITY)[number];

function worse(a: FlushOutcome, b: FlushOutcome): FlushOutcome {
  return FLUSH_SEVERITY.indexOf(b) > FLUSH_SEVERITY.indexOf(a) ? b : a;
}

/** Send what waits in the spool, oldest first; a file in doubt waits for the operator, and so do
 *  the later files of its statistics name (hcd gets each name's files in order). */
export async function runFlushSpool(cfg: FlushConfig, conn: ConnectionConfig, io: Io): Promise<FlushOutcome> {
  if (cfg.dryRun) return listFlush(cfg, conn, io);
  return withLock(lockPath(cfg), cfg.spool, async () => {
    const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
    const verbs = await resolveVerbs(cfg, ledger, true);
    const items = await listSpool(cfg.spool);
    let outcome: FlushOutcome = 'ok';
    let sent = 0;
    let waiting = 0;
    const heldBy = new Map<string, string>(); // statistics name → the spooled file in doubt
    for (let i = 0; i < items.length; i++) {
      const up = await readSpooled(items[i]!, ledger, io.log);
      if (up === 'damaged') outcome = worse(outcome, 'data');
      if (typeof up === 'string') continue;
      const { item } = up;
      if (verbs.markDelivered.has(item.file)) {
        await markDelivered(ledger, conn, up);
        io.log.info(`${item.path}: recorded as delivered without sending it; removed from the spool`);
        await fsp.unlink(item.path).catch(() => undefined);
        continue;
      }
      const held = heldBy.get(item.name);
      const resend = verbs.resendInDoubt.has(item.file);
      if (held !== undefined || (isInDoubt(up.prior) && !resend)) {
        if (held !== undefined)
          io.log.error(`${item.path}: waits: an earlier upload of "${item.name}" is in doubt (${held})`);
        else
          io.log.error(
            `${item.path}: in doubt: ${doubtCause(up.prior!)}; not sent: ${hydraCheck(up.prior!)}; ${settleCommands(ledger!.path, item.name, cfg.spool)}`,
          );
        heldBy.set(item.name, held ?? item.file);
        waiting++;
        outcome = worse(outcome, 'temporary');
        continue;
      }
      try {
        reportDelivery(
          io.report,
          up,
          await deliver(conn, ledger, up, { force: cfg.force, inDoubt: resend }, io.log, cfg.spool),
        );
        sent++;
      } catch (e) {
        if (!(e instanceof CallFailure)) throw e;
        const left = items.length - i;
        const leftNote = `${left} file${left === 1 ? '' : 's'} left in ${cfg.spool}`;
        if (e.inDoubt)
          throw inDoubtError(
            e,
            up,
            ledger,
            `${ledger ? settleCommands(ledger.path, item.name, cfg.spool) : ''}; ${leftNote}`,
          );
        const err = errorOfFailure(e);
        if (e.kind === 'protocol') {
          io.log.error(`${item.path}: ${err.message}; left in the spool`);
          outcome = worse(outcome, 'protocol');
          continue;
        }
        throw new FlowmeterError(err.kind, `${err.message}; ${leftNote}`);
      }
      await fsp.unlink(item.path).catch(() => undefined);
    }
    if (items.length > 0)
      io.log.info(
        `${cfg.spool}: ${sent} of ${items.length} spooled files sent${waiting > 0 ? `, ${waiting} waiting for an upload in doubt` : ''}`,
      );
    return outcome;
  });
}

/** --dry-run --flush-spool: one line per spooled file saying what a flush would do with it. */
async function listFlush(cfg: FlushConfig, conn: ConnectionConfig, io: Io): Promise<'ok'> {
  const ledger = cfg.state ? await Ledger.open(cfg.state) : undefined;
  const verbs = await resolveVerbs(cfg, ledger, false);
  const items = await listSpool(cfg.spool);
  for (const it of items) {
    const up = await readSpooled(it, ledger, io.log);
    if (typeof up === 'string') continue;
    const as = `${it.path} as "${it.name}"`;
    let line: string;
    if (verbs.markDelivered.has(it.file)) line = `would record ${as} as delivered, without sending it`;
    else if (up.prior?.state === 'sent' && !cfg.force) line = `would remove ${as}: already sent at ${up.prior.time}`;
    else if (isInDoubt(up.prior) && !verbs.resendInDoubt.has(it.file)) {
      line = `in doubt: ${it.path}: ${doubtCause(up.prior!)}; not sent without --resend-in-doubt ${it.name}`;
    } else line = `would send ${as} to ${conn.endpoint.display}`;
    io.stdout.write(`${line}\n`);
  }
  return 'ok';
}

export function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith('.')) {
    throw usageError(
      `statistics NAME: expected letters, digits, ".", "_" or "-" like agg-ab (got ${JSON.stringify(name)})`,
    );
  }
  return name;
}
