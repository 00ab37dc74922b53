import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, decoder, dgram, ipfix, set, v9 } from './helpers.js';
import { TemplateCache, templateBytes } from '../../../lib/netflow/templates.js';
import { rngInt } from '../../helpers/prng.js';

test('template cache: JSON round trip keeps templates, sampling and systemInitTime, so a restart decodes at once', () => {
  const { dec, run } = decoder();
  // v9 data template + options sampling for source id 3
  run(
    v9(
      [
        set(0, new Bytes().u16(256, 2).u16(8, 4, 1, 4)),
        set(1, new Bytes().u16(257, 4, 4).u16(1, 4).u16(34, 4)),
        set(257, new Bytes().u32(0, 128)),
      ],
      { source: 3 },
    ),
  );
  // IPFIX template with enterprise + variable-length fields, options with systemInitTime
  run(
    ipfix(
      [
        set(
          2,
          new Bytes()
            .u16(300, 4)
            .u16(8, 4)
            .u16(0x8000 | 1, 2)
            .u32(9)
            .u16(82, 65535)
            .u16(22, 4),
        ),
        set(3, new Bytes().u16(301, 2, 1).u16(149, 4).u16(160, 8)),
        set(301, new Bytes().u32(1).u64(1699990000000n)),
      ],
      { domain: 1 },
    ),
  );
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
  const good = {
    format: 'flowmeter-templates',
    version: 1,
    domains: [
      {
        exporter: '192.0.2.1',
        version: 10,
        domain: 1,
        sampling_rate: 0,
        samplers: [],
        system_init_ms: -1,
        templates: [{ id: 256, scope: 0, fields: [8, 4, 0] }],
      },
    ],
  };
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
  assert.throws(
    () => TemplateCache.fromJSON(good, { maxBytesPerExporter: 100 }),
    /domains\[0\]\.templates\[0\]: larger than the cache's byte bound/,
  );
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

/** A v9 template flowset: template 256 with `n` IPv4 fields (src, dst, bytes, …). */
function v9Template(n = 3): Buffer {
  const b = new Bytes().u16(256, n).u16(8, 4, 12, 4, 1, 4);
  for (let i = 3; i < n; i++) b.u16(2, 4);
  return set(0, b);
}
const v9Data = (src: string, bytes: number) => set(256, new Bytes().ip4(src).ip4('10.0.0.9').u32(bytes));
const at = (exporter: string, receivedNs = 1700000000500000000) => ({ exporter, receivedNs });

test('a template flood with random source ids from one address does not stop another exporter decoding (issue 16)', () => {
  const { dec, run } = decoder();
  const rnd = rngInt(7);
  for (let i = 0; i < 20000; i++) {
    run(dgram(v9([v9Template()], { source: rnd(2 ** 32) }), at('127.0.0.2')));
  }
  assert.ok(
    dec.templates.domainCount <= dec.templates.maxDomainsPerExporter,
    `${dec.templates.domainCount} domains held`,
  );
  assert.ok(dec.templates.evicted.domains >= 20000 - dec.templates.maxDomainsPerExporter);
  const recs = run(
    dgram(v9([v9Template(), v9Data('10.1.1.1', 100), v9Data('10.1.1.2', 200)], { source: 5 }), at('127.0.0.1')),
  );
  assert.deepEqual(
    recs.map((r) => r.bytes),
    [100, 200],
  );
  assert.equal(dec.stats.rejected, 0);
});

test('a flood from its own address (spoofed source ids) does not evict the domain an exporter is using', () => {
  const { dec, run } = decoder({ templateLimits: { maxDomainsPerExporter: 16 } });
  assert.equal(run(dgram(v9([v9Template(), v9Data('10.1.1.1', 1)], { source: 5 }), at('192.0.2.1'))).length, 1);
  for (let i = 0; i < 1000; i++) run(dgram(v9([v9Template()], { source: 1000 + i }), at('192.0.2.1')));
  assert.equal(dec.templates.domainCount, 16);
  assert.equal(
    run(dgram(v9([v9Data('10.1.1.3', 3)], { source: 5 }), at('192.0.2.1'))).length,
    1,
    'its template is still there',
  );
  assert.equal(dec.stats.pendingHeld, 0);
});

test('a spoofed-source flood keeps the number of exporters bounded and does not evict an exporter in use', () => {
  const { dec, run } = decoder({ templateLimits: { maxExporters: 64 } });
  assert.equal(run(dgram(v9([v9Template(), v9Data('10.1.1.1', 1)]), at('192.0.2.1'))).length, 1);
  for (let i = 0; i < 5000; i++)
    run(dgram(v9([v9Template()], { source: i }), at(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)));
  assert.equal(dec.templates.exporterCount, 64);
  assert.equal(dec.templates.evicted.exporters, 5000 - 63);
  assert.equal(run(dgram(v9([v9Data('10.1.1.2', 2)]), at('192.0.2.1'))).length, 1);
  // at the domain bound overall, an exporter on probation makes room among its own domains
  const { dec: dec3, run: run3 } = decoder({ templateLimits: { maxDomains: 32 } });
  assert.equal(run3(dgram(v9([v9Template(), v9Data('10.1.1.1', 1)]), at('192.0.2.1'))).length, 1);
  for (let i = 0; i < 100; i++) run3(dgram(v9([v9Template()], { source: 1 + i }), at('10.0.0.1')));
  assert.equal(dec3.templates.domainCount, 32);
  assert.equal(dec3.templates.evicted.exporters, 0);
  assert.equal(run3(dgram(v9([v9Data('10.1.1.2', 2)]), at('192.0.2.1'))).length, 1);
  // the byte bound overall evicts whole exporters, least recently used first, never the sender
  const { dec: dec2, run: run2 } = decoder({ templateLimits: { maxBytes: 4 * templateBytes(3) } });
  for (let i = 0; i < 10; i++) run2(dgram(v9([v9Template()]), at(`10.0.0.${i}`)));
  assert.equal(dec2.templates.size, 4);
  assert.equal(dec2.templates.evicted.exporters, 6);
  assert.ok(dec2.templates.get('10.0.0.9', 9, 0, 256));
  assert.equal(dec2.templates.get('10.0.0.5', 9, 0, 256), undefined);
  // a cache full of exporters whose data is decoded: a newcomer's template is refused, not them
  const { dec: dec4, run: run4 } = decoder({ templateLimits: { maxBytes: 2 * templateBytes(3) } });
  for (const e of ['10.0.0.1', '10.0.0.2'])
    assert.equal(run4(dgram(v9([v9Template(), v9Data('10.1.1.1', 1)]), at(e))).length, 1);
  run4(dgram(v9([v9Template()]), at('10.0.0.3')));
  assert.equal(dec4.stats.rejects.get('template limit'), 1);
  assert.equal(dec4.templates.evicted.exporters, 0);
  assert.equal(dec4.templates.size, 2);
});

test('templates neither resent nor used within the timeout are swept and not saved; a reload keeps what decoded data', () => {
  const MIN = 60e9;
  const t0 = 1700000000e9;
  const { dec, run } = decoder();
  run(dgram(v9([v9Template()], { source: 1 }), at('192.0.2.1', t0))); // never refreshed
  run(dgram(v9([v9Template(), v9Data('10.1.1.1', 1)], { source: 2 }), at('192.0.2.1', t0)));
  run(dgram(v9([v9Data('10.1.1.1', 1)], { source: 2 }), at('192.0.2.1', t0 + 20 * MIN))); // used: refreshed
  run(dgram(v9([v9Template()], { source: 3 }), at('192.0.2.9', t0 + 25 * MIN))); // resent
  assert.equal(dec.templates.expire(30 * MIN, t0 + 40 * MIN), 1);
  assert.equal(dec.templates.evicted.timedOut, 1);
  assert.equal(dec.templates.peekDomain('192.0.2.1', 9, 1), undefined, 'a domain left without templates goes too');
  const json = JSON.parse(JSON.stringify(dec.templates));
  assert.deepEqual(
    json.domains.map((d: { exporter: string; domain: number; templates: { seen_ms: number; used: boolean }[] }) => [
      d.exporter,
      d.domain,
      d.templates[0]!.seen_ms,
      d.templates[0]!.used,
    ]),
    [
      ['192.0.2.9', 3, (t0 + 25 * MIN) / 1e6, false],
      ['192.0.2.1', 2, (t0 + 20 * MIN) / 1e6, true],
    ],
  );
  // reloaded, the used template is still kept: new ones from its address evict each other first
  const cache = TemplateCache.fromJSON(json, { maxTemplatesPerExporter: 2 });
  assert.equal(cache.size, 2);
  const { dec: dec2, run: run2 } = decoder({ templates: cache });
  run2(dgram(v9([v9Template()], { source: 4 }), at('192.0.2.1', t0 + 41 * MIN)));
  run2(dgram(v9([v9Template()], { source: 5 }), at('192.0.2.1', t0 + 41 * MIN)));
  assert.equal(dec2.templates.evicted.templates, 1);
  assert.equal(dec2.templates.get('192.0.2.1', 9, 4, 256), undefined);
  assert.equal(run2(dgram(v9([v9Data('10.1.1.1', 7)], { source: 2 }), at('192.0.2.1', t0 + 41 * MIN))).length, 1);
  // entries saved without times (older files) take the load time
  delete json.domains[0].templates[0].seen_ms;
  assert.equal(TemplateCache.fromJSON(json, {}, t0 + 50 * MIN).get('192.0.2.9', 9, 3, 256)!.seenNs, t0 + 50 * MIN);
});
