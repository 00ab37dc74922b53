// What each meter-label subcommand does to the store, as functions over StoreData (no I/O), and
// Neutron's JSON in and out: API bodies and `openstack ... -f json` output.

import { FlowmeterError } from '../errors.js';
import {
  findLabel,
  findRouter,
  findRule,
  makeLabel,
  makeRouter,
  makeRule,
  NeutronError,
  type LabelInput,
  type MeteringLabel,
  type MeteringLabelRule,
  type Router,
  type RouterInput,
  type RuleInput,
  type StoreData,
} from './model.js';

export function createLabel(data: StoreData, input: LabelInput): MeteringLabel {
  const label = makeLabel(input);
  if (data.metering_labels.some((l) => l.id === label.id))
    throw new NeutronError(`Metering label ${label.id} already exists.`, 409);
  data.metering_labels.push(label);
  return label;
}

export interface DeleteResult {
  deleted: string[];
  errors: string[];
}

/** neutronclient's bulk delete: every reference is tried; found ones go, the rest are reported. */
function bulkDelete(refs: readonly string[], kind: string, removeOne: (ref: string) => void): DeleteResult {
  const res: DeleteResult = { deleted: [], errors: [] };
  for (const ref of refs) {
    try {
      removeOne(ref);
      res.deleted.push(ref);
    } catch (e) {
      if (!(e instanceof NeutronError)) throw e;
      res.errors.push(
        `Failed to delete ${kind} with ${kind === 'metering_label_rule' ? 'ID' : 'name or ID'} '${ref}': ${e.message}`,
      );
    }
  }
  return res;
}

export function deleteLabels(data: StoreData, refs: readonly string[]): DeleteResult {
  return bulkDelete(refs, 'metering_label', (ref) => {
    const label = findLabel(data, ref);
    data.metering_labels = data.metering_labels.filter((l) => l.id !== label.id);
    data.metering_label_rules = data.metering_label_rules.filter((r) => r.metering_label_id !== label.id);
  });
}

export function createRule(
  data: StoreData,
  labelRef: string,
  input: Omit<RuleInput, 'metering_label_id'>,
): MeteringLabelRule {
  const label = findLabel(data, labelRef);
  const rule = makeRule({ ...input, metering_label_id: label.id }, data.metering_label_rules);
  if (data.metering_label_rules.some((r) => r.id === rule.id))
    throw new NeutronError(`Metering label rule ${rule.id} already exists.`, 409);
  data.metering_label_rules.push(rule);
  return rule;
}

export function deleteRules(data: StoreData, ids: readonly string[]): DeleteResult {
  return bulkDelete(ids, 'metering_label_rule', (ref) => {
    const rule = findRule(data, ref);
    data.metering_label_rules = data.metering_label_rules.filter((r) => r.id !== rule.id);
  });
}

export function createRouter(data: StoreData, input: RouterInput): Router {
  const router = makeRouter(input);
  if (data.routers.some((r) => r.id === router.id)) throw new NeutronError(`Router ${router.id} already exists.`, 409);
  data.routers.push(router);
  return router;
}

export function deleteRouters(data: StoreData, refs: readonly string[]): DeleteResult {
  return bulkDelete(refs, 'router', (ref) => {
    const router = findRouter(data, ref);
    data.routers = data.routers.filter((r) => r.id !== router.id);
  });
}

export function rulesOf(data: StoreData, labelRef?: string): MeteringLabelRule[] {
  if (labelRef === undefined) return data.metering_label_rules;
  const label = findLabel(data, labelRef);
  return data.metering_label_rules.filter((r) => r.metering_label_id === label.id);
}

/** Neutron's JSON, as GET /v2.0/metering/metering-labels and …/metering-label-rules return it. */
export function exportNeutron(data: StoreData): string {
  const routers = data.routers.length > 0 ? { routers: data.routers } : {};
  return `${JSON.stringify({ metering_labels: data.metering_labels, metering_label_rules: data.metering_label_rules, ...routers }, null, 2)}\n`;
}

// openstack CLI -f json uses its column headers as keys; map them back to API attribute names.
const OSC_KEYS: Record<string, string> = {
  ID: 'id',
  Name: 'name',
  Description: 'description',
  Shared: 'shared',
  Project: 'project_id',
  Excluded: 'excluded',
  Direction: 'direction',
  'Remote IP Prefix': 'remote_ip_prefix',
  'Source IP Prefix': 'source_ip_prefix',
  'Destination IP Prefix': 'destination_ip_prefix',
  is_shared: 'shared',
};

function normalizeKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[OSC_KEYS[k] ?? k] = v;
  return out;
}

interface Parsed {
  labels: Record<string, unknown>[];
  rules: Record<string, unknown>[];
  routers: Record<string, unknown>[];
}

/** Collect labels and rules from one document: {"metering_labels": [...]}, {"metering_label": {...}},
 *  the rules equivalents, our store file, or a bare array/object from `openstack … -f json`. */
export function parseNeutronDocument(doc: unknown, where: string): Parsed {
  const out: Parsed = { labels: [], rules: [], routers: [] };
  const isRule = (o: Record<string, unknown>): boolean =>
    'direction' in o || 'metering_label_id' in o || 'remote_ip_prefix' in o;
  const add = (v: unknown, kind: 'label' | 'rule' | 'guess', at: string): void => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new FlowmeterError('data', `${where}: ${at}: expected an object`);
    const o = normalizeKeys(v as Record<string, unknown>);
    const k = kind === 'guess' ? (isRule(o) ? 'rule' : 'label') : kind;
    (k === 'rule' ? out.rules : out.labels).push(o);
  };
  const list = (v: unknown, kind: 'label' | 'rule' | 'guess', at: string): void => {
    if (!Array.isArray(v)) throw new FlowmeterError('data', `${where}: ${at}: expected an array`);
    v.forEach((x, i) => add(x, kind, `${at}[${i}]`));
  };
  if (Array.isArray(doc)) {
    list(doc, 'guess', '$');
    return out;
  }
  if (typeof doc !== 'object' || doc === null)
    throw new FlowmeterError('data', `${where}: expected a JSON object or array`);
  const o = doc as Record<string, unknown>;
  let known = false;
  if ('metering_labels' in o) ((known = true), list(o.metering_labels, 'label', 'metering_labels'));
  if ('metering_label' in o) ((known = true), add(o.metering_label, 'label', 'metering_label'));
  if ('metering_label_rules' in o) ((known = true), list(o.metering_label_rules, 'rule', 'metering_label_rules'));
  if ('metering_label_rule' in o) ((known = true), add(o.metering_label_rule, 'rule', 'metering_label_rule'));
  if ('routers' in o) {
    known = true;
    if (!Array.isArray(o.routers)) throw new FlowmeterError('data', `${where}: routers: expected an array`);
    o.routers.forEach((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x))
        throw new FlowmeterError('data', `${where}: routers[${i}]: expected an object`);
      out.routers.push(x as Record<string, unknown>);
    });
  }
  if (!known) add(o, 'guess', '$');
  return out;
}

export interface ImportResult {
  labelsAdded: number;
  rulesAdded: number;
  routersAdded: number;
  unchanged: number;
}

function sameJson(a: object, b: object): boolean {
  const keys = Object.keys(a).sort();
  return (
    JSON.stringify(keys.map((k) => (a as Record<string, unknown>)[k])) ===
    JSON.stringify(keys.map((k) => (b as Record<string, unknown>)[k]))
  );
}

/** Add everything or nothing: ids are kept; an item already present unchanged is skipped, one
 *  present with other values is a conflict. Rules go through the same validation as rule-create. */
export function importNeutron(data: StoreData, docs: ReadonlyArray<{ doc: unknown; where: string }>): ImportResult {
  const res: ImportResult = { labelsAdded: 0, rulesAdded: 0, routersAdded: 0, unchanged: 0 };
  const work: StoreData = {
    metering_labels: [...data.metering_labels],
    metering_label_rules: [...data.metering_label_rules],
    routers: [...data.routers],
  };
  const fail = (where: string, what: string, e: unknown): never => {
    if (e instanceof FlowmeterError)
      throw new FlowmeterError(
        e instanceof NeutronError && e.status === 400 ? 'data' : e.kind,
        `${where}: ${what}: ${e.message}`,
      );
    throw e;
  };
  const parsed = docs.map(({ doc, where }) => ({ where, p: parseNeutronDocument(doc, where) }));
  /** Labels and routers: kept when new, counted when present and equal, refused when different. */
  const addNamed = <T extends { id: string; name: string }>(
    items: readonly Record<string, unknown>[],
    kind: string,
    where: string,
    into: T[],
    make: (o: Record<string, unknown>) => T,
  ): number => {
    let added = 0;
    items.forEach((o, i) => {
      try {
        const item = make({ ...o, id: typeof o.id === 'string' ? o.id : undefined });
        const existing = into.find((x) => x.id === item.id);
        if (existing) {
          if (!sameJson(existing, item))
            throw new NeutronError(`a different ${kind} with this id already exists (name '${existing.name}')`, 409);
          res.unchanged++;
          return;
        }
        into.push(item);
        added++;
      } catch (e) {
        fail(where, `${kind} ${typeof o.id === 'string' ? o.id : `#${i + 1}`}`, e);
      }
    });
    return added;
  };
  for (const { where, p } of parsed)
    res.labelsAdded += addNamed(p.labels, 'label', where, work.metering_labels, (o) => makeLabel(o as LabelInput));
  for (const { where, p } of parsed) {
    p.rules.forEach((o, i) => {
      const what = `rule ${typeof o.id === 'string' ? o.id : `#${i + 1}`}`;
      try {
        const labelId = o.metering_label_id;
        if (typeof labelId !== 'string')
          throw new NeutronError(
            'metering_label_id is missing (openstack "rule list" output lacks it; export with "rule show" or the API)',
            400,
          );
        const label = work.metering_labels.find((l) => l.id === labelId.toLowerCase());
        if (!label) throw new NeutronError(`Metering label '${labelId}' does not exist.`, 404);
        const id = typeof o.id === 'string' ? o.id.toLowerCase() : undefined;
        const existing = id === undefined ? undefined : work.metering_label_rules.find((r) => r.id === id);
        const rule = makeRule(
          { ...o, id, metering_label_id: label.id } as RuleInput,
          existing ? [] : work.metering_label_rules,
        );
        if (existing) {
          if (!sameJson(existing, rule)) throw new NeutronError('a different rule with this id already exists', 409);
          res.unchanged++;
          return;
        }
        work.metering_label_rules.push(rule);
        res.rulesAdded++;
      } catch (e) {
        fail(where, what, e);
      }
    });
  }
  for (const { where, p } of parsed)
    res.routersAdded += addNamed(p.routers, 'router', where, work.routers, (o) => makeRouter(o as RouterInput));
  data.metering_labels = work.metering_labels;
  data.metering_label_rules = work.metering_label_rules;
  data.routers = work.routers;
  return res;
}
