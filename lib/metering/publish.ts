// Samples to ceilometer over RabbitMQ, as neutron-metering-agent's oslo.messaging notifier sends
// them: message format 2.0 envelope ({"oslo.version": "2.0", "oslo.message": "<JSON>"}), topic
// exchange `neutron` declared as oslo's rabbit driver declares it (not durable unless
// amqp_durable_queues, not auto-delete), routing key `<topic>.info`, publisher confirms.
//
// Nothing lost, nothing twice: every batch is first written to the spool directory (atomically,
// one file per batch); a sample is written to stdout only after the broker confirmed it, and its
// message_id is then appended (fsync'd) to the spool's ledger. A spool file whose samples are all
// in the ledger is removed; an empty spool empties the ledger. A run sends what earlier runs left
// in the spool first, skipping ids already in the ledger. An unreachable broker is retried with
// backoff for `timeoutMs`, after which the run keeps spooling and ends with exit 75.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import amqp from 'amqplib';
import { FlowmeterError } from '../errors.js';
import { describeSystemError, writeFileAtomic } from '../cli/io.js';
import { LockFile } from '../cli/lock.js';
import type { Log } from '../cli/log.js';
import { BatchWriter } from '../cli/writer.js';
import type { Sample, SampleSink } from './count.js';
import { stringifyCounters } from '../flow/counter.js';

export interface PublishConfig {
  /** amqp://USER@HOST:PORT/VHOST, without the password. */
  url: string;
  password: string;
  exchange: string;
  topic: string;
  durable: boolean;
  spool: string;
  timeoutMs: number;
  /** Keep trying at every flush after a timeout (live runs) instead of only spooling. */
  live: boolean;
}

const LEDGER = 'sent.ledger';
const BATCH_RE = /^batch-(\d{13})-(\d{6})\.ndjson$/;
const BATCH_MAX = 200;

/** The oslo.messaging v2.0 envelope around one notification. */
export function osloEnvelope(sample: Sample): string {
  return JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': stringifyCounters(sample) });
}

/** The URL with the password inserted; refuses one that already carries a password. */
export function brokerUrl(url: string, password: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FlowmeterError('usage', `--publish ${url}: not a URL (amqp://USER@HOST:PORT/VHOST)`);
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:')
    throw new FlowmeterError('usage', `--publish ${url}: the scheme must be amqp:// or amqps://`);
  if (u.password !== '') {
    throw new FlowmeterError(
      'usage',
      '--publish: a password in the URL would be visible to other users (ps); use $METER_LABEL_AMQP_PASSWORD or --password-file',
    );
  }
  if (u.username === '')
    throw new FlowmeterError('usage', `--publish ${url}: a user is required (amqp://USER@HOST:PORT/VHOST)`);
  u.password = password;
  return u.toString();
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A broker that accepts the TCP connection but never finishes the handshake or never confirms
 *  must not hang the run: each step gets this long. */
const STEP_MS = 15_000;

function withTimeout<T>(p: Promise<T>, what: string, onLate: (v: T) => void = () => undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no answer to ${what} within ${STEP_MS / 1000} s`));
    }, STEP_MS);
  });
  p.then(
    (v) => timedOut && onLate(v),
    () => undefined,
  );
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class AmqpSink implements SampleSink {
  private pending: Sample[] = [];
  private conn: amqp.ChannelModel | undefined;
  private ch: amqp.ConfirmChannel | undefined;
  private sent = new Set<string>();
  private seq = 0;
  private down = false;
  private lock: LockFile | undefined;
  private readonly out: BatchWriter;
  /** Samples confirmed by the broker in this run. */
  published = 0;

  constructor(
    private readonly cfg: PublishConfig,
    stdout: Writable,
    private readonly log: Log,
  ) {
    this.out = new BatchWriter(stdout);
  }

  /** Take the spool (lock), read the ledger and send what earlier runs left. */
  async open(): Promise<void> {
    try {
      await fsp.mkdir(this.cfg.spool, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new FlowmeterError(
        'cant-create',
        `--spool ${this.cfg.spool}: ${describeSystemError(e as NodeJS.ErrnoException)}`,
      );
    }
    this.lock = await LockFile.acquire(join(this.cfg.spool, 'lock'), { timeoutMs: 10_000 });
    const ledger = await fsp.readFile(join(this.cfg.spool, LEDGER), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw new FlowmeterError('io', `${join(this.cfg.spool, LEDGER)}: ${describeSystemError(e)}`);
    });
    for (const id of ledger.split('\n')) if (id !== '') this.sent.add(id);
    const left = await this.spoolFiles();
    if (left.length > 0)
      this.log.info(`${left.length} spooled batch(es) from an earlier run in ${this.cfg.spool}: sending them first`);
    await this.drain();
  }

  add(sample: Sample): boolean {
    this.pending.push(sample);
    return this.pending.length >= BATCH_MAX;
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) {
      const name = `batch-${String(Date.now()).padStart(13, '0')}-${String(this.seq++ % 1e6).padStart(6, '0')}.ndjson`;
      await writeFileAtomic(
        join(this.cfg.spool, name),
        this.pending.map((s) => stringifyCounters(s) + '\n').join(''),
        0o600,
      );
      this.pending = [];
    }
    if (!this.down || this.cfg.live) await this.drain();
  }

  async end(): Promise<void> {
    try {
      await this.flush();
      await this.out.end();
      const left = await this.spoolFiles();
      if (left.length > 0) {
        let n = 0;
        for (const f of left) n += (await this.readBatch(f)).filter((s) => !this.sent.has(s.message_id)).length;
        throw new FlowmeterError(
          'temporary',
          `${redact(this.cfg.url)}: broker unreachable; ${n} sample(s) kept in ${this.cfg.spool}, sent first by the next run with the same --spool`,
        );
      }
    } finally {
      await this.abort();
    }
  }

  /** After a failed run: drop the connection and the spool lock; spooled samples stay. */
  async abort(): Promise<void> {
    await this.close();
    await this.lock?.release();
    this.lock = undefined;
  }

  private async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    this.ch = undefined;
    await c?.close().catch(() => undefined);
  }

  private async spoolFiles(): Promise<string[]> {
    const names = await fsp.readdir(this.cfg.spool);
    return names.filter((n) => BATCH_RE.test(n)).sort();
  }

  private async readBatch(name: string): Promise<Sample[]> {
    const path = join(this.cfg.spool, name);
    const text = await fsp.readFile(path, 'utf8');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l, i) => {
        try {
          const s = JSON.parse(l) as Sample;
          if (typeof s.message_id !== 'string' || typeof s.event_type !== 'string')
            throw new Error('not a notification');
          return s;
        } catch (e) {
          throw new FlowmeterError(
            'data',
            `${path}:${i + 1}: spooled sample unreadable (${(e as Error).message}); move the file away to continue`,
          );
        }
      });
  }

  /** Send every spooled batch, oldest first; on a broker that stays away, mark it down. */
  private async drain(): Promise<void> {
    for (const name of await this.spoolFiles()) {
      const todo = (await this.readBatch(name)).filter((s) => !this.sent.has(s.message_id));
      if (todo.length > 0 && !(await this.sendWithRetry(todo))) return;
      await fsp.unlink(join(this.cfg.spool, name));
    }
    if (this.sent.size > 0) {
      await writeFileAtomic(join(this.cfg.spool, LEDGER), '', 0o600); // nothing spooled: no id can come back
      this.sent.clear();
    }
  }

  private async sendWithRetry(samples: Sample[]): Promise<boolean> {
    const deadline = Date.now() + (this.down ? 0 : this.cfg.timeoutMs);
    let delay = 250;
    for (;;) {
      try {
        await this.send(samples);
        if (this.down) this.log.warn(`${redact(this.cfg.url)}: broker reachable again`);
        this.down = false;
        return true;
      } catch (e) {
        await this.close();
        const why = (e as Error).message;
        if (/ACCESS_REFUSED/.test(why))
          throw new FlowmeterError(
            'permission',
            `${redact(this.cfg.url)}: login refused (${why}); samples stay in ${this.cfg.spool}`,
          );
        if (/PRECONDITION_FAILED/.test(why)) {
          throw new FlowmeterError(
            'config',
            `${redact(this.cfg.url)}: exchange ${this.cfg.exchange} exists with other properties (${why}); --amqp-durable must match the other declarers (oslo amqp_durable_queues)`,
          );
        }
        if (Date.now() + delay > deadline) {
          if (!this.down)
            this.log.warn(`${redact(this.cfg.url)}: cannot publish (${why}); samples stay in ${this.cfg.spool}`);
          this.down = true;
          return false;
        }
        this.log.info(`${redact(this.cfg.url)}: ${why}; retrying in ${delay} ms`);
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  private async channel(): Promise<amqp.ConfirmChannel> {
    if (this.ch) return this.ch;
    const conn = await withTimeout(
      amqp.connect(brokerUrl(this.cfg.url, this.cfg.password), { timeout: 5000 }),
      'the connection handshake',
      (late) => {
        void late.close().catch(() => undefined);
      },
    );
    conn.on('error', () => undefined); // surfaced through the failed publish
    this.conn = conn;
    const ch = await withTimeout(conn.createConfirmChannel(), 'opening a channel');
    ch.on('error', () => undefined);
    await withTimeout(
      ch.assertExchange(this.cfg.exchange, 'topic', { durable: this.cfg.durable, autoDelete: false }),
      'the exchange declaration',
    );
    this.ch = ch;
    return ch;
  }

  /** Publish, wait for every confirm, record the ids, then print the samples. */
  private async send(samples: Sample[]): Promise<void> {
    const ch = await this.channel();
    const conn = this.conn!;
    let onClose = (): void => undefined;
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error('connection closed by the broker'));
      conn.once('close', onClose);
    });
    closed.catch(() => undefined);
    const key = `${this.cfg.topic}.info`;
    for (const s of samples) {
      ch.publish(this.cfg.exchange, key, Buffer.from(osloEnvelope(s)), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: this.cfg.durable ? 2 : 1,
        messageId: s.message_id,
      });
    }
    try {
      await withTimeout(Promise.race([ch.waitForConfirms(), closed]), 'publisher confirms');
    } finally {
      conn.off('close', onClose);
    }
    const fh = await fsp.open(join(this.cfg.spool, LEDGER), 'a', 0o600);
    try {
      await fh.write(samples.map((s) => s.message_id + '\n').join(''));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    for (const s of samples) {
      this.sent.add(s.message_id);
      if (this.out.line(stringifyCounters(s))) await this.out.flush();
    }
    await this.out.flush();
    this.published += samples.length;
  }
}
