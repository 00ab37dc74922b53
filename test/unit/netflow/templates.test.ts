import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, decoder, ipfix, set, v9 } from './helpers.js';
import { TemplateCache, templateBytes } from '../../../lib/netflow/templates.js';

test('template cache: JSON round trip keeps templates, sampling and systemInitTime, so a restart decodes at once', () => {
  const { dec, run } = decoder();
  // v9 data template + options sampling for source id 3
  run(v9([set(0, new Bytes().u16(256, 2).u16(8, 4, 1, 4)), set(1, new Bytes().u16(257, 4, 4).u16(1, 4).u16(34, 4)), set(257, new Bytes().u32(0, 128))], { source: 3 }));
  // IPFIX template with enterprise + variable-length fields, options with systemInitTime
  run(ipfix([
    set(2, new Bytes().u16(300, 4).u16(8, 4).u16(0x8000 | 1, 2).u32(9).u16(82, 65535).u16(22, 4)),
    set(3, new Bytes().u16(301, 2, 1).u16(149, 4).u16(160, 8)),
    set(301, new Bytes().u32(1).u64(1699990000000n)),
  ], { domain: 1 }));
  const text = JSON.stringify(dec.templates);
  const cache = TemplateCache.fromJSON(JSON.parse(text));
  assert.equal(cache.size, 4);
  assert.deepEqual(JSON.parse(JSON.stringify(cache)), JSON.parse(text));

  const { run: run2, dec: dec2 } = decoder({ templates: cache });
  const [a] = run2(v9([set(256, new Bytes().ip4('10.0.0.1').u32(99))], { source: 3 }));
  assert.equal(a!.bytes, 99);
  assert.equal(a!.sampling_rate, 128);
  const [b] = run2(ipfix([set(300, new Bytes().ip4('10.0.0.2').u16(7).u8(3).raw([1, 2, 3]).u32(1000))], { domain: 1 }));
  assert.equal(b!.src_addr, '10.0.0.2');
  assert.equal(b!.time_flow_start_ns, (1699990000000 + 1000) * 1e6);
  assert.equal(dec2.stats.pendingHeld, 0);
});

test('template cache: fromJSON refuses what is not a cache, naming the entry', () => {
  assert.throws(() => TemplateCache.fromJSON({}), /not a flowmeter template cache/);
  assert.throws(() => TemplateCache.fromJSON(null), /not a flowmeter template cache/);
  const good = { format: 'flowmeter-templates', version: 1, domains: [{ exporter: '192.0.2.1', version: 10, domain: 1, sampling_rate: 0, samplers: [], system_init_ms: -1, templates: [{ id: 256, scope: 0, fields: [8, 4, 0] }] }] };
  assert.equal(TemplateCache.fromJSON(good).size, 1);
  const zero = structuredClone(good);
  zero.domains[0]!.templates[0]!.fields = [8, 0, 0];
  assert.throws(() => TemplateCache.fromJSON(zero), /domains\[0\]\.templates\[0\]: field 1 \(IE 8\) has length 0/);
  const lowId = structuredClone(good);
  lowId.domains[0]!.templates[0]!.id = 2;
  assert.throws(() => TemplateCache.fromJSON(lowId), /expected id >= 256/);
  const badVersion = structuredClone(good);
  badVersion.domains[0]!.version = 5;
  assert.throws(() => TemplateCache.fromJSON(badVersion), /domains\[0\]: expected exporter, version 9 or 10/);
  assert.throws(() => TemplateCache.fromJSON(good, { maxBytesPerExporter: 100 }), /domains\[0\]\.templates\[0\]: larger than the cache's byte bound/);
});

test('template cache memory is bounded: too many fields per template, too many fields overall', () => {
  const [B, mk, ipfixMsg, mkSet] = [Bytes, decoder, ipfix, set];
  const wide = new B().u16(256, 1025);
  for (let i = 0; i < 1025; i++) wide.u16(200, 1);
  const { dec, run, text } = mk();
  run(ipfixMsg([mkSet(2, wide)]));
  assert.equal(dec.stats.rejects.get('bad template'), 1);
  assert.match(text(), /1025 fields \(more than 1024\)/);
  // room for two templates of 5 fields (templateBytes): the third evicts the older
  const { dec: dec2, run: run2, text: text2 } = mk({ templateLimits: { maxBytes: 2 * templateBytes(5) } });
  const t = (id: number, n: number) => {
    const b = new B().u16(id, n);
    for (let i = 0; i < n; i++) b.u16(8, 4);
    return b.build();
  };
  run2(ipfixMsg([mkSet(2, Buffer.concat([t(256, 5), t(257, 5), t(258, 5)]))]));
  assert.equal(dec2.stats.templatesAdded, 3);
  assert.equal(dec2.templates.size, 2);
  assert.equal(dec2.templates.evicted.templates, 1);
  assert.equal(dec2.templates.get('192.0.2.1', 10, 1, 256), undefined);
  assert.ok(dec2.templates.bytes <= 2 * templateBytes(5));
  run2(ipfixMsg([mkSet(2, t(259, 30))])); // alone larger than the bound: refused, said
  assert.equal(dec2.stats.rejects.get('template limit'), 1);
  assert.match(text2(), /template 259 of 30 fields needs ~1952 bytes, more than the cache holds/);
  run2(ipfixMsg([mkSet(2, new B().u16(257, 0))])); // withdrawing frees room
  run2(ipfixMsg([mkSet(2, t(256, 5))]));
  assert.equal(dec2.templates.evicted.templates, 1);
  assert.equal(dec2.templates.size, 2);
});
