// flow-capture — receive or read NetFlow v1/v5/v7/v9, IPFIX and sFlow v5 and print flow records.

import type { Proc } from '../cli/run.js';
import { makeParser, parseArgs, makeLog, type CommandSpec } from '../cli/options.js';
import { EXIT } from '../cli/exit.js';
import { usageError } from '../errors.js';
import { refuseTerminalStdin } from '../cli/io.js';
import { colorLevel, makeChalk } from '../cli/color.js';
import { addLiveOptions, runLiveFromArgs } from './flow-capture-live.js';
import { decodeCaptureFiles } from './flow-capture-files.js';
import { FORMATS } from '../format/writer.js';
import { parseFields } from '../format/fields.js';
import { loadAllowList } from '../networks/allow.js';

const SPEC: CommandSpec = {
  prog: 'flow-capture',
  synopsis: ['[options] -r FILE...', '[options] -l [ADDR]:PORT... [-w DIR [--rotate SECONDS]]'],
  summary:
    'Decode NetFlow v1/v5/v7, v9, IPFIX and sFlow v5 from pcap/pcapng captures (-r) or UDP (-l) into NDJSON flow records.',
  examples: [
    ['flow-capture -r export.pcap', 'decode the export datagrams of a capture into NDJSON'],
    ['flow-capture --format text -r examples/*.pcap', 'one tcpdump-like line per flow'],
    [
      'flow-capture --format csv --fields time_flow_start_ns,src_addr,dst_addr,proto,bytes -r a.pcap -o flows.csv',
      'chosen columns as ;-separated CSV, written atomically',
    ],
    [
      "flow-capture -l 0.0.0.0:2055 -l '[::]:6343' --stats 60",
      'collect NetFlow and sFlow, counters on stderr every minute',
    ],
    [
      "flow-capture -l '[::]:2055' -w /var/spool/flows --rotate 300 --template-cache /var/lib/flowmeter/templates.json",
      'a collector writing one closed file per 5 minutes for cron',
    ],
    [
      "flow-capture -l '[::]:2055' --allow 192.0.2.0/24 --allow /etc/flowmeter/routers.lst",
      'decode only what the listed routers send; count the rest as denied',
    ],
    ['flow-capture -l 127.0.0.1:2055 | flow-aggregate --ab -n nets.txt', 'aggregate live flows per subscriber'],
    [
      "flow-capture -l '[::]:2055' -w /var/spool/flows --metrics 9555",
      'Prometheus metrics at http://HOST:9555/metrics',
    ],
    [
      "flow-capture -l '[::]:2055' --tee 192.0.2.7:2055 --tee 192.0.2.8:9995 -w /var/spool/flows",
      'also feed two other collectors every datagram',
    ],
  ],
};

/** yargs takes a bare `-` for a flag and refuses `-r -`; it stands in for it while parsing. */
const STDIN_ARG = '\u0000stdin';

export async function main(proc: Proc): Promise<number | void> {
  const y = addLiveOptions(
    makeParser({ ...proc, argv: proc.argv.map((a) => (a === '-' ? STDIN_ARG : a)) }, SPEC)
      .option('r', {
        type: 'string',
        array: true,
        requiresArg: true,
        group: 'Input:',
        describe: 'Read export datagrams from pcap/pcapng FILE (- = stdin, repeatable)',
      })
      .option('format', {
        type: 'string',
        choices: FORMATS,
        default: 'ndjson' as const,
        group: 'Output:',
        describe: 'ndjson (flowmeter-record(5)), csv (;-separated, header line) or text (tcpdump-like)',
      })
      .option('fields', {
        type: 'string',
        requiresArg: true,
        group: 'Output:',
        describe: 'Comma-separated record fields to print with csv/text (default csv: all core fields)',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        requiresArg: true,
        group: 'Output:',
        describe: 'Write to FILE atomically (temp + rename) instead of stdout (-r only)',
      })
      .option('allow', {
        type: 'string',
        array: true,
        requiresArg: true,
        group: 'Input:',
        describe: 'Decode only datagrams from exporters in CIDR or networks FILE (repeatable; others: denied)',
      })
      .option('strict', {
        type: 'boolean',
        default: false,
        group: 'Input:',
        describe: 'Stop at the first rejected packet or datagram (exit 65)',
      }),
  );
  const args = await parseArgs(y);
  if (!args) return 0;
  const log = makeLog(proc, SPEC.prog, args);
  const files = (args.r ?? []).map((f) => (f === STDIN_ARG ? '-' : f));
  const live = (args.listen ?? []).length > 0;
  const format = args.format;
  const fields = args.fields === undefined ? undefined : parseFields(args.fields);
  if (fields !== undefined && format === 'ndjson')
    throw usageError('--fields chooses columns for --format csv or text (NDJSON records always have every field)');
  if (live && files.length > 0) throw usageError('-r and --listen exclude each other');
  if (!live && files.length === 0) throw usageError('nothing to do: give -r FILE or --listen [ADDR]:PORT');
  const allowList = args.allow === undefined ? undefined : await loadAllowList(args.allow);
  const allow = allowList && ((exporter: string) => allowList.has(exporter));
  const chalk = makeChalk(
    args.output === undefined || args.output === '-' ? colorLevel(proc.stdout, proc.env, args.color) : 0,
  );
  if (live) {
    if (args.output !== undefined)
      throw usageError('-o is for -r; with --listen write rotated files with -w DIR, or redirect stdout');
    if (format === 'csv') throw usageError('--format csv is for -r; with --listen use ndjson or text');
    const output = { format, fields, chalk: makeChalk(args.w === undefined ? chalk.level : 0) };
    return runLiveFromArgs({
      args,
      proc,
      log,
      output,
      allow,
      extension: format === 'text' ? 'txt' : 'ndjson',
      quiet: args.quiet,
    });
  }
  if (args.w !== undefined) throw usageError('-w needs --listen (with -r, use -o FILE or redirect stdout)');
  if (args.metrics !== undefined || args.tee !== undefined) throw usageError('--metrics and --tee need --listen');
  refuseTerminalStdin(files.filter((f) => f !== '-').length === files.length ? files : [], proc.stdin, 'a capture');
  const res = await decodeCaptureFiles(
    { files, format, fields, chalk, output: args.output, strict: args.strict, counters: args.counters, allow },
    proc,
    log,
  );
  return res.rejected > 0 ? EXIT.DATAERR : EXIT.OK;
}
