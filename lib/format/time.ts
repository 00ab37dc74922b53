// Times for people: "2024-01-15 12:00:02.944" (UTC, milliseconds) from nanoseconds since the epoch.
// An ns time beyond 2^53 is a double near the exporter's integer; it is read as the integer the
// NDJSON record prints (intText) and cut with integer arithmetic, so the text shows the record's
// instant truncated to the millisecond, never one the double's rounding moved.

import { intText } from '../flow/record.js';

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

let lastSecond = -1;
let lastPrefix = '';

/** UTC date and time to the millisecond; the date/time part is cached per second (flows come in order). */
export function formatTimeNs(ns: number): string {
  const ms = nsParts(ns)[0];
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    lastPrefix = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
    lastSecond = second;
  }
  return `${lastPrefix}.${pad3(ms - second * 1000)}`;
}

/** A duration in seconds with millisecond precision: "0.281s", "12.000s". */
export function formatDurationNs(ns: number): string {
  const ms = Math.max(0, Math.round(ns / 1e6));
  return `${Math.floor(ms / 1000)}.${pad3(ms % 1000)}s`;
}

/** An ns time as the NDJSON record prints it, split into whole milliseconds and the ns after
 *  them (each exact as a double). */
export function nsParts(ns: number): [ms: number, ns: number] {
  const t = intText(ns);
  if (t.length <= 6) return [0, Number(t)];
  return [Number(t.slice(0, -6)), Number(t.slice(-6))];
}

/** end - start in ns from the times as printed (0 when end is before start). */
export function spanNs(startNs: number, endNs: number): number {
  const [sMs, sNs] = nsParts(startNs);
  const [eMs, eNs] = nsParts(endNs);
  return Math.max(0, (eMs - sMs) * 1e6 + (eNs - sNs));
}
