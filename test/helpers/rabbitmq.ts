// A real RabbitMQ node of the test's own (Debian's rabbitmq-server): its own node name, AMQP and
// distribution ports, data and log directories, so a test can stop and restart it without
// touching a broker anyone else uses. Missing rabbitmq-server: the test skips with that reason
// (and fails when FLOWMETER_REQUIRE_PEERS=1).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { missingPeers } from './peers.js';

const run = promisify(execFile);
const BIN = ['/usr/lib/rabbitmq/bin', '/usr/sbin', '/usr/local/sbin', '/usr/bin'];

function tool(name: string): string | undefined {
  for (const d of BIN) if (existsSync(join(d, name))) return join(d, name);
  const w = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return w.status === 0 ? w.stdout.trim() : undefined;
}

/** Why RabbitMQ tests cannot run here, or undefined when they can. */
export function rabbitmqMissing(): string | undefined {
  return missingPeers('rabbitmq-server', 'rabbitmqctl', 'erl');
}

export function skipWithoutRabbitmq(t: { skip(reason: string): void }): boolean {
  const why = rabbitmqMissing();
  if (why === undefined) return false;
  if (process.env.FLOWMETER_REQUIRE_PEERS === '1') assert.fail(why);
  t.skip(why);
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class Broker {
  private constructor(
    readonly node: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly dir: string,
  ) {}

  /** amqp://guest@127.0.0.1:PORT/VHOST (guest may log in from localhost; its password is "guest"). */
  url(vhost = ''): string {
    return `amqp://guest@127.0.0.1:${this.port}/${encodeURIComponent(vhost)}`;
  }

  urlWithPassword(vhost = ''): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}/${encodeURIComponent(vhost)}`;
  }

  static async start(): Promise<Broker> {
    // its own directory, removed by stop(): tempDir's would go when the test that started it ends
    const dir = mkdtempSync(join(tmpdir(), 'rabbitmq-'));
    const port = await freePort();
    const node = `flowmeter-${process.pid}-${port}@localhost`;
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(await freePort()),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'), // absent: defaults
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    };
    const b = new Broker(node, port, env, dir);
    await run(tool('rabbitmq-server')!, ['-detached'], { env });
    await b.awaitStartup();
    return b;
  }

  /** rabbitmqctl await_startup fails at once while the node has not registered with epmd yet. */
  private async awaitStartup(): Promise<void> {
    const until = Date.now() + 120_000;
    for (;;) {
      try {
        await this.ctl('await_startup', '--timeout', '60');
        return;
      } catch (e) {
        if (Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async ctl(...args: string[]): Promise<string> {
    const r = await run(tool('rabbitmqctl')!, ['-n', this.node, ...args], { env: this.env, timeout: 150_000 });
    return r.stdout;
  }

  /** Stop the whole node (connections drop, the port closes); its data directory stays. */
  async stopNode(): Promise<void> {
    await this.ctl('stop');
  }

  /** Start the node again on the same data, as after a broker restart. */
  async startNode(): Promise<void> {
    await run(tool('rabbitmq-server')!, ['-detached'], { env: this.env });
    await this.awaitStartup();
  }

  async stop(): Promise<void> {
    await this.ctl('stop').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
