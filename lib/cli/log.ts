// Diagnostics on stderr: errors, rate-limited warnings counted by reason, verbose info, and a
// progress line that only ever appears on a TTY. stdout never sees any of this. Every message is
// one line: control characters in it (from a file name, a label, a field value) are shown as
// escapes (lib/cli/visible.ts) before the colour is added.

import type { Writable } from 'node:stream';
import type { ChalkInstance } from 'chalk';
import { makeChalk } from './color.js';
import { visible } from './visible.js';

export interface LogOptions {
  quiet?: boolean;
  verbose?: number;
  /** Messages printed verbatim per reason before the rest are only counted. */
  perReason?: number;
  chalk?: ChalkInstance;
  isTTY?: boolean;
}

export class Log {
  private readonly counts = new Map<string, number>();
  private readonly notes = new Map<string, number>();
  private readonly shown = new Map<string, number>();
  private readonly firstPlace = new Map<string, string>();
  private readonly perReason: number;
  private readonly chalk: ChalkInstance;
  private progressShown = false;
  private lastProgress = 0;

  constructor(
    readonly prog: string,
    private readonly err: Writable & { isTTY?: boolean },
    private readonly opts: LogOptions = {},
  ) {
    this.perReason = opts.perReason ?? 10;
    this.chalk = opts.chalk ?? makeChalk(0);
  }

  private print(message: string, paint: (text: string) => string = (text) => text): void {
    this.clearProgress();
    this.err.write(`${this.prog}: ${paint(visible(message))}\n`);
  }

  error(message: string): void {
    this.print(message, this.chalk.red);
  }

  warn(message: string): void {
    if (!this.opts.quiet) this.print(message, this.chalk.yellow);
  }

  info(message: string): void {
    if ((this.opts.verbose ?? 0) >= 1) this.print(message);
  }

  debug(message: string): void {
    if ((this.opts.verbose ?? 0) >= 2) this.print(message);
  }

  /** Count one rejected item under `reason`; print the first few verbatim (goflow2's BatchMute). */
  reject(reason: string, message: string, place?: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (place !== undefined && !this.firstPlace.has(reason)) this.firstPlace.set(reason, place);
    this.limited(reason, message);
  }

  /** Count one warning under `reason` that is not a rejection (the data was used); print the
   *  first few, like reject(). */
  note(reason: string, message: string): void {
    this.notes.set(reason, (this.notes.get(reason) ?? 0) + 1);
    this.limited(reason, message);
  }

  private limited(reason: string, message: string): void {
    const shown = this.shown.get(reason) ?? 0;
    if (shown < this.perReason) {
      this.shown.set(reason, shown + 1);
      this.warn(message);
    }
  }

  /** Say how many messages were held back since the last call, one line per reason. */
  flushSuppressed(): void {
    for (const [reason, count] of [...this.counts, ...this.notes]) {
      const shown = this.shown.get(reason) ?? 0;
      const suppressed = count - shown;
      if (suppressed > 0) {
        this.warn(`… ${suppressed} more "${reason}" messages suppressed`);
        this.shown.set(reason, count);
      }
    }
  }

  /** Rejections by reason, in first-seen order. */
  get rejections(): ReadonlyMap<string, number> {
    return this.counts;
  }

  get rejectedTotal(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  firstPlaceOf(reason: string): string | undefined {
    return this.firstPlace.get(reason);
  }

  /** One redrawn status line, at most 4 times a second, only on a TTY and never with -q. */
  progress(text: string): void {
    if (this.opts.quiet || !(this.opts.isTTY ?? this.err.isTTY)) return;
    const now = Date.now();
    if (now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.err.write(`\r\x1b[K${this.prog}: ${visible(text)}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.err.write('\r\x1b[K');
      this.progressShown = false;
    }
  }
}
