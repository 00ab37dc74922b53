// One XML-RPC call over HTTP/HTTPS on node:http/https, with what hcdctl users need and no
// XML-RPC client library offers together: a connect timeout (TCP + TLS handshake) and a total
// timeout per attempt, TLS verification with an optional CA file, Basic auth, a response size
// cap, a -v trace that never shows the password, and failures sorted into "try again"
// (refused, reset, timeout, 5xx), "protocol" (fault, malformed answer, unexpected status) and
// "auth" (401/403, untrusted certificate). A failure is also "in doubt" when the whole request
// was handed to the network and no answer could be read (timeout, reset, 5xx, a cut or
// unreadable answer): hcd may have stored the file, so it must not be sent again blindly.

import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { VERSION } from '../cli/version.js';
import type { HcdEndpoint } from './url.js';
import { decodeResponse, encodeCall, type XmlRpcParam } from './xmlrpc.js';

export interface CallOptions {
  method: string;
  params: readonly XmlRpcParam[];
  user?: string | undefined;
  password?: string | undefined;
  /** PEM CA certificates to trust instead of the system store. */
  ca?: Buffer | undefined;
  insecure?: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
  maxResponseBytes?: number;
  /** Receives the exchange line by line for -v; the Authorization value is already masked. */
  trace?: ((line: string) => void) | undefined;
}

/** Why a call did not deliver a value. `retry` says whether another attempt may succeed. */
export type FailureKind = 'transient' | 'protocol' | 'auth' | 'unavailable';

export class CallFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly detail: { status?: number; faultCode?: string; faultText?: string; code?: string } = {},
    /** The request was sent whole and no answer could be read: hcd may have stored it. */
    readonly inDoubt = false,
  ) {
    super(message);
    this.name = 'CallFailure';
  }

  /** The same failure, marked in doubt. */
  asInDoubt(): CallFailure {
    return this.inDoubt ? this : new CallFailure(this.kind, this.message, this.detail, true);
  }
}

const TRACE_BODY_CHARS = 600;

function clip(text: string): string {
  return text.length > TRACE_BODY_CHARS
    ? `${text.slice(0, TRACE_BODY_CHARS)}… (${text.length - TRACE_BODY_CHARS} more characters)`
    : text;
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  EAI_AGAIN: 'name lookup failed temporarily',
  ECONNABORTED: 'connection aborted',
};

/** Classify a socket-level error. */
export function failureFromError(err: NodeJS.ErrnoException, where: string): CallFailure {
  if (err instanceof CallFailure) return err;
  const code = err.code ?? '';
  if (TLS_TRUST_CODES.has(code)) {
    return new CallFailure(
      'auth',
      `${where}: TLS: server certificate not trusted: ${err.message} (give its CA with --ca FILE, or --insecure)`,
      { code },
    );
  }
  if (code === 'ENOTFOUND') return new CallFailure('unavailable', `${where}: unknown host`, { code });
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test(err.message)) {
    return new CallFailure('protocol', `${where}: TLS error: ${err.message}`, { code });
  }
  const words =
    NETWORK_WORDS[code] ?? (err.message === 'socket hang up' ? 'connection closed before an answer' : err.message);
  return new CallFailure('transient', `${where}: ${words}`, { code });
}

function statusFailure(status: number, statusText: string, body: string, where: string): CallFailure {
  const line = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  if (status === 401 || status === 403) {
    return new CallFailure(
      'auth',
      `${where}: ${line}: authentication refused (check the user in --url and the password)`,
      { status },
    );
  }
  // 408 and 429 say the request was not taken; a 5xx may come after hcd stored the file
  if (status >= 500) return new CallFailure('transient', `${where}: ${line}`, { status }, true);
  if (status === 408 || status === 429) return new CallFailure('transient', `${where}: ${line}`, { status });
  const hint = status === 404 ? ' (wrong path in --url? hcdctl posts to /RPC2)' : '';
  const text = body.trim().replace(/\s+/g, ' ').slice(0, 120);
  return new CallFailure('protocol', `${where}: ${line}${hint}${text ? `: ${text}` : ''}`, { status });
}

/** Post one methodCall; resolve with the decoded value or reject with a CallFailure. */
export async function callOnce(ep: HcdEndpoint, o: CallOptions): Promise<unknown> {
  const where = ep.display;
  const xml = encodeCall(o.method, o.params);
  const headers: Record<string, string> = {
    'User-Agent': `flowmeter-hcd-putfile/${VERSION}`,
    'Content-Type': 'text/xml',
    'Content-Length': String(Buffer.byteLength(xml, 'utf8')),
  };
  if (o.user !== undefined) {
    headers.Authorization = `Basic ${Buffer.from(`${o.user}:${o.password ?? ''}`, 'utf8').toString('base64')}`;
  }
  const trace = o.trace;
  if (trace) {
    trace(`> POST ${ep.path} HTTP/1.1 (${where})`);
    for (const [k, v] of Object.entries(headers)) trace(`> ${k}: ${k === 'Authorization' ? 'Basic ***' : v}`);
    for (const l of clip(xml).split('\n')) if (l.trim()) trace(`> ${l}`);
  }
  const { status, statusText, headers: resHeaders, body } = await exchange(ep, o, headers, xml);
  const text = body.toString('utf8');
  if (trace) {
    trace(`< HTTP ${status} ${statusText}`);
    for (const k of ['content-type', 'content-length', 'www-authenticate'])
      if (resHeaders[k]) trace(`< ${k}: ${String(resHeaders[k])}`);
    for (const l of clip(text).split('\n')) if (l.trim()) trace(`< ${l}`);
  }
  if (status !== 200) throw statusFailure(status, statusText, text, where);
  const answer = await decodeResponse(body);
  if (answer.kind === 'fault') {
    throw new CallFailure('protocol', `${where}: XML-RPC fault ${answer.code}: ${answer.text}`, {
      faultCode: answer.code,
      faultText: answer.text,
    });
  }
  if (answer.kind === 'malformed') {
    const got = text.trim() ? ` (got ${JSON.stringify(text.trim().slice(0, 60))})` : ' (empty body)';
    throw new CallFailure('protocol', `${where}: malformed XML-RPC answer: ${answer.reason}${got}`, {}, true);
  }
  return answer.value;
}

interface Exchange {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function exchange(ep: HcdEndpoint, o: CallOptions, headers: Record<string, string>, xml: string): Promise<Exchange> {
  const where = ep.display;
  const maxBytes = o.maxResponseBytes ?? 16 << 20;
  return new Promise<Exchange>((resolve, reject) => {
    let done = false;
    // Set once the whole request is handed to the operating system: before that, hcd cannot
    // have read all of it; after it, any failure short of a readable answer leaves it in doubt.
    let sentWhole = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: Error | undefined, value?: Exchange): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      if (err) {
        req.destroy();
        const f = err instanceof CallFailure ? err : failureFromError(err as NodeJS.ErrnoException, where);
        reject(sentWhole ? f.asInDoubt() : f);
      } else resolve(value!);
    };
    const common = {
      host: ep.hostname,
      port: ep.port,
      path: ep.path,
      method: 'POST',
      headers,
      agent: false as const, // one fresh connection per attempt: no stale keep-alive sockets
    };
    const req =
      ep.protocol === 'https:'
        ? // SNI carries host names only (RFC 6066); the certificate is still checked against an IP address
          https.request({
            ...common,
            ...(isIP(ep.hostname) ? {} : { servername: ep.hostname }),
            ca: o.ca,
            rejectUnauthorized: !o.insecure,
          })
        : http.request(common);

    timers.push(
      setTimeout(() => {
        finish(
          new CallFailure('transient', `${where}: no answer within ${o.timeoutMs / 1000} s (--timeout)`, {
            code: 'ETIMEDOUT',
          }),
        );
      }, o.timeoutMs),
    );
    req.on('socket', (socket: Socket) => {
      const connectedEvent = ep.protocol === 'https:' ? 'secureConnect' : 'connect';
      const t = setTimeout(() => {
        finish(
          new CallFailure(
            'transient',
            `${where}: could not connect within ${o.connectTimeoutMs / 1000} s (--connect-timeout)`,
            { code: 'ETIMEDOUT' },
          ),
        );
      }, o.connectTimeoutMs);
      timers.push(t);
      socket.once(connectedEvent, () => clearTimeout(t));
    });
    req.on('finish', () => {
      sentWhole = true;
    });
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          finish(new CallFailure('protocol', `${where}: answer larger than ${maxBytes} bytes`, {}, true));
          return;
        }
        chunks.push(c);
      });
      res.on('error', (err) => finish(err));
      res.on('aborted', () =>
        finish(new CallFailure('transient', `${where}: connection closed in the middle of the answer`)),
      );
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.end(xml, 'utf8');
  });
}

export interface RetryPolicy {
  retries: number;
  delayMs: number;
  maxDelayMs?: number;
  /** Called before each wait; the default waits with setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (failure: CallFailure, attempt: number, waitMs: number) => void;
  /** Awaited before each attempt and after each failed one (the ledger's "sending" mark). */
  beforeAttempt?: () => Promise<void>;
  afterFailedAttempt?: (failure: CallFailure) => Promise<void>;
}

/** Call, retrying transient failures with exponential backoff (delay, 2×delay, 4×delay…).
 *  A failure in doubt is never retried: a second request might store the file twice. */
export async function callWithRetries(ep: HcdEndpoint, o: CallOptions, p: RetryPolicy): Promise<unknown> {
  const sleep = p.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    await p.beforeAttempt?.();
    try {
      return await callOnce(ep, o);
    } catch (e) {
      const f = e instanceof CallFailure ? e : failureFromError(e as NodeJS.ErrnoException, ep.display);
      await p.afterFailedAttempt?.(f);
      if (f.inDoubt || f.kind !== 'transient' || attempt > p.retries) {
        if (!f.inDoubt && f.kind === 'transient' && p.retries > 0) {
          throw new CallFailure('transient', `${f.message} (gave up after ${attempt} attempts)`, f.detail);
        }
        throw f;
      }
      const wait = Math.min(p.delayMs * 2 ** (attempt - 1), p.maxDelayMs ?? 300_000);
      p.onRetry?.(f, attempt, wait);
      await sleep(wait);
    }
  }
}
