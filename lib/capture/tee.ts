// --tee HOST:PORT: every datagram received (and let through by --allow) is sent on, unchanged, to
// other collectors, before decoding. From flowmeter's own address: the exporter's source address
// is not spoofed (samplicator does that, with raw sockets). A target never slows the collector:
// sends go out without waiting, the bytes not yet handed to the kernel are bounded per target,
// and what does not fit is dropped and counted (tee_drops).

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { FlowmeterError, usageError } from '../errors.js';
import { parseIPv4, parseIPv6 } from '../net/ip.js';

/** Bytes waiting to be sent to one target before further datagrams are dropped. */
export const TEE_QUEUE_BYTES = 4 << 20;

export interface TeeSpec {
  /** As given, for messages, stats lines and the metrics' target label. */
  text: string;
  host: string;
  port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`. */
export function parseTee(text: string): TeeSpec {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw usageError(`--tee ${text}: expected HOST:PORT or [IPv6]:PORT, e.g. 192.0.2.7:2055`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw usageError(`--tee ${text}: bad port "${m[2]}"`);
  return { text, host: m[1]!, port };
}

export class TeeTarget {
  sent = 0;
  drops = 0;
  errors = 0;
  /** Bytes handed to send() whose callback has not come yet. */
  pendingBytes = 0;

  private constructor(
    readonly text: string,
    private readonly socket: dgram.Socket,
    private readonly address: string,
    private readonly port: number,
    private readonly maxBytes: number,
  ) {}

  /** Resolve the host once (a name that does not resolve is exit 69) and open a socket. */
  static async open(spec: TeeSpec, maxBytes = TEE_QUEUE_BYTES): Promise<TeeTarget> {
    let address = spec.host;
    let family: 4 | 6 = parseIPv6(address) !== undefined ? 6 : 4;
    if (parseIPv4(address) === undefined && parseIPv6(address) === undefined) {
      try {
        const r = await lookup(spec.host);
        address = r.address;
        family = r.family === 6 ? 6 : 4;
      } catch (e) {
        throw new FlowmeterError(
          'unavailable',
          `--tee ${spec.text}: cannot resolve "${spec.host}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    }
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.on('error', () => undefined); // a send error is counted per datagram, never fatal
    return new TeeTarget(spec.text, socket, address, spec.port, maxBytes);
  }

  /** Send a copy on, or count it dropped when the target is behind. Never waits. */
  forward(payload: Buffer): void {
    const n = payload.length;
    if (this.pendingBytes + n > this.maxBytes) {
      this.drops++;
      return;
    }
    this.pendingBytes += n;
    this.socket.send(payload, this.port, this.address, (e) => {
      this.pendingBytes -= n;
      if (e) this.errors++;
      else this.sent++;
    });
  }

  /** The stats line of this target. */
  statsLine(): string {
    return `target=${this.text} sent=${this.sent} drops=${this.drops} errors=${this.errors}`;
  }

  /** Close after the sends in flight are done (bounded: a second at most). */
  async close(): Promise<void> {
    const deadline = Date.now() + 1000;
    while (this.pendingBytes > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
