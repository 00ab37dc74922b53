// NetFlow v9 / IPFIX template cache: templates keyed by exporter address + version + source id
// (v9) or observation domain (IPFIX) + template id, with the per-domain state that data records
// need (sampling rates from options data, systemInitTime). Serialisable to JSON so a restarted
// collector decodes at once (--template-cache FILE).
// Bounded per exporter address (domains, templates, bytes) and overall (exporters, domains,
// bytes); beyond a bound the least recently used entry goes, and entries that never decoded data
// go first (lru.ts), so one source cannot starve another. Entries neither refreshed nor used
// within the timeout are swept (expire()) and so never saved.

import { A, K, VARLEN, actionFor, kindFor } from './fields.js';
import type { FixedReader } from './data.js';
import { SegmentedLru } from './lru.js';

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
  /** Estimated memory held, for the cache's byte bounds (templateBytes). */
  readonly bytes: number;
  /** Data sets decoded with it, until it gets a compiled reader (data.ts fixedReader). */
  sets = 0;
  reader: FixedReader | undefined = undefined;
  /** Receive time (ns) it was last sent or used, to a second (TOUCH_NS). */
  seenNs = 0;
  /** It has decoded data (kept, not on probation, in its exporter's eviction order). */
  used = false;

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
    this.bytes = templateBytes(n);
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

/** More fields than any real exporter sends: refused, so the cache's memory stays bounded. */
export const MAX_TEMPLATE_FIELDS = 1024;

/** What a template of `fields` fields costs in memory, estimated (objects, field plan, arrays). */
export function templateBytes(fields: number): number {
  return 512 + 48 * fields;
}

/** Why a template definition is refused (undefined when it is acceptable). */
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

/** Recency is recorded to this resolution: an entry is moved in its LRU order at most once a
 *  second, so the decode path mostly compares two numbers. */
const TOUCH_NS = 1e9;

function stale(seenNs: number, nowNs: number): boolean {
  return nowNs - seenNs >= TOUCH_NS || nowNs < seenNs;
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
  /** Receive time (ns) of its last datagram, to a second. */
  seenNs = 0;

  constructor(
    readonly owner: Exporter,
    readonly version: number,
    readonly id: number,
  ) {}

  get exporter(): string {
    return this.owner.address;
  }

  /** Its key in the exporter's domain map: version and id in one number. */
  get key(): number {
    return domainKey(this.version, this.id);
  }
}

function domainKey(version: number, id: number): number {
  return version === 9 ? id : id + 0x100000000;
}

/** One exporter address: its domains and, across them, its templates in eviction order. */
export class Exporter {
  readonly domains = new SegmentedLru<number, Domain>();
  readonly templates = new SegmentedLru<Template, Domain>();
  /** Estimated bytes of its templates. */
  bytes = 0;
  seenNs = 0;

  constructor(readonly address: string) {}
}

export type AddResult = 'added' | 'updated' | 'unchanged' | 'limit';

export interface TemplateCacheOptions {
  /** Exporter addresses (default 4096); beyond, the least recently used one is forgotten. */
  maxExporters?: number;
  /** Domains (version + source id / observation domain) per exporter (default 1024). */
  maxDomainsPerExporter?: number;
  /** Templates per exporter, over all its domains (default 4096). */
  maxTemplatesPerExporter?: number;
  /** Estimated template bytes per exporter (default 8 MiB; templateBytes()). */
  maxBytesPerExporter?: number;
  /** Domains overall (default 16384). */
  maxDomains?: number;
  /** Estimated template bytes overall (default 64 MiB). */
  maxBytes?: number;
}

/** What the cache dropped to stay within its bounds or its timeout. */
export interface CacheEvictions {
  templates: number;
  domains: number;
  exporters: number;
  /** Templates swept by expire() (not refreshed or used within the timeout). */
  timedOut: number;
}

interface JsonTemplate {
  id: number;
  scope: number;
  fields: number[]; // flat [id, length, pen, …]
  /** Last sent or used, ms since the epoch (absent in older files: the load time). */
  seen_ms?: number;
  /** It has decoded data. */
  used?: boolean;
}

interface JsonDomain {
  exporter: string;
  version: number;
  domain: number;
  sampling_rate: number;
  samplers: [number, number][];
  system_init_ms: number;
  seen_ms?: number;
  templates: JsonTemplate[];
}

export interface TemplateCacheJson {
  format: 'flowmeter-templates';
  version: 1;
  domains: JsonDomain[];
}

export class TemplateCache {
  private readonly exporters = new SegmentedLru<string, Exporter>();
  readonly maxExporters: number;
  readonly maxDomainsPerExporter: number;
  readonly maxTemplatesPerExporter: number;
  readonly maxBytesPerExporter: number;
  readonly maxDomains: number;
  readonly maxBytes: number;
  readonly evicted: CacheEvictions = { templates: 0, domains: 0, exporters: 0, timedOut: 0 };
  private domainTotal = 0;
  private templateTotal = 0;
  /** Estimated template bytes held now. */
  private byteTotal = 0;
  /** The latest receive time seen (ns): "now" for expire(). */
  latestNs = 0;

  constructor(opts: TemplateCacheOptions = {}) {
    this.maxExporters = opts.maxExporters ?? 4096;
    this.maxDomainsPerExporter = opts.maxDomainsPerExporter ?? 1024;
    this.maxTemplatesPerExporter = opts.maxTemplatesPerExporter ?? 4096;
    this.maxBytesPerExporter = opts.maxBytesPerExporter ?? 8 << 20;
    this.maxDomains = opts.maxDomains ?? 16384;
    this.maxBytes = opts.maxBytes ?? 64 << 20;
  }

  /** Sequence and held-data key of a domain. */
  static key(exporter: string, version: number, id: number): string {
    return `${exporter} ${version} ${id}`;
  }

  /** The domain's state for a datagram received at `nowNs`, created on first use (evicting the
   *  least recently used exporter or domain when a bound is reached). */
  domain(address: string, version: number, id: number, nowNs: number): Domain {
    if (nowNs > this.latestNs) this.latestNs = nowNs;
    let ex = this.exporters.get(address);
    if (ex === undefined) {
      while (this.exporters.size >= this.maxExporters && this.evictExporter(undefined)) {}
      ex = new Exporter(address);
      ex.seenNs = nowNs;
      this.exporters.add(address, ex);
    } else if (stale(ex.seenNs, nowNs)) {
      ex.seenNs = nowNs;
      this.exporters.touch(address, ex);
    }
    const key = domainKey(version, id);
    let d = ex.domains.get(key);
    if (d === undefined) {
      while (ex.domains.size >= this.maxDomainsPerExporter && this.evictDomain(ex, undefined)) {}
      // may pass the bound by one domain per exporter on probation when all others are kept
      while (this.domainTotal >= this.maxDomains && (this.evictOther(ex) || this.evictDomain(ex, undefined))) {}
      d = new Domain(ex, version, id);
      d.seenNs = nowNs;
      ex.domains.add(key, d);
      this.domainTotal++;
    } else if (stale(d.seenNs, nowNs)) {
      d.seenNs = nowNs;
      ex.domains.touch(key, d);
    }
    return d;
  }

  /** Lookup without creating or touching. */
  peekDomain(exporter: string, version: number, id: number): Domain | undefined {
    return this.exporters.get(exporter)?.domains.get(domainKey(version, id));
  }

  get(exporter: string, version: number, domainId: number, templateId: number): Template | undefined {
    return this.peekDomain(exporter, version, domainId)?.templates.get(templateId);
  }

  /** `t` of `d` decoded data at `nowNs`: it, its domain and its exporter are kept, not on probation. */
  used(d: Domain, t: Template, nowNs: number): void {
    if (t.used) {
      if (stale(t.seenNs, nowNs)) {
        t.seenNs = nowNs;
        d.owner.templates.touch(t, d);
      }
      return;
    }
    t.used = true;
    t.seenNs = nowNs;
    const ex = d.owner;
    ex.templates.keep(t, d);
    ex.domains.keep(d.key, d);
    this.exporters.keep(ex.address, ex);
  }

  /** Add or refresh a template sent at `nowNs`; 'limit' when it alone exceeds a byte bound, or
   *  its exporter is on probation and the cache is full of kept ones. */
  add(d: Domain, t: Template, nowNs: number): AddResult {
    const ex = d.owner;
    const old = d.templates.get(t.id);
    if (old !== undefined && old.sameLayout(t)) {
      if (stale(old.seenNs, nowNs)) {
        old.seenNs = nowNs;
        ex.templates.touch(old, d);
      }
      return 'unchanged';
    }
    if (t.bytes > this.maxBytesPerExporter || t.bytes > this.maxBytes || this.maxTemplatesPerExporter < 1)
      return 'limit';
    if (old !== undefined) this.remove(d, old);
    while (ex.templates.size >= this.maxTemplatesPerExporter || ex.bytes + t.bytes > this.maxBytesPerExporter)
      this.evictTemplate(ex);
    while (this.byteTotal + t.bytes > this.maxBytes && (this.evictOther(ex) || this.evictTemplate(ex))) {}
    // an exporter on probation with nothing left of its own, in a cache full of kept ones
    if (this.byteTotal + t.bytes > this.maxBytes) return 'limit';
    t.seenNs = nowNs;
    d.templates.set(t.id, t);
    ex.templates.add(t, d);
    ex.bytes += t.bytes;
    this.byteTotal += t.bytes;
    this.templateTotal++;
    return old !== undefined ? 'updated' : 'added';
  }

  withdraw(d: Domain, id: number): boolean {
    const t = d.templates.get(id);
    if (t === undefined) return false;
    this.remove(d, t);
    return true;
  }

  /** IPFIX "withdraw all" (template id 2 in a template set, 3 in an options template set). */
  withdrawAll(d: Domain, options: boolean): number {
    let n = 0;
    for (const t of [...d.templates.values()]) {
      if (t.isOptions === options) {
        this.remove(d, t);
        n++;
      }
    }
    return n;
  }

  private remove(d: Domain, t: Template): void {
    const ex = d.owner;
    d.templates.delete(t.id);
    ex.templates.delete(t);
    ex.bytes -= t.bytes;
    this.byteTotal -= t.bytes;
    this.templateTotal--;
  }

  /** Drop the exporter's least recently used template (unused ones first). */
  private evictTemplate(ex: Exporter): boolean {
    const e = ex.templates.oldest();
    if (e === undefined) return false;
    this.remove(e[1], e[0]);
    this.evicted.templates++;
    return true;
  }

  /** Drop the exporter's least recently used domain other than `spare`, with its templates. */
  private evictDomain(ex: Exporter, spare: Domain | undefined): boolean {
    const e = ex.domains.oldest(spare);
    if (e === undefined) return false;
    this.dropDomain(e[1]);
    this.evicted.domains++;
    return true;
  }

  private dropDomain(d: Domain): number {
    const n = d.templates.size;
    for (const t of [...d.templates.values()]) this.remove(d, t);
    this.evicted.templates += n;
    d.owner.domains.delete(d.key);
    this.domainTotal--;
    return n;
  }

  /** Room overall for `ex`: the least recently used other exporter goes, but a kept one only
   *  for a kept `ex` (one on probation must make room among its own entries). */
  private evictOther(ex: Exporter): boolean {
    const e = this.exporters.oldest(ex);
    if (e === undefined || (this.exporters.isKept(e[0]) && !this.exporters.isKept(ex.address))) return false;
    return this.evictExporter(ex);
  }

  /** Drop the least recently used exporter other than `spare`, with all it holds. */
  private evictExporter(spare: Exporter | undefined): boolean {
    const e = this.exporters.oldest(spare);
    if (e === undefined) return false;
    const ex = e[1];
    for (const [, d] of [...ex.domains.entries()]) {
      this.dropDomain(d);
      this.evicted.domains++;
    }
    this.exporters.delete(ex.address);
    this.evicted.exporters++;
    return true;
  }

  /** Sweep what was neither sent nor used within `timeoutNs` before `nowNs` (default: the
   *  latest receive time seen): templates, then domains left without templates and exporters
   *  left without domains. Returns the templates swept. */
  expire(timeoutNs: number, nowNs = this.latestNs): number {
    const before = nowNs - timeoutNs;
    let n = 0;
    for (const [address, ex] of [...this.exporters.entries()]) {
      for (const [, d] of [...ex.domains.entries()]) {
        for (const t of [...d.templates.values()]) {
          if (t.seenNs < before) {
            this.remove(d, t);
            n++;
          }
        }
        if (d.templates.size === 0 && d.seenNs < before) {
          ex.domains.delete(d.key);
          this.domainTotal--;
        }
      }
      if (ex.domains.size === 0) this.exporters.delete(address);
    }
    this.evicted.timedOut += n;
    return n;
  }

  /** Number of templates held. */
  get size(): number {
    return this.templateTotal;
  }

  get domainCount(): number {
    return this.domainTotal;
  }

  get exporterCount(): number {
    return this.exporters.size;
  }

  get bytes(): number {
    return this.byteTotal;
  }

  /** Every domain, least recently used exporter first. */
  *entries(): IterableIterator<Domain> {
    for (const [, ex] of this.exporters.entries()) for (const [, d] of ex.domains.entries()) yield d;
  }

  /** The whole cache; each exporter's templates in its eviction order, so a reload keeps it. */
  toJSON(): TemplateCacheJson {
    const domains: JsonDomain[] = [];
    for (const d of this.entries()) {
      domains.push({
        exporter: d.exporter,
        version: d.version,
        domain: d.id,
        sampling_rate: d.samplingRate,
        samplers: [...d.samplers],
        system_init_ms: d.systemInitMs,
        seen_ms: Math.floor(d.seenNs / 1e6),
        templates: [...d.templates.values()].map((t) => ({
          id: t.id,
          scope: t.scopeCount,
          fields: t.fields.flatMap((f) => [f.id, f.length, f.pen]),
          seen_ms: Math.floor(t.seenNs / 1e6),
          used: t.used,
        })),
      });
    }
    return { format: 'flowmeter-templates', version: 1, domains };
  }

  /** Rebuild a cache from toJSON() output (parsed), at `nowNs` (default: the clock) for entries
   *  saved without a time. Throws an Error naming the first bad entry. */
  static fromJSON(json: unknown, opts: TemplateCacheOptions = {}, nowNs = Date.now() * 1e6): TemplateCache {
    const cache = new TemplateCache(opts);
    const o = json as Partial<TemplateCacheJson> | null;
    if (
      typeof o !== 'object' ||
      o === null ||
      o.format !== 'flowmeter-templates' ||
      o.version !== 1 ||
      !Array.isArray(o.domains)
    ) {
      throw new Error('not a flowmeter template cache (expected {"format":"flowmeter-templates","version":1,…})');
    }
    const u = (v: unknown, max: number): v is number =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
    const seen = (v: unknown): number => (u(v, Number.MAX_SAFE_INTEGER) ? v * 1e6 : nowNs);
    o.domains.forEach((jd, i) => {
      const where = `domains[${i}]`;
      if (
        typeof jd !== 'object' ||
        jd === null ||
        typeof jd.exporter !== 'string' ||
        !(jd.version === 9 || jd.version === 10) ||
        !u(jd.domain, 0xffffffff)
      ) {
        throw new Error(`${where}: expected exporter, version 9 or 10 and domain`);
      }
      const d = cache.domain(jd.exporter, jd.version, jd.domain, seen(jd.seen_ms));
      if (u(jd.sampling_rate, 0xffffffff)) d.samplingRate = jd.sampling_rate;
      if (typeof jd.system_init_ms === 'number' && Number.isFinite(jd.system_init_ms))
        d.systemInitMs = jd.system_init_ms;
      if (Array.isArray(jd.samplers)) {
        for (const s of jd.samplers)
          if (Array.isArray(s) && u(s[0], 0xffffffff) && u(s[1], 0xffffffff)) d.samplers.set(s[0], s[1]);
      }
      if (!Array.isArray(jd.templates)) throw new Error(`${where}: templates must be an array`);
      jd.templates.forEach((jt, k) => {
        const tw = `${where}.templates[${k}]`;
        if (
          typeof jt !== 'object' ||
          jt === null ||
          !u(jt.id, 65535) ||
          jt.id < 256 ||
          !u(jt.scope, 65535) ||
          !Array.isArray(jt.fields) ||
          jt.fields.length % 3 !== 0
        ) {
          throw new Error(`${tw}: expected id >= 256, scope and fields [id, length, pen, …]`);
        }
        const fields: TemplateField[] = [];
        for (let f = 0; f < jt.fields.length; f += 3) {
          const [id, length, pen] = [jt.fields[f], jt.fields[f + 1], jt.fields[f + 2]];
          if (!u(id, 32767) || !u(length, 65535) || !u(pen, 0xffffffff))
            throw new Error(`${tw}: bad field ${f / 3 + 1}`);
          fields.push({ id, length, pen });
        }
        const problem = templateProblem(fields, jt.scope);
        if (problem !== undefined) throw new Error(`${tw}: ${problem}`);
        const t = new Template(jt.id, jt.scope, fields, jd.version === 9);
        const seenNs = seen(jt.seen_ms);
        if (cache.add(d, t, seenNs) === 'limit') throw new Error(`${tw}: larger than the cache's byte bound`);
        if (jt.used === true) cache.used(d, t, seenNs);
      });
    });
    return cache;
  }
}
