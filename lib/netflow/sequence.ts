// Sequence accounting for loss reporting, per exporter + domain: NetFlow v5/v7 count flows,
// v9 counts export packets, IPFIX counts data records (RFC 7011 §3.1). Wrap-around is modular;
// a jump too large to be loss (or backwards) is a reset or reordering, never a huge "missing".

export type SequenceResult = 'first' | 'ok' | 'gap' | 'late' | 'reset';

export class SequenceTracker {
  private readonly next = new Map<string, number>();
  /** Missing count of the last 'gap' result. */
  missing = 0;

  constructor(private readonly maxKeys = 65536) {}

  /** Compare a header sequence number with what the last message of `key` led us to expect. */
  check(key: string, seq: number, maxGap: number): SequenceResult {
    const expected = this.next.get(key);
    if (expected === undefined) return 'first';
    const ahead = (seq - expected) >>> 0;
    if (ahead === 0) return 'ok';
    if (ahead <= maxGap) {
      this.missing = ahead;
      return 'gap';
    }
    const behind = (expected - seq) >>> 0;
    if (behind <= maxGap) return 'late';
    return 'reset';
  }

  /** What the next message of `key` should carry; advance < 0 = unknown (skip the next check). */
  advance(key: string, seq: number, advance: number): void {
    if (advance < 0) {
      this.next.delete(key);
      return;
    }
    if (this.next.size >= this.maxKeys && !this.next.has(key)) this.next.clear();
    this.next.set(key, (seq + advance) >>> 0);
  }

  /** Keep the expectation of `key` (a late message must not move it backwards). */
  has(key: string): boolean {
    return this.next.has(key);
  }
}
