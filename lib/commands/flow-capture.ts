// flow-capture — receive or read NetFlow v1/v5/v7/v9, IPFIX and sFlow v5 and print flow records.

import type { Proc } from '../cli/run.js';
import { makeParser, parseArgs, makeLog, type CommandSpec } from '../cli/options.js';
import { usageError } from '../cli/exit.js';
import { refuseTerminalStdin } from '../cli/io.js';
import { flowToJson } from '../flow/record.js';
import { addLiveOptions, runLiveFromArgs } from '../capture/live-cli.js';
import { readFiles } from '../capture/read-files.js';

const SPEC: CommandSpec = {
  prog: 'flow-capture',
  synopsis: ['[options] -r FILE...', '[options] -l [ADDR]:PORT... [-w DIR [--rotate SECONDS]]'],
  summary: 'Decode NetFlow v1/v5/v7, v9, IPFIX and sFlow v5 from pcap/pcapng captures (-r) or UDP (-l) into NDJSON flow records.',
  examples: [
    ['flow-capture -r export.pcap', 'decode the export datagrams of a capture'],
    ['flow-capture -l 0.0.0.0:2055 -l [::]:6343 --stats 60', 'collect NetFlow and sFlow, counters on stderr every minute'],
    ['flow-capture -l [::]:2055 -w /var/spool/flows --rotate 300 --template-cache /var/lib/flowmeter/templates.json', 'a collector writing one closed file per 5 minutes for cron'],
    ['flow-capture -l 127.0.0.1:2055 | flow-aggregate --ab -n nets.txt', 'aggregate live flows per subscriber'],
  ],
};

export async function main(proc: Proc): Promise<number | void> {
  const y = addLiveOptions(
    makeParser(proc, SPEC)
      .option('r', { type: 'string', array: true, requiresArg: true, group: 'Input:', describe: 'Read export datagrams from pcap/pcapng FILE (- = stdin, repeatable)' }),
  );
  const args = await parseArgs(y);
  if (!args) return 0;
  const log = makeLog(proc, SPEC.prog, args);
  const files = (args.r as string[] | undefined) ?? [];
  const live = (args.listen ?? []).length > 0;
  if (live && files.length > 0) throw usageError('-r and --listen exclude each other');
  if (!live && files.length === 0) throw usageError('nothing to do: give -r FILE or --listen [ADDR]:PORT');
  if (live) return runLiveFromArgs({ args, proc, log, format: flowToJson, extension: 'ndjson', quiet: args.quiet });
  if (args.w !== undefined) throw usageError('-w needs --listen (with -r, redirect stdout)');
  refuseTerminalStdin(files.filter((f) => f !== '-').length === files.length ? files : [], proc.stdin, 'a capture');
  return readFiles(files, proc, log, flowToJson, args.counters);
}
