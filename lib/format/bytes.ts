// Output lines encoded straight into large Buffers, handed to the stream whole: no array of
// strings to join and no second string→bytes conversion at write time: joining lines and the
// stream's utf8 encoding, with the GC they cause, are a large share of `flow-capture -r` CPU
// (bench/README.md).
// Same contract as BatchWriter: line() says when a batch is full, `await flush()` honours drain.
// The destination is a stream, or an async function that takes whole chunks (the live collector's
// stdout/rotating-file sink, which counts records per file).

import type { Writable } from 'node:stream';
import { waitDrain } from '../cli/writer.js';

const SIZE = 1 << 18; // a buffer holds ~256 KiB; a batch is due at 64 KiB like BatchWriter's
/** Written buffers kept for reuse: fresh 256 KiB buffers cost a page fault per 4 KiB touched
 *  (bench/README.md). */
const MAX_FREE = 8;

/** Takes a chunk of whole lines; resolves when the next one may be written. */
export type ChunkWriter = (chunk: Buffer) => Promise<void>;

export class ByteBatch {
  private buf: Buffer = Buffer.allocUnsafe(SIZE);
  private dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private off = 0;
  /** Filled buffers and how much of each is used, waiting for flush(). */
  private full: Buffer[] = [];
  private fullLen: number[] = [];
  private fullBytes = 0;
  private readonly free: Buffer[] = [];

  /** The ChunkWriter's write still under way (writeBehind); awaited before the next one. */
  private writing: Promise<void> | undefined;

  constructor(
    private readonly out: Writable | ChunkWriter,
    private readonly batchBytes = 65536,
    /** The ChunkWriter is done with a chunk when it resolves (a file write), so its buffers can
     *  be reused as a stream's are. */
    private readonly doneOnResolve = false,
    /** flush() returns once the ChunkWriter has started on the last chunk, so that the next batch
     *  is made while it is written (end() waits for it). A failed write throws from the next
     *  flush() or end(). */
    private readonly writeBehind = false,
  ) {}

  /** Queue text plus '\n'; true when the caller should `await flush()`. */
  line(text: string): boolean {
    // utf8 needs at most 3 bytes per UTF-16 unit
    if (this.off + text.length * 3 + 1 > this.buf.length) this.rotate(text.length * 3 + 1);
    this.off += this.buf.write(text, this.off);
    this.buf[this.off++] = 10;
    return this.off >= this.batchBytes || this.full.length > 0;
  }

  /** Queue text as is. */
  add(text: string): boolean {
    if (text.length === 0) return this.off >= this.batchBytes;
    if (this.off + text.length * 3 > this.buf.length) this.rotate(text.length * 3);
    this.off += this.buf.write(text, this.off);
    return this.off >= this.batchBytes || this.full.length > 0;
  }

  /** Room for `need` bytes at the returned offset of `buffer`; then `advance(newOffset)`. */
  reserve(need: number): number {
    if (this.off + need > this.buf.length) this.rotate(need);
    return this.off;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  /** A DataView over `buffer`. */
  get view(): DataView {
    return this.dv;
  }

  /** After writing into buffer up to `off`; true when a flush is due. */
  advance(off: number): boolean {
    this.off = off;
    return off >= this.batchBytes || this.full.length > 0;
  }

  private rotate(need: number): void {
    if (this.off > 0) {
      this.full.push(this.buf);
      this.fullLen.push(this.off);
      this.fullBytes += this.off;
    }
    this.buf = need <= SIZE && this.free.length > 0 ? this.free.pop()! : Buffer.allocUnsafe(Math.max(SIZE, need));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.off = 0;
  }

  /** Bytes queued and not yet flushed. */
  get pending(): number {
    return this.fullBytes + this.off;
  }

  private recycle(c: Buffer): void {
    if (this.free.length < MAX_FREE && c.length === SIZE) this.free.push(c);
  }

  async flush(): Promise<void> {
    if (this.off > 0) this.rotate(0);
    const chunks = this.full;
    const lens = this.fullLen;
    if (chunks.length === 0) return;
    this.full = [];
    this.fullLen = [];
    this.fullBytes = 0;
    const out = this.out;
    if (typeof out === 'function') {
      // such a writer may hold on to a chunk after it resolves (a gzip stream): not reused unless told
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        await this.writing; // one write at a time, in order
        const w = out(c.subarray(0, lens[i])).then(() => {
          if (this.doneOnResolve) this.recycle(c);
        });
        if (!this.writeBehind) await w;
        else {
          this.writing = w;
          w.catch(() => undefined); // (its failure is thrown by the next flush or end)
        }
      }
      return;
    }
    // a buffer is reused only once the stream says it was written (the write callback)
    let ok = true;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      ok = out.write(c.subarray(0, lens[i]), () => this.recycle(c));
    }
    if (!ok) await waitDrain(out);
  }

  /** Flush, and wait for a write still under way (writeBehind). */
  async end(): Promise<void> {
    await this.flush();
    await this.writing;
  }
}
