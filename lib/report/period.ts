// `--period` with `--dir DIR`: pick the closed files of flow-capture's `-w DIR --rotate N` for a
// cron job. Files are `flows.YYYYMMDDhhmm[ss]ZONE[.rN].ndjson[.gz]` (the interval start;
// ZONE `Z` for UTC, `+hhmm` with --local-time, none in older names: local time), grouped by the
// time they denote; the file being written is a dot-prefixed temporary `.flows.<name>.tmp-…`, so an interval
// is complete when it has a closed file and no temporary.
//   last      the newest complete interval (every file of it: `.rN` files after SIGHUP too)
//   last:N    the newest N complete intervals
//   hour/day  the previous local clock hour/day: every file whose interval starts in it; refused
//             (exit 75, try again) while a file of it is still being written

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FlowmeterError } from '../errors.js';
import { describeSystemError } from '../cli/io.js';
import { STAMP_PATTERN } from '../capture/rotate.js';

export type PeriodSpec = { kind: 'last'; count: number } | { kind: 'hour' | 'day' };

export function parsePeriod(v: string): PeriodSpec | undefined {
  if (v === 'hour' || v === 'day') return { kind: v };
  const m = /^last(?::([1-9][0-9]{0,5}))?$/.exec(v);
  if (m) return { kind: 'last', count: m[1] === undefined ? 1 : Number(m[1]) };
  return undefined;
}

const CLOSED = new RegExp(`^flows\\.(${STAMP_PATTERN})(?:\\.r([0-9]+))?\\.ndjson(?:\\.gz)?$`);
const TEMP = new RegExp(`^\\.flows\\.(${STAMP_PATTERN})(?:\\.r[0-9]+)?\\.ndjson(?:\\.gz)?\\.tmp-`);

/** The time (ms) of a flow-capture file name's stamp: `YYYYMMDDhhmm[ss]` then `Z` (UTC), a UTC
 *  offset `+hhmm`/`-hhmm` (--local-time), or nothing (names written before they carried their
 *  zone, which were in local time and are read so). */
export function stampTime(stamp: string): number {
  const n = (i: number, w: number): number => Number(stamp.slice(i, i + w));
  const digits = /^[0-9]+/.exec(stamp)![0].length;
  const fields = [n(0, 4), n(4, 2) - 1, n(6, 2), n(8, 2), n(10, 2), digits > 12 ? n(12, 2) : 0] as const;
  const zone = stamp.slice(digits);
  if (zone === '') return new Date(...fields).getTime();
  const offsetMin = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (n(digits + 1, 2) * 60 + n(digits + 3, 2));
  return Date.UTC(...fields) - offsetMin * 60_000;
}

export interface PeriodSelection {
  files: string[];
  /** Interval starts (ms) of the first and last interval read. */
  first: number;
  last: number;
  description: string;
}

function localText(ms: number): string {
  const d = new Date(ms);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function selectPeriod(dir: string, spec: PeriodSpec, now = Date.now()): PeriodSelection {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FlowmeterError('no-input', `--dir ${dir}: ${describeSystemError(err)}`);
  }
  // by interval start (ms): names of one interval in different forms are one interval
  const byStart = new Map<number, Array<{ name: string; reopen: number }>>();
  const active = new Set<number>();
  for (const name of names) {
    const c = CLOSED.exec(name);
    if (c) {
      const start = stampTime(c[1]!);
      const list = byStart.get(start) ?? [];
      list.push({ name, reopen: c[2] === undefined ? 0 : Number(c[2]) });
      byStart.set(start, list);
      continue;
    }
    const t = TEMP.exec(name);
    if (t) active.add(stampTime(t[1]!));
  }
  const filesOf = (starts: number[]): string[] =>
    starts.flatMap((s) =>
      byStart
        .get(s)!
        .sort((a, b) => a.reopen - b.reopen || (a.name < b.name ? -1 : 1))
        .map((f) => join(dir, f.name)),
    );
  const byTime = (a: number, b: number): number => a - b;

  if (spec.kind === 'last') {
    const oldestActive = Math.min(...active);
    // an interval at or after one still written is not complete
    const complete = [...byStart.keys()].filter((s) => s < oldestActive).sort(byTime);
    if (complete.length === 0) {
      if (active.size > 0)
        throw new FlowmeterError(
          'temporary',
          `--period last: no complete interval in ${dir} yet (a file is still being written); try again later`,
        );
      throw new FlowmeterError('no-input', `--period last: no flow-capture files (flows.*.ndjson[.gz]) in ${dir}`);
    }
    const starts = complete.slice(-spec.count);
    const first = starts[0]!;
    const last = starts[starts.length - 1]!;
    const files = filesOf(starts);
    const what =
      starts.length === 1
        ? `interval ${localText(first)}`
        : `${starts.length} intervals ${localText(first)} – ${localText(last)}`;
    return { files, first, last, description: `${what} (${files.length} file${files.length === 1 ? '' : 's'})` };
  }

  // the previous clock hour / day, local time
  const d = new Date(now);
  let from: Date, to: Date;
  if (spec.kind === 'hour') {
    // the start of this clock hour in real time: the wall clock repeats an hour when summer time
    // ends, and the previous hour is still the hour before `to`
    to = new Date(now - d.getMinutes() * 60_000 - d.getSeconds() * 1000 - d.getMilliseconds());
    from = new Date(to.getTime() - 3_600_000);
  } else {
    to = new Date(d.getFullYear(), d.getMonth(), d.getDate());
    from = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1);
  }
  const inWindow = (t: number): boolean => t >= from.getTime() && t < to.getTime();
  const busy = [...active].filter(inWindow);
  const label = `${spec.kind} ${localText(from.getTime())} – ${localText(to.getTime())}`;
  if (busy.length > 0)
    throw new FlowmeterError(
      'temporary',
      `--period ${spec.kind}: ${busy.length} file(s) of the ${label} still being written in ${dir}; try again later`,
    );
  const starts = [...byStart.keys()].filter(inWindow).sort(byTime);
  if (starts.length === 0)
    throw new FlowmeterError('no-input', `--period ${spec.kind}: no flow-capture files of the ${label} in ${dir}`);
  const files = filesOf(starts);
  return {
    files,
    first: starts[0]!,
    last: starts[starts.length - 1]!,
    description: `${label} (${files.length} file${files.length === 1 ? '' : 's'})`,
  };
}
