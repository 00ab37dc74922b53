// flow-report: render flows or aggregates as pmacct tables (byte-exact `pmacct -s`, csv, json),
// the Hydra collector's table, the Hydra billing CSV (agg-ab/agg-ba), flow-tools reports, or a
// table for people; aggregates flows itself with flow-aggregate's library when given -a.

import { untilSignal, type Proc } from '../cli/run.js';
import {
  makeParser,
  parseArgs,
  makeLog,
  intInRange,
  compileFilterArgs,
  type ArgsOf,
  type CommandSpec,
  INPUT_FORMAT_OPTION,
} from '../cli/options.js';
import { EXIT } from '../cli/exit.js';
import { FlowmeterError, usageError } from '../errors.js';
import { refuseTerminalStdin } from '../cli/io.js';
import { inputExitStatus, rejectLine } from '../cli/ndjson-input.js';
import { colorLevel, makeChalk } from '../cli/color.js';
import { parsePrimitiveList, SHORTHANDS, type Primitive } from '../aggregate/primitives.js';
import { compileFilter } from '../filter/filter.js';
import { loadNetworksFile } from '../networks/file.js';
import { ONE_WAY_PRIMITIVES } from '../report/record.js';
import { badHydraId, GoodMap, ObjectMap, type Direction } from '../report/hydra.js';
import { FLOW_TOOLS_REPORT_NAMES, type FtSortField } from '../report/flowtools.js';
import { FORMATS, runReport, type ReportConfig, type SortKey } from '../report/run.js';
import { parsePeriod, selectPeriod, type PeriodSelection } from '../report/period.js';
import { statSync } from 'node:fs';
import { addMetricsFileOption, reportInput, type RunReport } from '../cli/metrics.js';
import { BatchWriter } from '../cli/writer.js';
import { writeFileAtomic } from '../cli/io.js';
import type { Log } from '../cli/log.js';
import { parseNetworks, type NetworkTable } from '../networks/file.js';
import type { FlowPredicate } from '../filter/filter.js';
import {
  RECONCILE_FORMATS,
  reconcile,
  reconcileLines,
  type BillSource,
  type ReconcileFormat,
  type Reconciliation,
} from '../report/reconcile.js';

const PROG = 'flow-report';

const SPEC: CommandSpec = {
  prog: PROG,
  synopsis: ['[options] [FILE...]'],
  summary:
    'Render flow or aggregate NDJSON: pmacct -s tables (formatted, csv, json), the Hydra collector table, the ' +
    'Hydra billing CSV (agg-ab/agg-ba), flow-tools reports, a human table, csv or ndjson.',
  examples: [
    [
      'flow-aggregate --ab -n subs.lst flows.ndjson | flow-report --format pmacct',
      'the table `pmacct -s` prints for src_host,dst_net,dst_mask',
    ],
    [
      'flow-report -a src_host,dst_net,dst_mask -n subs.lst --format pmacct-json flows.ndjson',
      'aggregate and print like `pmacct -s -O json`',
    ],
    [
      'flow-report --format hydra --good-map services.map --split /var/spool/hydra agg-ab.ndjson agg-ba.ndjson',
      'billing files agg-ab and agg-ba, written atomically',
    ],
    [
      'flow-report --format hcd-table --ab -n subs.lst flows.ndjson',
      "the pmacct 0.12 table hcd's nfacctd module parses",
    ],
    [
      'flow-report --format flow-tools --report ip-destination-port --top 10 flows.ndjson',
      'top destination ports, flow-tools style',
    ],
    [
      'flow-report -a dst_host --top 20 flows.ndjson',
      'a table for people: top 20 destinations with bars on a terminal',
    ],
    [
      'flow-report --period last --dir /var/spool/flows --format html -o /var/www/traffic/index.html',
      'cron: a web page for the last closed flow-capture file',
    ],
    [
      'flow-report --period hour --dir /var/spool/flows --format hydra --ab -n subs.lst --split /var/spool/hydra',
      'cron at 5 past the hour: bill the previous hour',
    ],
    [
      'flow-report --reconcile --subscribers 10.5.0.0/16 --bills /srv/bills flows.2026112203*',
      'did their bills take every byte? exit 1 when not',
    ],
    [
      'flow-report --reconcile --period last:12 --dir /var/spool/flows --subscribers 10.5.0.0/16 -n nets.lst --ledger hcd-ledger.json',
      'the last hour, against what hcd accepted',
    ],
  ],
};

/** Unix seconds or an ISO 8601 date/time (UTC unless an offset is given). */
function parseTime(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^[0-9]{1,12}$/.test(v)) return Number(v);
  const t = Date.parse(/[zZ]|[+-][0-9]{2}:?[0-9]{2}$/.test(v) || !/T| /.test(v) ? v : `${v}Z`);
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(v) || !Number.isFinite(t))
    throw usageError(`--${name}: expected Unix seconds or a date like 2026-11-01T00:00:00Z, got "${v}"`);
  return Math.floor(t / 1000);
}

function separator(v: string): string {
  if (v === '\\t') return '\t';
  if (v === '\\s') return ' ';
  if (v.length !== 1) throw usageError(`--separator: expected one character (or \\t, \\s), got "${v}"`);
  return v;
}

const DEFAULT_TITLE = 'Traffic report';

function parser(proc: Proc) {
  return (
    addMetricsFileOption(makeParser(proc, SPEC))
      .command('$0 [files..]', false, (c) =>
        c.positional('files', { type: 'string', array: true, describe: 'Flow or aggregate NDJSON files (- = stdin)' }),
      )
      .option('format', {
        alias: 'F',
        type: 'string',
        choices: FORMATS,
        default: 'text' as const,
        group: 'Output:',
        describe: 'Output format',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        default: '-',
        group: 'Output:',
        describe: 'Write to FILE atomically (- = stdout)',
      })
      .option('sort', {
        type: 'string',
        choices: ['bytes', 'octets', 'packets', 'flows', 'duration', 'key', 'none'] as const,
        group: 'Output:',
        describe: 'Order rows (largest first; key = by primitives); default: input order, bytes for text/flow-tools',
      })
      .option('top', {
        type: 'string',
        coerce: intInRange('top', 1, 1e9),
        group: 'Output:',
        describe: 'Only the first N rows after sorting',
      })
      .option('aggregate', {
        alias: 'a',
        type: 'string',
        group: 'Aggregation:',
        describe: 'Aggregate first by these primitives (flow-aggregate -a), e.g. src_host,dst_net,dst_mask[,flows]',
      })
      .option('ab', {
        type: 'boolean',
        default: false,
        group: 'Aggregation:',
        describe: 'Shorthand: -a src_host,dst_net,dst_mask (outgoing, agg-ab)',
      })
      .option('ba', {
        type: 'boolean',
        default: false,
        group: 'Aggregation:',
        describe: 'Shorthand: -a src_net,src_mask,dst_host (incoming, agg-ba)',
      })
      .option('networks', {
        alias: 'n',
        type: 'string',
        group: 'Aggregation:',
        describe: 'pmacct networks_file for *_net/*_mask when aggregating',
      })
      .option('net-source', {
        type: 'string',
        choices: ['file', 'exporter', 'longest'] as const,
        group: 'Aggregation:',
        describe: 'Nets from the networks file, the exporter masks, or the longer',
      })
      .option('filter', {
        alias: 'f',
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Aggregation:',
        describe: 'tcpdump-style flow filter when aggregating (repeatable: any matches)',
      })
      .option('since', {
        type: 'string',
        group: 'Period:',
        describe: 'Only records starting at or after this time (Unix seconds or ISO date)',
      })
      .option('until', { type: 'string', group: 'Period:', describe: 'Only records starting before this time' })
      .option('period', {
        type: 'string',
        group: 'Period:',
        describe:
          'Read the files of flow-capture -w --dir: last (newest complete interval), last:N, hour or day (the previous clock hour/day)',
      })
      .option('dir', { type: 'string', group: 'Period:', describe: 'flow-capture -w directory for --period' })
      .option('flows', {
        type: 'boolean',
        default: false,
        group: 'pmacct:',
        describe: 'Print the FLOWS column (as pmacct does when "flows" is aggregated)',
      })
      .option('numeric-protocols', {
        alias: 'u',
        type: 'boolean',
        default: false,
        group: 'pmacct:',
        describe: 'Protocol numbers instead of names (pmacct -u)',
      })
      .option('separator', {
        alias: 'E',
        type: 'string',
        default: ',',
        group: 'pmacct:',
        describe: 'pmacct-csv separator (one character, \\t or \\s)',
      })
      .option('good-id', { type: 'string', group: 'Hydra:', describe: 'EXT_GOOD_ID (service id) for every line' })
      .option('good-map', {
        type: 'string',
        group: 'Hydra:',
        describe: 'Service map file: "DIRECTION NETWORK GOOD_ID" lines (remote network → id)',
      })
      .option('object-map', {
        type: 'string',
        group: 'Hydra:',
        describe: 'Equipment map file: "NETWORK OBJECT_CODE" lines (subscriber network → code)',
      })
      .option('direction', {
        type: 'string',
        choices: ['ab', 'ba'] as const,
        group: 'Hydra:',
        describe: 'Direction of every record (default: from the primitives)',
      })
      .option('split', {
        type: 'string',
        group: 'Hydra:',
        describe: 'Write NAME-ab and NAME-ba into DIR atomically instead of stdout',
      })
      .option('name', {
        type: 'string',
        default: 'agg',
        group: 'Hydra:',
        describe: 'Statistics name for --split (the Hydra aggregator code)',
      })
      .option('begin', {
        type: 'string',
        group: 'Hydra:',
        describe: "D_BEGIN for every line (default: the record's time_start)",
      })
      .option('end', {
        type: 'string',
        group: 'Hydra:',
        describe: "D_END for every line (default: the record's time_end)",
      })
      .option('report', {
        type: 'string',
        choices: FLOW_TOOLS_REPORT_NAMES,
        default: 'summary',
        group: 'flow-tools:',
        describe: 'flow-tools report type',
      })
      .option('percent', {
        type: 'boolean',
        default: false,
        group: 'flow-tools:',
        describe: 'Flows, octets and packets as percent of the total',
      })
      .option('si', {
        type: 'boolean',
        default: false,
        group: 'Text:',
        describe: 'Sizes in powers of 1000 (kB, MB; the default of --format html, with bit/s)',
      })
      .option('iec', {
        type: 'boolean',
        default: false,
        group: 'Text:',
        describe: 'Sizes in powers of 1024 (KiB, MiB; the default but for --format html)',
      })
      .option('bars', {
        type: 'boolean',
        group: 'Text:',
        describe: 'Bar per row (default: only when stdout is a terminal)',
      })
      // no default: --title given without --format html is refused
      .option('title', {
        type: 'string',
        defaultDescription: `"${DEFAULT_TITLE}"`,
        group: 'HTML:',
        describe: 'Page title for --format html',
      })
      .option('interval', {
        type: 'string',
        coerce: intInRange('interval', 1, 86400 * 366),
        group: 'HTML:',
        describe: 'Chart bin in seconds (default: chosen from the time span)',
      })
      .option('reconcile', {
        type: 'boolean',
        default: false,
        group: 'Reconcile:',
        describe: 'Bytes of the flow files against their bills, per interval and in total (exit 1 when they disagree)',
      })
      .option('bills', {
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Reconcile:',
        describe:
          'Hydra billing files NAME-ab/NAME-ba, or directories of them, under a directory named after their capture file (repeatable)',
      })
      .option('ledger', {
        type: 'string',
        group: 'Reconcile:',
        describe: 'hcd-putfile --state ledger: the bills hcd accepted (instead of --bills)',
      })
      .option('spool', {
        type: 'string',
        group: 'Reconcile:',
        describe: 'hcd-putfile spool directory: bills waiting for hcd (with --ledger)',
      })
      .option('subscribers', {
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Reconcile:',
        describe: 'Subscriber CIDRs, space- or comma-separated (billing-cycle SUBSCRIBERS); none: every address',
      })
      .option('input-format', INPUT_FORMAT_OPTION)
      .option('strict', {
        type: 'boolean',
        default: false,
        group: 'Input:',
        describe: 'Stop at the first bad input line',
      })
  );
}

type Args = ArgsOf<typeof parser>;

export async function main(proc: Proc): Promise<number | void> {
  const args = await parseArgs(parser(proc));
  if (!args) return EXIT.OK;
  const log = makeLog(proc, PROG, args);
  proc.report?.enable(args['metrics-file'], log);
  if (
    !args.reconcile &&
    (args.bills.length > 0 || args.ledger !== undefined || args.spool !== undefined || args.subscribers.length > 0)
  ) {
    throw usageError('--bills, --ledger, --spool and --subscribers apply to --reconcile');
  }
  const { files, period } = inputFiles(args, log);
  if (args.format !== 'html' && (args.interval !== undefined || args.title !== undefined))
    throw usageError('--title and --interval apply to --format html');
  refuseTerminalStdin(files, proc.stdin, 'flow or aggregate records');
  if (args.reconcile) return runReconcile(proc, args, files, log);

  const aggregation = aggregationOf(args);
  const networks = args.networks
    ? await loadNetworksFile(args.networks, {
        strict: args.strict,
        onProblem: (place, msg) => log.reject('networks file', msg, place),
      })
    : undefined;
  const networkProblems = log.rejectedTotal;
  checkOutputArgs(args);
  const cfg = reportConfig(proc, args, files, aggregation, networks, period);
  const summary = await untilSignal(proc, ['SIGINT'], (signal) =>
    runReport(cfg, { stdin: proc.stdin, stdout: proc.stdout, log, signal }),
  );
  log.flushSuppressed();
  log.info(
    `${summary.lines} lines: ${summary.flows} flows, ${summary.aggregates} aggregate records, ${summary.rejected} rejected; ${summary.rows} rows, ${summary.bytesIn} bytes`,
  );
  reportInput(proc.report, summary);
  proc.report?.gauge('flowmeter_run_accounted_bytes', 'Traffic bytes in the records read in the run', summary.bytesIn);
  return inputExitStatus(log, summary, 'reported what was read so far', {
    problems: networkProblems,
    path: args.networks,
  });
}

/** The FILE arguments, or the files of --period in --dir. */
function inputFiles(args: Args, log: Log): { files: string[]; period?: PeriodSelection } {
  if (args.period === undefined) {
    if (args.dir !== undefined) throw usageError('--dir applies to --period');
    return { files: args.files ?? [] };
  }
  const spec = parsePeriod(args.period);
  if (!spec) throw usageError(`--period: expected last, last:N, hour or day, got "${args.period}"`);
  if (args.dir === undefined) throw usageError('--period needs --dir DIR (the flow-capture -w directory)');
  if ((args.files ?? []).length > 0) throw usageError('--period reads the files in --dir: give no FILE arguments');
  const period = selectPeriod(args.dir, spec);
  log.info(`--period ${args.period}: ${period.description}: ${period.files.join(' ')}`);
  return { files: period.files, period };
}

interface Aggregation {
  /** -a/--ab/--ba: aggregate first by these (flow-aggregate's library); undefined: rows as read. */
  primitives?: Primitive[];
  /** pmacct's FLOWS column: --flows, or "flows" among the -a primitives. */
  flowsColumn: boolean;
  filters: FlowPredicate[];
  netSource: 'file' | 'exporter' | 'longest';
}

function aggregationOf(args: Args): Aggregation {
  let prims: Primitive[] | undefined;
  let flowsColumn = args.flows;
  const given = [args.aggregate !== undefined, args.ab, args.ba].filter(Boolean).length;
  if (given > 1) throw usageError('give one of -a, --ab, --ba');
  if (args.aggregate !== undefined) {
    prims = parsePrimitiveList(args.aggregate, '--aggregate');
    if (args.aggregate.split(/[\s,]+/).some((x) => x.toLowerCase() === 'flows')) flowsColumn = true;
  } else if (args.ab) prims = [...SHORTHANDS.ab];
  else if (args.ba) prims = [...SHORTHANDS.ba];
  if (!prims && (args.networks || args.filter.length > 0 || args['net-source']))
    throw usageError('-n, -f and --net-source apply when aggregating: add -a, --ab or --ba');
  if ((prims && args.format.startsWith('pmacct')) || (prims && args.format === 'hcd-table')) {
    const unsupported = prims!.filter((p) => !ONE_WAY_PRIMITIVES.has(p));
    if (unsupported.length > 0) throw usageError(`--format ${args.format}: cannot print ${unsupported.join(', ')}`);
  }
  const filters = compileFilterArgs(args.filter).map((f) => f.test);
  const netSource = args['net-source'] ?? 'file';
  if (
    prims &&
    netSource !== 'exporter' &&
    prims.some((p) => /_(net|mask)$/.test(p)) &&
    !args.networks &&
    args['net-source'] !== undefined
  ) {
    throw usageError(`--net-source ${netSource} needs a networks file (-n)`);
  }
  return { primitives: prims, flowsColumn, filters, netSource };
}

/** --si/--iec, --split, --name and --good-id, before any input is read. */
function checkOutputArgs(args: Args): void {
  if (args.si && args.iec) throw usageError('--si and --iec exclude each other');
  if (args.split !== undefined) {
    if (args.format !== 'hydra') throw usageError('--split writes Hydra billing files: use it with --format hydra');
    if (args.output !== '-') throw usageError('--split and --output exclude each other');
    let isDir = false;
    try {
      isDir = statSync(args.split).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new FlowmeterError('cant-create', `--split ${args.split}: not a directory`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(args.name))
    throw usageError(`--name: expected a statistics name like "agg", got "${args.name}"`);
  checkGoodId(args);
}

function checkGoodId(args: Args): void {
  const badGoodId = args['good-id'] === undefined ? undefined : badHydraId(args['good-id']);
  if (badGoodId) throw usageError(`--good-id: expected ${badGoodId} (got ${JSON.stringify(args['good-id'])})`);
}

function reportConfig(
  proc: Proc,
  args: Args,
  files: string[],
  agg: Aggregation,
  networks: NetworkTable | undefined,
  period: PeriodSelection | undefined,
): ReportConfig {
  const sortArg = args.sort === 'octets' ? 'bytes' : args.sort;
  if (sortArg === 'duration' && args.format !== 'flow-tools')
    throw usageError('--sort duration applies to --format flow-tools');
  const ftSort: FtSortField = sortArg === undefined || sortArg === 'none' || sortArg === 'bytes' ? 'octets' : sortArg;
  const sort: SortKey = sortArg === undefined || sortArg === 'duration' ? 'none' : sortArg;
  return {
    inputs: files,
    format: args.format,
    strict: args.strict,
    inputFormat: args['input-format'],
    aggregation: agg.primitives
      ? { name: 'report', primitives: agg.primitives, filters: agg.filters, netSource: agg.netSource }
      : undefined,
    networks,
    sort,
    top: args.top,
    since: parseTime('since', args.since),
    until: parseTime('until', args.until),
    output: args.output,
    pmacct: {
      numericProtocols: args['numeric-protocols'],
      separator: separator(args.separator),
      flows: agg.flowsColumn,
    },
    hydra: {
      goodId: args['good-id'],
      goodMap: args['good-map'] ? GoodMap.load(args['good-map']) : undefined,
      objectMap: args['object-map'] ? ObjectMap.load(args['object-map']) : undefined,
      direction: args.direction,
      split: args.split,
      name: args.name,
      begin: parseTime('begin', args.begin),
      end: parseTime('end', args.end),
    },
    flowTools: { report: args.report, percent: args.percent, sort: ftSort },
    text: {
      // bit rates are read in SI (Mbit/s): the HTML page's default, with its sizes to match
      units: args.si ? 'si' : args.iec || args.format !== 'html' ? 'iec' : 'si',
      bars: args.bars ?? (proc.stdout.isTTY === true && args.output === '-'),
      barWidth: Math.max(10, Math.min(40, (proc.stdout.columns ?? 100) - 80)),
      chalk: makeChalk(args.output === '-' ? colorLevel(proc.stdout, proc.env, args.color) : 0),
    },
    html: {
      title: args.title ?? DEFAULT_TITLE,
      interval: args.interval,
      subtitle: period ? `${args.dir}: ${period.description}` : undefined,
    },
  };
}

/** The CIDRs of `--subscribers` (each a space- or comma-separated list, as SUBSCRIBERS). */
function subscriberCidrs(lists: readonly string[]): string[] {
  return lists.flatMap((l) => l.split(/[\s,]+/)).filter(Boolean);
}

function subscriberSpace(cidrs: readonly string[]): NetworkTable | undefined {
  if (cidrs.length === 0) return undefined;
  const { table, problems } = parseNetworks(cidrs.join('\n'));
  if (problems.length > 0) throw usageError(`--subscribers: ${cidrs[problems[0]!.line - 1]}: ${problems[0]!.message}`);
  return table;
}

/** The billing filters billing-cycle.sh writes for SUBSCRIBERS (aggregate_filter[ab]/[ba]). */
function subscriberFilters(cidrs: readonly string[]): Record<Direction, FlowPredicate> | undefined {
  if (cidrs.length === 0) return undefined;
  return {
    ab: compileFilter(cidrs.map((c) => `src net ${c}`).join(' or ')).test,
    ba: compileFilter(cidrs.map((c) => `dst net ${c}`).join(' or ')).test,
  };
}

/** --metrics-file: the period's totals, for an alert on flowmeter_reconcile_difference_bytes != 0. */
function reportReconciliation(report: RunReport | undefined, r: Reconciliation): void {
  if (!report) return;
  const t = r.total;
  report.gauge('flowmeter_reconcile_flow_bytes', 'Bytes in the flows of the reconciled capture files', t.flows);
  report.gauge('flowmeter_reconcile_billed_bytes', 'Bytes billed in the reconciled period, by direction', t.billed_ab, {
    direction: 'ab',
  });
  report.gauge('flowmeter_reconcile_billed_bytes', 'Bytes billed in the reconciled period, by direction', t.billed_ba, {
    direction: 'ba',
  });
  report.gauge(
    'flowmeter_reconcile_no_subscriber_bytes',
    'Bytes in the flows that belong to no subscriber',
    t.no_subscriber,
  );
  report.gauge(
    'flowmeter_reconcile_not_yet_billed_bytes',
    'Bytes in flows whose bills are not yet made or delivered',
    t.not_yet_billed,
  );
  report.gauge(
    'flowmeter_reconcile_difference_bytes',
    'Subscriber bytes the bills lack (negative: bills hold more); 0 when flows and bills agree',
    t.difference,
  );
}

/** --reconcile: exit 0 when flows and bills agree, 1 when they do not, 65 when lines were
 *  rejected. Reconciliation.total.difference is what the metrics textfile's gauge
 *  flowmeter_reconcile_difference_bytes reports. */
async function runReconcile(proc: Proc, args: Args, files: string[], log: Log): Promise<number> {
  if (!(RECONCILE_FORMATS as readonly string[]).includes(args.format))
    throw usageError(`--reconcile prints ${RECONCILE_FORMATS.join(', ')}: not --format ${args.format}`);
  if (args.aggregate !== undefined || args.ab || args.ba || args.split !== undefined || args.filter.length > 0)
    throw usageError('--reconcile takes no -a, --ab, --ba, -f or --split: it bills as billing-cycle.sh does');
  if (args.since !== undefined || args.until !== undefined || args.sort !== undefined || args.top !== undefined)
    throw usageError('--reconcile takes whole capture files, every interval: no --since, --until, --sort or --top');
  if (args.bills.length > 0 === (args.ledger !== undefined))
    throw usageError('--reconcile needs the bills: --bills PATH or --ledger FILE (one of them)');
  if (args.spool !== undefined && args.ledger === undefined) throw usageError('--spool goes with --ledger');
  if (args.networks !== undefined && args.ledger === undefined)
    throw usageError('-n applies to --reconcile with --ledger (the networks billing-cycle.sh aggregates with)');
  if (files.length === 0) throw usageError('--reconcile needs flow-capture files (FILE... or --period with --dir)');
  checkGoodId(args);
  const cidrs = subscriberCidrs(args.subscribers);
  const subscribers = subscriberSpace(cidrs);
  let bills: BillSource;
  if (args.ledger !== undefined) {
    const networks = args.networks ? await loadNetworksFile(args.networks, { strict: true }) : undefined;
    bills = {
      kind: 'ledger',
      ledger: args.ledger,
      spool: args.spool,
      steps: {
        networks,
        filters: subscriberFilters(cidrs),
        name: args.name,
        hydra: {
          goodId: args['good-id'],
          goodMap: args['good-map'] ? GoodMap.load(args['good-map']) : undefined,
          objectMap: args['object-map'] ? ObjectMap.load(args['object-map']) : undefined,
        },
      },
    };
  } else bills = { kind: 'hydra', paths: args.bills };

  const counts = { lines: 0, rejected: 0 };
  const reject = rejectLine(log, counts, args.strict);
  const r: Reconciliation = await reconcile(
    { flowFiles: files, bills, subscribers, inputFormat: args['input-format'] },
    { stdin: proc.stdin, reject, note: (m) => log.info(m) },
    counts,
  );
  reportReconciliation(proc.report, r);
  const lines = reconcileLines(r, args.format as ReconcileFormat);
  if (args.output === '-') {
    const w = new BatchWriter(proc.stdout);
    for (const l of lines) if (w.line(l)) await w.flush();
    await w.end();
  } else await writeFileAtomic(args.output, lines.join('\n') + '\n');
  log.flushSuppressed();
  const status = inputExitStatus(
    log,
    { lines: counts.lines, rejected: counts.rejected, interrupted: false },
    'reconciled what was read so far',
  );
  if (status !== EXIT.OK) return status;
  if (!r.agrees) {
    log.error(
      `flows and bills disagree: difference ${r.total.difference} bytes (ab ${r.total.difference_ab}, ba ${r.total.difference_ba})`,
    );
    return EXIT.FAILURE;
  }
  log.info(
    `flows and bills agree: ${r.total.flows} bytes in ${r.total.files} files; ${r.total.not_yet_billed} not yet billed`,
  );
  return EXIT.OK;
}
