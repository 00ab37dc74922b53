// Read a capture file (classic pcap µs/ns either byte order, pcapng, either gzip-compressed)
// from a stream and yield the UDP datagrams in it, in batches, with bounded memory whatever the
// file size. Every UDP payload is export data: the exporter is the IP source, the receive time
// the packet timestamp, so a replayed capture decodes exactly like live traffic.
// Bad data never throws: it is counted in CaptureStats and reported as a reject naming
// the packet and file offset. Only a file that is not a capture at all is a FlowmeterError (bad data).

import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeSystemError, type InputSource } from '../cli/io.js';
import type { RejectListener } from '../rejects.js';
import { FlowmeterError } from '../errors.js';
import type { Datagram } from './datagram.js';
import { ByteReader } from './byte-reader.js';
import { PacketSink, REJECT, type CaptureStats, type PacketSinkOptions } from './packets.js';
import { pcapMagic, readPcap } from './pcap.js';
import { BT_SHB, readPcapng } from './pcapng.js';

export { newCaptureStats, formatCaptureStats, REJECT, type CaptureStats } from './packets.js';

export type ReadCaptureOptions = PacketSinkOptions;

type Format = 'pcap' | 'pcapng' | 'gzip';

function sniff(b: Uint8Array): Format | undefined {
  if (pcapMagic(b) !== undefined) return 'pcap';
  if (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 === BT_SHB) return 'pcapng';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  return undefined;
}

/** Compressors whose output we recognise but do not undo (Node 20 has gzip only). */
const COMPRESSED: ReadonlyArray<[string, string, string]> = [
  ['28b52ffd', 'zstd', 'zstd -d'],
  ['fd377a58', 'xz', 'xz -d'],
  ['04224d18', 'lz4', 'lz4 -d'],
  ['425a68', 'bzip2', 'bzip2 -d'],
];

function describeMagic(b: Uint8Array): string {
  const magic = Buffer.from(b.subarray(0, 4)).toString('hex');
  for (const [m, name, cmd] of COMPRESSED) {
    if (magic.startsWith(m)) return `${name}-compressed: decompress it first, e.g. ${cmd}`;
  }
  const text = Buffer.from(b.subarray(0, 4)).toString('latin1');
  const printable = /^[\x20-\x7e]{4}$/.test(text) ? ` "${text}"` : '';
  return `magic 0x${magic}${printable}`;
}

async function openFormat(r: ByteReader, name: string): Promise<Format> {
  if (!(await r.need(4))) {
    const n = r.avail;
    throw new FlowmeterError(
      'data',
      `${name}: not a pcap or pcapng file (${n === 0 ? 'empty' : `only ${n} byte${n === 1 ? '' : 's'}`})`,
    );
  }
  const head = r.buf.subarray(r.pos, r.pos + 4);
  const f = sniff(head);
  if (f === undefined) throw new FlowmeterError('data', `${name}: not a pcap or pcapng file (${describeMagic(head)})`);
  return f;
}

/** The unread bytes of r and then the rest of its stream, as a stream (to put through gunzip). */
function remainder(r: ByteReader): Readable {
  return Readable.from(
    (async function* () {
      if (r.avail > 0) yield r.buf.subarray(r.pos);
      r.pos = r.buf.length;
      while (await r.more()) {
        yield r.buf.subarray(r.pos);
        r.pos = r.buf.length;
      }
    })(),
    { objectMode: false },
  );
}

function isZlibError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Yield the UDP datagrams of a pcap/pcapng capture in batches. Datagram payloads are views into
 * buffers that are never reused, so they stay valid after the next batch is read.
 */
export async function* readCapture(
  input: InputSource,
  rejects: RejectListener,
  stats: CaptureStats,
  opts: ReadCaptureOptions = {},
): AsyncGenerator<Datagram[]> {
  const outer = new ByteReader(input.stream);
  const sink = new PacketSink(input.name, rejects, stats, opts);
  let r = outer;
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  try {
    let format = await openFormat(outer, input.name);
    if (format === 'gzip') {
      gunzip = createGunzip();
      const src = remainder(outer);
      src.on('error', (e) => gunzip!.destroy(e));
      src.pipe(gunzip);
      r = new ByteReader(gunzip);
      try {
        format = await openFormat(r, `${input.name} (after gunzip)`);
      } catch (e) {
        if (!isZlibError(e)) throw e;
        throw new FlowmeterError(
          'data',
          `${input.name}: not a pcap or pcapng file (bad gzip data: ${(e as Error).message})`,
        );
      }
      if (format === 'gzip') throw new FlowmeterError('data', `${input.name}: compressed twice; decompress it first`);
    }
    try {
      if (format === 'pcap') yield* readPcap(r, sink);
      else yield* readPcapng(r, sink);
    } catch (e) {
      if (!gunzip || !isZlibError(e)) throw e;
      // A cut or corrupt .gz ends like a truncated file: what was read stands.
      stats.truncatedFile++;
      sink.reject(
        REJECT.truncatedFile,
        `gzip data ends or is corrupt at uncompressed offset 0x${r.offset.toString(16)} (${(e as Error).message})`,
        input.name,
      );
      sink.finish();
      if (sink.batch.length > 0) yield sink.take();
    }
  } catch (e) {
    // A read error mid-file (EIO, a stream destroyed with an error) names the file: exit 74.
    const err = e as NodeJS.ErrnoException;
    if (e instanceof FlowmeterError || typeof err?.code !== 'string' || err.code.startsWith('Z_')) throw e;
    throw new FlowmeterError('io', `${input.name}: read error: ${describeSystemError(err)}`);
  } finally {
    gunzip?.destroy();
    await outer.close();
  }
}
