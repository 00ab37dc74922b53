// hcd-putfile: upload Hydra billing statistics (the ;-separated billing CSV) to hcd over XML-RPC,
// validated first, authenticated, retried, kept in a spool when undeliverable, never sent twice.

import { basename } from 'node:path';
import type { Proc } from '../cli/run.js';
import { EXIT, tryHelp } from '../cli/exit.js';
import { usageError, type Outcome } from '../errors.js';
import { refuseTerminalStdin } from '../cli/io.js';
import { intInRange, makeLog, makeParser, parseArgs, type ArgsOf, type CommandSpec } from '../cli/options.js';
import { hcdPutfile } from '../hcd/main.js';
import { checkName } from '../hcd/putfile.js';
import { SPOOL_NAME as SPOOLED } from '../hcd/spool.js';
import { addMetricsFileOption } from '../cli/metrics.js';
import { parseHcdUrl } from '../hcd/url.js';

const PROG = 'hcd-putfile';

const SPEC: CommandSpec = {
  prog: PROG,
  synopsis: [
    '[options] -u URL [-f FILE] NAME',
    '[options] -u URL [-f FILE] putfile NAME',
    '[options] -u URL --flush-spool DIR [--resend-in-doubt NAME|FILE]... [--mark-delivered NAME|FILE]...',
    '--state LEDGER --in-doubt',
    '--state LEDGER [--spool DIR] --mark-delivered NAME...',
    '[options] -u URL --state LEDGER [-f FILE] --resend-in-doubt NAME',
  ],
  summary:
    'Upload billing statistics (EXT_GOOD_ID;EXT_OBJECT_ID;D_BEGIN;D_END;ADDR_1/MASK_1;ADDR_2/MASK_2;BYTES; lines) to ' +
    'Hydra hcd over XML-RPC, like `hcdctl.py -f FILE -u URL putfile NAME`. Every line is validated before anything is sent. ' +
    'The password comes from --password-file, HCD_PASSWORD, the URL (warned about) or a prompt on a terminal.',
  examples: [
    [
      'HCD_PASSWORD=secret hcd-putfile -u http://hydra@127.0.0.1:8888 -f agg-ab.csv agg-ab',
      'send one file as statistics "agg-ab" (POST /RPC2, Basic auth)',
    ],
    [
      'hcd-putfile -f agg-ab.csv -u https://hydra@hcd:8888 --password-file /etc/hcd.pw putfile agg-ab',
      "hcdctl's spelling, over HTTPS",
    ],
    [
      'flow-report --format hydra aggregates.ndjson | hcd-putfile -u http://hydra@hcd:8888 --state /var/lib/hcd/ledger --spool /var/spool/hcd agg-ab',
      'from a pipeline, never twice, kept if hcd is down',
    ],
    [
      'hcd-putfile --flush-spool /var/spool/hcd -u http://hydra@hcd:8888 --metrics-file /var/lib/node_exporter/textfile/hcd-flush.prom',
      "the run's outcome for node_exporter's textfile collector",
    ],
    [
      'hcd-putfile -u http://hydra@hcd:8888 --state /var/lib/hcd/ledger --flush-spool /var/spool/hcd',
      'cron: first send what is waiting, oldest first',
    ],
    ['hcd-putfile --dry-run -u http://hcd:8888 -f agg-ba.csv agg-ba', 'validate and show what would be sent'],
    [
      'hcd-putfile --dry-run -u http://hcd:8888 --flush-spool /var/spool/hcd',
      'list what waits in the spool, and what is in doubt',
    ],
    [
      'hcd-putfile --state /var/lib/hcd/ledger --spool /var/spool/hcd --in-doubt',
      'the uploads in doubt: name, file, sha256, bytes, when, why',
    ],
    [
      'hcd-putfile -u http://hydra@hcd:8888 --state /var/lib/hcd/ledger --flush-spool /var/spool/hcd --mark-delivered agg-ab',
      'Hydra has the upload in doubt: record it, send the rest',
    ],
    [
      'hcd-putfile -u http://hydra@hcd:8888 --state /var/lib/hcd/ledger --flush-spool /var/spool/hcd --resend-in-doubt agg-ab',
      'Hydra lacks it: send it again, and the rest',
    ],
  ],
};

function seconds(name: string, min: number, max: number): (v: unknown) => number {
  return (v: unknown): number => {
    const text = String(v).trim();
    const n = Number(text);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(n >= min && n <= max)) {
      throw usageError(`--${name}: expected seconds ${min}..${max} (got "${String(v)}")`);
    }
    return n;
  };
}

/** XML-RPC spec: a methodName is letters, digits, "_", ".", ":" and "/". */
function methodName(v: unknown): string {
  const m = String(v);
  if (!/^[A-Za-z0-9_.:/]{1,128}$/.test(m))
    throw usageError(`--method: expected an XML-RPC method name (letters, digits, _ . : /), got "${m}"`);
  return m;
}

/** The operator's verbs take a statistics NAME (the one upload in doubt as NAME) or a spooled
 *  file as listed (a path to one is taken by its name). */
function verbTargets(flag: string, values: unknown[] | undefined): string[] {
  return (values ?? []).map((v) => {
    const file = basename(String(v));
    if (SPOOLED.test(file)) return file;
    try {
      return checkName(String(v));
    } catch {
      throw usageError(
        `--${flag}: expected a statistics NAME like agg-ab or a spooled file like 20261122T030405678Z-0001_0123456789ab_agg-ab.hcd (got "${String(v)}")`,
      );
    }
  });
}

function parser(proc: Proc) {
  return addMetricsFileOption(makeParser(proc, SPEC))
    .command('$0 [args..]', false)
    .positional('args', { type: 'string', array: true, describe: 'NAME, or putfile NAME' })
    .option('file', {
      alias: 'f',
      type: 'string',
      default: '-',
      describe: 'Statistics file to send (- = stdin)',
      group: 'Input:',
    })
    .option('skip-bad', {
      type: 'boolean',
      default: false,
      describe: 'Send the good lines, keep the bad ones in the reject file (exit 65)',
      group: 'Input:',
    })
    .option('reject-file', {
      type: 'string',
      describe: 'Where --skip-bad keeps bad lines (default FILE.rejected)',
      group: 'Input:',
    })
    .option('url', {
      alias: 'u',
      type: 'string',
      describe: 'hcd endpoint http(s)://[user@]host:port[/path] (default path /RPC2; env HCD_URL)',
      group: 'Connection:',
    })
    .option('password-file', {
      type: 'string',
      describe: 'Read the password from the first line of FILE (mode 600; - = stdin)',
      group: 'Connection:',
    })
    .option('password', {
      type: 'boolean',
      describe:
        "--no-password: send the URL's user with no password, on purpose (else a user without one is refused, exit 77)",
      group: 'Connection:',
    })
    .option('method', {
      type: 'string',
      default: 'putfile',
      coerce: methodName,
      describe: 'XML-RPC method, called as method(NAME, content)',
      group: 'Connection:',
    })
    .option('encoding', {
      choices: ['base64', 'string'] as const,
      default: 'base64' as const,
      describe: 'How the content is passed',
      group: 'Connection:',
    })
    .option('ca', {
      type: 'string',
      describe: 'Trust the CA certificates in this PEM file (https)',
      group: 'Connection:',
    })
    .option('insecure', {
      type: 'boolean',
      default: false,
      describe: 'Do not verify the server certificate (warns)',
      group: 'Connection:',
    })
    .option('connect-timeout', {
      type: 'string',
      default: '10',
      coerce: seconds('connect-timeout', 0.001, 3600),
      describe: 'Seconds to connect (TCP and TLS)',
      group: 'Connection:',
    })
    .option('timeout', {
      type: 'string',
      default: '60',
      coerce: seconds('timeout', 0.001, 86400),
      describe: 'Seconds for a whole attempt',
      group: 'Connection:',
    })
    .option('retries', {
      type: 'string',
      default: '3',
      coerce: intInRange('retries', 0, 100),
      describe: 'Retries after a transient failure',
      group: 'Connection:',
    })
    .option('retry-delay', {
      type: 'string',
      default: '2',
      coerce: seconds('retry-delay', 0, 3600),
      describe: 'Seconds before the first retry, doubled each time',
      group: 'Connection:',
    })
    .option('state', {
      type: 'string',
      describe:
        'Ledger of what hcd accepted: the same content is never sent twice (default with a spool: DIR/.hcd-putfile-ledger.json)',
      group: 'Delivery:',
    })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'Send even if the ledger says hcd accepted it (never what is in doubt)',
      group: 'Delivery:',
    })
    .option('spool', { type: 'string', describe: 'Keep a file that could not be sent in DIR', group: 'Delivery:' })
    .option('flush-spool', {
      type: 'string',
      describe: 'Send the files waiting in DIR, oldest first',
      group: 'Delivery:',
    })
    .option('in-doubt', {
      type: 'boolean',
      default: false,
      describe: 'List the uploads in doubt (name, file, sha256, bytes, when, why) and exit',
      group: 'Delivery:',
    })
    .option('resend-in-doubt', {
      type: 'string',
      array: true,
      nargs: 1,
      default: [],
      describe:
        'Send the upload in doubt as NAME (or spooled FILE) again: Hydra lacks it (with --flush-spool, or -f FILE)',
      group: 'Delivery:',
    })
    .option('mark-delivered', {
      type: 'string',
      array: true,
      nargs: 1,
      default: [],
      describe: 'Record the upload in doubt as NAME (or spooled FILE) as delivered, send nothing: Hydra has it',
      group: 'Delivery:',
    })
    .option('lock', { type: 'string', describe: 'Lock file (default STATE.lock)', group: 'Delivery:' })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'Validate and print what would be sent; send nothing',
      group: 'Delivery:',
    });
}

type Args = ArgsOf<typeof parser>;

export async function main(proc: Proc): Promise<Outcome | number | void> {
  const a = await parseArgs(parser(proc));
  if (!a) return EXIT.OK;
  const log = makeLog(proc, PROG, a);
  proc.report?.enable(a['metrics-file'], log);

  const urlText = a.url ?? proc.env.HCD_URL;
  const resendInDoubt = verbTargets('resend-in-doubt', a['resend-in-doubt']);
  const markDelivered = verbTargets('mark-delivered', a['mark-delivered']);
  const { name, ledgerOnly } = uploadTarget(a, proc, resendInDoubt, markDelivered);
  if (!urlText && !ledgerOnly) throw usageError('missing --url (or HCD_URL)', tryHelp(PROG));
  const endpoint = urlText ? parseHcdUrl(urlText) : undefined;

  return hcdPutfile(
    {
      endpoint,
      urlFromEnv: a.url === undefined,
      flushSpool: a['flush-spool'],
      input: a.file,
      name,
      method: a.method,
      encoding: a.encoding,
      passwordFile: a['password-file'],
      noPassword: a.password === false,
      ca: a.ca,
      insecure: a.insecure,
      connectTimeoutMs: Math.round(a['connect-timeout'] * 1000),
      timeoutMs: Math.round(a.timeout * 1000),
      retries: a.retries,
      retryDelayMs: Math.round(a['retry-delay'] * 1000),
      skipBad: a['skip-bad'],
      rejectFile: a['reject-file'],
      spool: a.spool,
      state: a.state,
      lock: a.lock,
      force: a.force,
      dryRun: a['dry-run'],
      resendInDoubt,
      markDelivered,
      listInDoubt: a['in-doubt'],
    },
    { stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr, env: proc.env, log, report: proc.report },
  );
}

/** What the run does: read and settle the ledger alone (ledgerOnly), flush the spool, or upload
 *  one file as NAME; refuses the combinations that make no sense. */
function uploadTarget(
  a: Args,
  proc: Proc,
  resendInDoubt: string[],
  markDelivered: string[],
): { name?: string; ledgerOnly: boolean } {
  const positional = (a.args ?? []).map(String);
  const flush = a['flush-spool'];
  const both = resendInDoubt.find((f) => markDelivered.includes(f));
  if (both) throw usageError(`${both}: either --resend-in-doubt or --mark-delivered, not both`);
  // what reads and settles the ledger alone: no upload, no hcd
  const ledgerOnly = a['in-doubt'] || (flush === undefined && markDelivered.length > 0);
  let name: string | undefined;
  if (ledgerOnly) {
    if (positional.length > 0 || a.file !== '-')
      throw usageError(`${a['in-doubt'] ? '--in-doubt' : '--mark-delivered'} sends nothing: no NAME or -f`);
    if (resendInDoubt.length > 0 || (a['in-doubt'] && (markDelivered.length > 0 || flush !== undefined)))
      throw usageError('--in-doubt only lists; --mark-delivered without --flush-spool only records');
    const spooled = markDelivered.find((t) => SPOOLED.test(t));
    if (spooled) throw usageError(`--mark-delivered ${spooled}: a spooled file is settled with --flush-spool DIR`);
  } else if (flush !== undefined) {
    if (positional.length > 0) throw usageError('--flush-spool sends what waits in the spool: no NAME');
    if (a.file !== '-') throw usageError('--flush-spool and -f cannot be combined');
  } else {
    if (positional[0] === 'putfile') positional.shift();
    if (resendInDoubt.length > 0) {
      // -f FILE --resend-in-doubt NAME: the NAME argument may be left out
      if (resendInDoubt.length > 1 || SPOOLED.test(resendInDoubt[0]!))
        throw usageError('--resend-in-doubt without --flush-spool takes one NAME: the file (-f) sent again as NAME');
      if (positional.length === 0) positional.push(resendInDoubt[0]!);
      if (positional[0] !== resendInDoubt[0])
        throw usageError(`--resend-in-doubt ${resendInDoubt[0]} names another statistics NAME than ${positional[0]}`);
    }
    if (positional.length !== 1) {
      throw usageError(
        positional.length === 0
          ? 'missing the statistics NAME (e.g. agg-ab)'
          : `one NAME expected, got ${positional.length}`,
        tryHelp(PROG),
      );
    }
    name = checkName(positional[0]!);
    refuseTerminalStdin(a.file === '-' ? [] : [a.file], proc.stdin, 'billing statistics');
    if (a['skip-bad'] && a.file === '-' && !a['reject-file'])
      throw usageError('--skip-bad with stdin needs --reject-file FILE');
  }
  if (a['reject-file'] && !a['skip-bad']) throw usageError('--reject-file only makes sense with --skip-bad');
  return { name, ledgerOnly };
}
