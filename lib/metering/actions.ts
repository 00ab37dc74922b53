// Each meter-label subcommand from parsed arguments to output: store access, Neutron's messages
// ("Created a new metering_label:", "Deleted metering_label(s): …") and the chosen table format.

import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FlowmeterError, type Outcome } from '../errors.js';
import { openInput, refuseTerminalStdin, writeFileAtomic } from '../cli/io.js';
import type { Log } from '../cli/log.js';
import { visible } from '../cli/visible.js';
import { waitDrain } from '../cli/writer.js';
import { findLabel, findRouter, findRule, type Direction, type Router, type StoreData } from './model.js';
import {
  createLabel,
  createRouter,
  createRule,
  deleteLabels,
  deleteRouters,
  deleteRules,
  exportNeutron,
  importNeutron,
  rulesOf,
} from './ops.js';
import { formatList, formatOne, type Format } from './output.js';
import { readStore, updateStore } from './store.js';
import { runCount, type CountConfig } from './count.js';
import { firstRejectedPlace } from '../cli/ndjson-input.js';
import { reportInput, type RunReport } from '../cli/metrics.js';
import { AmqpSink, type PublishConfig } from './publish.js';

export interface ActionIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  log: Log;
  signal?: AbortSignal;
  /** --metrics-file: the run's counters. */
  report?: RunReport;
}

export interface Common {
  db: string;
  /** -q: create prints nothing on success (cliff's --quiet). */
  quiet?: boolean;
  format: Format;
  columns: string[];
  lockTimeoutMs: number;
}

const LABEL_COLUMNS = ['id', 'name', 'description', 'shared'];
const LABEL_FIELDS = ['id', 'name', 'description', 'shared', 'tenant_id', 'project_id'];
const ROUTER_COLUMNS = ['id', 'name', 'project_id', 'exporter', 'interfaces', 'subnets'];
const ROUTER_FIELDS = ['id', 'name', 'tenant_id', 'project_id', 'exporter', 'interfaces', 'subnets'];
const RULE_COLUMNS = ['id', 'excluded', 'direction', 'remote_ip_prefix', 'source_ip_prefix', 'destination_ip_prefix'];
const RULE_FIELDS = [
  'id',
  'metering_label_id',
  'excluded',
  'direction',
  'remote_ip_prefix',
  'source_ip_prefix',
  'destination_ip_prefix',
];

async function write(out: Writable, text: string): Promise<void> {
  if (text !== '' && !out.write(text)) await waitDrain(out);
}

function update<T>(c: Common, fn: (d: StoreData) => { result: T; changed: boolean }): Promise<T> {
  return updateStore(c.db, fn, { lockTimeoutMs: c.lockTimeoutMs });
}

function created(kind: string, c: Common, obj: object): string {
  if (c.quiet) return '';
  return (c.format === 'table' ? `Created a new ${kind}:\n` : '') + formatOne(obj, c.format, c.columns);
}

/** Report bulk-delete results as neutronclient does; any failure makes the outcome 'failure'. */
async function reportDelete(
  io: ActionIo,
  kind: string,
  res: { deleted: string[]; errors: string[] },
): Promise<Outcome> {
  if (res.deleted.length > 0) await write(io.stdout, `Deleted ${kind}(s): ${visible(res.deleted.join(', '))}\n`);
  for (const e of res.errors) io.log.error(e);
  return res.errors.length > 0 ? 'failure' : 'ok';
}

export interface LabelCreateArgs {
  name: string;
  description?: string;
  shared?: boolean;
  project?: string;
}

export async function labelCreate(c: Common, a: LabelCreateArgs, io: ActionIo): Promise<Outcome> {
  const label = await update(c, (d) => ({
    result: createLabel(d, {
      name: a.name,
      description: a.description,
      shared: a.shared ?? false,
      project_id: a.project,
    }),
    changed: true,
  }));
  await write(io.stdout, created('metering_label', c, label));
  return 'ok';
}

export async function labelList(c: Common, io: ActionIo): Promise<Outcome> {
  const d = await readStore(c.db);
  await write(io.stdout, formatList(LABEL_COLUMNS, d.metering_labels, c.format, c.columns, LABEL_FIELDS));
  return 'ok';
}

export async function labelShow(c: Common, ref: string, io: ActionIo): Promise<Outcome> {
  const label = findLabel(await readStore(c.db), ref);
  await write(io.stdout, formatOne(label, c.format, c.columns));
  return 'ok';
}

/** Delete under the lock, write back only when something went, report as neutronclient does. */
async function deleteAndReport(
  c: Common,
  io: ActionIo,
  kind: string,
  del: (d: StoreData) => { deleted: string[]; errors: string[] },
): Promise<Outcome> {
  const res = await update(c, (d) => {
    const r = del(d);
    return { result: r, changed: r.deleted.length > 0 };
  });
  return reportDelete(io, kind, res);
}

export function labelDelete(c: Common, refs: string[], io: ActionIo): Promise<Outcome> {
  return deleteAndReport(c, io, 'metering_label', (d) => deleteLabels(d, refs));
}

export interface RuleCreateArgs {
  label: string;
  direction: Direction;
  excluded: boolean;
  remoteIpPrefix?: string;
  sourceIpPrefix?: string;
  destinationIpPrefix?: string;
}

export async function ruleCreate(c: Common, a: RuleCreateArgs, io: ActionIo): Promise<Outcome> {
  const rule = await update(c, (d) => ({
    result: createRule(d, a.label, {
      direction: a.direction,
      excluded: a.excluded,
      remote_ip_prefix: a.remoteIpPrefix,
      source_ip_prefix: a.sourceIpPrefix,
      destination_ip_prefix: a.destinationIpPrefix,
    }),
    changed: true,
  }));
  await write(io.stdout, created('metering_label_rule', c, rule));
  return 'ok';
}

export async function ruleList(c: Common, label: string | undefined, io: ActionIo): Promise<Outcome> {
  const rules = rulesOf(await readStore(c.db), label);
  await write(io.stdout, formatList(RULE_COLUMNS, rules, c.format, c.columns, RULE_FIELDS));
  return 'ok';
}

export async function ruleShow(c: Common, id: string, io: ActionIo): Promise<Outcome> {
  const rule = findRule(await readStore(c.db), id);
  await write(io.stdout, formatOne(rule, c.format, c.columns));
  return 'ok';
}

export function ruleDelete(c: Common, ids: string[], io: ActionIo): Promise<Outcome> {
  return deleteAndReport(c, io, 'metering_label_rule', (d) => deleteRules(d, ids));
}

export interface RouterCreateArgs {
  name: string;
  project?: string;
  exporter: string;
  interfaces: number[];
  subnets: string[];
}

export async function routerCreate(c: Common, a: RouterCreateArgs, io: ActionIo): Promise<Outcome> {
  const router = await update(c, (d) => ({
    result: createRouter(d, {
      name: a.name,
      project_id: a.project,
      exporter: a.exporter,
      interfaces: a.interfaces,
      subnets: a.subnets,
    }),
    changed: true,
  }));
  await write(io.stdout, created('router', c, router));
  return 'ok';
}

export async function routerList(c: Common, io: ActionIo): Promise<Outcome> {
  const d = await readStore(c.db);
  await write(io.stdout, formatList(ROUTER_COLUMNS, d.routers, c.format, c.columns, ROUTER_FIELDS));
  return 'ok';
}

export async function routerShow(c: Common, ref: string, io: ActionIo): Promise<Outcome> {
  await write(io.stdout, formatOne(findRouter(await readStore(c.db), ref), c.format, c.columns));
  return 'ok';
}

export function routerDelete(c: Common, refs: string[], io: ActionIo): Promise<Outcome> {
  return deleteAndReport(c, io, 'router', (d) => deleteRouters(d, refs));
}

export async function exportStore(c: Common, output: string | undefined, io: ActionIo): Promise<Outcome> {
  if (output !== undefined && output !== '-' && resolve(output) === resolve(c.db)) {
    throw new FlowmeterError('usage', `${output} is the store itself; export writes Neutron JSON, not a store`);
  }
  const text = exportNeutron(await readStore(c.db));
  if (output === undefined || output === '-') await write(io.stdout, text);
  else await writeFileAtomic(output, text);
  return 'ok';
}

export async function importFiles(c: Common, files: string[], dryRun: boolean, io: ActionIo): Promise<Outcome> {
  refuseTerminalStdin(files, io.stdin, 'Neutron JSON');
  const docs: { doc: unknown; where: string }[] = [];
  for (const f of files.length === 0 ? ['-'] : files) {
    const src = await openInput(f, io.stdin);
    const chunks: Buffer[] = [];
    for await (const chunk of src.stream)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    try {
      docs.push({ doc: JSON.parse(Buffer.concat(chunks).toString('utf8')), where: src.name });
    } catch (e) {
      throw new FlowmeterError('data', `${src.name}: invalid JSON: ${(e as Error).message}`);
    }
  }
  const res = await update(c, (d) => {
    const r = importNeutron(d, docs);
    return { result: r, changed: !dryRun && r.labelsAdded + r.rulesAdded + r.routersAdded > 0 };
  });
  const routers = res.routersAdded > 0 ? `, ${res.routersAdded} router(s)` : '';
  io.log.info(
    `${dryRun ? 'would import' : 'imported'} ${res.labelsAdded} label(s) and ${res.rulesAdded} rule(s)${routers}; ${res.unchanged} already present`,
  );
  return 'ok';
}

export async function count(c: Common, cfg: CountConfig, io: ActionIo, publish?: PublishConfig): Promise<Outcome> {
  refuseTerminalStdin(cfg.inputs, io.stdin, 'flow records');
  let sink: AmqpSink | undefined;
  if (publish) {
    sink = new AmqpSink(publish, io.stdout, io.log);
    await sink.open();
  }
  const stats = await runCount(cfg, {
    stdin: io.stdin,
    stdout: io.stdout,
    log: io.log,
    load: () => readStore(c.db),
    storePath: c.db,
    signal: io.signal,
    sink,
  }).catch(async (e: unknown) => {
    await sink?.abort();
    throw e;
  });
  if (sink)
    io.log.info(`published=${sink.published} to exchange ${publish!.exchange} with routing key ${publish!.topic}.info`);
  io.log.flushSuppressed();
  io.log.info(
    `flows=${stats.flows} matched=${stats.matched} rejected=${stats.rejected} late=${stats.late} samples=${stats.samples}`,
  );
  reportInput(io.report, { flows: stats.flows });
  io.report?.gauge('flowmeter_run_matched_flows', 'Flows counted for at least one label in the run', stats.matched);
  io.report?.gauge('flowmeter_run_late_flows', 'Flows that came after their interval was reported', stats.late);
  io.report?.gauge('flowmeter_run_samples', 'l3.meter samples written in the run', stats.samples);
  if (stats.rejected > 0) {
    io.log.warn(
      `${stats.rejected} of ${stats.flows + stats.rejected} records rejected (first: ${firstRejectedPlace(io.log)})`,
    );
    return 'data';
  }
  if (io.signal?.aborted && !cfg.live) return 'interrupted'; // live runs are meant to be stopped
  return 'ok';
}
