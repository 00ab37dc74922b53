// `--period` with `--dir DIR`: pick the closed files of flow-capture's `-w DIR --rotate N` for a
// cron job. Files are `flows.YYYYMMDDhhmm[ss][.rN].ndjson[.gz]` (local time of the interval
// start); the file being written is a dot-prefixed temporary `.flows.<name>.tmp-…`, so an interval
// is complete when it has a closed file and no temporary.
//   last      the newest complete interval (every file of it: `.rN` files after SIGHUP too)
//   last:N    the newest N complete intervals
//   hour/day  the previous local clock hour/day: every file whose interval starts in it; refused
//             (exit 75, try again) while a file of it is still being written

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from '../cli/exit.js';
import { describeSystemError } from '../cli/io.js';

export type PeriodSpec = { kind: 'last'; count: number } | { kind: 'hour' | 'day' };

export function parsePeriod(v: string): PeriodSpec | undefined {
  if (v === 'hour' || v === 'day') return { kind: v };
  const m = /^last(?::([1-9][0-9]{0,5}))?$/.exec(v);
  if (m) return { kind: 'last', count: m[1] === undefined ? 1 : Number(m[1]) };
  return undefined;
}

const CLOSED = /^flows\.([0-9]{12}(?:[0-9]{2})?)(?:\.r([0-9]+))?\.ndjson(?:\.gz)?$/;
const TEMP = /^\.flows\.([0-9]{12}(?:[0-9]{2})?)(?:\.r[0-9]+)?\.ndjson(?:\.gz)?\.tmp-/;

/** Local time (ms) of a `YYYYMMDDhhmm[ss]` stamp, as flow-capture names files. */
export function stampTime(stamp: string): number {
  const n = (i: number, w: number): number => Number(stamp.slice(i, i + w));
  return new Date(n(0, 4), n(4, 2) - 1, n(6, 2), n(8, 2), n(10, 2), stamp.length > 12 ? n(12, 2) : 0).getTime();
}

export interface PeriodSelection {
  files: string[];
  /** Local-time interval starts (ms) of the first and last interval read. */
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
    throw new CliError(`--dir ${dir}: ${describeSystemError(err)}`, EXIT.NOINPUT);
  }
  const byStamp = new Map<string, Array<{ name: string; reopen: number }>>();
  const active = new Set<string>();
  for (const name of names) {
    const c = CLOSED.exec(name);
    if (c) {
      const list = byStamp.get(c[1]!) ?? [];
      list.push({ name, reopen: c[2] === undefined ? 0 : Number(c[2]) });
      byStamp.set(c[1]!, list);
      continue;
    }
    const t = TEMP.exec(name);
    if (t) active.add(t[1]!);
  }
  const filesOf = (stamps: string[]): string[] =>
    stamps.flatMap((s) => byStamp.get(s)!.sort((a, b) => a.reopen - b.reopen).map((f) => join(dir, f.name)));

  if (spec.kind === 'last') {
    const oldestActive = [...active].sort()[0];
    // same-length stamps compare as times; an interval at or after one still written is not complete
    const complete = [...byStamp.keys()].filter((s) => !active.has(s) && (oldestActive === undefined || stampTime(s) < stampTime(oldestActive))).sort((a, b) => stampTime(a) - stampTime(b));
    if (complete.length === 0) {
      if (active.size > 0) throw new CliError(`--period last: no complete interval in ${dir} yet (a file is still being written); try again later`, EXIT.TEMPFAIL);
      throw new CliError(`--period last: no flow-capture files (flows.*.ndjson[.gz]) in ${dir}`, EXIT.NOINPUT);
    }
    const stamps = complete.slice(-spec.count);
    const first = stampTime(stamps[0]!);
    const last = stampTime(stamps[stamps.length - 1]!);
    const files = filesOf(stamps);
    const what = stamps.length === 1 ? `interval ${localText(first)}` : `${stamps.length} intervals ${localText(first)} – ${localText(last)}`;
    return { files, first, last, description: `${what} (${files.length} file${files.length === 1 ? '' : 's'})` };
  }

  // the previous clock hour / day, local time
  const d = new Date(now);
  let from: Date, to: Date;
  if (spec.kind === 'hour') {
    to = new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours());
    from = new Date(to.getTime() - 3_600_000);
    // a DST change: the previous hour is still the hour before `to`
  } else {
    to = new Date(d.getFullYear(), d.getMonth(), d.getDate());
    from = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1);
  }
  const inWindow = (s: string): boolean => {
    const t = stampTime(s);
    return t >= from.getTime() && t < to.getTime();
  };
  const busy = [...active].filter(inWindow);
  const label = `${spec.kind} ${localText(from.getTime())} – ${localText(to.getTime())}`;
  if (busy.length > 0) throw new CliError(`--period ${spec.kind}: ${busy.length} file(s) of the ${label} still being written in ${dir}; try again later`, EXIT.TEMPFAIL);
  const stamps = [...byStamp.keys()].filter(inWindow).sort((a, b) => stampTime(a) - stampTime(b));
  if (stamps.length === 0) throw new CliError(`--period ${spec.kind}: no flow-capture files of the ${label} in ${dir}`, EXIT.NOINPUT);
  const files = filesOf(stamps);
  return { files, first: stampTime(stamps[0]!), last: stampTime(stamps[stamps.length - 1]!), description: `${label} (${files.length} file${files.length === 1 ? '' : 's'})` };
}
