// callOnce's "in doubt" line, on real sockets: a failure before the whole request left this host
// is not in doubt (safe to send again); after it, without a readable answer, it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { CallFailure, callOnce } from '../../../lib/hcd/transport.js';
import { parseHcdUrl } from '../../../lib/hcd/url.js';

async function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

async function failure(port: number, content: Buffer, timeoutMs = 2000): Promise<CallFailure> {
  const ep = parseHcdUrl(`http://127.0.0.1:${port}`);
  try {
    await callOnce(ep, { method: 'putfile', params: ['agg-ab', content], connectTimeoutMs: 2000, timeoutMs });
  } catch (e) {
    assert.ok(e instanceof CallFailure, String(e));
    return e;
  }
  assert.fail('the call succeeded');
}

function close(l: { server: Server; sockets: Socket[] }): Promise<void> {
  for (const s of l.sockets) s.destroy();
  return new Promise((r) => l.server.close(() => r()));
}

test('connection refused: not in doubt', async () => {
  const l = await listen(() => undefined);
  const port = l.port;
  await close(l);
  const f = await failure(port, Buffer.from('x'));
  assert.equal(f.kind, 'transient');
  assert.equal(f.inDoubt, false);
});

test('timeout while the body is still being written (the server reads nothing): not in doubt', async () => {
  const l = await listen((s) => s.pause()); // never reads: the 32 MiB body cannot all leave this host
  try {
    const f = await failure(l.port, Buffer.alloc(32 << 20, 0x41), 500);
    assert.match(f.message, /no answer within 0\.5 s/);
    assert.equal(f.inDoubt, false);
  } finally {
    await close(l);
  }
});

test('the whole request read, then the connection closed without an answer: in doubt', async () => {
  const l = await listen((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('</methodCall>')) s.destroy();
    });
  });
  try {
    const f = await failure(l.port, Buffer.from('c39501;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;\n'));
    assert.equal(f.kind, 'transient');
    assert.equal(f.inDoubt, true, f.message);
  } finally {
    await close(l);
  }
});

test('the whole request read, half an answer, then closed: in doubt', async () => {
  const l = await listen((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('</methodCall>')) return;
      s.end(
        'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 200\r\n\r\n<?xml version="1.0"?><methodResponse>',
      );
    });
  });
  try {
    const f = await failure(l.port, Buffer.from('x'));
    assert.equal(f.inDoubt, true, f.message);
  } finally {
    await close(l);
  }
});

test('HTTP 429 and 404 are answers hcd did not take the file with: not in doubt; 503 is', async () => {
  for (const [status, inDoubt] of [
    ['429 Too Many Requests', false],
    ['404 Not Found', false],
    ['503 Service Unavailable', true],
  ] as const) {
    const l = await listen((s) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('</methodCall>'))
          s.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      });
    });
    try {
      const f = await failure(l.port, Buffer.from('x'));
      assert.equal(f.inDoubt, inDoubt, `${status}: ${f.message}`);
    } finally {
      await close(l);
    }
  }
});
