// Neutron metering resources (neutron-lib api/definitions/metering.py and the
// metering_source_and_destination_fields extension) and the API's validation, with its messages.

import { randomUUID } from 'node:crypto';
import { FlowmeterError } from '../errors.js';
import { describeValue } from '../flow/record.js';
import { parsePrefix, prefixesOverlap, ipInterfaceError } from './prefix.js';

export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

export interface MeteringLabel {
  id: string;
  name: string;
  description: string;
  shared: boolean;
  tenant_id: string;
  project_id: string;
}

export interface MeteringLabelRule {
  id: string;
  metering_label_id: string;
  direction: Direction;
  excluded: boolean;
  remote_ip_prefix: string | null;
  source_ip_prefix: string | null;
  destination_ip_prefix: string | null;
}

/** A Neutron router as flows see it: the exporter that reports its traffic (sampler_address),
 *  optionally the ifIndexes that are its ports, and the internal subnets behind it. */
export interface Router {
  id: string;
  name: string;
  tenant_id: string;
  project_id: string;
  exporter: string;
  interfaces: number[];
  subnets: string[];
}

export interface StoreData {
  metering_labels: MeteringLabel[];
  metering_label_rules: MeteringLabelRule[];
  routers: Router[];
}

/** An API-style error: 400 bad request, 404 not found, 409 conflict. The message is Neutron's. */
export class NeutronError extends FlowmeterError {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(status === 400 ? 'usage' : 'failure', message);
    this.name = 'NeutronError';
  }
}

const NAME_MAX = 255;
const DESCRIPTION_MAX = 1024;
const PROJECT_ID_MAX = 255;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

function invalidInput(attr: string, reason: string): NeutronError {
  return new NeutronError(`Invalid input for ${attr}. Reason: ${reason}.`, 400);
}

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return typeof v === 'object' ? describeValue(v) : String(v); // bounded: a value may nest deeper than the stack
}

function checkString(attr: string, v: unknown, max: number): string {
  if (typeof v !== 'string') throw invalidInput(attr, `${pyRepr(v)} is not a valid string`);
  if (v.length > max) throw invalidInput(attr, `'${v}' exceeds maximum length of ${max}`);
  return v;
}

/** neutron-lib converters.convert_to_boolean. */
export function toBoolean(attr: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw invalidInput(attr, `${pyRepr(v)} cannot be converted to boolean`);
}

/** neutron-lib's validate_values message, as the API returns it for a direction outside the set. */
export function checkDirection(v: unknown): Direction {
  if (v === 'ingress' || v === 'egress') return v;
  throw invalidInput('direction', `${typeof v === 'string' ? v : pyRepr(v)} is not in valid_values`);
}

export interface LabelInput {
  id?: string;
  name?: unknown;
  description?: unknown;
  shared?: unknown;
  tenant_id?: unknown;
  project_id?: unknown;
}

/** A validated label: Neutron's defaults (name and description '', shared false). */
export function makeLabel(input: LabelInput): MeteringLabel {
  const id = input.id ?? randomUUID();
  if (!isUuid(id)) throw invalidInput('id', `'${id}' is not a valid UUID`);
  const name = checkString('name', input.name ?? '', NAME_MAX);
  const description = checkString('description', input.description ?? '', DESCRIPTION_MAX);
  const project = input.project_id ?? input.tenant_id ?? '';
  const project_id = checkString('tenant_id', project, PROJECT_ID_MAX);
  if (input.tenant_id !== undefined && input.project_id !== undefined && input.tenant_id !== input.project_id) {
    throw invalidInput('tenant_id', `'${String(input.tenant_id)}' and project_id '${String(input.project_id)}' differ`);
  }
  const shared = toBoolean('shared', input.shared ?? false);
  return { id: id.toLowerCase(), name, description, shared, tenant_id: project_id, project_id };
}

export interface RuleInput {
  id?: string;
  metering_label_id: string;
  direction?: unknown;
  excluded?: unknown;
  remote_ip_prefix?: unknown;
  source_ip_prefix?: unknown;
  destination_ip_prefix?: unknown;
}

function optPrefix(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw invalidInput('remote_ip_prefix', `${pyRepr(v)} is not a valid string`);
  return v;
}

function validateCidr(value: string, field: string): void {
  if (!parsePrefix(value)) throw new NeutronError(`${field}: ${value} is invalid [${ipInterfaceError(value)}].`, 400);
}

/** Validate a new rule against the label's existing rules, in the order the Neutron server does:
 *  direction, remote mixed with source/destination, none given, each prefix, overlap (409). */
export function makeRule(input: RuleInput, existing: readonly MeteringLabelRule[]): MeteringLabelRule {
  const id = input.id ?? randomUUID();
  if (!isUuid(id)) throw invalidInput('id', `'${id}' is not a valid UUID`);
  const direction = checkDirection(input.direction);
  const excluded = toBoolean('excluded', input.excluded ?? false);
  const remote = optPrefix(input.remote_ip_prefix);
  const source = optPrefix(input.source_ip_prefix);
  const destination = optPrefix(input.destination_ip_prefix);
  if (remote !== null && (source !== null || destination !== null)) {
    throw new NeutronError(
      "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.",
      400,
    );
  }
  if (remote === null && source === null && destination === null) {
    throw new NeutronError(
      "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
      400,
    );
  }
  if (remote !== null) validateCidr(remote, 'remote_ip_prefix');
  if (source !== null) validateCidr(source, 'source_ip_prefix');
  if (destination !== null) validateCidr(destination, 'destination_ip_prefix');
  if (source !== null && destination !== null && parsePrefix(source)!.family !== parsePrefix(destination)!.family) {
    // Neutron does not check this; iptables/ip6tables would refuse the rule, and it could never match.
    throw new NeutronError(
      `source_ip_prefix ${source} and destination_ip_prefix ${destination} are not of the same IP version.`,
      400,
    );
  }
  if (remote !== null) {
    const mine = parsePrefix(remote)!;
    for (const r of existing) {
      if (r.metering_label_id !== input.metering_label_id || r.remote_ip_prefix === null) continue;
      if (r.direction !== direction || r.excluded !== excluded) continue;
      const other = parsePrefix(r.remote_ip_prefix);
      if (other && prefixesOverlap(mine, other)) {
        throw new NeutronError(`Metering label rule with remote_ip_prefix '${remote}' overlaps another.`, 409);
      }
    }
  }
  return {
    id: id.toLowerCase(),
    metering_label_id: input.metering_label_id,
    direction,
    excluded,
    remote_ip_prefix: remote,
    source_ip_prefix: source,
    destination_ip_prefix: destination,
  };
}

export interface RouterInput {
  id?: string;
  name?: unknown;
  tenant_id?: unknown;
  project_id?: unknown;
  exporter?: unknown;
  interfaces?: unknown;
  subnets?: unknown;
}

function checkInterfaces(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) {
    throw invalidInput('interfaces', `${pyRepr(v)} is not a list of ifIndexes (0-4294967295)`);
  }
  return [...new Set(v as number[])];
}

function checkSubnets(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidInput('subnets', `${pyRepr(v)} is not a list of CIDRs`);
  return v.map((c) => {
    const p = typeof c === 'string' ? parsePrefix(c) : undefined;
    if (!p) throw new NeutronError(`subnets: ${String(c)} is invalid [${ipInterfaceError(String(c))}].`, 400);
    return p.network;
  });
}

/** A validated router: an exporter address is required (it is how flows are attributed). */
export function makeRouter(input: RouterInput): Router {
  const id = input.id ?? randomUUID();
  if (!isUuid(id)) throw invalidInput('id', `'${id}' is not a valid UUID`);
  const name = checkString('name', input.name ?? '', NAME_MAX);
  const project = input.project_id ?? input.tenant_id ?? '';
  const project_id = checkString('tenant_id', project, PROJECT_ID_MAX);
  if (input.tenant_id !== undefined && input.project_id !== undefined && input.tenant_id !== input.project_id) {
    throw invalidInput('tenant_id', `'${String(input.tenant_id)}' and project_id '${String(input.project_id)}' differ`);
  }
  const exporter = checkString('exporter', input.exporter ?? '', 64);
  const addr = parsePrefix(exporter);
  if (!addr || addr.len !== (addr.family === 4 ? 32 : 128) || exporter.includes('/')) {
    throw invalidInput('exporter', `'${exporter}' is not an IP address (the flow exporter's sampler_address)`);
  }
  return {
    id: id.toLowerCase(),
    name,
    tenant_id: project_id,
    project_id,
    exporter: addr.network.replace(/\/\d+$/, ''),
    interfaces: checkInterfaces(input.interfaces),
    subnets: checkSubnets(input.subnets),
  };
}

export function findRouter(data: StoreData, ref: string): Router {
  return findByNameOrId(data.routers, 'router', ref);
}

export function labelNotFound(ref: string): NeutronError {
  return new NeutronError(`Metering label '${ref}' does not exist.`, 404);
}

export function ruleNotFound(ref: string): NeutronError {
  return new NeutronError(`Metering label rule '${ref}' does not exist.`, 404);
}

/** neutronclient's find_resourceid_by_name_or_id: an exact id first, then a unique name. */
function findByNameOrId<T extends { id: string; name: string }>(items: readonly T[], kind: string, ref: string): T {
  const byId = items.find((x) => x.id === ref.toLowerCase());
  if (byId) return byId;
  const byName = items.filter((x) => x.name === ref);
  if (byName.length === 1) return byName[0]!;
  if (byName.length === 0) throw new NeutronError(`Unable to find ${kind} with name or id '${ref}'`, 404);
  throw new NeutronError(
    `Multiple ${kind} matches found for name '${ref}', use an ID to be more specific (${byName.map((x) => x.id).join(', ')}).`,
    409,
  );
}

export function findLabel(data: StoreData, ref: string): MeteringLabel {
  return findByNameOrId(data.metering_labels, 'metering_label', ref);
}

export function findRule(data: StoreData, ref: string): MeteringLabelRule {
  const r = data.metering_label_rules.find((x) => x.id === ref.toLowerCase());
  if (!r) throw ruleNotFound(ref);
  return r;
}
