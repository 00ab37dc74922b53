// Short fuzz run (deterministic seed): mutated real captures through readCapture and random
// bytes through parseFrame. Nothing may throw (except "not a capture" FlowmeterError 65), hang, or
// point outside the frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture, newCaptureStats } from '../../../lib/capture/pcap-file.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { PacketInfo, parseFrame } from '../../../lib/packet/frame.js';
import { ROOT } from '../../helpers/spawn.js';
import { chunked, memoryLog } from '../../helpers/pcap-build.js';
import { mutate } from '../../helpers/mutate.js';
import { rng } from '../../helpers/prng.js';

test('mutated captures: no exception escapes, every datagram points inside its buffer', async () => {
  const r = rng(20261122);
  const dir = join(ROOT, 'test/fixtures/pcap');
  const sources = ['udp-lo.pcap', 'udp-dumpcap.pcapng', 'vlan.pcap', 'udp-any-sll2.pcap'].map((f) =>
    readFileSync(join(dir, f)),
  );
  let datagrams = 0;
  for (let i = 0; i < 400; i++) {
    const input = mutate(sources[i % sources.length]!, r);
    const { log } = memoryLog(0);
    const stats = newCaptureStats();
    try {
      for await (const b of readCapture(
        { name: `case${i}`, stream: chunked(input, 1 + Math.floor(r() * 5000)) },
        log,
        stats,
      )) {
        for (const d of b) {
          assert.ok(d.payload.length <= 65535 - 8);
          assert.ok(d.packetNo >= 1 && d.offset >= 0);
          datagrams++;
        }
      }
    } catch (e) {
      assert.ok(e instanceof FlowmeterError && e.kind === 'data', `case ${i}: ${(e as Error).stack}`);
    }
    assert.ok(stats.datagrams <= stats.packets);
  }
  assert.ok(datagrams > 1000, 'most mutations leave most datagrams intact');
});

test('random frames at every link type: parseFrame never throws and stays inside the frame', () => {
  const r = rng(7);
  const info = new PacketInfo();
  const buf = Buffer.alloc(300);
  const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105];
  for (let i = 0; i < 20000; i++) {
    for (let k = 0; k < buf.length; k++) buf[k] = r() * 256;
    // Bias towards plausible headers so the deeper layers are reached.
    const lt = linkTypes[i % linkTypes.length]!;
    const off = Math.floor(r() * 20);
    const len = Math.floor(r() * (buf.length - off));
    if (lt === 1 && len > 14) buf.writeUInt16BE([0x0800, 0x86dd, 0x8100, 0x88a8, 0x8847][i % 5]!, off + 12);
    if ((lt === 101 || lt === 228) && len > 0) buf[off] = 0x45 + (i % 3);
    if (lt === 229 && len > 0) buf[off] = 0x60;
    const ok = parseFrame(buf, off, len, lt, info);
    assert.equal(ok, info.error === '');
    const end = off + len;
    for (const o of [
      info.srcAddrOffset,
      info.dstAddrOffset,
      info.l3Offset,
      info.l4Offset,
      info.payloadOffset,
      info.srcMacOffset,
      info.dstMacOffset,
    ]) {
      assert.ok(o === -1 || (o >= off && o <= end), `link ${lt} case ${i}: offset ${o} outside [${off}, ${end}]`);
    }
    if (ok && info.payloadOffset >= 0) assert.ok(info.payloadOffset + info.payloadLength <= end);
    if (ok && info.ipVersion !== 0) assert.ok(info.ipEnd <= end && info.ipEnd >= info.l3Offset);
  }
});
