// Start test/fixtures/hcd/hcd-server.py (Python's xmlrpc.server standing in for Hydra's hcd) on
// 127.0.0.1 and talk to its control endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { after } from 'node:test';
import http from 'node:http';
import { ROOT } from './spawn.js';

export interface HcdCall {
  method: string;
  name: string;
  encoding: 'base64' | 'string';
  content_b64: string;
  user: string | null;
}

export interface HcdServer {
  port: number;
  url(userinfo?: string, path?: string): string;
  control(query: string): Promise<void>;
  calls(): Promise<{ attempts: number; held: number; calls: HcdCall[] }>;
  stop(): Promise<void>;
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
  });
}

export async function startHcd(
  opts: { user?: string; password?: string; port?: number; cert?: string; key?: string } = {},
): Promise<HcdServer> {
  const args = [join(ROOT, 'test/fixtures/hcd/hcd-server.py'), '--port', String(opts.port ?? 0)];
  if (opts.user !== undefined) args.push('--user', opts.user, '--password', opts.password ?? '');
  if (opts.cert) args.push('--cert', opts.cert, '--key', opts.key!);
  const child: ChildProcess = spawn('python3', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`hcd-server.py exited with ${code}`)));
    child.once('error', reject);
  });
  let stopped = false;
  const scheme = opts.cert ? 'https' : 'http';
  const server: HcdServer = {
    port,
    url: (userinfo, path = '') => `${scheme}://${userinfo ? `${userinfo}@` : ''}127.0.0.1:${port}${path}`,
    // The control endpoint is plain HTTP only when the server is; TLS tests do not flip modes.
    control: async (query) => void (await get(port, `/control?${query}`)),
    calls: async () => JSON.parse(await get(port, '/calls')) as { attempts: number; held: number; calls: HcdCall[] },
    stop: () =>
      new Promise<void>((resolve) => {
        if (stopped || child.exitCode !== null) return resolve();
        stopped = true;
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
  after(() => server.stop());
  return server;
}

/** A self-signed certificate for 127.0.0.1, made with openssl at test time. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
