// Pull bytes from a Readable chunk by chunk for the capture-file readers: the unread tail of the
// current buffer plus as many chunks as one record needs, never the whole file. Buffers are
// never reused or overwritten, so views handed out (Datagram.payload) stay valid.

import type { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

export class ByteReader {
  /** Current bytes; the unread part is buf[pos, buf.length). */
  buf: Buffer = EMPTY;
  pos = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  /** The part of a chunk after a record that straddled into it: read before the next chunk. */
  private rest: Buffer | undefined;
  private readonly it: AsyncIterator<unknown>;

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]();
  }

  get avail(): number {
    return this.buf.length - this.pos;
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.rest !== undefined) {
      const r = this.rest;
      this.rest = undefined;
      return r;
    }
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        return undefined;
      }
      const v = r.value;
      const chunk = Buffer.isBuffer(v)
        ? v
        : v instanceof Uint8Array
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
          : Buffer.from(String(v), 'latin1'); // a stream with an encoding set: undo it
      if (chunk.length > 0) return chunk;
    }
  }

  /** Make at least n unread bytes available (fewer only at end of input: then false). */
  async need(n: number): Promise<boolean> {
    if (this.avail >= n) return true;
    if (this.eof) return false;
    const parts: Buffer[] = [];
    let have = this.avail;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    while (have < n) {
      const chunk = await this.next();
      if (chunk === undefined) break;
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.pos = 0;
    if (parts.length > 1 && have > n) {
      // copy only what straddles the chunks; the rest of the last chunk is read next, uncopied
      const last = parts.pop()!;
      const keep = last.length - (have - n);
      parts.push(last.subarray(0, keep));
      this.rest = last.subarray(keep);
      have = n;
    }
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    return have >= n;
  }

  /** Read the next chunk (when a caller wants more input without a specific size). */
  async more(): Promise<boolean> {
    if (this.eof && this.rest === undefined) return false;
    const chunk = await this.next();
    if (chunk === undefined) return false;
    this.base += this.pos;
    this.buf = this.avail > 0 ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    return true;
  }

  /** Discard n bytes without holding them (skipping a large unknown block). false at EOF. */
  async skip(n: number): Promise<boolean> {
    while (this.avail < n) {
      n -= this.avail;
      this.base += this.buf.length;
      this.buf = EMPTY;
      this.pos = 0;
      const chunk = await this.next();
      if (chunk === undefined) return false;
      this.buf = chunk;
    }
    this.pos += n;
    return true;
  }

  /** Stop reading (destroys the stream when the reader is abandoned early). */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
