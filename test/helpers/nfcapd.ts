// A real nfcapd (sfcapd) fed a capture's export datagrams over UDP on loopback (Debian's
// collectors cannot read pcap files), and what `nfdump -o json` prints of what it stored.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { runProcess } from './spawn.js';
import { tempDir } from './tmp.js';
import { openInput } from '../../lib/cli/io.js';
import { Log } from '../../lib/cli/log.js';
import { newCaptureStats, readCapture } from '../../lib/capture/pcap-file.js';

/** A free UDP port on 127.0.0.1 (closed again: nfcapd binds it next). */
export async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

/** Wait until something is bound to UDP `port` (/proc/net/udp), so no datagram is sent too early. */
export async function udpBound(port: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (let i = 0; i < 200; i++) {
    if (readFileSync('/proc/net/udp', 'utf8').includes(hex)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the collector did not bind UDP port ${port}`);
}

/** Send the capture's UDP payloads, one at a time, to 127.0.0.1:port. */
async function replay(file: string, port: number): Promise<number> {
  const sock = createSocket('udp4');
  const log = new Log('replay', new Writable({ write: (_c, _e, cb) => cb() }));
  let sent = 0;
  for await (const batch of readCapture(await openInput(file, process.stdin), log, newCaptureStats())) {
    for (const d of batch) {
      await new Promise<void>((resolve, reject) =>
        sock.send(Buffer.from(d.payload), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
      sent++;
    }
  }
  sock.close();
  return sent;
}

/** What nfcapd (sfcapd) stores of the capture, as `nfdump -o json` prints it (its text: one
 *  JSON array over many lines) with the time zone `tz` (it prints local time). */
export async function nfdumpJson(file: string, collector: 'nfcapd' | 'sfcapd', tz: string): Promise<string> {
  const dir = tempDir('nfcapd');
  const port = await freePort();
  const nfcapd = spawn(collector, ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => nfcapd.on('exit', () => resolve()));
  try {
    await udpBound(port);
    assert.ok((await replay(file, port)) > 0, 'datagrams sent');
    await new Promise((r) => setTimeout(r, 300)); // it reads its socket asynchronously
  } finally {
    nfcapd.kill('SIGTERM'); // it writes its file at exit
    await exited;
  }
  const r = await runProcess('nfdump', ['-R', dir, '-o', 'json'], { env: { TZ: tz } });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}
