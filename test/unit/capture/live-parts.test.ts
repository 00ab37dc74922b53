// The live collector's parts: --listen parsing, the byte-bounded queue, the rcvbuf warning, kernel
// drops read from /proc/net/udp for a real overflowing socket, rotated file names and writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatagramQueue, parseListen, rcvbufWarning } from '../../../lib/capture/udp.js';
import { parseProcNetUdp, readKernelStats, socketInode } from '../../../lib/capture/kernel-drops.js';
import { RotatingWriter, intervalStart, stamp } from '../../../lib/capture/rotate.js';
import { splitCommand } from '../../../lib/commands/flow-capture-live.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';
import type { Datagram } from '../../../lib/capture/datagram.js';

test('parseListen: IPv4, bracketed IPv6, dual-stack, schemes; errors name the value', () => {
  assert.deepEqual(parseListen('0.0.0.0:2055'), { text: '0.0.0.0:2055', address: '0.0.0.0', port: 2055, family: 4 });
  assert.deepEqual(parseListen('[::1]:6343'), { text: '[::1]:6343', address: '::1', port: 6343, family: 6 });
  assert.equal(parseListen(':2055').address, '::');
  assert.equal(parseListen('2055').address, '::');
  assert.equal(parseListen('[::]:9995').family, 6);
  assert.equal(parseListen('sflow://192.0.2.1:6343').address, '192.0.2.1');
  for (const bad of ['nonsense', '1.2.3.4:99999', '::1:2055', 'host.example:2055', '1.2.3:80']) {
    assert.throws(
      () => parseListen(bad),
      (e: unknown) => e instanceof FlowmeterError && e.kind === 'usage' && e.message.includes(bad),
      bad,
    );
  }
});

test('DatagramQueue is bounded by bytes and counts what it drops', () => {
  const q = new DatagramQueue(3000);
  const d = (n: number): Datagram => ({
    payload: Buffer.alloc(n),
    exporter: 'x',
    exporterPort: 1,
    receivedNs: 0,
    source: 'udp',
    packetNo: 0,
    offset: -1,
  });
  assert.ok(q.push(d(1000)));
  assert.ok(q.push(d(1500)));
  assert.ok(!q.push(d(600)));
  assert.equal(q.drops, 1);
  assert.equal(q.droppedBytes, 600);
  assert.equal(q.shift()!.payload.length, 1000);
  assert.ok(q.push(d(600)));
  assert.equal(q.length, 2);
  assert.equal(q.bytes, 2100);
  assert.equal(q.highWater, 2500);
});

test('rcvbufWarning: Linux reports double; capped buffers name the sysctl', () => {
  const spec = parseListen('0.0.0.0:2055');
  assert.equal(rcvbufWarning({ spec, asked: 1 << 20, granted: 2 << 20 }), undefined);
  const w = rcvbufWarning({ spec, asked: 32 << 20, granted: 8 << 20 });
  assert.match(w!, /granted 4194304 .*sysctl -w net\.core\.rmem_max=33554432/);
});

test('kernel drops: a real socket that is not read overflows and /proc/net/udp says so', async () => {
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  rx.on('message', () => undefined);
  // stop reading (libuv recvStop) so the kernel buffer fills up
  const sym = Object.getOwnPropertySymbols(rx).find((x) => x.description === 'state symbol')!;
  const { handle } = Reflect.get(rx, sym) as { handle: { fd: number; recvStop(): void } };
  handle.recvStop();
  const fd = handle.fd;
  const ref = { port: rx.address().port, inode: socketInode(fd) };
  assert.ok(ref.inode! > 0, 'the socket inode is found through /proc/self/fd');
  const tx = dgram.createSocket('udp4');
  const payload = Buffer.alloc(1200);
  for (let i = 0; i < 400; i++) await new Promise<void>((r) => tx.send(payload, ref.port, '127.0.0.1', () => r()));
  const k = readKernelStats([ref]);
  assert.ok(k.drops! > 0, `drops ${k.drops}`);
  assert.ok(k.rxQueue! > 0);
  tx.close();
  rx.close();
});

test('parseProcNetUdp reads port, queue, inode and drops', () => {
  const text =
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
    '  123: 0100007F:0807 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 98765 2 0000000000000000 42\n';
  assert.deepEqual(parseProcNetUdp(text), [{ port: 2055, rxQueue: 2560, inode: 98765, drops: 42 }]);
});

test('rotated names sort by time; intervals align to the UTC clock (the default)', () => {
  const t = Date.UTC(2026, 10, 22, 3, 7, 42);
  assert.equal(intervalStart(t, 300), Date.UTC(2026, 10, 22, 3, 5, 0));
  assert.equal(intervalStart(t, 86400), Date.UTC(2026, 10, 22, 0, 0, 0));
  assert.equal(stamp(intervalStart(t, 300), 300), '202611220305Z');
  assert.equal(stamp(intervalStart(t, 10), 10), '20261122030740Z');
  const names = [
    'flows.202611220305Z.ndjson',
    'flows.202611220305Z.r1.ndjson',
    'flows.202611220305Z.r2.ndjson',
    'flows.202611220310Z.ndjson',
  ];
  assert.deepEqual([...names].sort(), names);
});

test('RotatingWriter: the active file is hidden, a closed one is complete, reopen never reuses a name', async () => {
  const dir = tempDir();
  let now = Date.UTC(2026, 10, 22, 3, 7, 0);
  const closed: string[] = [];
  const w = new RotatingWriter({
    dir,
    interval: 300,
    extension: 'ndjson',
    now: () => now,
    onClosed: (p) => closed.push(p),
  });
  await w.start();
  await w.write('{"a":1}\n', 1);
  assert.deepEqual(
    readdirSync(dir).filter((f) => !f.startsWith('.')),
    [],
    'nothing visible while writing',
  );
  assert.equal(readdirSync(dir).length, 1);
  await w.reopen();
  assert.deepEqual(
    readdirSync(dir).filter((f) => !f.startsWith('.')),
    ['flows.202611220305Z.ndjson'],
  );
  await w.write('{"a":2}\n', 1);
  now += 300_000;
  await w.reopen(); // a new interval: plain name again
  await w.write('{"a":3}\n', 1);
  await w.close();
  assert.deepEqual(readdirSync(dir).sort(), [
    'flows.202611220305Z.ndjson',
    'flows.202611220305Z.r1.ndjson',
    'flows.202611220310Z.ndjson',
  ]);
  assert.equal(readFileSync(join(dir, 'flows.202611220305Z.r1.ndjson'), 'utf8'), '{"a":2}\n');
  assert.equal(closed.length, 3);
});

test('--exec is split into argv without a shell', () => {
  assert.deepEqual(splitCommand(`/usr/bin/ship --to 'a b' "%f"`), ['/usr/bin/ship', '--to', 'a b', '%f']);
  assert.deepEqual(splitCommand('echo $(rm -rf /) ; x'), ['echo', '$(rm', '-rf', '/)', ';', 'x']);
});
