// NetFlow v9 / IPFIX template cache: templates keyed by exporter address + version + source id
// (v9) or observation domain (IPFIX) + template id, with the per-domain state that data records
// need (sampling rates from options data, systemInitTime). Serialisable to JSON so a restarted
// collector decodes at once (--template-cache FILE).

import { A, K, VARLEN, actionFor, kindFor } from './fields.js';
import type { FixedReader } from './data.js';

export interface TemplateField {
  /** Information element id (enterprise bit cleared). */
  id: number;
  /** Field length in bytes; 65535 = variable length (IPFIX). */
  length: number;
  /** Private enterprise number, 0 for IANA elements. */
  pen: number;
}

/** A template with its compiled field plan. */
export class Template {
  /** Per field: action code (fields.ts A.*), 0 = skip by length. */
  readonly codes: Uint8Array;
  /** Per field: how it is read (fields.ts K.*). */
  readonly kinds: Uint8Array;
  /** Per field: length in bytes, -1 = variable length. */
  readonly lens: Int32Array;
  /** Smallest possible record: fixed lengths plus one length byte per variable field (>= 1). */
  readonly minLength: number;
  /** Record length when there is no variable-length field, else -1. */
  readonly fixedLength: number;
  /** Data sets decoded with it, until it gets a compiled reader (data.ts fixedReader). */
  sets = 0;
  reader: FixedReader | undefined = undefined;

  constructor(
    readonly id: number,
    /** 0 for a data template; the number of scope fields for an options template. */
    readonly scopeCount: number,
    readonly fields: readonly TemplateField[],
    /** v9 options scopes are scope types (system, interface, …), not information elements. */
    readonly v9: boolean,
  ) {
    const n = fields.length;
    this.codes = new Uint8Array(n);
    this.kinds = new Uint8Array(n);
    this.lens = new Int32Array(n);
    let fixed = 0;
    let variable = 0;
    for (let i = 0; i < n; i++) {
      const f = fields[i]!;
      const isVar = f.length === VARLEN;
      this.lens[i] = isVar ? -1 : f.length;
      if (isVar) variable++;
      else fixed += f.length;
      const scopeOfV9 = v9 && i < scopeCount;
      const code = scopeOfV9 ? A.SKIP : actionFor(f.id, f.length, f.pen !== 0);
      this.codes[i] = code;
      this.kinds[i] = code === A.SKIP ? K.UINT : kindFor(f.id);
    }
    this.minLength = fixed + variable;
    this.fixedLength = variable === 0 ? fixed : -1;
  }

  get isOptions(): boolean {
    return this.scopeCount > 0;
  }

  sameLayout(o: Template): boolean {
    if (o.scopeCount !== this.scopeCount || o.fields.length !== this.fields.length) return false;
    for (let i = 0; i < this.fields.length; i++) {
      const a = this.fields[i]!;
      const b = o.fields[i]!;
      if (a.id !== b.id || a.length !== b.length || a.pen !== b.pen) return false;
    }
    return true;
  }
}

/** Why a template definition is refused (undefined when it is acceptable). */
/** More fields than any real exporter sends: refused, so the cache's memory stays bounded. */
export const MAX_TEMPLATE_FIELDS = 1024;

export function templateProblem(fields: readonly TemplateField[], scopeCount: number): string | undefined {
  if (fields.length === 0) return 'no fields';
  if (fields.length > MAX_TEMPLATE_FIELDS) return `${fields.length} fields (more than ${MAX_TEMPLATE_FIELDS})`;
  if (scopeCount > fields.length) return `scope field count ${scopeCount} exceeds field count ${fields.length}`;
  let total = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length === 0) return `field ${i + 1} (IE ${f.id}) has length 0`;
    if (f.length !== VARLEN) total += f.length;
  }
  if (total > 65535) return `record length ${total} exceeds 65535`;
  return undefined;
}

/** Everything one exporter + version + source id / observation domain owns. */
export class Domain {
  readonly templates = new Map<number, Template>();
  /** Sampling rate from options data (0 = unknown). */
  samplingRate = 0;
  /** Per sampler / selector id rates from options data scoped by IE 48 / 302. */
  readonly samplers = new Map<number, number>();
  /** systemInitTimeMilliseconds (IE 160) from options data, -1 = unknown. */
  systemInitMs = -1;

  constructor(
    readonly exporter: string,
    readonly version: number,
    readonly id: number,
  ) {}
}

export type AddResult = 'added' | 'updated' | 'unchanged' | 'limit';

export interface TemplateCacheOptions {
  /** Templates per domain (default 4096); more are refused. */
  maxTemplatesPerDomain?: number;
  /** Domains (exporter + version + source id) overall (default 16384); more are refused. */
  maxDomains?: number;
  /** Template fields held overall (default 1,000,000, some 50 MB); more templates are refused. */
  maxFields?: number;
}

interface JsonTemplate {
  id: number;
  scope: number;
  fields: number[]; // flat [id, length, pen, …]
}

interface JsonDomain {
  exporter: string;
  version: number;
  domain: number;
  sampling_rate: number;
  samplers: [number, number][];
  system_init_ms: number;
  templates: JsonTemplate[];
}

export interface TemplateCacheJson {
  format: 'flowmeter-templates';
  version: 1;
  domains: JsonDomain[];
}

export class TemplateCache {
  private readonly domains = new Map<string, Domain>();
  readonly maxTemplatesPerDomain: number;
  readonly maxDomains: number;
  readonly maxFields: number;
  /** Template fields held now (the memory bound). */
  private fieldCount = 0;

  constructor(opts: TemplateCacheOptions = {}) {
    this.maxTemplatesPerDomain = opts.maxTemplatesPerDomain ?? 4096;
    this.maxDomains = opts.maxDomains ?? 16384;
    this.maxFields = opts.maxFields ?? 1_000_000;
  }

  static key(exporter: string, version: number, id: number): string {
    return `${exporter} ${version} ${id}`;
  }

  /** The domain's state, created on first use; undefined when the domain limit is reached. */
  domain(exporter: string, version: number, id: number): Domain | undefined {
    const key = TemplateCache.key(exporter, version, id);
    let d = this.domains.get(key);
    if (d === undefined) {
      if (this.domains.size >= this.maxDomains) return undefined;
      d = new Domain(exporter, version, id);
      this.domains.set(key, d);
    }
    return d;
  }

  /** Lookup without creating. */
  peekDomain(exporter: string, version: number, id: number): Domain | undefined {
    return this.domains.get(TemplateCache.key(exporter, version, id));
  }

  get(exporter: string, version: number, domainId: number, templateId: number): Template | undefined {
    return this.peekDomain(exporter, version, domainId)?.templates.get(templateId);
  }

  add(d: Domain, t: Template): AddResult {
    const old = d.templates.get(t.id);
    if (old !== undefined) {
      if (old.sameLayout(t)) return 'unchanged';
      if (this.fieldCount - old.fields.length + t.fields.length > this.maxFields) return 'limit';
      this.fieldCount += t.fields.length - old.fields.length;
      d.templates.set(t.id, t);
      return 'updated';
    }
    if (d.templates.size >= this.maxTemplatesPerDomain || this.fieldCount + t.fields.length > this.maxFields) return 'limit';
    this.fieldCount += t.fields.length;
    d.templates.set(t.id, t);
    return 'added';
  }

  withdraw(d: Domain, id: number): boolean {
    const t = d.templates.get(id);
    if (t === undefined) return false;
    this.fieldCount -= t.fields.length;
    return d.templates.delete(id);
  }

  /** IPFIX "withdraw all" (template id 2 in a template set, 3 in an options template set). */
  withdrawAll(d: Domain, options: boolean): number {
    let n = 0;
    for (const [id, t] of d.templates) {
      if (t.isOptions === options) {
        this.fieldCount -= t.fields.length;
        d.templates.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Number of templates held. */
  get size(): number {
    let n = 0;
    for (const d of this.domains.values()) n += d.templates.size;
    return n;
  }

  get domainCount(): number {
    return this.domains.size;
  }

  *entries(): IterableIterator<Domain> {
    yield* this.domains.values();
  }

  toJSON(): TemplateCacheJson {
    const domains: JsonDomain[] = [];
    for (const d of this.domains.values()) {
      domains.push({
        exporter: d.exporter,
        version: d.version,
        domain: d.id,
        sampling_rate: d.samplingRate,
        samplers: [...d.samplers],
        system_init_ms: d.systemInitMs,
        templates: [...d.templates.values()].map((t) => ({
          id: t.id,
          scope: t.scopeCount,
          fields: t.fields.flatMap((f) => [f.id, f.length, f.pen]),
        })),
      });
    }
    return { format: 'flowmeter-templates', version: 1, domains };
  }

  /** Rebuild a cache from toJSON() output (parsed). Throws an Error naming the first bad entry. */
  static fromJSON(json: unknown, opts: TemplateCacheOptions = {}): TemplateCache {
    const cache = new TemplateCache(opts);
    const o = json as Partial<TemplateCacheJson> | null;
    if (typeof o !== 'object' || o === null || o.format !== 'flowmeter-templates' || o.version !== 1 || !Array.isArray(o.domains)) {
      throw new Error('not a flowmeter template cache (expected {"format":"flowmeter-templates","version":1,…})');
    }
    const u = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
    o.domains.forEach((jd, i) => {
      const where = `domains[${i}]`;
      if (typeof jd !== 'object' || jd === null || typeof jd.exporter !== 'string' || !(jd.version === 9 || jd.version === 10) || !u(jd.domain, 0xffffffff)) {
        throw new Error(`${where}: expected exporter, version 9 or 10 and domain`);
      }
      const d = cache.domain(jd.exporter, jd.version, jd.domain);
      if (d === undefined) throw new Error(`${where}: more than ${cache.maxDomains} domains`);
      if (u(jd.sampling_rate, 0xffffffff)) d.samplingRate = jd.sampling_rate;
      if (typeof jd.system_init_ms === 'number' && Number.isFinite(jd.system_init_ms)) d.systemInitMs = jd.system_init_ms;
      if (Array.isArray(jd.samplers)) {
        for (const s of jd.samplers) if (Array.isArray(s) && u(s[0], 0xffffffff) && u(s[1], 0xffffffff)) d.samplers.set(s[0], s[1]);
      }
      if (!Array.isArray(jd.templates)) throw new Error(`${where}: templates must be an array`);
      jd.templates.forEach((jt, k) => {
        const tw = `${where}.templates[${k}]`;
        if (typeof jt !== 'object' || jt === null || !u(jt.id, 65535) || jt.id < 256 || !u(jt.scope, 65535) || !Array.isArray(jt.fields) || jt.fields.length % 3 !== 0) {
          throw new Error(`${tw}: expected id >= 256, scope and fields [id, length, pen, …]`);
        }
        const fields: TemplateField[] = [];
        for (let f = 0; f < jt.fields.length; f += 3) {
          const [id, length, pen] = [jt.fields[f], jt.fields[f + 1], jt.fields[f + 2]];
          if (!u(id, 32767) || !u(length, 65535) || !u(pen, 0xffffffff)) throw new Error(`${tw}: bad field ${f / 3 + 1}`);
          fields.push({ id, length, pen });
        }
        const problem = templateProblem(fields, jt.scope);
        if (problem !== undefined) throw new Error(`${tw}: ${problem}`);
        if (cache.add(d, new Template(jt.id, jt.scope, fields, jd.version === 9)) === 'limit') {
          throw new Error(`${tw}: more than ${cache.maxTemplatesPerDomain} templates in one domain`);
        }
      });
    });
    return cache;
  }
}
