// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) messages: header, then sets walked by their length
// fields (the v9 count is not trusted), templates and options templates into the cache (IPFIX
// withdrawal, enterprise fields, variable length), data sets through the template's field plan,
// data for unknown templates held until the template comes.

import type { Datagram } from '../capture/datagram.js';
import { type DecodeCore, type FlowSink, hex } from './core.js';
import { type MessageContext, applyOptions, fixedReader, readRecord, resolveFlow } from './data.js';
import type { PendingSet } from './pending.js';
import { type Domain, Template, type TemplateField, TemplateCache, templateProblem } from './templates.js';

const V9 = 'NetFlow v9';
const IPFIX = 'IPFIX';
/** Beyond these jumps a sequence change is an exporter restart, not loss. */
const MAX_PACKET_GAP = 1 << 20;
const MAX_RECORD_GAP = 1 << 24;

/** Set to false by decodeSets when some data set could not be counted (held or rejected). */
let complete = true;

export function decodeV9(core: DecodeCore, d: Datagram, v: DataView, b: Uint8Array, out: FlowSink): void {
  const len = v.byteLength;
  if (len < 20) {
    core.reject('truncated', d, V9, 'header', `datagram of ${len} bytes is shorter than the 20-byte header`);
    return;
  }
  const m = core.ctx;
  m.type = 'NETFLOW_V9';
  m.version = 9;
  m.exporter = d.exporter;
  m.receivedNs = d.receivedNs;
  m.uptimeMs = v.getUint32(4);
  m.exportSecs = v.getUint32(8);
  m.sequence = v.getUint32(12);
  m.domainId = v.getUint32(16);
  m.domain = core.templates.domain(d.exporter, 9, m.domainId, d.receivedNs);
  const key = TemplateCache.key(d.exporter, 9, m.domainId);
  const inOrder = core.sequence(key, m.sequence, MAX_PACKET_GAP);
  decodeSets(core, d, v, b, 20, len, m, false, out);
  if (inOrder) core.sequences.advance(key, m.sequence, 1);
}

export function decodeIpfix(core: DecodeCore, d: Datagram, v: DataView, b: Uint8Array, out: FlowSink): void {
  const len = v.byteLength;
  if (len < 16) {
    core.reject('truncated', d, IPFIX, 'header', `datagram of ${len} bytes is shorter than the 16-byte header`);
    return;
  }
  const mlen = v.getUint16(2);
  if (mlen < 16) {
    core.reject('bad length', d, IPFIX, 'header at offset 0x2', `message length ${mlen} is shorter than the header`);
    return;
  }
  if (mlen > len) {
    core.reject(
      'truncated',
      d,
      IPFIX,
      'header at offset 0x2',
      `message length ${mlen} exceeds the datagram (${len} bytes)`,
    );
    return;
  }
  const m = core.ctx;
  m.type = 'IPFIX';
  m.version = 10;
  m.exporter = d.exporter;
  m.receivedNs = d.receivedNs;
  m.uptimeMs = -1;
  m.exportSecs = v.getUint32(4);
  m.sequence = v.getUint32(8);
  m.domainId = v.getUint32(12);
  m.domain = core.templates.domain(d.exporter, 10, m.domainId, d.receivedNs);
  const key = TemplateCache.key(d.exporter, 10, m.domainId);
  const inOrder = core.sequence(key, m.sequence, MAX_RECORD_GAP);
  const n = decodeSets(core, d, v, b, 16, mlen, m, true, out);
  if (inOrder) core.sequences.advance(key, m.sequence, complete ? n : -1);
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** Walk the sets in [o, end). Returns the number of data records (flows + options) decoded now. */
function decodeSets(
  core: DecodeCore,
  d: Datagram,
  v: DataView,
  b: Uint8Array,
  o: number,
  end: number,
  m: MessageContext,
  ipfix: boolean,
  out: FlowSink,
): number {
  const protocol = ipfix ? IPFIX : V9;
  const word = ipfix ? 'set' : 'flowset';
  complete = true;
  let records = 0;
  while (o < end) {
    if (end - o < 4) {
      if (!allZero(b, o, end)) {
        core.reject(
          'truncated',
          d,
          protocol,
          `offset ${hex(o)}`,
          `${end - o} trailing bytes are too short for a ${word} header`,
        );
        complete = false;
      }
      break;
    }
    const id = v.getUint16(o);
    const len = v.getUint16(o + 2);
    if (len < 4) {
      if (id === 0 && len === 0 && allZero(b, o, end)) break; // zero padding after the last set
      core.reject(
        'bad set length',
        d,
        protocol,
        `${word} ${id} at offset ${hex(o)}`,
        `length ${len} is shorter than the 4-byte ${word} header`,
      );
      complete = false;
      break;
    }
    if (o + len > end) {
      core.reject(
        'truncated',
        d,
        protocol,
        `${word} ${id} at offset ${hex(o)}`,
        `length ${len} runs past the end of the ${ipfix ? 'message' : 'datagram'} (${end - o} bytes left)`,
      );
      complete = false;
      break;
    }
    const setEnd = o + len;
    if (id >= 256) {
      const t = m.domain!.templates.get(id);
      if (t === undefined) {
        hold(core, d, b, o, setEnd, id, m, protocol);
        complete = false;
      } else {
        core.templates.used(m.domain!, t, m.receivedNs);
        const n = decodeDataSet(core, d, protocol, v, b, o, setEnd, t, m, out);
        if (n < 0) complete = false;
        else records += n;
      }
    } else if (ipfix ? id === 2 || id === 3 : id === 0 || id === 1) {
      if (ipfix) ipfixTemplates(core, d, v, b, o, setEnd, m, id === 3, out);
      else v9Templates(core, d, v, b, o, setEnd, m, id === 1, out);
    } else {
      core.reject('bad set id', d, protocol, `${word} ${id} at offset ${hex(o)}`, `reserved ${word} id; skipped`);
    }
    o = setEnd;
  }
  return records;
}

/** Decode the records of one data set (set header at `o`). Returns the record count, -1 on error. */
function decodeDataSet(
  core: DecodeCore,
  place: Datagram | string,
  protocol: string,
  v: DataView,
  b: Uint8Array,
  o: number,
  end: number,
  t: Template,
  m: MessageContext,
  out: FlowSink,
): number {
  const s = core.scratch;
  const w = core.wire;
  const stats = core.stats;
  const domain = m.domain!;
  const version = m.version === 9 ? stats.byVersion.netflow_v9 : stats.byVersion.ipfix;
  let p = o + 4;
  let n = 0;
  const options = t.isOptions;
  const fixed = t.fixedLength;
  const min = t.minLength;
  let unanchored = 0;
  s.fill(-1);
  const read = fixedReader(t);
  while (end - p >= min) {
    const q = read !== undefined ? read(v, b, p, s) : readRecord(v, b, p, end, t, s);
    if (q < 0) {
      core.reject(
        'bad record',
        place,
        protocol,
        `${m.version === 9 ? 'flowset' : 'set'} ${t.id} at offset ${hex(o)}`,
        `variable-length field of record ${n + 1} (offset ${hex(p)}) runs past the set end`,
      );
      return -1;
    }
    p = fixed > 0 ? p + fixed : q;
    n++;
    if (options) {
      applyOptions(s, domain);
      stats.optionsRecords++;
    } else {
      if (!resolveFlow(s, m, b, w)) unanchored++;
      out.flow(w);
      stats.records++;
      version.records++;
    }
  }
  if (unanchored > 0) {
    stats.timesUnanchored += unanchored;
    core.warn(
      'times unanchored',
      place,
      protocol,
      `set ${t.id} at offset ${hex(o)}: ${unanchored} records with sysUpTime-relative times before the exporter sent systemInitTimeMilliseconds (options data): their start and end are the export time`,
    );
  }
  return n;
}

function hold(
  core: DecodeCore,
  d: Datagram,
  b: Uint8Array,
  o: number,
  end: number,
  id: number,
  m: MessageContext,
  protocol: string,
): void {
  const p: PendingSet = {
    key: `${TemplateCache.key(m.exporter, m.version, m.domainId)} ${id}`,
    templateId: id,
    bytes: new Uint8Array(b.subarray(o, end)), // a copy: the payload is only valid during this call
    setOffset: o,
    ctx: m.copy(),
    place: core.describe(d),
    protocol,
    receivedNs: m.receivedNs,
  };
  core.stats.pendingHeld++;
  for (const e of core.pending.hold(p)) core.expire(e, 'the held data buffer is full');
}

/** A template was added or changed: decode the data that waited for it. */
function release(core: DecodeCore, dom: Domain, id: number, out: FlowSink): void {
  const key = `${TemplateCache.key(dom.exporter, dom.version, dom.id)} ${id}`;
  if (!core.pending.has(key)) return;
  for (const p of core.pending.take(key)) {
    const t = dom.templates.get(id);
    if (t === undefined) break;
    core.templates.used(dom, t, p.ctx.receivedNs);
    p.ctx.domain = dom; // the domain may have been evicted and created anew while the data waited
    const v = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
    core.stats.pendingDecoded++;
    // the held copy starts at its set header; offsets in messages are relative to that copy
    decodeDataSet(core, `${p.place} (held since then)`, p.protocol, v, p.bytes, 0, p.bytes.length, t, p.ctx, out);
  }
}

function addTemplate(
  core: DecodeCore,
  d: Datagram,
  protocol: string,
  where: string,
  m: MessageContext,
  t: Template,
  out: FlowSink,
): void {
  const dom = m.domain!;
  const c = core.templates;
  const r = c.add(dom, t, m.receivedNs);
  if (r === 'limit') {
    core.reject(
      'template limit',
      d,
      protocol,
      where,
      `template ${t.id} of ${t.fields.length} fields needs ~${t.bytes} bytes, more than the cache holds (${c.maxBytesPerExporter} per exporter, ${c.maxBytes} overall); ignored`,
    );
    return;
  }
  if (r === 'added') core.stats.templatesAdded++;
  else if (r === 'updated') core.stats.templatesUpdated++;
  release(core, dom, t.id, out);
}

/** v9 template flowset (id 0) or options template flowset (id 1). */
function v9Templates(
  core: DecodeCore,
  d: Datagram,
  v: DataView,
  b: Uint8Array,
  o: number,
  end: number,
  m: MessageContext,
  options: boolean,
  out: FlowSink,
): void {
  let p = o + 4;
  const head = options ? 6 : 4;
  const setName = `flowset ${options ? 1 : 0} at offset ${hex(o)}`;
  while (end - p >= head) {
    const tid = v.getUint16(p);
    if (tid === 0 && allZero(b, p, end)) return; // padding
    const where = `${setName}, template ${tid} at offset ${hex(p)}`;
    if (tid < 256) {
      core.reject('bad template', d, V9, where, `template id ${tid} is below 256`);
      return;
    }
    let scopeCount = 0;
    let count: number;
    if (options) {
      const scopeLen = v.getUint16(p + 2);
      const optLen = v.getUint16(p + 4);
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0 || scopeLen === 0) {
        core.reject(
          'bad template',
          d,
          V9,
          where,
          `option scope length ${scopeLen} / option length ${optLen} must be non-zero multiples of 4`,
        );
        return;
      }
      scopeCount = scopeLen / 4;
      count = scopeCount + optLen / 4;
    } else {
      count = v.getUint16(p + 2);
      if (count === 0) {
        core.reject('bad template', d, V9, where, 'field count 0');
        return;
      }
    }
    const need = head + count * 4;
    if (need > end - p) {
      core.reject('bad template', d, V9, where, `${count} fields need ${need} bytes, the flowset has ${end - p} left`);
      return;
    }
    const fields: TemplateField[] = new Array(count);
    for (let i = 0, q = p + head; i < count; i++, q += 4)
      fields[i] = { id: v.getUint16(q), length: v.getUint16(q + 2), pen: 0 };
    p += need;
    const problem = templateProblem(fields, scopeCount);
    if (problem !== undefined) {
      core.reject('bad template', d, V9, where, problem);
      continue;
    }
    addTemplate(core, d, V9, where, m, new Template(tid, scopeCount, fields, true), out);
  }
}

/** IPFIX template set (id 2) or options template set (id 3), with withdrawals. */
function ipfixTemplates(
  core: DecodeCore,
  d: Datagram,
  v: DataView,
  b: Uint8Array,
  o: number,
  end: number,
  m: MessageContext,
  options: boolean,
  out: FlowSink,
): void {
  let p = o + 4;
  const setName = `set ${options ? 3 : 2} at offset ${hex(o)}`;
  const dom = m.domain!;
  while (end - p >= 4) {
    const tid = v.getUint16(p);
    const count = v.getUint16(p + 2);
    if (tid === 0 && count === 0 && allZero(b, p, end)) return; // padding
    const where = `${setName}, template ${tid} at offset ${hex(p)}`;
    if (count === 0) {
      // withdrawal (RFC 7011 §8.1): the set's own id withdraws all templates of that kind
      p += 4;
      if (tid === (options ? 3 : 2)) {
        core.stats.templatesWithdrawn += core.templates.withdrawAll(dom, options);
      } else if (tid < 256) {
        core.reject('bad template', d, IPFIX, where, `withdrawal of template id ${tid} (below 256)`);
        return;
      } else if (core.templates.withdraw(dom, tid)) {
        core.stats.templatesWithdrawn++;
      }
      continue;
    }
    if (tid < 256) {
      core.reject('bad template', d, IPFIX, where, `template id ${tid} is below 256`);
      return;
    }
    let q = p + 4;
    let scopeCount = 0;
    if (options) {
      if (end - p < 6) {
        core.reject('bad template', d, IPFIX, where, 'options template header runs past the set end');
        return;
      }
      scopeCount = v.getUint16(q);
      q += 2;
      if (scopeCount === 0 || scopeCount > count) {
        core.reject('bad template', d, IPFIX, where, `scope field count ${scopeCount} must be 1-${count}`);
        return;
      }
    }
    if (count * 4 > end - q) {
      core.reject(
        'bad template',
        d,
        IPFIX,
        where,
        `${count} fields need at least ${count * 4} bytes, the set has ${end - q} left`,
      );
      return;
    }
    const fields: TemplateField[] = new Array(count);
    for (let i = 0; i < count; i++) {
      if (end - q < 4) {
        core.reject('bad template', d, IPFIX, where, `field ${i + 1} of ${count} runs past the set end`);
        return;
      }
      const raw = v.getUint16(q);
      const length = v.getUint16(q + 2);
      q += 4;
      let pen = 0;
      if (raw & 0x8000) {
        if (end - q < 4) {
          core.reject('bad template', d, IPFIX, where, `enterprise number of field ${i + 1} runs past the set end`);
          return;
        }
        pen = v.getUint32(q);
        q += 4;
        if (pen === 0) pen = 0xffffffff; // enterprise bit with PEN 0: still not an IANA element
      }
      fields[i] = { id: raw & 0x7fff, length, pen };
    }
    p = q;
    const problem = templateProblem(fields, scopeCount);
    if (problem !== undefined) {
      core.reject('bad template', d, IPFIX, where, problem);
      continue;
    }
    addTemplate(core, d, IPFIX, where, m, new Template(tid, scopeCount, fields, false), out);
  }
}
