// The label store: one versioned JSON file (readable with jq), replaced atomically, changed only
// under a lock so concurrent runs never lose an update. A corrupt file, or one written by a newer
// version, is refused with a message and never overwritten.

import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { FlowmeterError } from '../errors.js';
import { describeSystemError, writeFileAtomic } from '../cli/io.js';
import { LockFile } from '../cli/lock.js';
import {
  checkDirection,
  isUuid,
  makeRouter,
  type MeteringLabel,
  type MeteringLabelRule,
  type Router,
  type StoreData,
} from './model.js';
import { parsePrefix } from './prefix.js';

export const STORE_FORMAT = 'flowmeter-metering';
/** 2 added routers; a version-1 file reads as one without routers. */
export const STORE_VERSION = 2;

/** --db, else $METER_LABEL_DB, else $XDG_DATA_HOME/flowmeter/metering.json (~/.local/share). */
export function defaultStorePath(env: NodeJS.ProcessEnv): string {
  if (env.METER_LABEL_DB) return env.METER_LABEL_DB;
  const base =
    env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/')
      ? env.XDG_DATA_HOME
      : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'flowmeter', 'metering.json');
}

export function emptyStore(): StoreData {
  return { metering_labels: [], metering_label_rules: [], routers: [] };
}

function corrupt(path: string, why: string): FlowmeterError {
  return new FlowmeterError(
    'config',
    `${path}: not a usable meter-label store (${why}); refusing to use or overwrite it`,
  );
}

/** Read the store; a missing file is an empty store. */
export async function readStore(path: string): Promise<StoreData> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return emptyStore();
    throw new FlowmeterError(
      err.code === 'EACCES' ? 'permission' : 'no-input',
      `${path}: cannot read: ${describeSystemError(err)}`,
    );
  }
  return parseStore(path, text);
}

export function parseStore(path: string, text: string): StoreData {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt(path, `invalid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(path, 'not a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.format !== STORE_FORMAT) throw corrupt(path, `"format" is not "${STORE_FORMAT}"`);
  if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 1)
    throw corrupt(path, '"version" is not a positive integer');
  if (o.version > STORE_VERSION) {
    throw new FlowmeterError(
      'config',
      `${path}: store format version ${o.version} is newer than this meter-label understands (${STORE_VERSION}); upgrade flowmeter. The file was left untouched`,
    );
  }
  if (!Array.isArray(o.metering_labels) || !Array.isArray(o.metering_label_rules)) {
    throw corrupt(path, '"metering_labels" and "metering_label_rules" must be arrays');
  }
  const labels = o.metering_labels.map((l, i) => checkLabel(path, l, i));
  const ids = new Set<string>();
  for (const l of labels) {
    if (ids.has(l.id)) throw corrupt(path, `label id ${l.id} appears twice`);
    ids.add(l.id);
  }
  const rules = o.metering_label_rules.map((r, i) => checkRule(path, r, i));
  const ruleIds = new Set<string>();
  for (const r of rules) {
    if (!ids.has(r.metering_label_id))
      throw corrupt(path, `rule ${r.id} refers to a missing label ${r.metering_label_id}`);
    if (ruleIds.has(r.id)) throw corrupt(path, `rule id ${r.id} appears twice`);
    ruleIds.add(r.id);
  }
  if (o.routers !== undefined && !Array.isArray(o.routers)) throw corrupt(path, '"routers" must be an array');
  const routers = ((o.routers ?? []) as unknown[]).map((r, i) => checkRouter(path, r, i));
  const routerIds = new Set<string>();
  for (const r of routers) {
    if (routerIds.has(r.id)) throw corrupt(path, `router id ${r.id} appears twice`);
    routerIds.add(r.id);
  }
  return { metering_labels: labels, metering_label_rules: rules, routers };
}

function checkRouter(path: string, v: unknown, i: number): Router {
  const where = `routers[${i}]`;
  if (typeof v !== 'object' || v === null) throw corrupt(path, `${where} is not an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || !isUuid(o.id)) throw corrupt(path, `${where}.id is not a UUID`);
  try {
    return makeRouter({ ...o, id: o.id });
  } catch (e) {
    throw corrupt(path, `${where}: ${(e as Error).message}`);
  }
}

function checkLabel(path: string, v: unknown, i: number): MeteringLabel {
  const where = `metering_labels[${i}]`;
  if (typeof v !== 'object' || v === null) throw corrupt(path, `${where} is not an object`);
  const o = v as Record<string, unknown>;
  for (const k of ['id', 'name', 'description', 'tenant_id', 'project_id']) {
    if (typeof o[k] !== 'string') throw corrupt(path, `${where}.${k} is not a string`);
  }
  if (typeof o.shared !== 'boolean') throw corrupt(path, `${where}.shared is not a boolean`);
  if (!isUuid(o.id as string)) throw corrupt(path, `${where}.id is not a UUID`);
  return {
    id: o.id as string,
    name: o.name as string,
    description: o.description as string,
    shared: o.shared,
    tenant_id: o.tenant_id as string,
    project_id: o.project_id as string,
  };
}

function checkRule(path: string, v: unknown, i: number): MeteringLabelRule {
  const where = `metering_label_rules[${i}]`;
  if (typeof v !== 'object' || v === null) throw corrupt(path, `${where} is not an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || !isUuid(o.id)) throw corrupt(path, `${where}.id is not a UUID`);
  if (typeof o.metering_label_id !== 'string') throw corrupt(path, `${where}.metering_label_id is not a string`);
  let direction;
  try {
    direction = checkDirection(o.direction);
  } catch {
    throw corrupt(path, `${where}.direction is not "ingress" or "egress"`);
  }
  if (typeof o.excluded !== 'boolean') throw corrupt(path, `${where}.excluded is not a boolean`);
  const prefixes: Record<string, string | null> = {};
  for (const k of ['remote_ip_prefix', 'source_ip_prefix', 'destination_ip_prefix']) {
    const p = o[k];
    if (p === null || p === undefined) prefixes[k] = null;
    else if (typeof p === 'string' && parsePrefix(p)) prefixes[k] = p;
    else throw corrupt(path, `${where}.${k} is not an IP prefix or null`);
  }
  if (
    prefixes.remote_ip_prefix === null &&
    prefixes.source_ip_prefix === null &&
    prefixes.destination_ip_prefix === null
  ) {
    throw corrupt(path, `${where} has no prefix`);
  }
  return {
    id: o.id,
    metering_label_id: o.metering_label_id,
    direction,
    excluded: o.excluded,
    remote_ip_prefix: prefixes.remote_ip_prefix!,
    source_ip_prefix: prefixes.source_ip_prefix!,
    destination_ip_prefix: prefixes.destination_ip_prefix!,
  };
}

export function serializeStore(data: StoreData): string {
  return `${JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, ...data }, null, 2)}\n`;
}

export interface UpdateOptions {
  lockTimeoutMs?: number;
}

/** Lock, read, let `change` modify the data, write it back atomically if `change` says so. */
export async function updateStore<T>(
  path: string,
  change: (data: StoreData) => { result: T; changed: boolean } | Promise<{ result: T; changed: boolean }>,
  opts: UpdateOptions = {},
): Promise<T> {
  const dir = dirname(path);
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FlowmeterError('cant-create', `${dir}: cannot create directory: ${describeSystemError(err)}`);
  }
  const lock = await LockFile.acquire(`${path}.lock`, { timeoutMs: opts.lockTimeoutMs ?? 10_000 });
  try {
    const data = await readStore(path);
    const { result, changed } = await change(data);
    if (changed) {
      const mode = await fsp.stat(path).then(
        (s) => s.mode & 0o777,
        () => 0o644,
      );
      await writeFileAtomic(path, serializeStore(data), mode);
    }
    return result;
  } finally {
    await lock.release();
  }
}
