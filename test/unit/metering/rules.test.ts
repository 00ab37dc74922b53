// Prefix parsing, Neutron's rule validation and messages, and the flow→label matcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netmask } from 'netmask';
import { parsePrefix, prefixesOverlap } from '../../../lib/metering/prefix.js';
import {
  makeLabel,
  makeRule,
  findLabel,
  NeutronError,
  type StoreData,
  type MeteringLabelRule,
} from '../../../lib/metering/model.js';
import { Matcher } from '../../../lib/metering/match.js';
import { rngInt } from '../../helpers/prng.js';

test('prefixes parse like Python ip_interface: host bits and bare addresses accepted', () => {
  assert.equal(parsePrefix('10.0.0.1/24')?.network, '10.0.0.0/24');
  assert.equal(parsePrefix('10.0.0.1')?.network, '10.0.0.1/32');
  assert.equal(parsePrefix('10.0.0.0/255.255.0.0')?.network, '10.0.0.0/16');
  assert.equal(parsePrefix('2001:db8::1/32')?.network, '2001:db8::/32');
  for (const bad of [
    '10.0.0.0/33',
    '10.0.0/24',
    'abc',
    '',
    ' 10.0.0.0/8',
    '10.0.0.0/255.0.255.0',
    '::/129',
    '1.2.3.4/-1',
  ]) {
    assert.equal(parsePrefix(bad), undefined, bad);
  }
});

test('overlap is set intersection, per family', () => {
  const p = (s: string) => parsePrefix(s)!;
  assert.ok(prefixesOverlap(p('10.0.0.0/8'), p('10.1.2.0/24')));
  assert.ok(prefixesOverlap(p('10.1.2.0/24'), p('10.0.0.0/8')));
  assert.ok(!prefixesOverlap(p('10.0.0.0/24'), p('10.0.1.0/24')));
  assert.ok(!prefixesOverlap(p('0.0.0.0/0'), p('::/0')));
  assert.ok(prefixesOverlap(p('2001:db8::/32'), p('2001:db8:1::/48')));
});

const LABEL = '11111111-2222-3333-4444-555555555555';
function errorOf(fn: () => unknown): NeutronError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NeutronError);
    return e;
  }
  assert.fail('no error');
}

test('rule validation: Neutron messages and statuses, in the server order', () => {
  const base = { metering_label_id: LABEL, direction: 'ingress' };
  let e = errorOf(() => makeRule({ ...base, direction: 'up', remote_ip_prefix: '1.0.0.0/8' }, []));
  assert.equal(e.message, 'Invalid input for direction. Reason: up is not in valid_values.');
  e = errorOf(() => makeRule({ ...base, remote_ip_prefix: '1.0.0.0/8', source_ip_prefix: '2.0.0.0/8' }, []));
  assert.equal(
    e.message,
    "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.",
  );
  assert.equal(e.status, 400);
  e = errorOf(() => makeRule({ ...base }, []));
  assert.equal(
    e.message,
    "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
  );
  e = errorOf(() => makeRule({ ...base, destination_ip_prefix: '300.0.0.0/8' }, []));
  assert.equal(
    e.message,
    "destination_ip_prefix: 300.0.0.0/8 is invalid ['300.0.0.0/8' does not appear to be an IPv4 or IPv6 interface].",
  );
  e = errorOf(() => makeRule({ ...base, excluded: 'maybe', remote_ip_prefix: '1.0.0.0/8' }, []));
  assert.equal(e.message, "Invalid input for excluded. Reason: 'maybe' cannot be converted to boolean.");
  const first = makeRule({ ...base, remote_ip_prefix: '10.0.0.0/16' }, []);
  e = errorOf(() => makeRule({ ...base, remote_ip_prefix: '10.0.5.0/24' }, [first]));
  assert.equal(e.message, "Metering label rule with remote_ip_prefix '10.0.5.0/24' overlaps another.");
  assert.equal(e.status, 409);
  // overlap only counts against the same direction, excluded flag and label
  makeRule({ ...base, direction: 'egress', remote_ip_prefix: '10.0.5.0/24' }, [first]);
  makeRule({ ...base, excluded: true, remote_ip_prefix: '10.0.5.0/24' }, [first]);
  makeRule({ ...base, metering_label_id: 'aaaaaaaa-2222-3333-4444-555555555555', remote_ip_prefix: '10.0.5.0/24' }, [
    first,
  ]);
  // source/destination rules are not overlap-checked
  makeRule({ ...base, source_ip_prefix: '10.0.0.0/16' }, [makeRule({ ...base, source_ip_prefix: '10.0.0.0/8' }, [])]);
});

test('label validation and lookup by id or unique name', () => {
  const e = errorOf(() => makeLabel({ name: 'x'.repeat(256) }));
  assert.match(e.message, /^Invalid input for name\. Reason: 'x+' exceeds maximum length of 255\.$/);
  const a = makeLabel({ name: 'dup' });
  const b = makeLabel({ name: 'dup' });
  const data: StoreData = {
    metering_labels: [a, b, makeLabel({ name: 'one' })],
    metering_label_rules: [],
    routers: [],
  };
  assert.equal(findLabel(data, a.id).id, a.id);
  assert.equal(findLabel(data, 'one').name, 'one');
  const multi = errorOf(() => findLabel(data, 'dup'));
  assert.match(multi.message, /^Multiple metering_label matches found for name 'dup'/);
  assert.ok(multi.message.includes(a.id) && multi.message.includes(b.id));
  assert.equal(errorOf(() => findLabel(data, 'none')).status, 404);
});

// --- matching -----------------------------------------------------------------------------

function store(
  spec: Array<{ name: string; rules: Array<Partial<MeteringLabelRule> & { direction: 'ingress' | 'egress' }> }>,
): StoreData {
  const data: StoreData = { metering_labels: [], metering_label_rules: [], routers: [] };
  for (const l of spec) {
    const label = makeLabel({ name: l.name });
    data.metering_labels.push(label);
    for (const r of l.rules)
      data.metering_label_rules.push(makeRule({ ...r, metering_label_id: label.id }, data.metering_label_rules));
  }
  return data;
}

function names(m: Matcher, src: string, dst: string): string[] {
  const n = m.match(src, dst);
  return Array.from(m.hits.subarray(0, n), (i) => m.labels[i]!.name).sort();
}

test('the guide labels: ingress counts into the prefix, egress out of it, intra-prefix neither', () => {
  const m = new Matcher(
    store([
      { name: 'fabian-in', rules: [{ direction: 'ingress', remote_ip_prefix: '7.7.7.0/24' }] },
      { name: 'fabian-out', rules: [{ direction: 'egress', remote_ip_prefix: '7.7.7.0/24' }] },
    ]),
  );
  assert.deepEqual(names(m, '8.8.8.8', '7.7.7.5'), ['fabian-in']);
  assert.deepEqual(names(m, '7.7.7.5', '8.8.8.8'), ['fabian-out']);
  assert.deepEqual(names(m, '7.7.7.5', '7.7.7.6'), []);
  assert.deepEqual(names(m, '8.8.8.8', '9.9.9.9'), []);
  assert.deepEqual(names(m, '2001:db8::1', '7.7.7.5'), []);
});

test('excluded wins over included rules of the same label only; a flow counts once per label', () => {
  const m = new Matcher(
    store([
      {
        name: 'a',
        rules: [
          { direction: 'egress', remote_ip_prefix: '10.0.0.0/16' },
          { direction: 'egress', remote_ip_prefix: '10.0.5.0/24', excluded: true },
          { direction: 'egress', source_ip_prefix: '10.0.0.0/8' }, // overlaps the first: still one count
        ],
      },
      { name: 'b', rules: [{ direction: 'egress', remote_ip_prefix: '10.0.5.0/24' }] },
    ]),
  );
  assert.deepEqual(names(m, '10.0.1.1', '8.8.8.8'), ['a']);
  assert.deepEqual(names(m, '10.0.5.1', '8.8.8.8'), ['b']);
  const n = m.match('10.0.1.1', '8.8.8.8');
  assert.equal(n, 1, 'counted once although two rules of label a match');
});

test('source/destination prefixes match exactly the addresses named, IPv4 and IPv6', () => {
  const m = new Matcher(
    store([
      {
        name: 'src-dst',
        rules: [{ direction: 'egress', source_ip_prefix: '10.0.0.0/24', destination_ip_prefix: '192.0.2.0/24' }],
      },
      { name: 'dst', rules: [{ direction: 'ingress', destination_ip_prefix: '2001:db8:1::/48' }] },
      { name: 'v6', rules: [{ direction: 'egress', remote_ip_prefix: '2001:db8::/32' }] },
    ]),
  );
  assert.deepEqual(names(m, '10.0.0.9', '192.0.2.1'), ['src-dst']);
  assert.deepEqual(names(m, '10.0.0.9', '192.0.3.1'), []);
  assert.deepEqual(names(m, '2001:db9::1', '2001:db8:1::5'), ['dst']);
  assert.deepEqual(names(m, '2001:db8:1::5', '2001:db9::1'), ['v6']);
  assert.deepEqual(
    names(m, '2001:db8:1::5', '2001:db8:1::9'),
    ['dst'],
    'inside /32 is not egress; the dst rule still matches',
  );
});

test('matcher equals a brute-force scan (netmask) on random rules and flows', () => {
  const rnd = rngInt(12345);
  const addr = (): string => `10.${rnd(4)}.${rnd(8)}.${rnd(256)}`;
  const spec = Array.from({ length: 40 }, (_, i) => ({
    name: `l${i}`,
    rules: [] as Array<Partial<MeteringLabelRule> & { direction: 'ingress' | 'egress' }>,
  }));
  const data = store(spec);
  for (let k = 0; k < 200; k++) {
    const label = data.metering_labels[rnd(40)]!;
    const len = 14 + rnd(12);
    const kind = rnd(3);
    const p = `${addr()}/${len}`;
    try {
      data.metering_label_rules.push(
        makeRule(
          {
            metering_label_id: label.id,
            direction: rnd(2) ? 'ingress' : 'egress',
            excluded: rnd(5) === 0,
            remote_ip_prefix: kind === 0 ? p : undefined,
            source_ip_prefix: kind === 1 ? p : undefined,
            destination_ip_prefix: kind === 2 || (kind === 1 && rnd(2)) ? `${addr()}/${14 + rnd(12)}` : undefined,
          },
          data.metering_label_rules,
        ),
      );
    } catch (e) {
      if (!(e instanceof NeutronError && e.status === 409)) throw e;
    }
  }
  const m = new Matcher(data);
  const inn = (p: string | null, a: string): boolean => new Netmask(p!).contains(a);
  let matched = 0;
  let excludedSeen = 0;
  for (let f = 0; f < 3000; f++) {
    const s = addr();
    const d = rnd(4) === 0 ? `8.8.${rnd(4)}.${rnd(256)}` : addr();
    const expected: string[] = [];
    for (const l of data.metering_labels) {
      const rules = data.metering_label_rules.filter((r) => r.metering_label_id === l.id);
      const hit = (r: MeteringLabelRule): boolean => {
        if (r.remote_ip_prefix)
          return r.direction === 'egress'
            ? inn(r.remote_ip_prefix, s) && !inn(r.remote_ip_prefix, d)
            : inn(r.remote_ip_prefix, d) && !inn(r.remote_ip_prefix, s);
        return (
          (!r.source_ip_prefix || inn(r.source_ip_prefix, s)) &&
          (!r.destination_ip_prefix || inn(r.destination_ip_prefix, d))
        );
      };
      if (rules.some((r) => r.excluded && hit(r))) {
        if (rules.some((r) => !r.excluded && hit(r))) excludedSeen++;
        continue;
      }
      if (rules.some((r) => !r.excluded && hit(r))) expected.push(l.name);
    }
    if (expected.length > 0) matched++;
    assert.deepEqual(names(m, s, d), expected.sort(), `${s} -> ${d}`);
  }
  assert.ok(matched > 300, `the workload matches often enough to mean something (${matched})`);
  assert.ok(excludedSeen > 10, `and exercises excluded rules (${excludedSeen})`);
});
