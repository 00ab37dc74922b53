// Flow counters (bytes, packets, flows) are unsigned 64-bit, as NetFlow v9/IPFIX and goflow2
// carry them. A double holds them exactly only up to 2^53 − 1, so a counter is a number while it
// is at most Number.MAX_SAFE_INTEGER (the fast path: no allocation, plain arithmetic) and a
// bigint above that: exact up to 2^64 − 1 when read, exact at any size when summed.

export type Counter = number | bigint;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** The counter form of an exact integer: a number when it is safe, else the bigint. */
export function counterOf(x: bigint): Counter {
  return x <= MAX_SAFE_BIG ? Number(x) : x;
}

/** a + b exactly. */
export function addCounters(a: Counter, b: Counter): Counter {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (s <= MAX_SAFE) return s;
  }
  return counterOf(BigInt(a) + BigInt(b));
}

/** a · k exactly (k a non-negative integer, e.g. a sampling rate). */
export function mulCounter(a: Counter, k: number): Counter {
  if (typeof a === 'number') {
    const p = a * k;
    if (p <= MAX_SAFE) return p;
  }
  return counterOf(BigInt(a) * BigInt(k));
}

/** Order of two counters (negative, 0, positive), exact at any size. */
export function compareCounters(a: Counter, b: Counter): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Decimal digits (no sign, no leading zero) as a counter; undefined for anything else or a
 *  value above 2^64 − 1. */
export function counterFromDigits(s: string): Counter | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(s)) return undefined;
  if (s.length < 16) return Number(s);
  const x = BigInt(s);
  return x <= U64_MAX ? counterOf(x) : undefined;
}

/** A JSON value as a uint64 counter (a number, a bigint from exactJsonIntegers, or a string of
 *  digits as goflow2 may write uint64s); undefined when it is none of these, not an integer, or
 *  out of range — a number above 2^53 − 1 included, as its digits are no longer known. */
export function counterFromJson(v: unknown): Counter | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= MAX_SAFE ? v : undefined;
  if (typeof v === 'bigint') return v >= 0n && v <= U64_MAX ? counterOf(v) : undefined;
  if (typeof v === 'string') return counterFromDigits(v);
  return undefined;
}

/** The unsigned big-endian 64-bit integer at `o`, exactly. */
export function readU64(v: DataView, o: number): Counter {
  const hi = v.getUint32(o);
  return hi < 0x200000 ? hi * 4294967296 + v.getUint32(o + 4) : v.getBigUint64(o);
}

const LONG_NUMBER = /[0-9]{16}/;

/**
 * JSON.parse rounds integers beyond 2^53 to the nearest double (…993 becomes …992). For a parsed
 * top-level object, replace every such number with the exact bigint of the digits written in
 * `line` (a key's last occurrence, as JSON.parse takes the last of duplicate keys), so that a
 * validator sees the value sent and can quote it. Numbers not written as plain digits (1e19)
 * stay as they are. Costs one regular-expression test for lines without a 16-digit run.
 */
export function exactJsonIntegers(line: string, o: Record<string, unknown>): void {
  if (!LONG_NUMBER.test(line)) return;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v !== 'number' || v <= MAX_SAFE || !Number.isInteger(v)) continue;
    const digits = lastIntegerText(line, k);
    if (digits !== undefined && Number(digits) === v) o[k] = BigInt(digits);
  }
}

/** The plain-digit text of key `k`'s last value in `line`, or undefined. */
function lastIntegerText(line: string, k: string): string | undefined {
  const key = JSON.stringify(k);
  let digits: string | undefined;
  for (let at = line.indexOf(key); at >= 0; at = line.indexOf(key, at + 1)) {
    const m = /^\s*:\s*(-?[0-9][0-9.eE+-]*)/.exec(line.slice(at + key.length));
    if (m) digits = /^[0-9]+$/.test(m[1]!) ? m[1] : undefined;
  }
  return digits;
}

const BIG_MARK = '\u0000u64\u0000';
const BIG_MARK_JSON = JSON.stringify(BIG_MARK);

/** JSON.stringify that writes a bigint (a counter above 2^53 - 1) as its plain digits, where
 *  JSON.stringify itself throws on one. */
export function stringifyCounters(value: unknown, space?: number): string {
  const big: bigint[] = [];
  const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (big.push(v), BIG_MARK) : v), space);
  if (big.length === 0) return s;
  let i = 0;
  const out = s.replaceAll(BIG_MARK_JSON, () => String(big[i++]));
  if (i !== big.length) throw new Error('stringifyCounters: a string value looks like a counter placeholder');
  return out;
}
