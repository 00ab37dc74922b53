// Replay the UDP payloads of a capture to HOST:PORT as fast as the socket takes them (for peers
// that cannot read pcap files, e.g. Debian's nfcapd without --enable-readpcap).
//   node dist/bench/replay-udp.js FILE.pcap HOST PORT    (prints {"datagrams":N,"seconds":S})
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { openInput } from '../lib/cli/io.js';
import { Log } from '../lib/cli/log.js';
import { readCapture, newCaptureStats } from '../lib/capture/pcap-file.js';

const [file, host, portArg] = process.argv.slice(2);
if (!file || !host || !portArg) {
  process.stderr.write('usage: replay-udp.js FILE.pcap HOST PORT\n');
  process.exit(64);
}
const port = Number(portArg);
const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', sendBufferSize: 8 << 20 });
const log = new Log('replay-udp', new Writable({ write: (_c, _e, cb) => cb() }));
const input = await openInput(file, process.stdin);
const t0 = process.hrtime.bigint();
let sent = 0;
let inflight = 0;
let wake: (() => void) | undefined;
for await (const batch of readCapture(input, log, newCaptureStats())) {
  for (const d of batch) {
    inflight++;
    sock.send(Buffer.from(d.payload), port, host, () => {
      inflight--;
      if (inflight < 256 && wake) {
        const w = wake;
        wake = undefined;
        w();
      }
    });
    sent++;
    if (inflight >= 1024) await new Promise<void>((r) => (wake = r));
  }
}
while (inflight > 0) await new Promise<void>((r) => (wake = r));
sock.close();
process.stdout.write(`${JSON.stringify({ datagrams: sent, seconds: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
