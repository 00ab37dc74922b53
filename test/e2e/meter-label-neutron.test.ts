// meter-label count with Neutron's semantics (issue 18), through the real binary: internal subnets
// decide direction (egress leaves a subnet, ingress enters one, inter-subnet traffic is both,
// same-subnet traffic neither), /0 counts everything, excluded wins, routers attribute flows by
// exporter to projects (non-shared labels count on their project's routers only, shared ones on
// all), unclaimed exporters are summarised, granular samples are Neutron's five event types.
// Expected numbers come from an oracle written here from the rules' text with `netmask`, not from
// the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netmask } from 'netmask';
import { tempDir } from '../helpers/tmp.js';
import { runBin } from '../helpers/spawn.js';
import { rngInt } from '../helpers/prng.js';

interface Sample {
  event_type: string;
  message_id: string;
  payload: Record<string, unknown> & { bytes: number; pkts: number };
}

const T0 = 1700000100;

interface Flow {
  t: number;
  exporter: string;
  src: string;
  dst: string;
  bytes: number;
}

function line(f: Flow): string {
  return JSON.stringify({
    type: 'IPFIX',
    time_received_ns: (f.t + 5) * 1e9,
    sampler_address: f.exporter,
    time_flow_start_ns: f.t * 1e9,
    time_flow_end_ns: (f.t + 1) * 1e9,
    bytes: f.bytes,
    packets: 1,
    src_addr: f.src,
    dst_addr: f.dst,
    etype: 'IPv4',
    proto: 'TCP',
  });
}

function parse(stdout: string): Sample[] {
  return stdout.trim() === ''
    ? []
    : stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Sample);
}

function setup(): { dir: string; ml: (...args: string[]) => ReturnType<typeof runBin> } {
  const dir = tempDir('meter-neutron-');
  const db = join(dir, 'db.json');
  return {
    dir,
    ml: (...args: string[]) => runBin('meter-label', args, { env: { METER_LABEL_DB: db, OS_PROJECT_ID: '' } }),
  };
}

async function ok(ml: ReturnType<typeof setup>['ml'], ...args: string[]): Promise<string> {
  const r = await ml(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Sum of bytes per label name over every l3.meter sample. */
function bytesByLabel(samples: Sample[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const s of samples)
    if (s.event_type === 'l3.meter')
      t[s.payload.label_name as string] = (t[s.payload.label_name as string] ?? 0) + s.payload.bytes;
  return t;
}

// --- the oracle ------------------------------------------------------------------------------

interface OracleRule {
  direction: 'ingress' | 'egress';
  excluded?: boolean;
  remote?: string;
  source?: string;
  destination?: string;
}
interface OracleLabel {
  name: string;
  project: string;
  shared: boolean;
  rules: OracleRule[];
}
interface OracleRouter {
  project: string;
  exporter: string;
  subnets: string[];
}

const inNet = (cidr: string, a: string): boolean => new Netmask(cidr).contains(a);

/** The subnet (most specific) holding an address, or undefined. */
function subnetOf(subnets: string[], a: string): string | undefined {
  return subnets.filter((s) => inNet(s, a)).sort((x, y) => Number(y.split('/')[1]) - Number(x.split('/')[1]))[0];
}

function oracle(labels: OracleLabel[], routers: OracleRouter[], flows: Flow[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(labels.map((l) => [l.name, 0]));
  for (const f of flows) {
    const router = routers.find((r) => r.exporter === f.exporter);
    if (!router) continue;
    const s = subnetOf(router.subnets, f.src);
    const d = subnetOf(router.subnets, f.dst);
    const egress = s !== undefined && s !== d;
    const ingress = d !== undefined && s !== d;
    for (const l of labels) {
      if (!l.shared && l.project !== router.project) continue;
      const hit = (r: OracleRule): boolean => {
        if (r.direction === 'egress' ? !egress : !ingress) return false;
        if (r.remote) return inNet(r.remote, r.direction === 'egress' ? f.src : f.dst);
        return (!r.source || inNet(r.source, f.src)) && (!r.destination || inNet(r.destination, f.dst));
      };
      if (l.rules.some((r) => r.excluded && hit(r))) continue;
      if (l.rules.some((r) => !r.excluded && hit(r))) out[l.name]! += f.bytes;
    }
  }
  return out;
}

async function createAll(ml: ReturnType<typeof setup>['ml'], labels: OracleLabel[]): Promise<void> {
  for (const l of labels) {
    await ok(ml, 'create', l.name, '--project-id', l.project, ...(l.shared ? ['--shared'] : []));
    for (const r of l.rules) {
      const prefix = r.remote
        ? [r.remote]
        : [
            ...(r.source ? ['--source-ip-prefix', r.source] : []),
            ...(r.destination ? ['--destination-ip-prefix', r.destination] : []),
          ];
      await ok(ml, 'rule-create', l.name, ...prefix, '--direction', r.direction, ...(r.excluded ? ['--excluded'] : []));
    }
  }
}

// --- tests -----------------------------------------------------------------------------------

test('internal subnets: /0 counts every byte leaving them, a /16 counts inter-subnet but not same-/24 traffic, excluded is left out', async () => {
  const { dir, ml } = setup();
  const labels: OracleLabel[] = [
    { name: 'all-out', project: 'p1', shared: false, rules: [{ direction: 'egress', remote: '0.0.0.0/0' }] },
    { name: 'all-in', project: 'p1', shared: false, rules: [{ direction: 'ingress', remote: '0.0.0.0/0' }] },
    {
      name: 'net-out',
      project: 'p1',
      shared: false,
      rules: [
        { direction: 'egress', remote: '10.5.0.0/16' },
        { direction: 'egress', remote: '10.5.3.0/24', excluded: true },
      ],
    },
    {
      name: 'web-in',
      project: 'p1',
      shared: false,
      rules: [{ direction: 'ingress', source: '0.0.0.0/0', destination: '10.5.1.80/32' }],
    },
  ];
  await createAll(ml, labels);
  const subnets = ['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24'];
  writeFileSync(join(dir, 'subnets.lst'), `! the router's subnets\n${subnets.join('\n')}\n`);
  // explicit cases first, then a seeded random mix
  const flows: Flow[] = [
    { t: T0, exporter: '192.0.2.1', src: '10.5.1.11', dst: '10.5.3.7', bytes: 1000 }, // inter-subnet: both
    { t: T0, exporter: '192.0.2.1', src: '10.5.1.11', dst: '10.5.1.12', bytes: 20000 }, // same /24: neither
    { t: T0, exporter: '192.0.2.1', src: '10.5.2.5', dst: '8.8.8.8', bytes: 300 }, // egress
    { t: T0, exporter: '192.0.2.1', src: '8.8.8.8', dst: '10.5.1.80', bytes: 40 }, // ingress to the web server
    { t: T0, exporter: '192.0.2.1', src: '10.5.3.9', dst: '8.8.4.4', bytes: 5 }, // egress from the excluded /24
  ];
  const rnd = rngInt(7);
  const addr = (): string => (rnd(3) === 0 ? `8.8.${rnd(4)}.${rnd(256)}` : `10.5.${1 + rnd(4)}.${rnd(256)}`); // 10.5.4.x is not internal
  for (let i = 0; i < 3000; i++)
    flows.push({ t: T0 + rnd(900), exporter: '192.0.2.1', src: addr(), dst: addr(), bytes: 1 + rnd(5000) });
  writeFileSync(join(dir, 'flows.ndjson'), flows.map(line).join('\n') + '\n');

  const r = await ml('count', '--subnets', join(dir, 'subnets.lst'), join(dir, 'flows.ndjson'));
  assert.equal(r.code, 0, r.stderr);
  const got = bytesByLabel(parse(r.stdout));
  const want = oracle(labels, [{ project: 'p1', exporter: '192.0.2.1', subnets }], flows);
  assert.deepEqual(got, want);
  // the oracle itself: every byte whose source is internal and destination elsewhere is egress
  const leaving = flows
    .filter((f) => subnetOf(subnets, f.src) !== undefined && subnetOf(subnets, f.src) !== subnetOf(subnets, f.dst))
    .reduce((a, f) => a + f.bytes, 0);
  assert.equal(want['all-out'], leaving);
  assert.ok(want['net-out']! > 0 && want['net-out']! < leaving, 'the /16 label with an excluded /24 counts part of it');

  // the explicit flows alone: inter-subnet counted both ways, same /24 not at all
  writeFileSync(join(dir, 'five.ndjson'), flows.slice(0, 5).map(line).join('\n') + '\n');
  const five = bytesByLabel(
    parse((await ml('count', '--subnets', join(dir, 'subnets.lst'), join(dir, 'five.ndjson'))).stdout),
  );
  assert.deepEqual(five, { 'all-out': 1000 + 300 + 5, 'all-in': 1000 + 40, 'net-out': 1000 + 300, 'web-in': 40 });
});

test('a /0 rule with neither subnets nor --external-if is named once on stderr with the fix', async () => {
  const { dir, ml } = setup();
  await createAll(ml, [
    { name: 'everything', project: 'p1', shared: false, rules: [{ direction: 'egress', remote: '0.0.0.0/0' }] },
  ]);
  writeFileSync(
    join(dir, 'f.ndjson'),
    line({ t: T0, exporter: '192.0.2.1', src: '10.0.0.1', dst: '8.8.8.8', bytes: 10 }) + '\n',
  );
  const r = await ml('count', join(dir, 'f.ndjson'));
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.includes("label 'everything'"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(
    warnings[0]!,
    /0\.0\.0\.0\/0 leaves no address outside it.*--subnets FILE.*--subnet CIDR.*--external-if/,
  );
  assert.match(r.stderr, /no routers in the store: every label counts every flow/);
  const withSubnets = join(dir, 's.lst');
  writeFileSync(withSubnets, '10.0.0.0/24\n');
  const r2 = await ml('count', '--subnets', withSubnets, join(dir, 'f.ndjson'));
  assert.doesNotMatch(r2.stderr, /leaves no address/);
  assert.equal(bytesByLabel(parse(r2.stdout)).everything, 10);
});

test("routers: non-shared labels count only their project's routers, a shared label counts both, unclaimed exporters are summarised", async () => {
  const { dir, ml } = setup();
  const labels: OracleLabel[] = [
    { name: 'p1-out', project: 'p1', shared: false, rules: [{ direction: 'egress', remote: '10.0.0.0/8' }] },
    { name: 'p2-out', project: 'p2', shared: false, rules: [{ direction: 'egress', remote: '10.0.0.0/8' }] },
    { name: 'all-out', project: 'admin', shared: true, rules: [{ direction: 'egress', remote: '10.0.0.0/8' }] },
  ];
  await createAll(ml, labels);
  const routers: OracleRouter[] = [
    { project: 'p1', exporter: '192.0.2.1', subnets: ['10.1.0.0/24'] },
    { project: 'p2', exporter: '192.0.2.2', subnets: ['10.2.0.0/24'] },
  ];
  await ok(ml, 'router-create', 'r1', '--project-id', 'p1', '--exporter', '192.0.2.1', '--subnet', '10.1.0.0/24');
  await ok(ml, 'router-create', 'r2', '--project-id', 'p2', '--exporter', '192.0.2.2', '--subnet', '10.2.0.0/24');
  const flows: Flow[] = [];
  for (let i = 0; i < 400; i++) {
    const e = ['192.0.2.1', '192.0.2.2', '192.0.2.9'][i % 3]!;
    flows.push({
      t: T0 + i,
      exporter: e,
      src: `10.${1 + (i % 2)}.0.${i % 200}`,
      dst: `8.8.8.${i % 7}`,
      bytes: 100 + i,
    });
  }
  writeFileSync(join(dir, 'flows.ndjson'), flows.map(line).join('\n') + '\n');
  const r = await ml('count', join(dir, 'flows.ndjson'));
  assert.equal(r.code, 0, r.stderr);
  const want = oracle(labels, routers, flows);
  assert.deepEqual(bytesByLabel(parse(r.stdout)), want);
  assert.equal(want['all-out'], want['p1-out']! + want['p2-out']!);
  assert.ok(want['p1-out']! > 0 && want['p2-out']! > 0);
  const unclaimed = flows.filter((f) => f.exporter === '192.0.2.9').length;
  assert.match(
    r.stderr,
    new RegExp(
      `${unclaimed} flows from exporters no router claims, counted under no label: 192\\.0\\.2\\.9 \\(${unclaimed}\\)`,
    ),
  );
  assert.doesNotMatch(r.stderr, /no routers in the store/);
});

test('--granular: the five Neutron event types instead of l3.meter, with the fields the agent fills', async () => {
  const { dir, ml } = setup();
  await createAll(ml, [
    { name: 'p1-out', project: 'p1', shared: false, rules: [{ direction: 'egress', remote: '0.0.0.0/0' }] },
    { name: 'shared-out', project: 'admin', shared: true, rules: [{ direction: 'egress', remote: '0.0.0.0/0' }] },
  ]);
  const r1 = JSON.parse(
    await ok(
      ml,
      'router-create',
      'r1',
      '--project-id',
      'p1',
      '--exporter',
      '192.0.2.1',
      '--subnet',
      '10.1.0.0/24',
      '-f',
      'json',
    ),
  ) as { id: string };
  const r2 = JSON.parse(
    await ok(
      ml,
      'router-create',
      'r2',
      '--project-id',
      'p2',
      '--exporter',
      '192.0.2.2',
      '--subnet',
      '10.2.0.0/24',
      '-f',
      'json',
    ),
  ) as { id: string };
  const flows: Flow[] = [
    { t: T0, exporter: '192.0.2.1', src: '10.1.0.5', dst: '8.8.8.8', bytes: 100 },
    { t: T0, exporter: '192.0.2.2', src: '10.2.0.5', dst: '8.8.8.8', bytes: 7 },
  ];
  writeFileSync(join(dir, 'f.ndjson'), flows.map(line).join('\n') + '\n');
  const run = await ml('count', '--granular', join(dir, 'f.ndjson'));
  assert.equal(run.code, 0, run.stderr);
  const samples = parse(run.stdout);
  assert.deepEqual([...new Set(samples.map((s) => s.event_type))].sort(), [
    'l3.meter.label',
    'l3.meter.label_project',
    'l3.meter.label_router',
    'l3.meter.project',
    'l3.meter.router',
  ]);
  const by = (id: string): Sample['payload'] => {
    const s = samples.find((x) => x.payload.resource_id === id);
    assert.ok(s, `a sample for ${id}`);
    return s.payload;
  };
  const labels = JSON.parse(await ok(ml, 'list', '-f', 'json')) as { id: string; name: string }[];
  const L = Object.fromEntries(labels.map((l) => [l.name, l.id]));
  // shared label: label level is project "all"; per router/project it names them
  assert.deepEqual(
    { ...by(`label-${L['shared-out']}`), time: 0, first_update: 0, last_update: 0, host: '' },
    {
      resource_id: `label-${L['shared-out']}`,
      label_id: L['shared-out'],
      label_name: 'shared-out',
      label_shared: true,
      project_id: 'all',
      pkts: 2,
      bytes: 107,
      time: 0,
      first_update: 0,
      last_update: 0,
      host: '',
    },
  );
  assert.equal(by(`router-${r2.id}-label-${L['shared-out']}`).router_id, r2.id);
  assert.equal(by(`router-${r2.id}-label-${L['shared-out']}`).project_id, 'p2');
  assert.equal(by(`project-p2-label-${L['shared-out']}`).bytes, 7);
  // non-shared label: only on p1's router
  assert.equal(by(`label-${L['p1-out']}`).project_id, 'p1');
  assert.equal(by(`label-${L['p1-out']}`).bytes, 100);
  assert.equal(
    samples.find((s) => s.payload.resource_id === `router-${r2.id}-label-${L['p1-out']}`),
    undefined,
  );
  // router and project totals add every label counted on them (as the iptables driver sums chains)
  assert.equal(by(`router-${r1.id}`).bytes, 200);
  assert.equal(by(`router-${r1.id}`).project_id, 'p1');
  assert.equal(by(`project-p2`).bytes, 7);
  assert.equal(new Set(samples.map((s) => s.message_id)).size, samples.length);
});

test('--config metering_agent.ini: report_interval and granular_traffic_data, flags win, bad file is 78 with file:line', async () => {
  const { dir, ml } = setup();
  await createAll(ml, [
    { name: 'out', project: 'p1', shared: false, rules: [{ direction: 'egress', remote: '10.0.0.0/8' }] },
  ]);
  const flows = [0, 100, 700].map((dt) =>
    line({ t: 1700000000 + dt, exporter: '192.0.2.1', src: '10.0.0.1', dst: '8.8.8.8', bytes: 1 }),
  );
  writeFileSync(join(dir, 'f.ndjson'), flows.join('\n') + '\n');
  const ini = join(dir, 'metering_agent.ini');
  writeFileSync(
    ini,
    '[DEFAULT]\n# as shipped\ndriver = neutron.services.metering.drivers.iptables.iptables_driver.IptablesMeteringDriver\nreport_interval = 600\nmeasure_interval = 30\ngranular_traffic_data = False\n\n[AGENT]\nreport_interval = 5\n',
  );
  let r = await ml('count', '--config', ini, '-v', join(dir, 'f.ndjson'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    parse(r.stdout).map((s) => [s.event_type, s.payload.time, s.payload.bytes]),
    [
      ['l3.meter', 600, 2],
      ['l3.meter', 600, 1],
    ],
  );
  assert.match(r.stderr, /metering_agent\.ini:3: \[DEFAULT\] driver: not used by meter-label count \(ignored\)/);
  assert.match(r.stderr, /metering_agent\.ini:9: \[AGENT\] report_interval: not used/);
  r = await ml('count', '--config', ini, '--report-interval', '300', join(dir, 'f.ndjson'));
  assert.deepEqual(
    parse(r.stdout).map((s) => s.payload.time),
    [300, 300, 300],
  );
  writeFileSync(ini, '[DEFAULT]\ngranular_traffic_data = true\n');
  r = await ml('count', '--config', ini, join(dir, 'f.ndjson'));
  assert.ok(
    parse(r.stdout).every((s) => s.event_type.startsWith('l3.meter.')),
    'granular from the file',
  );
  r = await ml('count', '--config', ini, '--no-granular', join(dir, 'f.ndjson'));
  assert.ok(
    parse(r.stdout).every((s) => s.event_type === 'l3.meter'),
    '--no-granular wins',
  );
  for (const [text, lineNo, what] of [
    ['[DEFAULT]\nreport_interval = soon\n', 2, /report_interval = soon: expected a positive integer/],
    ['report_interval = 60\n', 1, /option before any \[section\] header/],
    ['[DEFAULT\n', 1, /malformed section header/],
    ['[DEFAULT]\njust words\n', 2, /expected "key = value"/],
  ] as const) {
    writeFileSync(ini, text);
    r = await ml('count', '--config', ini, join(dir, 'f.ndjson'));
    assert.equal(r.code, 78, text);
    assert.match(r.stderr, new RegExp(`metering_agent\\.ini:${lineNo}: `));
    assert.match(r.stderr, what);
    assert.equal(r.stdout, '');
  }
});

test("router CRUD: table/json/value output, validation, export/import round trip; small things: create -q, --direction EGRESS, Neutron's direction error", async () => {
  const { dir, ml } = setup();
  const created = await ok(
    ml,
    'router-create',
    'r1',
    '--project-id',
    'p1',
    '--exporter',
    '192.0.2.1',
    '--if',
    '3',
    '--if',
    '4',
    '--subnet',
    '10.1.0.7/24',
  );
  assert.match(created, /^Created a new router:\n\+-/);
  assert.match(created, /\| subnets +\| 10\.1\.0\.0\/24 +\|/);
  assert.match(created, /\| interfaces +\| 3,4 +\|/);
  assert.equal(await ok(ml, 'router-list', '-f', 'value', '-c', 'name', '-c', 'exporter'), 'r1 192.0.2.1\n');
  const shown = JSON.parse(await ok(ml, 'router-show', 'r1', '-f', 'json')) as Record<string, unknown>;
  assert.deepEqual(
    { ...shown, id: 'x' },
    {
      id: 'x',
      name: 'r1',
      tenant_id: 'p1',
      project_id: 'p1',
      exporter: '192.0.2.1',
      interfaces: [3, 4],
      subnets: ['10.1.0.0/24'],
    },
  );
  let r = await ml('router-create', 'bad', '--exporter', '192.0.2.0/24');
  assert.equal(r.code, 64);
  assert.match(r.stderr, /Invalid input for exporter\. Reason: '192\.0\.2\.0\/24' is not an IP address/);
  r = await ml('router-create', 'bad', '--exporter', '192.0.2.3', '--subnet', '10.0.0.0/33');
  assert.equal(r.code, 64);
  assert.match(r.stderr, /subnets: 10\.0\.0\.0\/33 is invalid/);
  r = await ml('router-create', 'bad', '--exporter', '192.0.2.3', '--if', 'eth0');
  assert.equal(r.code, 64);
  await ok(ml, 'create', 'l1', '--project-id', 'p1');
  const dump = join(dir, 'dump.json');
  await ok(ml, 'export', '-o', dump);
  const other = join(dir, 'other.json');
  r = await runBin('meter-label', ['import', dump, '-v'], { env: { METER_LABEL_DB: other } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imported 1 label\(s\) and 0 rule\(s\), 1 router\(s\); 0 already present/);
  const again = await runBin('meter-label', ['router-show', 'r1', '-f', 'json'], { env: { METER_LABEL_DB: other } });
  assert.deepEqual(JSON.parse(again.stdout), shown);
  assert.equal(await ok(ml, 'router-delete', 'r1'), 'Deleted router(s): r1\n');
  r = await ml('router-show', 'r1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Unable to find router with name or id 'r1'/);

  assert.equal(await ok(ml, 'create', 'quiet', '-q'), '');
  assert.equal(
    await ok(ml, 'rule-create', 'quiet', '10.0.0.0/8', '--direction', 'EGRESS', '-f', 'value', '-c', 'direction'),
    'egress\n',
  );
  r = await ml('rule-create', 'quiet', '10.0.0.0/8', '--direction', 'both');
  assert.equal(r.code, 64);
  assert.match(r.stderr, /Invalid input for direction\. Reason: both is not in valid_values\.$/m);
});
