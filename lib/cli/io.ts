// Inputs (files, `-` = stdin) and atomic file outputs (temp in the same directory, fsync,
// rename, fsync the directory) so a killed run never leaves a half-written product.

import { createReadStream, promises as fsp, constants as fsc } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError, EXIT, exitCodeForSystemError } from './exit.js';

export interface InputSource {
  /** Name used in messages: the path, or "stdin". */
  name: string;
  stream: Readable;
}

export function describeSystemError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EISDIR': return 'Is a directory';
    case 'ENOTDIR': return 'Not a directory';
    case 'ENOSPC': return 'No space left on device';
    case 'EROFS': return 'Read-only file system';
    default: return err.message;
  }
}

export const INPUT_CHUNK = 1 << 18;

/** Open a path for reading (or stdin for `-`); a missing file is a CliError with exit 66; a path
 *  ending in `.gz` is decompressed. */
export async function openInput(path: string, stdin: Readable): Promise<InputSource> {
  if (path === '-') return { name: 'stdin', stream: stdin };
  return streamOf(path, (await openFile(path)).handle);
}

function streamOf(path: string, handle: fsp.FileHandle): InputSource {
  // Hand the stream the FileHandle itself so that it owns the close: with the raw fd, the fd was
  // closed by the stream and again when the FileHandle was collected (EBADF, DEP0137 warnings).
  const raw = createReadStream('', { fd: handle, highWaterMark: INPUT_CHUNK });
  // rotated files may be gzip (flow-capture --compress gzip): read `*.gz` through gunzip
  if (path.endsWith('.gz')) return { name: path, stream: pipeline(raw, createGunzip(), () => undefined) };
  return { name: path, stream: raw };
}

async function openFile(path: string): Promise<{ handle: fsp.FileHandle; regular: boolean }> {
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
    throw new CliError(`${path}: ${describeSystemError(err)}`, exitCodeForSystemError(err, false));
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
 *  (it may keep a piece of the last one): a regular file is read into three buffers in turn, the
 *  next chunk while the reader works on this one. A fresh buffer per chunk, as a stream reads,
 *  cost ~0.4 CPU-s per 480 MB here (page faults and GC). Pipes and devices (`<(cmd)`, a FIFO)
 *  stay streams, whose destroy() ends a waiting read. `buffers`: the three to read a regular
 *  file into (the caller's own memory), else fresh ones. */
export async function openInputChunks(path: string, stdin: Readable, buffers?: ChunkBuffers): Promise<ChunkSource> {
  if (path === '-' || path.endsWith('.gz')) return chunksOf(await openInput(path, stdin));
  const { handle, regular } = await openFile(path);
  if (!regular) return chunksOf(streamOf(path, handle));
  return { name: path, chunks: fileChunks(handle, buffers ?? newChunkBuffers()), destroy: () => undefined };
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

async function* fileChunks(handle: fsp.FileHandle, bufs: ChunkBuffers): AsyncGenerator<Buffer> {
  let next: Promise<{ bytesRead: number }> | undefined = handle.read(bufs[0], 0, bufs[0].length, null);
  try {
    for (let k = 0; ; ) {
      const { bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0) return;
      const chunk = bufs[k]!.subarray(0, bytesRead);
      k = k === 2 ? 0 : k + 1;
      next = handle.read(bufs[k]!, 0, bufs[k]!.length, null);
      yield chunk;
    }
  } finally {
    // a read still under way (the reader stopped early) must end before the file is closed
    await next?.catch(() => undefined);
    await handle.close();
  }
}

/** Data commands refuse to wait silently on a terminal: friendlier than an apparent hang. */
export function refuseTerminalStdin(paths: readonly string[], stdin: { isTTY?: boolean }, what: string): void {
  if (paths.length === 0 && stdin.isTTY) {
    throw new CliError(`reading ${what} from a terminal; pass a file or pipe, or use - explicitly`, EXIT.USAGE);
  }
}

/** A file written under a temporary name and renamed into place only by commit(). */
export class AtomicFile {
  private handle: fsp.FileHandle | undefined;
  private done = false;
  private constructor(
    readonly path: string,
    readonly tempPath: string,
  ) {}

  static async create(path: string, mode = 0o644): Promise<AtomicFile> {
    const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const f = new AtomicFile(path, temp);
    try {
      f.handle = await fsp.open(temp, 'wx', mode);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CliError(`${path}: cannot create: ${describeSystemError(err)}`, exitCodeForSystemError(err, true));
    }
    return f;
  }

  async write(data: string | Uint8Array): Promise<void> {
    if (!this.handle) throw new Error('AtomicFile: not open');
    try {
      if (typeof data === 'string') await this.handle.write(data, null, 'utf8');
      else await this.handle.write(data);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CliError(`${this.path}: write failed: ${describeSystemError(err)}`, EXIT.IOERR);
    }
  }

  /** fsync, close, rename over the destination, fsync the directory. */
  async commit(): Promise<void> {
    if (!this.handle || this.done) return;
    try {
      await this.handle.sync();
      await this.handle.close();
      this.handle = undefined;
      await fsp.rename(this.tempPath, this.path);
      this.done = true;
      await fsyncDir(dirname(this.path));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      await this.abort();
      throw new CliError(`${this.path}: cannot write: ${describeSystemError(err)}`, EXIT.IOERR);
    }
  }

  /** Remove the temporary file; the destination is untouched. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fsp.unlink(this.tempPath).catch(() => undefined);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, fsc.O_RDONLY).catch(() => undefined);
  if (!h) return;
  await h.sync().catch(() => undefined); // some filesystems refuse fsync on directories
  await h.close();
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
