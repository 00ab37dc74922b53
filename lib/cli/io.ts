// Inputs (files, `-` = stdin) and atomic file outputs (temp in the same directory, fsync,
// rename, fsync the directory) so a killed run never leaves a half-written product.

import {
  ReadStream,
  createReadStream,
  closeSync,
  fstatSync,
  open as openCb,
  read as readCb,
  write as writeCb,
  promises as fsp,
  constants as fsc,
  readSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Socket } from 'node:net';
import { PassThrough, Readable as ReadableStream, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FlowmeterError, kindOfSystemError } from '../errors.js';

export interface InputSource {
  /** Name used in messages: the path, or "stdin". */
  name: string;
  stream: Readable;
}

export function describeSystemError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'ENOSPC':
      return 'No space left on device';
    case 'EROFS':
      return 'Read-only file system';
    default:
      return err.message;
  }
}

export const INPUT_CHUNK = 1 << 18;

/** Open a path for reading (or stdin for `-`); a missing file is a FlowmeterError with exit 66; input
 *  that starts with gzip's magic bytes (1f 8b), stdin and pipes included, is decompressed. */
export async function openInput(path: string, stdin: Readable): Promise<InputSource> {
  if (path === '-') return { name: 'stdin', stream: gunzipIfGzip(stdin) };
  const { handle, regular } = await openFile(path);
  if (regular) return streamOf(path, handle, await fileIsGzip(handle));
  return { name: path, stream: gunzipIfGzip(streamOf(path, handle, false).stream) };
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

const isGzip = (head: Buffer): boolean => head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];

/** Whether a regular file starts with gzip's magic (read in place: the file position stays). */
async function fileIsGzip(handle: fsp.FileHandle): Promise<boolean> {
  const head = Buffer.alloc(2);
  const { bytesRead } = await handle.read(head, 0, 2, 0);
  return isGzip(head.subarray(0, bytesRead));
}

/** A stream through gunzip when its first bytes are gzip's magic, else the stream's own data.
 *  Returned at once (the bytes are looked at as they come), so that a reader can stop a wait
 *  on an idle pipe by destroying it, which destroys `src`. */
function gunzipIfGzip(src: Readable): Readable {
  const out = new PassThrough({ highWaterMark: INPUT_CHUNK });
  out.once('close', () => src.destroy());
  peek(src, 2).then(
    (head) => {
      const done = (e: Error | null | undefined): void => void (e && out.destroy(e));
      if (isGzip(head)) pipeline(src, createGunzip(), out, done);
      else pipeline(src, out, done);
    },
    (e: Error) => out.destroy(e),
  );
  return out;
}

/** At least `n` bytes from the start of a stream (fewer at its end), put back for its reader. */
function peek(src: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = (): void => {
      src.off('readable', more);
      src.off('end', done);
      src.off('close', done);
      src.off('error', fail);
      const head = Buffer.concat(parts);
      if (head.length > 0) src.unshift(head);
      resolve(head);
    };
    const fail = (e: Error): void => {
      src.off('readable', more);
      src.off('end', done);
      src.off('close', done);
      reject(e);
    };
    function more(): void {
      for (let c = src.read() as Buffer | string | null; c !== null; c = src.read() as Buffer | string | null) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        parts.push(b);
        got += b.length;
        if (got >= n) return done();
      }
    }
    src.on('readable', more);
    src.once('end', done);
    src.once('close', done);
    src.once('error', fail);
  });
}

function streamOf(path: string, handle: fsp.FileHandle, gzip: boolean): InputSource {
  // Hand the stream the FileHandle itself so that it owns the close: with the raw fd, the stream
  // and the FileHandle's collection would each close it (EBADF, DEP0137 warnings).
  const raw = createReadStream('', { fd: handle, highWaterMark: INPUT_CHUNK });
  // rotated files may be gzip (flow-capture --compress gzip, or zipped by logrotate)
  if (gzip) return { name: path, stream: pipeline(raw, createGunzip(), () => undefined) };
  return { name: path, stream: raw };
}

async function openFile(path: string): Promise<{ handle: fsp.FileHandle; regular: boolean }> {
  // a set of files that a killed run was publishing is completed before one of them is read
  await completeCommit(path).catch(() => undefined);
  try {
    const handle = await fsp.open(path, fsc.O_RDONLY);
    const st = await handle.stat();
    if (st.isDirectory()) {
      await handle.close();
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    return { handle, regular: st.isFile() };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FlowmeterError(kindOfSystemError(err, false), `${path}: ${describeSystemError(err)}`);
  }
}

/** A whole text file (a configuration, networks or agent file); a missing or unreadable one is a
 *  FlowmeterError naming it (exit 66). */
export async function readTextFile(path: string): Promise<string> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    throw new FlowmeterError('no-input', `${path}: ${describeSystemError(e as NodeJS.ErrnoException)}`);
  }
}

export interface ChunkSource {
  /** Name used in messages: the path, or "stdin". */
  name: string;
  chunks: AsyncIterable<Buffer | string>;
  /** Stop a read that is waiting (stdin, a pipe); a regular file stops at the next chunk anyway. */
  destroy(): void;
}

/** openInput for a reader that is done with each chunk before it asks for the one after the next
 *  (it may keep a piece of the last one): the input is read into three buffers in turn, where a
 *  fresh buffer per chunk, as a stream reads, costs page faults and GC (bench/README.md). A
 *  regular file is read ahead (the next chunk while the reader works on this one); a pipe, FIFO,
 *  `<(cmd)` or socket on stdin is read as pipeChunks says. A device, and a stdin stream that
 *  something already started reading (it owns the data), stay streams. destroy() ends a waiting
 *  read. `buffers`: the three to read into (the caller's own memory), else fresh ones. */
export async function openInputChunks(path: string, stdin: Readable, buffers?: ChunkBuffers): Promise<ChunkSource> {
  const bufs = buffers ?? newChunkBuffers();
  if (path === '-') {
    if (isUntouchedFile(stdin)) return gunzipChunksIfGzip(stdinFileSource(bufs));
    if (!isUntouchedPipe(stdin)) return chunksOf(await openInput(path, stdin));
    return gunzipChunksIfGzip(pipeSource('stdin', 0, stdin, bufs, false));
  }
  const { handle, regular } = await openFile(path);
  if (!regular) {
    const pipe = await openPipe(path, handle);
    if (pipe === undefined) return chunksOf({ name: path, stream: gunzipIfGzip(streamOf(path, handle, false).stream) });
    return gunzipChunksIfGzip(pipeSource(path, pipe.fd, pipe.socket, bufs, true));
  }
  if (await fileIsGzip(handle)) return chunksOf(streamOf(path, handle, true));
  return { name: path, chunks: fileChunks(handle, bufs), destroy: () => undefined };
}

/** Whether `stdin` is this process's stdin on a pipe or socket that nothing has read from yet:
 *  its descriptor can then be read directly, the stream only telling when there is data. */
function isUntouchedPipe(stdin: Readable): stdin is Socket {
  return stdin === process.stdin && stdin instanceof Socket && untouched(stdin);
}

/** Whether `stdin` is this process's stdin on a regular file (`< file`) that nothing has read
 *  from yet: it is then read like a file argument, from where its offset stands. */
function isUntouchedFile(stdin: Readable): boolean {
  if (stdin !== process.stdin || !(stdin instanceof ReadStream) || !untouched(stdin)) return false;
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}

const untouched = (s: Readable): boolean => s.readableFlowing === null && !s.readableDidRead && s.readableLength === 0;

/** stdin on a regular file as chunks, read ahead into `bufs` as fileChunks reads a file; the
 *  descriptor stays open (it is the process's). */
function stdinFileSource(bufs: ChunkBuffers): ChunkSource & { ownBuffers(): void } {
  const ring = { bufs };
  const read = async (buf: Buffer): Promise<number> => (await readFd(0, buf, 0, buf.length, null)).bytesRead;
  return {
    name: 'stdin',
    chunks: readAhead(read, ring, async () => undefined),
    ownBuffers: () => void (ring.bufs = newChunkBuffers()),
    destroy: () => undefined,
  };
}

const readFd = promisify(readCb);

/** A FIFO or pipe (`<(cmd)`) opened by path, opened once more, non-blocking, under a socket that
 *  tells when it has data; `handle` (whose open waited for a writer) is closed after that. A
 *  device or anything else a socket cannot watch: undefined, `handle` left open. */
async function openPipe(path: string, handle: fsp.FileHandle): Promise<{ fd: number; socket: Socket } | undefined> {
  if (!(await handle.stat()).isFIFO()) return undefined;
  // O_NONBLOCK: the writer may have come and gone already, and a blocking open would wait for another
  // (a raw descriptor: the socket owns it and closes it on destroy, where a FileHandle would too)
  const fd = await openFd(path, fsc.O_RDONLY | fsc.O_NONBLOCK).catch(() => undefined);
  if (fd === undefined) return undefined;
  await handle.close();
  // manualStart: the socket reads nothing until pipeChunks waits on it
  try {
    return {
      fd,
      socket: new Socket({ fd, readable: true, writable: false, manualStart: true } as ConstructorParameters<
        typeof Socket
      >[0]),
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

const openFd = promisify(openCb);

/** A source of pipe chunks and how to stop it. */
function pipeSource(
  name: string,
  fd: number,
  socket: Socket,
  bufs: ChunkBuffers,
  own: boolean,
): ChunkSource & { ownBuffers(): void } {
  const stop: PipeStop = { stopped: false };
  const ring = { bufs };
  return {
    name,
    chunks: pipeChunks(fd, socket, ring, stop, own),
    // decompressed data goes into the caller's buffers: the compressed is read into others
    ownBuffers: () => void (ring.bufs = newChunkBuffers()),
    destroy: () => {
      stop.stopped = true;
      stop.wake?.();
      socket.destroy();
    },
  };
}

interface PipeStop {
  stopped: boolean;
  /** Ends a wait for data. */
  wake?: (() => void) | undefined;
}

/** The chunks of a pipe or socket whose descriptor `fd` is non-blocking (libuv made it so when
 *  `socket` was opened on it), read into `bufs` in turn. Each chunk takes what the socket already
 *  read, then as many reads of the descriptor as there is data for, up to a whole buffer: as
 *  large a chunk as the writer has produced, with no wait for more once there is some (a live
 *  feed is passed on as it comes). Only an empty pipe is waited on, through the socket's
 *  'readable' (no polling). Both readers run on this thread, and the socket's data is always
 *  taken first, so the bytes keep their order. `own`: close the socket (and `fd`) at the end. */
async function* pipeChunks(
  fd: number,
  socket: Socket,
  ring: { bufs: ChunkBuffers },
  stop: PipeStop,
  own: boolean,
): AsyncGenerator<Buffer> {
  try {
    for (let k = 0; !stop.stopped;) {
      const buf = ring.bufs[k]!;
      const { n, eof } = fillFromPipe(fd, socket, buf);
      if (n > 0) {
        k = k === 2 ? 0 : k + 1;
        yield buf.subarray(0, n);
      }
      if (eof) return;
      if (n === 0) await readable(socket, stop);
    }
  } finally {
    if (own) socket.destroy();
  }
}

/** Fill `buf` with what `socket` holds, then reads of `fd` until the buffer is full, the pipe is
 *  empty for now (EAGAIN) or at its end. */
function fillFromPipe(fd: number, socket: Socket, buf: Buffer): { n: number; eof: boolean } {
  let n = 0;
  while (n < buf.length) {
    const held = socket.readableLength;
    if (held > 0) {
      n += (socket.read(Math.min(held, buf.length - n)) as Buffer).copy(buf, n);
      continue;
    }
    if (socket.errored) throw socket.errored;
    // the socket saw the end (all before it is read) and closed the descriptor: its number may be
    // another file's by now
    if (socket.destroyed || socket.readableEnded) return { n, eof: true };
    let got: number;
    try {
      got = readSync(fd, buf, n, buf.length - n, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return { n, eof: false };
      throw e;
    }
    if (got === 0) return { n, eof: true };
    n += got;
  }
  return { n, eof: false };
}

/** Until `socket` has data, its end or an error, or the reader is stopped. */
function readable(socket: Socket, stop: PipeStop): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('readable', done);
      socket.off('close', done);
      socket.off('error', done);
      stop.wake = undefined;
      resolve();
    };
    stop.wake = done;
    socket.on('readable', done);
    socket.on('close', done);
    socket.on('error', done);
  });
}

/** The chunks of `src` as they are, or decompressed when they start with gzip's magic. Returned
 *  at once (the first bytes are looked at when the reader asks for them), so that destroy() can
 *  end a wait on an idle pipe. */
function gunzipChunksIfGzip(src: ChunkSource & { ownBuffers(): void }): ChunkSource {
  let gunzip: Readable | undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    const it = src.chunks[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    // the first two bytes may come in two chunks (copied: the ring reuses its buffers)
    let head = Buffer.alloc(0);
    let first = await it.next();
    while (!first.done && head.length + first.value.length < 2) {
      head = Buffer.concat([head, first.value]);
      first = await it.next();
    }
    const start = first.done ? head : head.length > 0 ? Buffer.concat([head, first.value]) : first.value;
    async function* all(copy: boolean): AsyncGenerator<Buffer> {
      if (start.length > 0) yield copy ? Buffer.from(start) : start;
      if (first.done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield copy ? Buffer.from(r.value) : r.value;
    }
    if (!isGzip(start)) return yield* all(false);
    src.ownBuffers();
    // zlib holds its input while it works: it gets copies
    gunzip = pipeline(ReadableStream.from(all(true)), createGunzip(), () => undefined);
    for await (const c of gunzip) yield c as Buffer;
  }
  return {
    name: src.name,
    chunks: chunks(),
    destroy: () => {
      src.destroy();
      gunzip?.destroy();
    },
  };
}

/** Three chunk buffers: the one the reader works on, the one it may keep a piece of, and the
 *  one being read ahead. */
export type ChunkBuffers = readonly [Buffer, Buffer, Buffer];

function newChunkBuffers(): ChunkBuffers {
  return [Buffer.allocUnsafe(INPUT_CHUNK), Buffer.allocUnsafe(INPUT_CHUNK), Buffer.allocUnsafe(INPUT_CHUNK)];
}

function chunksOf(s: InputSource): ChunkSource {
  return { name: s.name, chunks: s.stream, destroy: () => s.stream.destroy() };
}

function fileChunks(handle: fsp.FileHandle, bufs: ChunkBuffers): AsyncGenerator<Buffer> {
  const read = async (buf: Buffer): Promise<number> => (await handle.read(buf, 0, buf.length, null)).bytesRead;
  return readAhead(read, { bufs }, () => handle.close());
}

/** Chunks from `read` (the bytes it put in a buffer, 0 at the end) into `ring.bufs` in turn, the
 *  next read under way while the reader works on a chunk (from the second on: the first is
 *  looked at for gzip's magic, after which the buffers may change); `end` when done or stopped. */
async function* readAhead(
  read: (buf: Buffer) => Promise<number>,
  ring: { bufs: ChunkBuffers },
  end: () => Promise<void>,
): AsyncGenerator<Buffer> {
  let next: Promise<number> | undefined = read(ring.bufs[0]);
  try {
    for (let k = 0, first = true; ; first = false) {
      const n = await next;
      next = undefined;
      if (n === 0) return;
      const chunk = ring.bufs[k]!.subarray(0, n);
      k = k === 2 ? 0 : k + 1;
      if (!first) next = read(ring.bufs[k]!);
      yield chunk;
      next ??= read(ring.bufs[k]!);
    }
  } finally {
    // a read still under way (the reader stopped early) must end before the file is closed
    await next?.catch(() => undefined);
    await end();
  }
}

/** Data commands refuse to wait silently on a terminal: friendlier than an apparent hang. */
export function refuseTerminalStdin(paths: readonly string[], stdin: { isTTY?: boolean }, what: string): void {
  if (paths.length === 0 && stdin.isTTY) {
    throw new FlowmeterError('usage', `reading ${what} from a terminal; pass a file or pipe, or use - explicitly`);
  }
}

/** A temporary's name: `.NAME.tmp-PID-HEX` beside NAME, so the owner's PID tells whether a
 *  leftover belongs to a dead run. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-[0-9a-f]+$/;

/** A leftover temporary in `dir`: the final name it was written for and the PID that wrote it. */
export interface DeadTemp {
  path: string;
  finalName: string;
  pid: number;
}

/** Temporaries in `dir` whose writer is gone (no such process), optionally only those for names
 *  that `finalName` accepts. A PID of a live process (ours, or a reused one) is left alone. */
export async function deadTemps(dir: string, accept: (finalName: string) => boolean = () => true): Promise<DeadTemp[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const dead: DeadTemp[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || !accept(m[1]!)) continue;
    const pid = Number(m[2]);
    if (pid > 0 && pid !== process.pid && !processExists(pid))
      dead.push({ path: join(dir, name), finalName: m[1]!, pid });
  }
  return dead;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Remove the temporaries that killed runs left for `path`. */
export async function removeDeadTemps(path: string): Promise<void> {
  const name = basename(path);
  for (const t of await deadTemps(dirname(path), (n) => n === name)) await fsp.unlink(t.path).catch(() => undefined);
}

/** What is written to: an open file, or a descriptor of this process's (descriptorHandle). */
export interface OutputHandle {
  write(data: Uint8Array, offset: number, length: number, position: null): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The descriptor number of `path` when it names one of this process's own (`/dev/stdout`,
 *  `/dev/fd/3`, `/proc/self/fd/1`, …). */
function ownDescriptor(path: string): number | undefined {
  const m = /^\/(?:dev\/(stdin|stdout|stderr)|dev\/fd\/(\d+)|proc\/(?:self|(\d+))\/fd\/(\d+))$/.exec(resolve(path));
  if (!m || (m[3] !== undefined && Number(m[3]) !== process.pid)) return undefined;
  return m[1] !== undefined ? ['stdin', 'stdout', 'stderr'].indexOf(m[1]) : Number(m[2] ?? m[4]);
}

/** This process's descriptor `fd` (a socket) as an output: written in place, left open, nothing
 *  to sync. A non-blocking one that is full (EAGAIN) is tried again after a pause. */
function descriptorHandle(fd: number): OutputHandle {
  return {
    async write(data, offset, length) {
      for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
        try {
          return await writeFd(fd, data, offset, length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          await sleep(pause);
        }
      }
    },
    sync: async () => undefined,
    close: async () => undefined,
  };
}

const writeFd = promisify(writeCb);

/** Write all of `data` at the file's current position: a write may take fewer bytes than it was
 *  given (a nearly full disk), so loop until every byte is taken or the system says why not. */
export async function writeAll(handle: OutputHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  try {
    while (off < data.length) {
      const { bytesWritten } = await handle.write(data, off, data.length - off, null);
      if (bytesWritten <= 0) throw Object.assign(new Error('write took no bytes'), { code: 'ENOSPC' });
      off += bytesWritten;
    }
  } catch (e) {
    throw Object.assign(e as Error, { bytesWritten: off });
  }
}

/** Where a path to be written goes and how. A new path or a regular file is replaced atomically;
 *  through a symbolic link, the file it points to is (the link stays). A device, FIFO or socket
 *  (`/dev/null`, `<(cmd)`) and this process's own descriptors (`/dev/stdout`, `/dev/fd/3`,
 *  `/proc/self/fd/1`, whatever they lead to: `>> log` must be appended to, not replaced) are
 *  written in place, never renamed over. */
const OWN_DESCRIPTOR = /^\/(proc\/|dev\/(stdin|stdout|stderr|fd\/))/;

async function outputTarget(path: string): Promise<{ target: string; inPlace: boolean }> {
  if (OWN_DESCRIPTOR.test(resolve(path))) return { target: path, inPlace: true };
  const target = await fsp.realpath(path).catch(() => path); // a new file: the path itself
  const st = await fsp.stat(target).catch(() => undefined);
  return { target, inPlace: st !== undefined && !st.isFile() && !st.isDirectory() };
}

/** A file written under a temporary name and renamed into place only by commit(), after every
 *  byte was written and synced. A failed write leaves the destination untouched and the
 *  temporary removed (or kept, by keepAs). A device, FIFO or socket is written in place. */
export class AtomicFile {
  private handle: OutputHandle | undefined;
  private done = false;
  private failure: FlowmeterError | undefined;
  /** Bytes written so far. */
  written = 0;
  private constructor(
    /** The path as given, for messages. */
    readonly path: string,
    /** What is replaced: the path, or the file a symbolic link there points to. */
    readonly target: string,
    /** The temporary; equal to target when the file is written in place. */
    readonly tempPath: string,
    /** After a failed write, keep the temporary for keepAs() instead of removing it. */
    private readonly keepOnFailure: boolean,
  ) {}

  get inPlace(): boolean {
    return this.tempPath === this.target;
  }

  static async create(path: string, mode = 0o644, opts: { keepOnFailure?: boolean } = {}): Promise<AtomicFile> {
    const { target, inPlace } = await outputTarget(path);
    if (!inPlace) {
      await completeCommit(target);
      await removeDeadTemps(target);
    }
    const f = new AtomicFile(path, target, inPlace ? target : tempNameFor(target), opts.keepOnFailure === true);
    try {
      f.handle = await fsp.open(f.tempPath, inPlace ? 'w' : 'wx', mode).catch((e: NodeJS.ErrnoException) => {
        // a socket cannot be opened by path (ENXIO): this process's own descriptor is written instead
        const fd = e.code === 'ENXIO' ? ownDescriptor(path) : undefined;
        if (fd === undefined) throw e;
        return descriptorHandle(fd);
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new FlowmeterError(kindOfSystemError(err, true), `${path}: cannot create: ${describeSystemError(err)}`);
    }
    return f;
  }

  async write(data: string | Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.handle) throw new Error('AtomicFile: not open');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      await writeAll(this.handle, bytes);
      this.written += bytes.length;
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { bytesWritten?: number };
      const done = this.written + (err.bytesWritten ?? 0);
      const outcome = this.inPlace ? 'written in place' : `${this.path} was not replaced`;
      this.failure = new FlowmeterError(
        'io',
        `${this.path}: write failed after ${done} of ${this.written + bytes.length} bytes: ${describeSystemError(err)}; ${outcome}`,
      );
      if (!this.keepOnFailure) await this.abort();
      throw this.failure;
    }
  }

  /** fsync, close, rename over the destination (or, with replace false, publish only under a
   *  name not taken: EEXIST otherwise, the temporary kept), fsync the directory. `as`: publish
   *  under that name instead of the one created with. Refused after a failed write. */
  async commit(opts: { replace?: boolean; as?: string } = {}): Promise<void> {
    const path = opts.as ?? this.target;
    if (this.failure) throw this.failure;
    if (this.done) return;
    try {
      await this.seal();
      if (this.inPlace) {
        this.done = true;
        return;
      }
      await (opts.replace === false ? publishNew(this.tempPath, path) : fsp.rename(this.tempPath, path));
      this.done = true;
      await fsyncDir(dirname(path));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && opts.replace === false) throw err; // the caller picks another name
      await this.abort();
      throw new FlowmeterError('io', `${opts.as ?? this.path}: cannot write: ${describeSystemError(err)}`);
    }
  }

  /** Make every byte durable and close: what commit does before it renames. */
  async seal(): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.handle) return;
    await this.handle.sync().catch(ignoreUnsyncable);
    await this.handle.close();
    this.handle = undefined;
  }

  /** Close and rename the temporary to `path` (or `path.2`, `path.3`, … when taken) instead of
   *  the destination: what was written is kept for the operator. Returns the name it got, or
   *  undefined when nothing could be kept (the temporary is then removed). */
  async keepAs(path: string): Promise<string | undefined> {
    if (this.inPlace) return undefined;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    this.done = true;
    for (let n = 1; n < 100; n++) {
      const name = n === 1 ? path : `${path}.${n}`;
      try {
        await publishNew(this.tempPath, name);
        return name;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break;
      }
    }
    await fsp.unlink(this.tempPath).catch(() => undefined);
    return undefined;
  }

  /** Remove the temporary file; the destination is untouched. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    if (!this.inPlace) await fsp.unlink(this.tempPath).catch(() => undefined);
  }
}

/** A device or pipe cannot be fsynced (EINVAL): nothing to make durable there. */
function ignoreUnsyncable(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EINVAL' && e.code !== 'ENOTSUP') throw e;
}

/** Give `from` the name `to` only if `to` does not exist (EEXIST otherwise): a hard link, then
 *  the old name removed. Where links are not supported, a rename after a check. */
export async function publishNew(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'EPERM' && err.code !== 'ENOTSUP' && err.code !== 'EOPNOTSUPP') throw err;
    if (
      await fsp.lstat(to).then(
        () => true,
        () => false,
      )
    )
      throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
    await fsp.rename(from, to);
    return;
  }
  await fsp.unlink(from);
}

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, fsc.O_RDONLY).catch(() => undefined);
  if (!h) return;
  await h.sync().catch(() => undefined); // some filesystems refuse fsync on directories
  await h.close();
}

/** The journal of a commit of several files, one beside each: `.NAME.commit`. */
function journalPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.commit`);
}

interface JournalEntry {
  temp: string;
  path: string;
}

/** Publish several files as one: each is synced, then a journal listing every rename is written
 *  beside each file, then the renames are made and the journals removed. A run killed among the
 *  renames leaves the journals, and the next AtomicFile.create of any of those paths completes
 *  the renames (completeCommit) before anything else, so the set ends all new, not mixed.
 *  Readers between two renames may still see one file new and another old. A file written in
 *  place (a device) is not part of the journal. */
export async function commitAll(files: readonly AtomicFile[]): Promise<void> {
  const renamed = files.filter((f) => !f.inPlace);
  if (renamed.length > 1) await journalCommit(files);
  for (const f of files) await f.commit();
  await Promise.all(renamed.map((f) => fsp.unlink(journalPath(f.target)).catch(() => undefined)));
}

/** commitAll's first half: every file synced, the journal beside each renamed one. */
export async function journalCommit(files: readonly AtomicFile[]): Promise<void> {
  try {
    for (const f of files) await f.seal();
    const entries: JournalEntry[] = files
      .filter((f) => !f.inPlace)
      .map((f) => ({ temp: resolve(f.tempPath), path: resolve(f.target) }));
    const body = JSON.stringify({ pid: process.pid, renames: entries }) + '\n';
    for (const e of entries) await writeFileAtomic(journalPath(e.path), body, 0o600);
  } catch (e) {
    await Promise.all(files.map((f) => f.abort()));
    throw e;
  }
}

/** Finish the renames of a commitAll that a killed run left half done, if `path` has a journal
 *  whose writer is gone (a live writer is still renaming). */
export async function completeCommit(path: string): Promise<void> {
  const text = await fsp.readFile(journalPath(path), 'utf8').catch(() => undefined);
  if (text === undefined) return;
  let journal: { pid: number; renames: JournalEntry[] };
  try {
    journal = JSON.parse(text) as typeof journal;
  } catch {
    return; // written atomically: only a hand edit gets here; left for the operator
  }
  if (processExists(journal.pid)) return;
  const entries = journal.renames;
  for (const e of entries) {
    try {
      await fsp.rename(e.temp, e.path); // a temp already renamed is gone: ENOENT, nothing to do
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fsyncDir(dirname(e.path));
  }
  for (const e of entries) await fsp.unlink(journalPath(e.path)).catch(() => undefined);
  await fsp.unlink(journalPath(path)).catch(() => undefined);
}

/** Write a whole file atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const f = await AtomicFile.create(path, mode);
  try {
    await f.write(data);
    await f.commit();
  } catch (e) {
    await f.abort();
    throw e;
  }
}
