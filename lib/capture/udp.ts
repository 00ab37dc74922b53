// Live capture: UDP listeners (`-l [ADDR]:PORT`, repeatable, IPv4, IPv6, dual-stack `[::]:PORT`)
// feeding a queue bounded by bytes. The socket handler only stamps and enqueues; decoding and
// output run from the queue, so a slow disk or pipe costs queued datagrams (counted as
// queue_drops) instead of blocking the socket. The receive buffer asked for with --rcvbuf is
// compared with what the kernel granted (Linux caps it at net.core.rmem_max and reports double).

import dgram from 'node:dgram';
import { FlowmeterError, usageError } from '../errors.js';
import { parseIPv4, parseIPv6, unmapIPv4 } from '../net/ip.js';
import type { Datagram } from './datagram.js';
import { socketInode, type SocketRef } from './kernel-drops.js';

export interface ListenSpec {
  /** The text given, for messages. */
  text: string;
  address: string;
  port: number;
  family: 4 | 6;
}

/** `[ADDR]:PORT`, `ADDR:PORT`, `:PORT` or `PORT` (all addresses, dual-stack); an optional
 *  goflow2-style scheme (`netflow://`, `sflow://`, `flow://`) is accepted and ignored: the
 *  protocol is recognised per datagram. */
export function parseListen(text: string, flag = '--listen'): ListenSpec {
  let t = text.trim();
  const scheme = /^(netflow|sflow|flow|udp):\/\//i.exec(t);
  if (scheme) t = t.slice(scheme[0].length).replace(/\/$/, '');
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]*)\]:(\d+)$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (/^\d+$/.test(t)) {
    host = '';
    portText = t;
  } else {
    const i = t.lastIndexOf(':');
    if (i < 0) throw usageError(`${flag} ${text}: expected [ADDR]:PORT, e.g. 0.0.0.0:2055 or [::]:6343`);
    host = t.slice(0, i);
    portText = t.slice(i + 1);
    if (host.includes(':'))
      throw usageError(`${flag} ${text}: put an IPv6 address in brackets, e.g. [${host}]:${portText}`);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw usageError(`${flag} ${text}: bad port "${portText}"`);
  const port = Number(portText);
  if (host === '' || host === '*') return { text, address: '::', port, family: 6 };
  if (parseIPv4(host) !== undefined) return { text, address: host, port, family: 4 };
  if (parseIPv6(host) !== undefined) return { text, address: host, port, family: 6 };
  throw usageError(`${flag} ${text}: "${host}" is not an IPv4 or IPv6 address`);
}

/** Queue between the sockets and the decoder, bounded by payload bytes. */
export class DatagramQueue {
  private items: (Datagram | undefined)[] = [];
  private head = 0;
  bytes = 0;
  drops = 0;
  droppedBytes = 0;
  highWater = 0;

  constructor(readonly maxBytes: number) {}

  push(d: Datagram): boolean {
    const n = d.payload.length;
    if (this.bytes + n > this.maxBytes) {
      this.drops++;
      this.droppedBytes += n;
      return false;
    }
    this.items.push(d);
    this.bytes += n;
    if (this.bytes > this.highWater) this.highWater = this.bytes;
    return true;
  }

  shift(): Datagram | undefined {
    if (this.head >= this.items.length) return undefined;
    const d = this.items[this.head]!;
    this.items[this.head++] = undefined; // let the payload go
    this.bytes -= d.payload.length;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}

export interface BufferGrant {
  spec: ListenSpec;
  asked: number;
  /** What the kernel reports (Linux: twice the effective size). */
  granted: number;
}

export interface ListenerOptions {
  rcvbuf: number;
  queue: DatagramQueue;
  /** Called after each enqueue (the consumer schedules itself). */
  onEnqueue: () => void;
  /** Sees every datagram received, before it is queued (--tee). */
  onReceive?: (d: Datagram) => void;
  /** ns since epoch; tests and benches may pass their own. */
  clockNs?: () => number;
}

function wallClockNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

export class UdpListeners {
  private readonly sockets: dgram.Socket[] = [];
  readonly refs: SocketRef[] = [];
  readonly grants: BufferGrant[] = [];
  datagrams = 0;
  bytes = 0;
  private stopped = false;

  constructor(
    private readonly specs: readonly ListenSpec[],
    private readonly o: ListenerOptions,
  ) {}

  /** Bind every listener; a failure to bind is exit 69 naming the address. */
  async start(): Promise<void> {
    for (const spec of this.specs) await this.bind(spec);
  }

  private async bind(spec: ListenSpec): Promise<void> {
    const socket = dgram.createSocket({
      type: spec.family === 6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      recvBufferSize: this.o.rcvbuf,
    });
    const queue = this.o.queue;
    const onEnqueue = this.o.onEnqueue;
    const onReceive = this.o.onReceive;
    const clock = this.o.clockNs ?? wallClockNs;
    const dual = spec.family === 6;
    socket.on('message', (msg, rinfo) => {
      if (this.stopped) return;
      this.datagrams++;
      this.bytes += msg.length;
      const d: Datagram = {
        payload: msg,
        exporter: dual ? unmapIPv4(rinfo.address) : rinfo.address,
        exporterPort: rinfo.port,
        receivedNs: clock(),
        source: 'udp',
        packetNo: 0,
        offset: -1,
      };
      onReceive?.(d);
      if (queue.push(d)) onEnqueue();
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        socket.close();
        reject(bindFailure('--listen', spec, 'bind', e));
      };
      socket.once('error', onError);
      socket.bind({ address: spec.address, port: spec.port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', () => undefined); // receive errors (ICMP etc.) must not kill the collector
    let granted = 0;
    try {
      granted = socket.getRecvBufferSize();
    } catch {
      /* not available */
    }
    this.grants.push({ spec, asked: this.o.rcvbuf, granted });
    this.refs.push({ port: socket.address().port, inode: socketInode(socketFd(socket)) });
    this.sockets.push(socket);
  }

  /** Actual bound addresses (port 0 resolved). */
  addresses(): Array<{ address: string; port: number; family: string }> {
    return this.sockets.map((s) => s.address());
  }

  /** Stop receiving: close every socket. Datagrams already queued stay queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
  }
}

/** A socket that cannot bind or listen: exit 69 naming the flag, the address and why. */
export function bindFailure(flag: string, spec: ListenSpec, verb: string, e: NodeJS.ErrnoException): FlowmeterError {
  const why =
    e.code === 'EADDRINUSE'
      ? 'address already in use'
      : e.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : e.code === 'EADDRNOTAVAIL'
          ? 'no such local address'
          : e.message;
  return new FlowmeterError(
    'unavailable',
    `${flag} ${spec.text}: cannot ${verb} ${spec.family === 6 ? `[${spec.address}]` : spec.address}:${spec.port}: ${why}`,
  );
}

/** The socket's file descriptor, from dgram's internal state (the public `_handle` getter prints a
 *  deprecation warning); undefined if Node changes it, and drops are then matched by port. */
function socketFd(socket: dgram.Socket): number | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((x) => x.description === 'state symbol');
  const state: unknown = sym ? Reflect.get(socket, sym) : undefined;
  const handle: unknown = typeof state === 'object' && state !== null && 'handle' in state ? state.handle : undefined;
  const fd: unknown = typeof handle === 'object' && handle !== null && 'fd' in handle ? handle.fd : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The warning to print when the kernel gave less than asked (Linux reports double the size). */
export function rcvbufWarning(g: BufferGrant): string | undefined {
  // Linux doubles the value set (bookkeeping overhead) and reports the double: capped when < 2x
  if (g.granted === 0 || g.granted >= 2 * g.asked) return undefined;
  const effective = Math.floor(g.granted / 2);
  return (
    `--listen ${g.spec.text}: asked for a ${g.asked}-byte receive buffer, the kernel granted ${effective} ` +
    `(net.core.rmem_max); raise it with: sysctl -w net.core.rmem_max=${g.asked}`
  );
}
