// Building export datagrams byte by byte for the decoder tests, and running them.

import { Writable } from 'node:stream';
import type { Datagram } from '../../../lib/capture/datagram.js';
import { Log } from '../../../lib/cli/log.js';
import type { FlowRecord } from '../../../lib/flow/record.js';
import { FlowDecoder, type FlowDecoderOptions } from '../../../lib/decode/decoder.js';

/** Big-endian byte writer. */
export class Bytes {
  private readonly parts: number[] = [];
  u8(...xs: number[]): this {
    for (const x of xs) this.parts.push(x & 255);
    return this;
  }
  u16(...xs: number[]): this {
    for (const x of xs) this.parts.push((x >>> 8) & 255, x & 255);
    return this;
  }
  u32(...xs: number[]): this {
    for (const x of xs) this.parts.push((x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255);
    return this;
  }
  u64(x: bigint): this {
    for (let i = 7; i >= 0; i--) this.parts.push(Number((x >> BigInt(8 * i)) & 255n));
    return this;
  }
  ip4(text: string): this {
    return this.u8(...text.split('.').map(Number));
  }
  ip6(text: string): this {
    const [head, tail] = text.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return this.u16(...groups.map((g) => parseInt(g, 16)));
  }
  raw(b: Uint8Array | number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Buffer {
    return Buffer.from(this.parts);
  }
}

/** A set / flowset: id, length (computed unless given), body, padded to `pad` bytes. */
export function set(id: number, body: Bytes | Buffer, pad = 0, length?: number): Buffer {
  const b = Buffer.isBuffer(body) ? body : body.build();
  const padding = pad > 0 ? (pad - ((4 + b.length) % pad)) % pad : 0;
  return Buffer.concat([new Bytes().u16(id, length ?? 4 + b.length + padding).build(), b, Buffer.alloc(padding)]);
}

/** NetFlow v9 header + flowsets. */
export function v9(
  sets: Buffer[],
  h: { uptime?: number; secs?: number; seq?: number; source?: number; count?: number } = {},
): Buffer {
  return Buffer.concat([
    new Bytes()
      .u16(9, h.count ?? sets.length)
      .u32(h.uptime ?? 100000, h.secs ?? 1700000000, h.seq ?? 1, h.source ?? 0)
      .build(),
    ...sets,
  ]);
}

/** IPFIX header (length computed unless given) + sets. */
export function ipfix(
  sets: Buffer[],
  h: { time?: number; seq?: number; domain?: number; length?: number } = {},
): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([
    new Bytes()
      .u16(10, h.length ?? 16 + body.length)
      .u32(h.time ?? 1700000000, h.seq ?? 0, h.domain ?? 1)
      .build(),
    body,
  ]);
}

export function dgram(payload: Buffer, o: Partial<Datagram> = {}): Datagram {
  return {
    payload,
    exporter: '192.0.2.1',
    exporterPort: 2055,
    receivedNs: 1700000000500000000,
    source: 'test.pcap',
    packetNo: 1,
    offset: 24,
    ...o,
  };
}

/** A Log whose stderr text is kept. */
export function memLog(): { log: Log; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return { log: new Log('flow-capture', w, { perReason: 1000 }), text: () => out };
}

export function decoder(opts: Partial<FlowDecoderOptions> = {}): {
  dec: FlowDecoder;
  text: () => string;
  run: (d: Datagram | Buffer) => FlowRecord[];
} {
  const { log, text } = memLog();
  const dec = new FlowDecoder({ rejects: log, ...opts });
  return {
    dec,
    text,
    run: (d) => {
      const out: FlowRecord[] = [];
      dec.decode(Buffer.isBuffer(d) ? dgram(d) : d, (r) => out.push(r));
      return out;
    },
  };
}
