// The WireFlow NDJSON writer against the one definition of a record's text: for every flow,
// writeWireJsonLine(w) must equal flowToJson(w.toRecord()) + "\n", byte for byte — on random
// flows that hit every branch (address kinds, masks, families, optional fields, big numbers) and
// on every flow the decoders produce from the fixture captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { flowToJson, type FlowType } from '../../../lib/flow/record.js';
import { NONE, V4, V6, WireFlow } from '../../../lib/flow/wire.js';
import { writeWireJsonLine, viewOf, MAX_WIRE_BYTES } from '../../../lib/format/ndjson-bytes.js';
import { FlowDecoder } from '../../../lib/decode/decoder.js';
import { SflowDecoder } from '../../../lib/sflow/decode.js';
import { readCapture, newCaptureStats } from '../../../lib/capture/pcap-file.js';
import { Log } from '../../../lib/cli/log.js';
import { ROOT } from '../../helpers/spawn.js';
import { rng } from '../../helpers/prng.js';

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

const out = Buffer.alloc(MAX_WIRE_BYTES + 64);
const dv = viewOf(out);

function check(w: WireFlow): void {
  out.fill(0xee); // stale bytes past the line must not leak into it
  const end = writeWireJsonLine(out, dv, 7, w);
  assert.ok(end - 7 <= MAX_WIRE_BYTES);
  assert.equal(out.toString('latin1', 7, end), flowToJson(w.toRecord()) + '\n');
}

const EDGE = [
  0,
  1,
  9,
  10,
  99,
  100,
  65535,
  4294967295,
  4294967296,
  999999999,
  1000000000,
  1e15 - 1,
  1e15,
  2 ** 53 - 1,
  2 ** 53,
  1795317258973870080,
  1.8e19,
];
const TYPES: FlowType[] = ['NETFLOW_V1', 'NETFLOW_V5', 'NETFLOW_V7', 'NETFLOW_V9', 'IPFIX', 'SFLOW_5'];

test('writeWireJsonLine equals flowToJson(toRecord()) on random flows', () => {
  const r = rng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const u = (max: number): number => Math.floor(r() * max);
  const big = (): number => (r() < 0.3 ? pick(EDGE) : u(2 ** 53));
  const buf = new Uint8Array(256);
  const w = new WireFlow();
  for (let i = 0; i < 20000; i++) {
    for (let j = 0; j < buf.length; j++) buf[j] = r() < 0.4 ? 0 : r() < 0.2 ? 0xff : u(256);
    if (i % 5 === 0) buf.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 32); // IPv4-mapped at 32
    w.buf = buf;
    // one flow in four shares the datagram fields of the one before (the writer reuses their text)
    if (i % 4 !== 1) {
      w.type = pick(TYPES);
      w.receivedNs = i % 3 === 0 ? 1.7e18 : big();
      w.sequence = u(2 ** 32);
      w.samplingRate = r() < 0.5 ? 0 : big();
      w.exporter = pick(['192.0.2.1', '2001:db8::1', '10.255.255.254', '::ffff:1.2.3.4']);
    }
    w.startNs = big();
    w.endNs = big();
    w.bytes = big();
    w.packets = big();
    const kinds = [NONE, V4, V6];
    const offs = [0, 16, 32, 48, 100, 200, 240];
    w.srcKind = pick(kinds);
    w.srcV4 = u(2 ** 32);
    w.srcOff = pick(offs);
    w.srcMask = pick([-1, 0, 1, 7, 8, 23, 24, 31, 32, 33, 64, 127, 128, 129, 255, u(300)]);
    w.dstKind = pick(kinds);
    w.dstV4 = pick([0, 0xffffffff, u(2 ** 32)]);
    w.dstOff = pick(offs);
    w.dstMask = pick([0, 16, 32, 48, 128, u(300)]);
    w.nhKind = pick(kinds);
    w.nhV4 = u(2 ** 32);
    w.nhOff = pick(offs);
    w.etype = pick([0, 0x0800, 0x86dd, 0x0806, 0x8100, u(65536)]);
    w.proto = u(256);
    w.srcPort = pick([0, 65535, u(65536)]);
    w.dstPort = u(65536);
    w.inIf = pick([0, big()]);
    w.outIf = u(2 ** 32);
    w.tos = u(256);
    w.tcpFlags = pick([0, 0xffff, u(65536)]);
    w.srcAs = u(2 ** 32);
    w.dstAs = pick([0, 4294967295]);
    w.clearOptional();
    const some = (): boolean => r() < 0.3;
    if (some()) w.srcMacOff = pick(offs);
    if (some()) w.dstMacOff = pick(offs);
    if (some()) w.srcVlan = u(4096);
    if (some()) w.dstVlan = u(4096);
    if (some()) w.vlanId = u(4096);
    if (some()) w.forwardingStatus = u(256);
    if (some()) w.ipTtl = u(256);
    if (some()) w.ipFlags = u(8);
    if (some()) w.icmpType = u(256);
    if (some()) w.icmpCode = u(256);
    if (some()) w.flowLabel = u(2 ** 20);
    if (some()) w.fragmentId = u(2 ** 32);
    if (some()) w.fragmentOffset = u(8192);
    if (some()) w.nextHopAs = u(2 ** 32);
    if (some()) {
      w.bgpKind = pick([V4, V6]);
      w.bgpV4 = u(2 ** 32);
      w.bgpOff = pick(offs);
    }
    if (some()) {
      w.mpls1 = u(2 ** 20);
      if (some()) {
        w.mpls2 = u(2 ** 20);
        if (some()) w.mpls3 = u(2 ** 20);
      }
    }
    if (r() < 0.7) w.observationDomainId = pick([0, 4294967295, u(100)]);
    if (some()) w.observationPointId = u(2 ** 32);
    if (some()) w.flowDirection = u(2);
    check(w);
  }
});

test('IPv6 addresses and nets are written as formatIPv6At/ipv6Network print them (RFC 5952)', () => {
  const r = rng(23);
  const u = (max: number): number => Math.floor(r() * max);
  const buf = new Uint8Array(48);
  const w = new WireFlow();
  w.clearOptional();
  Object.assign(w, {
    type: 'IPFIX',
    receivedNs: 1.7e18,
    exporter: '2001:db8::1',
    etype: 0x86dd,
    srcKind: V6,
    srcOff: 0,
    dstKind: V6,
    dstOff: 16,
    nhKind: V6,
    nhOff: 32,
  });
  for (let i = 0; i < 20000; i++) {
    // groups are zero half the time, so zero runs of every length and position occur
    for (let g = 0; g < 24; g++) {
      const x = r() < 0.5 ? 0 : r() < 0.3 ? u(16) : u(65536);
      buf[2 * g] = x >> 8;
      buf[2 * g + 1] = x & 255;
    }
    if (i % 7 === 0) buf.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 16 * u(3)); // IPv4-mapped
    w.buf = buf;
    w.srcMask = pick(r, [0, 1, 7, 8, 9, 15, 16, 17, 31, 48, 64, 65, 127, 128, 129, u(256)]);
    w.dstMask = u(140);
    check(w);
  }
});

test('writeWireJsonLine equals flowToJson(toRecord()) on every flow of the fixture captures', async () => {
  const dir = join(ROOT, 'test/fixtures');
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap'));
  const quiet = new Log('t', new Writable({ write: (_c, _e, cb) => cb() }), {});
  let flows = 0;
  for (const f of files) {
    const sflow = new SflowDecoder({});
    const dec = new FlowDecoder({ rejects: quiet, sflow: (d, v, e, c) => sflow.decode(d, v, e, c) });
    const sink = { flow: (w: WireFlow) => (check(w), flows++), record: () => {} };
    for await (const batch of readCapture(
      { name: f, stream: createReadStream(join(dir, f)) },
      quiet,
      newCaptureStats(),
    )) {
      for (const d of batch) dec.decode(d, sink);
    }
  }
  assert.ok(flows > 100, `only ${flows} flows in ${files.length} captures`);
});
