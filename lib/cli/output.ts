// `-o FILE` as a Writable: the data goes to an AtomicFile (temp in the same directory, fsync,
// rename on commit), so streaming writers (BatchWriter) get backpressure and a killed or failed
// run never leaves a half-written file. `-` or no -o is stdout.

import { Writable } from 'node:stream';
import { AtomicFile } from './io.js';

export interface Output {
  stream: Writable;
  /** Name for messages. */
  name: string;
  /** Make the file appear (no-op for stdout). */
  commit(): Promise<void>;
  /** Remove the temporary file (no-op for stdout). */
  abort(): Promise<void>;
}

export async function openOutput(path: string | undefined, stdout: Writable): Promise<Output> {
  if (path === undefined || path === '-') {
    return { stream: stdout, name: 'stdout', commit: async () => undefined, abort: async () => undefined };
  }
  const file = await AtomicFile.create(path);
  const stream = new Writable({
    highWaterMark: 1 << 16,
    write(chunk: Buffer | string, _enc, cb): void {
      file.write(chunk).then(() => cb(), cb);
    },
  });
  return {
    stream,
    name: path,
    commit: async () => {
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
      await file.commit();
    },
    abort: async () => {
      stream.destroy();
      await file.abort();
    },
  };
}
