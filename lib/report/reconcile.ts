// flow-report --reconcile: do the bills of a period hold every byte of its flows? Per interval
// (the capture files of one flow-capture -w stamp) and in total:
//
//   flows           bytes of every flow record read
//   billed ab/ba    BYTES of the billing lines of that interval's capture files (agg-ab, agg-ba)
//   twice           bytes of flows between two subscribers in billed intervals: billed as ab
//                   (their sender) and as ba (their receiver), so counted in both columns
//   no subscriber   bytes of flows with neither address in the subscriber space: billed by design
//                   to nobody
//   not yet billed  bytes of subscriber flows of capture files without bills yet (the billing
//                   cycle has not reached them, or their bills wait in the hcd spool)
//   difference      subscriber bytes the bills lack (negative: bills hold more than the flows)
//
// so that, exactly, for every interval and the total:
//   flows = billed_ab + billed_ba - twice + no_subscriber + not_yet_billed + difference
//
// A subscriber flow is billed ab when its source is a subscriber and ba when its destination is
// (billing-cycle.sh's aggregate_filter "src net …" / "dst net …"); with no subscriber space given
// every address is a subscriber, as the cycle without SUBSCRIBERS bills every flow both ways.
// Bills come from Hydra CSV files (flow-report --format hydra --split: NAME-ab, NAME-ba), each
// found to belong to a capture file by the capture file's name in its path (billing-cycle.sh
// writes STATE_DIR/work/FILE/report/NAME-ab), whose every D_BEGIN..D_END must then lie within
// the times of that file's flows; or from hcd-putfile's ledger and spool, by the
// SHA-256 of the billing files the cycle makes of each capture file (regenerated here with the
// same steps: flow-aggregate's Aggregator, then hydraLine), which the ledger records for every
// file hcd accepted. The cycle bills capture files oldest first, so a capture file without
// bills is "not yet billed" when no later one is billed, and a difference (its bills are
// missing) when a later one is.
//
// Every sum is an exact uint64 counter (lib/flow/counter.ts); differences are signed bigints.

import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { readLines, LineTooLongError } from '../cli/lines.js';
import { openInput, describeSystemError } from '../cli/io.js';
import { readRecords, type NdjsonInputIO, type RejectLine } from '../cli/ndjson-input.js';
import { FlowmeterError } from '../errors.js';
import type { InputFormat } from '../flow/dialects.js';
import type { FlowRecord } from '../flow/record.js';
import { addCounters, counterOf, stringifyCounters, type Counter } from '../flow/counter.js';
import { describeProblem, isProblem, parseBillingLine, withTrailingSemicolon } from '../hcd/billing.js';
import { UNMATCHED_V4, UNMATCHED_V6, type NetworkTable } from '../networks/file.js';
import { Aggregator } from '../aggregate/aggregator.js';
import { SHORTHANDS } from '../aggregate/primitives.js';
import type { FlowPredicate } from '../filter/filter.js';
import { HydraError, hydraLine, type Direction, type HydraOptions } from './hydra.js';
import { rowOfAggregate } from './record.js';
import { Ledger, isInDoubt } from '../hcd/ledger.js';
import { listSpool } from '../hcd/spool.js';

/** flow-capture's closed file names: flows.STAMP[.rN].ndjson[.gz] (STAMP digits, maybe a zone). */
const CAPTURE_NAME = /^flows\.([0-9]{12}(?:[0-9]{2})?[^.]*)(?:\.r[0-9]+)?\.ndjson(?:\.gz)?$/;

/** The interval a capture file belongs to: its stamp; any other file is an interval of its own. */
export function intervalOf(path: string): string {
  const name = basename(path);
  return CAPTURE_NAME.exec(name)?.[1] ?? name;
}

/** Which addresses are subscribers'; undefined = every address. */
export type SubscriberSpace = NetworkTable | undefined;

function isSubscriber(space: SubscriberSpace, addr: string): boolean {
  if (!space) return true;
  if (addr === '') return false;
  const e = space.lookup(addr);
  return e !== undefined && e !== UNMATCHED_V4 && e !== UNMATCHED_V6;
}

/** How the cycle turns a capture file into billing files, to find them in the ledger. */
export interface BillingSteps {
  /** The cycle's NETWORKS (flow-aggregate -n): dst_net/src_net of the billing lines. */
  networks?: NetworkTable;
  /** The cycle's aggregate_filter for ab and ba (from SUBSCRIBERS); undefined = every flow. */
  filters?: Record<Direction, FlowPredicate>;
  hydra: HydraOptions;
  /** Statistics name: NAME-ab and NAME-ba. */
  name: string;
}

export type BillSource =
  { kind: 'hydra'; paths: readonly string[] } | { kind: 'ledger'; ledger: string; spool?: string; steps: BillingSteps };

export interface ReconcileConfig {
  flowFiles: readonly string[];
  bills: BillSource;
  subscribers: SubscriberSpace;
  inputFormat: InputFormat;
}

export interface ReconcileIO extends NdjsonInputIO {
  reject: RejectLine;
  /** Notes for stderr (bills outside the period, spooled or in-doubt uploads). */
  note: (message: string) => void;
}

export type IntervalStatus = 'billed' | 'not yet billed' | 'missing' | 'difference' | 'in doubt';

/** One line of the reconciliation: an interval, or the total (interval "total"). */
export interface ReconcileRow {
  interval: string;
  files: number;
  flows: Counter;
  billed_ab: Counter;
  billed_ba: Counter;
  twice: Counter;
  no_subscriber: Counter;
  not_yet_billed: Counter;
  difference_ab: number | bigint;
  difference_ba: number | bigint;
  difference: number | bigint;
  status: IntervalStatus | 'total';
}

export interface Reconciliation {
  intervals: ReconcileRow[];
  total: ReconcileRow;
  /** Flows and bills agree: every difference is 0 (what the exit status and the metrics
   *  gauge flowmeter_reconcile_difference_bytes report). */
  agrees: boolean;
}

/** What the flows of one capture file hold. */
interface FileFlows {
  path: string;
  flows: Counter;
  ab: Counter; // bytes with a subscriber source
  ba: Counter; // bytes with a subscriber destination
  twice: Counter;
  none: Counter;
  /** First start and last end (Unix seconds) of its flows, as flow-aggregate times aggregates:
   *  every D_BEGIN/D_END of its bills lies within. */
  span: { first: number; last: number };
  /** Ledger mode: the billing files the cycle makes of this capture file. */
  expected?: Record<Direction, { sha256: string; bytes: Counter; lines: number }>;
}

/** What was billed for one capture file. */
interface FileBills {
  ab: Counter;
  ba: Counter;
  files: number;
  /** Ledger mode: the uploads wait in the spool or are in doubt (not yet billed). */
  pending?: 'spooled' | 'in doubt';
}

// ---- flows --------------------------------------------------------------------------------

function flowClass(space: SubscriberSpace, f: FlowRecord): { src: boolean; dst: boolean } {
  return { src: isSubscriber(space, f.src_addr), dst: isSubscriber(space, f.dst_addr) };
}

async function readFileFlows(
  path: string,
  cfg: ReconcileConfig,
  io: ReconcileIO,
  counts: { lines: number },
): Promise<FileFlows> {
  const t: FileFlows = { path, flows: 0, ab: 0, ba: 0, twice: 0, none: 0, span: { first: Infinity, last: -Infinity } };
  const steps = cfg.bills.kind === 'ledger' ? cfg.bills.steps : undefined;
  const aggs = steps ? billingAggregators(steps) : undefined;
  await readRecords([path], io, counts, io.reject, cfg.inputFormat, (rec, file, line) => {
    if (rec.kind !== 'flow') {
      io.reject(
        `${file}:${line}`,
        'not a flow record',
        'an aggregate record: --reconcile reads the flow files of flow-capture -w',
      );
      return;
    }
    const f = rec.flow;
    const c = flowClass(cfg.subscribers, f);
    t.flows = addCounters(t.flows, f.bytes);
    if (c.src) t.ab = addCounters(t.ab, f.bytes);
    if (c.dst) t.ba = addCounters(t.ba, f.bytes);
    if (c.src && c.dst) t.twice = addCounters(t.twice, f.bytes);
    if (!c.src && !c.dst) t.none = addCounters(t.none, f.bytes);
    widenSpan(t.span, f);
    if (aggs) {
      aggs.ab.addFlow(f);
      aggs.ba.addFlow(f);
    }
  });
  if (aggs && steps) t.expected = { ab: billingFile(aggs.ab, steps, path), ba: billingFile(aggs.ba, steps, path) };
  return t;
}

/** flow-aggregate's time of a flow: start (or arrival) to end (or start), in whole seconds. */
function widenSpan(span: FileFlows['span'], f: FlowRecord): void {
  const startNs = f.time_flow_start_ns || f.time_received_ns;
  const endNs = Math.max(f.time_flow_end_ns || startNs, startNs);
  span.first = Math.min(span.first, Math.floor(startNs / 1e9));
  span.last = Math.max(span.last, Math.floor(endNs / 1e9));
}

function billingAggregators(s: BillingSteps): Record<Direction, Aggregator> {
  const make = (d: Direction): Aggregator =>
    new Aggregator({
      name: `${s.name}-${d}`,
      primitives: SHORTHANDS[d],
      filters: s.filters ? [s.filters[d]] : [],
      networks: s.networks,
      netSource: 'file',
    });
  return { ab: make('ab'), ba: make('ba') };
}

/** The billing file flow-aggregate then flow-report --format hydra make of these aggregates. */
function billingFile(
  agg: Aggregator,
  s: BillingSteps,
  path: string,
): { sha256: string; bytes: Counter; lines: number } {
  let text = '';
  let bytes: Counter = 0;
  let lines = 0;
  for (const rec of agg.results('key')) {
    const row = rowOfAggregate(agg.primitives, rec);
    let l;
    try {
      l = hydraLine(row, s.hydra);
    } catch (e) {
      if (e instanceof HydraError)
        throw new FlowmeterError('data', `${path}: ${e.message}: the billing cycle cannot bill this file either`);
      throw e;
    }
    if (!l) continue;
    text += `${l.text}\n`;
    bytes = addCounters(bytes, l.bytes);
    lines++;
  }
  return { sha256: createHash('sha256').update(text).digest('hex'), bytes, lines };
}

// ---- bills: Hydra CSV files ---------------------------------------------------------------

/** The direction of a billing file from its name (NAME-ab, NAME-ba, as --split writes them). */
function billDirection(path: string): Direction | undefined {
  const m = /-(ab|ba)(?:\.csv)?$/.exec(basename(path));
  return m ? (m[1] as Direction) : undefined;
}

/** The capture file a billing file was made from: the nearest directory of its path named like
 *  one (billing-cycle.sh's work/FILE/report/NAME-ab). */
export function captureFileOf(path: string): string | undefined {
  const parts = path.split(sep).slice(0, -1).reverse();
  return parts.find((p) => CAPTURE_NAME.test(p));
}

/** Billing files under the paths given (directories are walked). */
function billFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, given: boolean): void => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new FlowmeterError('no-input', `--bills ${p}: ${describeSystemError(e as NodeJS.ErrnoException)}`);
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) if (!n.startsWith('.')) walk(join(p, n), false);
    } else if (billDirection(p)) out.push(p);
    else if (given)
      throw new FlowmeterError(
        'usage',
        `--bills ${p}: not a billing file (expected a name ending in -ab or -ba, as flow-report --split writes)`,
      );
  };
  for (const p of paths) walk(p, true);
  return out;
}

/** Sum of BYTES of a Hydra CSV, every line checked as hcd-putfile checks it before sending. */
async function billBytes(path: string, of: FileFlows, io: ReconcileIO): Promise<Counter> {
  let sum: Counter = 0;
  const now = Math.floor(Date.now() / 1000);
  const src = await openInput(path, io.stdin);
  try {
    for await (const batch of readLines(src.stream)) {
      batch.lines.forEach((line, i) => {
        if (line.trim() === '') return;
        const l = parseBillingLine(withTrailingSemicolon(line), now);
        const place = `${path}:${batch.firstLine + i}`;
        if (isProblem(l)) io.reject(place, 'not a billing line', describeProblem(l));
        else if (l.begin < of.span.first || l.end > of.span.last) {
          io.reject(
            place,
            'bill of other flows',
            `D_BEGIN..D_END ${l.begin}..${l.end} is not within the flows of ${of.path} (${of.span.first}..${of.span.last}): a billing file of another capture file?`,
          );
        } else sum = addCounters(sum, counterOf(l.bytes));
      });
    }
  } catch (e) {
    if (e instanceof LineTooLongError)
      io.reject(`${path}:${e.line}`, 'not a billing line', `${e.message}; rest of ${path} skipped`);
    else if (e instanceof FlowmeterError) throw e;
    else throw new FlowmeterError('io', `${path}: read error: ${(e as Error).message}`);
  }
  return sum;
}

async function hydraBills(
  paths: readonly string[],
  captureFiles: ReadonlyMap<string, FileFlows>,
  io: ReconcileIO,
): Promise<Map<string, FileBills>> {
  const bills = new Map<string, FileBills>();
  let outside = 0;
  for (const p of billFiles(paths)) {
    const capture = captureFileOf(p);
    if (capture === undefined) {
      throw new FlowmeterError(
        'usage',
        `--bills ${p}: cannot tell which capture file it was made from: keep billing files under a directory named after it (billing-cycle.sh's work/FILE/report/)`,
      );
    }
    const of = captureFiles.get(capture);
    if (!of) {
      outside++;
      continue;
    }
    const b = bills.get(capture) ?? { ab: 0, ba: 0, files: 0 };
    const bytes = await billBytes(p, of, io);
    const d = billDirection(p)!;
    b[d] = addCounters(b[d], bytes);
    b.files++;
    bills.set(capture, b);
  }
  if (outside > 0) io.note(`${outside} billing file(s) of capture files not read here were left out`);
  return bills;
}

// ---- bills: hcd-putfile's ledger and spool --------------------------------------------------

async function ledgerBills(
  src: Extract<BillSource, { kind: 'ledger' }>,
  files: readonly FileFlows[],
  io: ReconcileIO,
): Promise<Map<string, FileBills>> {
  const ledger = await Ledger.open(src.ledger);
  if (ledger.size === 0) io.note(`${src.ledger}: no uploads recorded`);
  const spooled = src.spool ? await listSpool(src.spool) : [];
  const bills = new Map<string, FileBills>();
  for (const f of files) {
    const b: FileBills = { ab: 0, ba: 0, files: 0 };
    for (const d of ['ab', 'ba'] as const) {
      const want = f.expected![d];
      const name = `${src.steps.name}-${d}`;
      if (want.lines === 0) continue; // nothing to send: hcd-putfile sends no empty file
      const entry = ledger.find(want.sha256, name);
      if (entry?.state === 'sent') {
        b[d] = want.bytes;
        b.files++;
      } else if (isInDoubt(entry)) b.pending = 'in doubt';
      else if (spooled.some((s) => s.name === name && want.sha256.startsWith(s.sha12))) b.pending ??= 'spooled';
    }
    const anyExpected = f.expected!.ab.lines + f.expected!.ba.lines > 0;
    if (b.files > 0 || b.pending || !anyExpected) bills.set(basename(f.path), b);
    if (b.pending)
      io.note(
        `${f.path}: its billing file waits ${b.pending === 'spooled' ? `in the spool ${src.spool}` : 'in doubt (hcd-putfile(1): --mark-delivered or --resend-in-doubt)'}`,
      );
  }
  return bills;
}

// ---- the reconciliation -------------------------------------------------------------------

const big = (c: Counter): bigint => BigInt(c);
function signed(x: bigint): number | bigint {
  return x >= -BigInt(Number.MAX_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
}

function emptyRow(interval: string): ReconcileRow {
  return {
    interval,
    files: 0,
    flows: 0,
    billed_ab: 0,
    billed_ba: 0,
    twice: 0,
    no_subscriber: 0,
    not_yet_billed: 0,
    difference_ab: 0,
    difference_ba: 0,
    difference: 0,
    status: 'billed',
  };
}

/** One capture file's line of the reconciliation, by its bills (undefined: none found). */
function fileRow(f: FileFlows, b: FileBills | undefined, laterBilled: boolean): ReconcileRow {
  const r = emptyRow(intervalOf(f.path));
  r.files = 1;
  r.flows = f.flows;
  r.no_subscriber = f.none;
  if (b?.pending !== undefined || (!b && !laterBilled)) {
    r.not_yet_billed = signedCounter(big(f.flows) - big(f.none));
    r.status = b?.pending === 'in doubt' ? 'in doubt' : 'not yet billed';
    return r;
  }
  r.billed_ab = b?.ab ?? 0;
  r.billed_ba = b?.ba ?? 0;
  r.twice = f.twice;
  r.difference_ab = signed(big(f.ab) - big(r.billed_ab));
  r.difference_ba = signed(big(f.ba) - big(r.billed_ba));
  r.difference = signed(big(r.difference_ab) + big(r.difference_ba));
  r.status = !b ? 'missing' : r.difference_ab !== 0 || r.difference_ba !== 0 ? 'difference' : 'billed';
  return r;
}

function signedCounter(x: bigint): Counter {
  return signed(x) as Counter; // never negative here: flows >= bytes of no subscriber
}

const SUMMED = ['flows', 'billed_ab', 'billed_ba', 'twice', 'no_subscriber', 'not_yet_billed'] as const;
const SIGNED = ['difference_ab', 'difference_ba', 'difference'] as const;

function addRow(into: ReconcileRow, r: ReconcileRow): void {
  into.files += r.files;
  for (const k of SUMMED) into[k] = addCounters(into[k], r[k]);
  for (const k of SIGNED) into[k] = signed(big(into[k]) + big(r[k]));
}

/** The status of an interval of several capture files: the worst of theirs. */
const SEVERITY: readonly IntervalStatus[] = ['billed', 'not yet billed', 'in doubt', 'missing', 'difference'];
function worse(a: IntervalStatus, b: IntervalStatus): IntervalStatus {
  return SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b;
}

/** Read the flows and the bills and reconcile them (see the top of this file). */
export async function reconcile(
  cfg: ReconcileConfig,
  io: ReconcileIO,
  counts: { lines: number },
): Promise<Reconciliation> {
  const seen = new Map<string, FileFlows>();
  const files: FileFlows[] = [];
  for (const path of cfg.flowFiles) {
    if (path === '-')
      throw new FlowmeterError(
        'usage',
        '--reconcile reads flow-capture files by name (their names tell the intervals): stdin cannot be one',
      );
    const name = basename(path);
    if (seen.has(name)) throw new FlowmeterError('usage', `${path}: a capture file of that name was given twice`);
    const f = await readFileFlows(path, cfg, io, counts);
    seen.set(name, f);
    files.push(f);
    if (io.signal?.aborted) break;
  }
  const bills =
    cfg.bills.kind === 'hydra' ? await hydraBills(cfg.bills.paths, seen, io) : await ledgerBills(cfg.bills, files, io);

  // oldest first, as the cycle bills them: file names of one stamp sort by time
  files.sort((a, b) => (basename(a.path) < basename(b.path) ? -1 : basename(a.path) > basename(b.path) ? 1 : 0));
  const billedAfter = new Array<boolean>(files.length).fill(false);
  for (let i = files.length - 2; i >= 0; i--)
    billedAfter[i] = billedAfter[i + 1]! || (bills.get(basename(files[i + 1]!.path))?.files ?? 0) > 0;

  const byInterval = new Map<string, ReconcileRow>();
  files.forEach((f, i) => {
    const r = fileRow(f, bills.get(basename(f.path)), billedAfter[i]!);
    const into = byInterval.get(r.interval);
    if (!into) byInterval.set(r.interval, r);
    else {
      const status = worse(into.status as IntervalStatus, r.status as IntervalStatus);
      addRow(into, r);
      into.status = status;
    }
  });
  const intervals = [...byInterval.values()];
  const total = emptyRow('total');
  for (const r of intervals) addRow(total, r);
  total.status = 'total';
  return { intervals, total, agrees: intervals.every((r) => r.difference_ab === 0 && r.difference_ba === 0) };
}

// ---- output -------------------------------------------------------------------------------

export const RECONCILE_FORMATS = ['text', 'csv', 'ndjson'] as const;
export type ReconcileFormat = (typeof RECONCILE_FORMATS)[number];

const COLUMNS = [
  'interval',
  'files',
  'flows',
  'billed_ab',
  'billed_ba',
  'twice',
  'no_subscriber',
  'not_yet_billed',
  'difference_ab',
  'difference_ba',
  'difference',
  'status',
] as const;
const HEADINGS: Record<(typeof COLUMNS)[number], string> = {
  interval: 'INTERVAL',
  files: 'FILES',
  flows: 'FLOWS',
  billed_ab: 'BILLED AB',
  billed_ba: 'BILLED BA',
  twice: 'TWICE',
  no_subscriber: 'NO SUBSCRIBER',
  not_yet_billed: 'NOT YET BILLED',
  difference_ab: 'DIFF AB',
  difference_ba: 'DIFF BA',
  difference: 'DIFFERENCE',
  status: 'STATUS',
};

/** The reconciliation as lines of text (bytes as exact integers), csv (`;`) or ndjson. */
export function reconcileLines(r: Reconciliation, format: ReconcileFormat): string[] {
  const rows = [...r.intervals, r.total];
  if (format === 'ndjson') return rows.map((x) => stringifyCounters(Object.fromEntries(COLUMNS.map((c) => [c, x[c]]))));
  const cells = rows.map((x) => COLUMNS.map((c) => String(x[c])));
  if (format === 'csv') return [COLUMNS.join(';'), ...cells.map((c) => c.join(';'))];
  const table = [COLUMNS.map((c) => HEADINGS[c]), ...cells];
  const width = COLUMNS.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const text = (row: string[]): string =>
    row
      .map((v, i) => (i === 0 || i === COLUMNS.length - 1 ? v.padEnd(width[i]!) : v.padStart(width[i]!)))
      .join('  ')
      .trimEnd();
  return [
    text(table[0]!),
    ...table.slice(1, -1).map(text),
    '-'.repeat(width.reduce((a, b) => a + b + 2, -2)),
    text(table[table.length - 1]!),
  ];
}
