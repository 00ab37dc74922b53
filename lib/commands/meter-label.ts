// meter-label: OpenStack Neutron metering labels and rules in a local store, and per-label traffic
// counts from flow records as neutron-metering-agent's l3.meter notifications.

import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { untilSignal, type Proc } from '../cli/run.js';
import { makeParser, parseArgs, makeLog, intInRange, type ArgsOf } from '../cli/options.js';
import { tryHelp } from '../cli/exit.js';
import { FlowmeterError, usageError, type Outcome } from '../errors.js';
import { loadNetworksFile } from '../networks/file.js';
import { readAgentConfig } from '../metering/agentconf.js';
import { brokerUrl, type PublishConfig } from '../metering/publish.js';
import { describeSystemError } from '../cli/io.js';
import { readFile } from 'node:fs/promises';
import { FORMATS, type Format } from '../metering/output.js';
import { defaultStorePath } from '../metering/store.js';
import { checkDirection, type Direction } from '../metering/model.js';
import * as act from '../metering/actions.js';
import type { TimeField } from '../metering/count.js';
import { INPUT_FORMATS, type InputFormat } from '../flow/dialects.js';
import { addMetricsFileOption, type RunReport } from '../cli/metrics.js';

const PROG = 'meter-label';

const EXAMPLES: ReadonlyArray<readonly [string, string]> = [
  [
    'meter-label create fabian-in && meter-label rule-create fabian-in 7.7.7.0/24 --direction ingress',
    'a label counting traffic into 7.7.7.0/24',
  ],
  [
    'meter-label meter-label-rule-create fabian-out 7.7.7.0/24 --direction egress',
    'the neutron CLI spelling works too',
  ],
  [
    'meter-label rule-create web --egress --source-ip-prefix 10.0.0.0/24',
    'a source/destination rule (--destination-ip-prefix too)',
  ],
  ['meter-label list -f json', 'labels as JSON (also csv, value; -c COLUMN picks columns)'],
  [
    'openstack network meter list -f json | meter-label import',
    'copy labels from a cloud (export writes Neutron JSON back)',
  ],
  [
    'meter-label router-create r1 --project-id p1 --exporter 192.0.2.1 --subnet 10.5.1.0/24',
    "a router: flows from this exporter count for p1's labels",
  ],
  ['flow-capture -l 0.0.0.0:2055 | meter-label count --live --report-interval 300', 'l3.meter samples every 5 minutes'],
  [
    'meter-label count --config /etc/neutron/metering_agent.ini --publish amqp://neutron@rabbit:5672/ flows.ndjson',
    'samples to ceilometer over RabbitMQ',
  ],
];

/** Canonical subcommand names and the neutron CLI's spellings. */
const COMMANDS: Record<string, string[]> = {
  create: ['meter-label-create'],
  list: ['meter-label-list'],
  show: ['meter-label-show'],
  delete: ['meter-label-delete'],
  'rule-create': ['meter-label-rule-create'],
  'rule-list': ['meter-label-rule-list'],
  'rule-show': ['meter-label-rule-show'],
  'rule-delete': ['meter-label-rule-delete'],
  'router-create': [],
  'router-list': [],
  'router-show': [],
  'router-delete': [],
  export: [],
  import: [],
  count: [],
};
const CANONICAL = new Map(
  Object.entries(COMMANDS).flatMap(([c, aliases]) => [
    [c, c] as [string, string],
    ...aliases.map((a) => [a, c] as [string, string]),
  ]),
);

const str = { type: 'string' } as const;

function ifIndexes(name: string): (v: unknown[]) => number[] {
  return (v) => v.map((x) => intInRange(name, 0, 0xffffffff)(x));
}

function createArgs<T>(c: Argv<T>) {
  return c
    .positional('name', { ...str, describe: 'Name of the label' })
    .option('description', { ...str, describe: 'Description of the label' })
    .option('shared', { type: 'boolean', alias: 'share', describe: "Count the label on every project's routers" })
    .option('tenant-id', {
      ...str,
      alias: ['project-id', 'project'],
      describe: 'Owner project (default: $OS_PROJECT_ID)',
    });
}

function ruleCreateArgs<T>(c: Argv<T>) {
  return c
    .positional('label', { ...str, describe: 'ID or name of the label' })
    .positional('REMOTE_IP_PREFIX', { ...str, describe: 'CIDR of the inside network (deprecated in Neutron)' })
    .option('remote-ip-prefix', { ...str, describe: 'As REMOTE_IP_PREFIX (openstack CLI)' })
    .option('direction', { ...str, describe: 'ingress or egress (default: ingress)' })
    .option('ingress', { type: 'boolean', describe: 'Same as --direction ingress (openstack CLI)' })
    .option('egress', { type: 'boolean', describe: 'Same as --direction egress (openstack CLI)' })
    .option('excluded', { type: 'boolean', alias: 'exclude', describe: 'Traffic matching this rule is not counted' })
    .option('include', { type: 'boolean', describe: 'Counted (default; openstack CLI)' })
    .option('source-ip-prefix', { ...str, describe: 'Source addresses to match' })
    .option('destination-ip-prefix', { ...str, describe: 'Destination addresses to match' });
}

function routerCreateArgs<T>(c: Argv<T>) {
  return c
    .positional('name', { ...str, describe: 'Name of the router' })
    .option('tenant-id', {
      ...str,
      alias: ['project-id', 'project'],
      describe: 'Owner project (default: $OS_PROJECT_ID)',
    })
    .option('exporter', {
      ...str,
      demandOption: true,
      describe: "Flow exporter address (sampler_address) of the router's host",
    })
    .option('if', {
      type: 'array',
      coerce: ifIndexes('if'),
      describe: 'ifIndex of one of its ports; flows through others are not its (repeatable)',
    })
    .option('subnet', { ...str, array: true, describe: 'Internal subnet behind the router (CIDR, repeatable)' });
}

function countArgs<T>(c: Argv<T>) {
  return addMetricsFileOption(c)
    .positional('files', { ...str, array: true })
    .option('config', {
      ...str,
      describe: 'metering_agent.ini: [DEFAULT] report_interval, measure_interval, granular_traffic_data',
    })
    .option('report-interval', {
      coerce: intInRange('report-interval', 1, 86400 * 366),
      describe: 'Seconds per sample (default: the config, else 300)',
    })
    .option('live', { type: 'boolean', describe: 'Intervals by wall clock, for a live flow-capture pipe' })
    .option('granular', {
      type: 'boolean',
      describe: 'The five l3.meter.{router,project,label,label_router,label_project} samples instead of l3.meter',
    })
    .option('subnets', { ...str, describe: 'Internal subnets (pmacct networks_file) for routers that list none' })
    .option('host', { ...str, describe: 'Host in payload and publisher_id (default: this host)' })
    .option('time', {
      choices: ['start', 'end', 'received'] as const,
      default: 'start' as const,
      describe: 'Flow time that picks the interval',
    })
    .option('lateness', {
      coerce: intInRange('lateness', 0, 86400 * 366),
      describe: 'Seconds an interval waits for out-of-order flows (default: one interval)',
    })
    .option('external-if', {
      type: 'array',
      coerce: ifIndexes('external-if'),
      describe: 'ifIndex of the external side: ingress = in_if, egress = out_if (repeatable)',
    })
    .option('strict', { type: 'boolean', describe: 'Stop at the first bad record' })
    .option('input-format', {
      type: 'string',
      choices: INPUT_FORMATS.filter((f) => f !== 'pmacct'),
      default: 'auto' as const,
      describe: 'Records read: auto (told per line), flowmeter, goflow2, goflow (v1 CamelCase), nfdump (-o json)',
    })
    .option('publish', {
      ...str,
      describe: 'Send samples to RabbitMQ: amqp://USER@HOST:PORT/VHOST (password: $METER_LABEL_AMQP_PASSWORD)',
    })
    .option('password-file', { ...str, describe: 'Read the AMQP password from this file (first line)' })
    .option('exchange', { ...str, default: 'neutron', describe: 'Topic exchange (oslo.messaging control_exchange)' })
    .option('topic', {
      ...str,
      default: 'notifications',
      describe: 'Notification topic; the routing key is TOPIC.info',
    })
    .option('amqp-durable', { type: 'boolean', describe: 'Declare the exchange durable (oslo amqp_durable_queues)' })
    .option('spool', { ...str, describe: 'Directory for samples not yet confirmed (default: next to the store)' })
    .option('publish-timeout', {
      coerce: intInRange('publish-timeout', 1, 3600),
      default: 60,
      describe: 'Seconds to keep retrying an unreachable broker',
    });
}

const labelArg = <T>(c: Argv<T>) => c.positional('label', str);
const labelsArg = <T>(c: Argv<T>) => c.positional('labels', { ...str, array: true });
const ruleListArgs = <T>(c: Argv<T>) => c.option('label', { ...str, describe: 'Only the rules of this label' });
const ruleArg = <T>(c: Argv<T>) => c.positional('rule', str);
const rulesArg = <T>(c: Argv<T>) => c.positional('rules', { ...str, array: true });
const routerArg = <T>(c: Argv<T>) => c.positional('router', str);
const routersArg = <T>(c: Argv<T>) => c.positional('routers', { ...str, array: true });
const exportArgs = <T>(c: Argv<T>) =>
  c.option('output', { ...str, alias: 'o', describe: 'Write to FILE atomically instead of stdout' });
const importArgs = <T>(c: Argv<T>) =>
  c
    .positional('files', { ...str, array: true })
    .option('dry-run', { type: 'boolean', describe: 'Validate only; change nothing' });

/** What one subcommand's builder adds to the arguments. */
type Added<B extends (c: Argv<object>) => Argv<unknown>> = ReturnType<B> extends Argv<infer T> ? T : never;
/** The subcommands' own arguments: each present only when its subcommand was given. */
type SubcommandArgs = Partial<
  Added<typeof createArgs> &
    Added<typeof ruleCreateArgs> &
    Added<typeof routerCreateArgs> &
    Added<typeof countArgs> &
    Added<typeof labelArg> &
    Added<typeof labelsArg> &
    Added<typeof ruleArg> &
    Added<typeof rulesArg> &
    Added<typeof routerArg> &
    Added<typeof routersArg> &
    Added<typeof exportArgs> &
    Added<typeof importArgs>
>;

function commands<T>(y: Argv<T>): Argv<T> {
  return y
    .command(['create <name>', ...COMMANDS.create!], 'Create a metering label', createArgs)
    .command(['list', ...COMMANDS.list!], 'List metering labels')
    .command(['show <label>', ...COMMANDS.show!], 'Show a label (ID or name)', labelArg)
    .command(['delete <labels..>', ...COMMANDS.delete!], 'Delete labels (ID or name) and their rules', labelsArg)
    .command(
      ['rule-create <label> [REMOTE_IP_PREFIX]', ...COMMANDS['rule-create']!],
      'Create a metering label rule',
      ruleCreateArgs,
    )
    .command(['rule-list', ...COMMANDS['rule-list']!], 'List rules', ruleListArgs)
    .command(['rule-show <rule>', ...COMMANDS['rule-show']!], 'Show a rule (ID)', ruleArg)
    .command(['rule-delete <rules..>', ...COMMANDS['rule-delete']!], 'Delete rules (IDs)', rulesArg)
    .command(
      'router-create <name>',
      'Create a router: the exporter (and interfaces) whose flows are its traffic',
      routerCreateArgs,
    )
    .command('router-list', 'List routers')
    .command('router-show <router>', 'Show a router (ID or name)', routerArg)
    .command('router-delete <routers..>', 'Delete routers (ID or name)', routersArg)
    .command('export', 'Print all labels, rules and routers as Neutron API JSON', exportArgs)
    .command('import [files..]', 'Add labels and rules from Neutron JSON (ids kept)', importArgs)
    .command('count [files..]', 'Count flow NDJSON per label; print l3.meter samples', countArgs);
}

/** --publish and its options; the password from $METER_LABEL_AMQP_PASSWORD or --password-file only. */
async function publishConfig(args: CountArgs, env: NodeJS.ProcessEnv, db: string): Promise<PublishConfig> {
  let password = env.METER_LABEL_AMQP_PASSWORD;
  if (args['password-file'] !== undefined) {
    const text = await readFile(args['password-file'], 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new FlowmeterError(
        e.code === 'EACCES' ? 'permission' : 'no-input',
        `--password-file ${args['password-file']}: ${describeSystemError(e)}`,
      );
    });
    password = text.split('\n')[0]!.replace(/\r$/, '');
  }
  if (password === undefined)
    throw usageError(
      '--publish needs the broker password in $METER_LABEL_AMQP_PASSWORD or --password-file (never on the command line)',
    );
  const url = args.publish!;
  brokerUrl(url, password); // refuse a bad URL (or one carrying a password) before counting
  return {
    url,
    password,
    exchange: args.exchange,
    topic: args.topic,
    durable: args['amqp-durable'] === true,
    spool: args.spool ?? `${db}.spool`,
    timeoutMs: args['publish-timeout'] * 1000,
    live: args.live === true,
  };
}

function parser(proc: Proc) {
  return commands(
    makeParser(proc, {
      prog: PROG,
      synopsis: ['COMMAND [options] [arguments]'],
      summary:
        'Neutron metering labels and rules kept in a local store (--db), and l3.meter samples per label from flow records. ' +
        'The neutron CLI names (meter-label-create, meter-label-rule-list, …) work as commands.',
      examples: EXAMPLES,
    })
      .option('db', {
        type: 'string',
        describe: 'Store file (default: $METER_LABEL_DB, else $XDG_DATA_HOME/flowmeter/metering.json)',
        group: 'Store:',
      })
      .option('lock-timeout', {
        coerce: intInRange('lock-timeout', 0, 3600),
        default: 10,
        describe: 'Seconds to wait for another run holding the store',
        group: 'Store:',
      })
      .option('format', {
        alias: 'f',
        choices: FORMATS,
        default: 'table' as const,
        describe: 'Output format of tables',
        group: 'Output:',
      })
      .option('column', {
        alias: 'c',
        type: 'string',
        array: true,
        describe: 'Show only this column (repeatable)',
        group: 'Output:',
      }),
  );
}

/** The parsed arguments with the subcommands' own (yargs types only the top-level options). */
type Args = ArgsOf<typeof parser> & SubcommandArgs;

/** The arguments of `meter-label count` (its options have their defaults). */
type CountArgs = ArgsOf<typeof parser> & Added<typeof countArgs>;

/** yargs declares a subcommand's options in its builder, out of the reach of the parser's type:
 *  they are typed from the builders (SubcommandArgs), present when their subcommand was given. */
function withSubcommandArgs(a: ArgsOf<typeof parser>): Args {
  return a as Args;
}

function withCountArgs(a: Args): CountArgs {
  return a as CountArgs;
}

export async function main(proc: Proc): Promise<Outcome | number | void> {
  const parsed = await parseArgs(parser(proc));
  if (!parsed) return 0;
  const args = withSubcommandArgs(parsed);
  const log = makeLog(proc, PROG, args);
  if (args._.length === 0) {
    throw usageError(`a command is required: ${Object.keys(COMMANDS).join(', ')}`, tryHelp(PROG));
  }
  const cmd = CANONICAL.get(String(args._[0]));
  if (!cmd) throw usageError(`unknown command "${String(args._[0])}"`, tryHelp(PROG));
  const common: act.Common = {
    db: args.db ?? defaultStorePath(proc.env),
    format: args.format,
    columns: args.column ?? [],
    lockTimeoutMs: args['lock-timeout'] * 1000,
    quiet: args.quiet,
  };
  const io: act.ActionIo = { stdin: proc.stdin, stdout: proc.stdout, log };
  if (cmd === 'count') {
    proc.report?.enable(args['metrics-file'], log);
    return untilSignal(proc, ['SIGINT', 'SIGTERM'], (signal) =>
      count(proc, withCountArgs(args), common, { ...io, signal, report: proc.report }),
    );
  }
  return runStoreCommand(cmd, args, common, io, args['tenant-id'] ?? proc.env.OS_PROJECT_ID ?? proc.env.OS_TENANT_ID);
}

/** The subcommands that read or change the store. */
async function runStoreCommand(
  cmd: string,
  args: Args,
  common: act.Common,
  io: act.ActionIo,
  project: string | undefined,
): Promise<Outcome | number | void> {
  switch (cmd) {
    case 'create':
      return act.labelCreate(
        common,
        { name: args.name!, description: args.description, shared: args.shared, project },
        io,
      );
    case 'list':
      return act.labelList(common, io);
    case 'show':
      return act.labelShow(common, args.label!, io);
    case 'delete':
      return act.labelDelete(common, args.labels!, io);
    case 'rule-create': {
      if (args.ingress && args.egress) throw usageError('--ingress and --egress exclude each other');
      if (args.excluded && args.include) throw usageError('--excluded and --include exclude each other');
      const remote = [args.REMOTE_IP_PREFIX, args['remote-ip-prefix']]
        .flat()
        .filter((x): x is string => x !== undefined);
      if (remote.length > 1)
        throw usageError('the remote IP prefix is given more than once (REMOTE_IP_PREFIX, --remote-ip-prefix)');
      let direction: Direction = args.egress ? 'egress' : 'ingress';
      if (args.direction !== undefined) {
        if ((args.ingress || args.egress) && args.direction.toLowerCase() !== direction)
          throw usageError(`--direction ${args.direction} contradicts --${direction}`);
        direction = checkDirection(args.direction.toLowerCase()); // neutronclient lower-cases it
      }
      return act.ruleCreate(
        common,
        {
          label: args.label!,
          direction,
          excluded: args.excluded === true,
          remoteIpPrefix: remote[0],
          sourceIpPrefix: args['source-ip-prefix'],
          destinationIpPrefix: args['destination-ip-prefix'],
        },
        io,
      );
    }
    case 'rule-list':
      return act.ruleList(common, args.label, io);
    case 'rule-show':
      return act.ruleShow(common, args.rule!, io);
    case 'rule-delete':
      return act.ruleDelete(common, args.rules!, io);
    case 'router-create':
      return act.routerCreate(
        common,
        {
          name: args.name!,
          project,
          exporter: args.exporter!,
          interfaces: args.if ?? [],
          subnets: args.subnet ?? [],
        },
        io,
      );
    case 'router-list':
      return act.routerList(common, io);
    case 'router-show':
      return act.routerShow(common, args.router!, io);
    case 'router-delete':
      return act.routerDelete(common, args.routers!, io);
    case 'export':
      return act.exportStore(common, args.output, io);
    case 'import':
      return act.importFiles(common, args.files ?? [], args['dry-run'] === true, io);
    default:
      throw new FlowmeterError('software', `no action for command "${cmd}"`);
  }
}

/** meter-label count: samples per label and interval until the input ends (or SIGINT/SIGTERM). */
async function count(
  proc: Proc,
  args: CountArgs,
  common: act.Common,
  io: act.ActionIo & { signal: AbortSignal; report?: RunReport },
): Promise<Outcome> {
  const agent = args.config === undefined ? undefined : await readAgentConfig(args.config);
  for (const k of agent?.ignored ?? []) io.log.info(`${k}: not used by meter-label count (ignored)`);
  if (agent?.measureInterval !== undefined)
    io.log.info(`${args.config}: measure_interval has no effect here: flows are counted as they arrive`);
  const R = args['report-interval'] ?? agent?.reportInterval ?? 300;
  const subnets = args.subnets === undefined ? undefined : await loadNetworksFile(args.subnets, { strict: true });
  if (subnets && subnets.size === 0) throw new FlowmeterError('config', `${args.subnets}: no subnets in the file`);
  return await act.count(
    common,
    {
      inputs: args.files ?? [],
      reportInterval: R,
      live: args.live === true,
      granular: args.granular ?? agent?.granular ?? false,
      host: args.host ?? hostname(),
      timeField: args.time ?? 'start',
      lateness: args.lateness ?? R,
      strict: args.strict === true,
      inputFormat: args['input-format'] ?? 'auto',
      externalIfs: args['external-if'] ? new Set(args['external-if']) : undefined,
      subnets,
    },
    io,
    args.publish === undefined ? undefined : await publishConfig(args, proc.env, common.db),
  );
}
