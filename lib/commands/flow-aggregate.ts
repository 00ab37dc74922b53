// flow-aggregate: sum flow records per pmacct primitives (subscriber networks, filters, time bins), and merge aggregates exactly.

import { untilSignal, type Proc } from '../cli/run.js';
import {
  makeParser,
  parseArgs,
  makeLog,
  compileFilterArgs,
  INPUT_FORMAT_OPTION,
  type ArgsOf,
  type CommandSpec,
} from '../cli/options.js';
import { EXIT } from '../cli/exit.js';
import { usageError } from '../errors.js';
import { refuseTerminalStdin } from '../cli/io.js';
import { inputExitStatus } from '../cli/ndjson-input.js';
import { parsePrimitiveList, SHORTHANDS, type Primitive } from '../aggregate/primitives.js';
import type { CompiledFilter } from '../filter/filter.js';
import { loadNetworksFile } from '../networks/file.js';
import { loadConfig, parseDuration, type AggregateConfigFile } from '../aggregate/config.js';
import { runAggregate, type AggregateSummary, type AggregationConfig } from '../aggregate/run.js';
import { MAX_PRO_RATE_BINS } from '../aggregate/aggregator.js';
import { addMetricsFileOption, reportInput, type RunReport } from '../cli/metrics.js';
import type { Log } from '../cli/log.js';

const PROG = 'flow-aggregate';

const SPEC: CommandSpec = {
  prog: PROG,
  synopsis: ['[options] [FILE...]'],
  summary:
    'Sum flow records (flow-capture or goflow2 NDJSON) per pmacct primitives, with a pmacct networks file, ' +
    'tcpdump-style filters and time bins; aggregate records given as input are merged exactly.',
  examples: [
    [
      'flow-capture -r edge.pcap | flow-aggregate --ab -n subscribers.lst',
      'bytes per subscriber host and remote network (agg-ab)',
    ],
    [
      'flow-aggregate --ab --ba -n subs.lst -o ab=agg-ab.ndjson -o ba=agg-ba.ndjson flows.ndjson',
      'both billing directions in one pass',
    ],
    ["flow-aggregate -a src_host,dst_port -f 'tcp and src net 10.5.0.0/16' flows.ndjson", 'a filtered aggregation'],
    [
      'flow-aggregate -a dst_host --interval 300 --pro-rate flows.ndjson',
      '5-minute bins, long flows spread over the bins they span',
    ],
    ['cat shard-*.ndjson | flow-aggregate --ab > total.ndjson', 'merge aggregates from several collectors or runs'],
    ['flow-aggregate -c pmacct-like.conf flows.ndjson', 'named aggregations from a config file'],
    [
      'flow-aggregate --ab -n subs.lst -o agg-ab.ndjson --metrics-file /var/lib/node_exporter/textfile/aggregate-ab.prom flows.ndjson',
      'records, rejects, exit status of the run for Prometheus',
    ],
    [
      'flow-capture -r edge.pcap | flow-aggregate -j 4 --ab --ba -n subs.lst -o ab=ab.ndjson -o ba=ba.ndjson',
      'four threads share the keys (output as with -j 1)',
    ],
  ],
};

interface AggDraft {
  primitives: Primitive[];
  filters: CompiledFilter[];
  output?: string;
  interval?: number;
}

function parser(proc: Proc) {
  return (
    addMetricsFileOption(makeParser(proc, SPEC))
      .command('$0 [files..]', false, (c) =>
        c.positional('files', { type: 'string', array: true, describe: 'Flow or aggregate NDJSON files (- = stdin)' }),
      )
      .option('aggregate', {
        alias: 'a',
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Aggregation:',
        describe: 'Primitives to group by, e.g. src_host,dst_net,dst_mask; NAME=LIST names it (repeatable)',
      })
      .option('ab', {
        type: 'boolean',
        default: false,
        group: 'Aggregation:',
        describe: 'Shorthand: aggregation "ab" = src_host,dst_net,dst_mask (outgoing)',
      })
      .option('ba', {
        type: 'boolean',
        default: false,
        group: 'Aggregation:',
        describe: 'Shorthand: aggregation "ba" = src_net,src_mask,dst_host (incoming)',
      })
      .option('networks', {
        alias: 'n',
        type: 'string',
        group: 'Aggregation:',
        describe: 'pmacct networks_file for *_net/*_mask (longest prefix; unmatched = 0.0.0.0/0)',
      })
      .option('net-source', {
        type: 'string',
        choices: ['file', 'exporter', 'longest'] as const,
        group: 'Aggregation:',
        describe: "Nets from the networks file (default with -n), the exporter's masks, or the longer of both",
      })
      .option('filter', {
        alias: 'f',
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Aggregation:',
        describe: 'tcpdump-style filter; repeat: a flow passes if any matches',
      })
      .option('renormalize', {
        type: 'boolean',
        default: false,
        group: 'Aggregation:',
        describe: 'Multiply bytes/packets by sampling_rate (0 = unknown: unchanged)',
      })
      .option('interval', {
        type: 'string',
        group: 'Time:',
        describe: 'Time bins of SECONDS (or 5m, 1h, 1d), aligned to the epoch',
      })
      // no default: a config file's aggregate_time arrival applies unless --time is given
      .option('time', {
        type: 'string',
        choices: ['start', 'arrival'] as const,
        defaultDescription: '"start"',
        group: 'Time:',
        describe: 'Bin by flow start or by arrival (time_received_ns)',
      })
      .option('pro-rate', {
        type: 'boolean',
        default: false,
        group: 'Time:',
        describe: 'Spread a flow spanning several bins over them by duration',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        array: true,
        nargs: 1,
        default: [],
        group: 'Output:',
        describe: 'Write to FILE atomically; NAME=FILE for a named aggregation',
      })
      .option('format', {
        type: 'string',
        choices: ['ndjson', 'csv'] as const,
        default: 'ndjson' as const,
        group: 'Output:',
        describe: 'Output format',
      })
      .option('sort', {
        type: 'string',
        choices: ['bytes', 'packets', 'key'] as const,
        default: 'key' as const,
        group: 'Output:',
        describe: 'Order of the aggregates (bytes/packets: largest first)',
      })
      .option('config', {
        alias: 'c',
        type: 'string',
        group: 'Input:',
        describe: 'pmacct-style config: aggregate[NAME], aggregate_filter[NAME], networks_file, …',
      })
      .option('input-format', INPUT_FORMAT_OPTION)
      .option('strict', {
        type: 'boolean',
        default: false,
        group: 'Input:',
        describe: 'Stop at the first bad input line or networks file line',
      })
      .option('jobs', {
        alias: 'j',
        type: 'number',
        group: 'Input:',
        default: 1,
        describe:
          'Threads that scan and account: each reads its own pieces of the input and holds its share of the keys (1 = one thread, see the man page); output is the same for any N',
      })
  );
}

type Args = ArgsOf<typeof parser>;

export async function main(proc: Proc): Promise<number | void> {
  const a = await parseArgs(parser(proc));
  if (!a) return EXIT.OK;
  const log = makeLog(proc, PROG, a);
  proc.report?.enable(a['metrics-file'], log);
  if (!Number.isInteger(a.jobs) || a.jobs < 1 || a.jobs > 256)
    throw usageError(`--jobs: expected a whole number 1-256, got "${a.jobs}"`);
  const files = a.files ?? [];
  refuseTerminalStdin(files, proc.stdin, 'flow records');

  const conf: AggregateConfigFile | undefined = a.config ? await loadConfig(a.config) : undefined;
  for (const ig of conf?.ignored ?? []) log.info(`${a.config}:${ig.line}: ${ig.key}: not used by ${PROG}, ignored`);
  const aggs = aggregationDrafts(a, conf);
  const filters = compileFilterArgs(a.filter);
  if (filters.length > 0) for (const g of aggs.values()) g.filters = filters; // -f replaces config filters
  assignOutputs(aggs, a.output);
  const time = timeBins(a, conf, aggs);

  const netSource = a['net-source'] ?? conf?.netSource ?? 'file';
  const networksPath = a.networks ?? conf?.networksFile;
  if (netSource !== 'exporter' && a['net-source'] !== undefined && !networksPath)
    throw usageError(`--net-source ${netSource} needs a networks file (-n)`);
  const networks = networksPath
    ? await loadNetworksFile(networksPath, {
        strict: a.strict,
        onProblem: (place, msg) => log.reject('networks file', msg, place),
      })
    : undefined;
  const networkProblems = log.rejectedTotal;
  if (networks) log.info(`${networksPath}: ${networks.size} networks (${networks.duplicates} duplicates ignored)`);

  const aggregations: AggregationConfig[] = [...aggs].map(([name, g]) => ({
    output: g.output ?? '-',
    filterSources: g.filters.map((f) => f.source),
    spec: {
      name,
      primitives: g.primitives,
      filters: g.filters.map((f) => f.test),
      interval: g.interval ?? time.interval,
      time: time.arrival ? 'arrival' : 'start',
      proRate: time.proRate,
      renormalize: a.renormalize || conf?.renormalize === true,
      netSource,
    },
  }));
  const summary = await untilSignal(proc, ['SIGINT'], (signal) =>
    runAggregate(
      {
        inputs: files,
        aggregations,
        networks,
        format: a.format,
        sort: a.sort,
        strict: a.strict,
        inputFormat: a['input-format'],
        jobs: a.jobs,
      },
      { stdin: proc.stdin, stdout: proc.stdout, log, signal },
    ),
  );
  logSummary(log, proc.report, summary);
  return inputExitStatus(log, summary, 'wrote the aggregates of what was read so far', {
    problems: networkProblems,
    path: networksPath,
  });
}

/** The aggregations: the config file's, then -a/--ab/--ba (a name from the command line replaces
 *  the config's); pmacct's default src_host when none is given. */
function aggregationDrafts(a: Args, conf: AggregateConfigFile | undefined): Map<string, AggDraft> {
  const aggs = new Map<string, AggDraft>();
  for (const c of conf?.aggregations ?? [])
    aggs.set(c.name, { primitives: c.primitives!, filters: c.filters, output: c.output, interval: c.interval });
  let unnamed = 0;
  for (const item of a.aggregate) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq) : a.aggregate.length === 1 ? 'default' : String(++unnamed);
    aggs.set(name, { primitives: parsePrimitiveList(eq > 0 ? item.slice(eq + 1) : item), filters: [] });
  }
  if (a.ab) aggs.set('ab', { primitives: [...SHORTHANDS.ab], filters: [] });
  if (a.ba) aggs.set('ba', { primitives: [...SHORTHANDS.ba], filters: [] });
  if (aggs.size === 0) aggs.set('default', { primitives: ['src_host'], filters: [] });
  return aggs;
}

/** -o FILE or -o NAME=FILE; at most one aggregation may be left for stdout. */
function assignOutputs(aggs: Map<string, AggDraft>, outputs: readonly string[]): void {
  for (const o of outputs) {
    const eq = o.indexOf('=');
    const name = eq > 0 ? o.slice(0, eq) : undefined;
    if (name !== undefined && aggs.has(name)) aggs.get(name)!.output = o.slice(eq + 1);
    else if (name !== undefined && /^[A-Za-z0-9_-]+$/.test(name)) {
      throw usageError(
        `--output ${o}: no aggregation named "${name}" (have: ${[...aggs.keys()].join(', ')}; a file name with "=" needs a directory, like ./${o})`,
      );
    } else if (aggs.size === 1) [...aggs.values()][0]!.output = o;
    else throw usageError(`--output ${o}: with several aggregations (${[...aggs.keys()].join(', ')}) write NAME=FILE`);
  }
  const toStdout = [...aggs].filter(([, g]) => g.output === undefined || g.output === '-').map(([n]) => n);
  if (toStdout.length > 1) {
    throw usageError(`aggregations ${toStdout.join(', ')} would all go to stdout; give -o NAME=FILE for all but one`);
  }
}

/** --interval, --pro-rate and --time over the config file's settings. */
function timeBins(
  a: Args,
  conf: AggregateConfigFile | undefined,
  aggs: Map<string, AggDraft>,
): { interval: number; proRate: boolean; arrival: boolean } {
  let interval = conf?.interval ?? 0;
  if (a.interval !== undefined) {
    interval = parseDuration(a.interval) ?? 0;
    if (interval === 0)
      throw usageError(`--interval: expected seconds or N[smhdw] greater than 0, got "${a.interval}"`);
  }
  const proRate = a['pro-rate'] || conf?.proRate === true;
  if (proRate && interval === 0 && ![...aggs.values()].some((g) => g.interval))
    throw usageError('--pro-rate needs --interval');
  const arrival = (a.time ?? (conf?.timeArrival === true ? 'arrival' : 'start')) === 'arrival';
  if (proRate && arrival)
    throw usageError('--pro-rate spreads flows by their duration; it cannot be used with --time arrival');
  return { interval, proRate, arrival };
}

function logSummary(log: Log, report: RunReport | undefined, summary: AggregateSummary): void {
  log.flushSuppressed();
  for (const agg of summary.aggregators) {
    const s = agg.stats;
    log.info(
      `aggregation ${agg.name}: ${agg.size} aggregates from ${s.flows} flows and ${s.aggregates} aggregate records (${s.filtered} flows filtered out)`,
    );
    if (s.unknownSamplingRate > 0)
      log.warn(
        `aggregation ${agg.name}: ${s.unknownSamplingRate} flows had sampling_rate 0 (unknown): counted as exported, not renormalised`,
      );
    if (s.notProRated > 0)
      log.warn(
        `aggregation ${agg.name}: ${s.notProRated} flows span more than ${MAX_PRO_RATE_BINS} intervals (end time far after start: an exporter clock?): counted whole in their start interval, not pro-rated`,
      );
  }
  log.info(
    `${summary.lines} lines: ${summary.flows} flows, ${summary.aggregates} aggregate records, ${summary.rejected} rejected`,
  );
  reportInput(report, summary);
  for (const agg of summary.aggregators)
    report?.gauge('flowmeter_run_aggregates', 'Aggregates written in the run, by aggregation', agg.size, {
      aggregation: agg.name,
    });
}
