// Batched output that honours backpressure: text is collected into ~64 KiB writes and the
// producer awaits 'drain' when the stream's buffer is full (never an unbounded queue).

import type { Writable } from 'node:stream';

export class BatchWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(
    private readonly out: Writable,
    private readonly batchBytes = 65536,
  ) {}

  /** Queue text; true when a batch is full and the caller should `await flush()`. */
  add(text: string): boolean {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= this.batchBytes;
  }

  /** Queue one line (a newline is appended). */
  line(text: string): boolean {
    return this.add(text + '\n');
  }

  get pending(): number {
    return this.size;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.out.write(chunk)) await waitDrain(this.out);
  }

  async end(): Promise<void> {
    await this.flush();
  }
}

/** Resolve on 'drain'; reject if the stream errors or closes first (a closed pipe must not hang us). */
export function waitDrain(stream: Writable): Promise<void> {
  if (stream.destroyed)
    return Promise.reject(Object.assign(new Error('stream destroyed'), { code: 'ERR_STREAM_DESTROYED' }));
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(Object.assign(new Error('stream closed'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
