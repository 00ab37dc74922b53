// What decoders and capture readers refuse, and how they say so without printing: they report
// each refusal to a RejectListener. lib/cli's Log is one (it prints the first few per reason and
// counts the rest); RejectCounter counts what passes through it, so the command decides --strict
// and the exit status from the counts, not from what was printed.

/** Where a decoder or reader reports what it refused or warned about. */
export interface RejectListener {
  /** One refused item under `reason`; `message` names its place. */
  reject(reason: string, message: string, place?: string): void;
  /** One warning under `reason` that is not a refusal (the data was used). */
  note(reason: string, message: string): void;
  /** Detail for debugging (a decoder's stack trace), one line. */
  debug(message: string): void;
}

/** Counts the refusals it passes on to `next`, by reason. */
export class RejectCounter implements RejectListener {
  /** Refusals so far, all reasons. */
  total = 0;
  /** Refusals by reason, in first-seen order. */
  readonly byReason = new Map<string, number>();

  constructor(private readonly next: RejectListener) {}

  reject(reason: string, message: string, place?: string): void {
    this.total++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    this.next.reject(reason, message, place);
  }

  note(reason: string, message: string): void {
    this.next.note(reason, message);
  }

  debug(message: string): void {
    this.next.debug(message);
  }
}
