// Upstream loss from sequence numbers: per stream (sFlow agent + sub-agent here), the gap between
// the number expected and the number received. Backwards jumps (exporter restart, reordering) are
// counted as resets, not as loss. The number of streams is capped so a spoofing sender cannot grow
// memory without bound.

export interface SequenceState {
  key: string;
  /** Datagrams (or whatever unit the stream counts) seen. */
  received: number;
  /** Units missing between consecutive datagrams. */
  lost: number;
  /** Number of gaps (datagrams after which some were missing). */
  gaps: number;
  /** Backwards jumps: restart or reordering. */
  resets: number;
  last: number;
}

const HALF = 2 ** 31;
const MAX_STREAMS = 65536;

export class SequenceTracker {
  private readonly streams = new Map<string, SequenceState>();
  /** Streams not tracked because the cap was reached. */
  untracked = 0;

  /** `seq` is the sequence number of this datagram; the next one is expected at seq + `count`. */
  observe(key: string, seq: number, count = 1): void {
    let s = this.streams.get(key);
    if (s === undefined) {
      if (this.streams.size >= MAX_STREAMS) {
        this.untracked++;
        return;
      }
      s = { key, received: 1, lost: 0, gaps: 0, resets: 0, last: (seq + count) >>> 0 };
      this.streams.set(key, s);
      return;
    }
    s.received++;
    const diff = (seq - s.last) >>> 0;
    if (diff !== 0) {
      if (diff < HALF) {
        s.lost += diff;
        s.gaps++;
      } else {
        s.resets++;
      }
    }
    s.last = (seq + count) >>> 0;
  }

  get lost(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.lost;
    return n;
  }

  get gaps(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.gaps;
    return n;
  }

  states(): SequenceState[] {
    return [...this.streams.values()];
  }
}
