// meter-label count through the real binary on real NDJSON flow files: the guide's labels,
// intra-subnet traffic, an excluded subnet, a shared label, IPv6, time bins with out-of-order
// flows, and a random workload whose per-label, per-interval bytes equal a brute-force count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netmask } from 'netmask';
import { tempDir } from '../helpers/tmp.js';
import { runBin, runShell, binPath } from '../helpers/spawn.js';
import { rngInt } from '../helpers/prng.js';

interface Sample {
  event_type: string;
  priority: string;
  publisher_id: string;
  message_id: string;
  timestamp: string;
  payload: Record<string, unknown> & {
    label_id: string;
    label_name: string;
    bytes: number;
    pkts: number;
    last_update: number;
    first_update: number;
    time: number;
  };
}

const T0 = 1700000100; // a multiple of 300

function flow(
  t: number,
  src: string,
  dst: string,
  bytes: number,
  packets = 1,
  extra: Record<string, number> = {},
): string {
  const v6 = src.includes(':');
  return JSON.stringify({
    type: 'IPFIX',
    time_received_ns: (t + 5) * 1e9,
    sequence_num: 1,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: t * 1e9,
    time_flow_end_ns: (t + 2) * 1e9,
    bytes,
    packets,
    src_addr: src,
    dst_addr: dst,
    etype: v6 ? 'IPv6' : 'IPv4',
    proto: 'TCP',
    src_port: 443,
    dst_port: 50000,
    ...extra,
  });
}

async function setup(): Promise<{
  dir: string;
  db: string;
  ml: (args: string[], input?: string) => ReturnType<typeof runBin>;
}> {
  const dir = tempDir('meter-count-');
  const db = join(dir, 'db.json');
  const ml = (args: string[], input?: string) => runBin('meter-label', args, { env: { METER_LABEL_DB: db }, input });
  const steps: string[][] = [
    ['create', 'fabian-in', '--tenant-id', 'p1'],
    ['rule-create', 'fabian-in', '7.7.7.0/24', '--direction', 'ingress'],
    ['create', 'fabian-out', '--tenant-id', 'p1'],
    ['rule-create', 'fabian-out', '7.7.7.0/24', '--direction', 'egress'],
    ['create', 'no-backup', '--tenant-id', 'p2'],
    ['rule-create', 'no-backup', '7.7.0.0/16', '--direction', 'egress'],
    ['rule-create', 'no-backup', '7.7.9.0/24', '--direction', 'egress', '--excluded'],
    ['create', 'shared-web', '--shared', '--tenant-id', 'admin'],
    [
      'rule-create',
      'shared-web',
      '--ingress',
      '--source-ip-prefix',
      '0.0.0.0/0',
      '--destination-ip-prefix',
      '7.7.7.80/32',
    ],
    ['create', 'v6', '--tenant-id', 'p3'],
    ['rule-create', 'v6', '2001:db8::/32', '--egress'],
    ['rule-create', 'v6', '2001:db8::/32', '--ingress'],
  ];
  for (const s of steps) {
    const r = await ml(s);
    assert.equal(r.code, 0, `${s.join(' ')}: ${r.stderr}`);
  }
  return { dir, db, ml };
}

/** The store here has no routers, which count says once on stderr. */
function withoutNoRouters(stderr: string): string {
  const line =
    'meter-label: no routers in the store: every label counts every flow (router-create attributes flows to routers and projects)\n';
  assert.ok(stderr.includes(line), stderr);
  return stderr.replace(line, '');
}

function parse(stdout: string): Sample[] {
  return stdout.trim() === ''
    ? []
    : stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Sample);
}

function table(samples: Sample[]): Record<string, [number, number]> {
  const t: Record<string, [number, number]> = {};
  for (const s of samples)
    if (s.event_type === 'l3.meter')
      t[`${s.payload.label_name}@${s.payload.last_update - 300}`] = [s.payload.bytes, s.payload.pkts];
  return t;
}

test('known flows: directions, intra-subnet, excluded subnet, shared label, IPv6, bins, out of order', async () => {
  const { dir, ml } = await setup();
  const lines = [
    flow(T0 + 10, '8.8.8.8', '7.7.7.5', 1000, 10), // in → fabian-in
    flow(T0 + 20, '7.7.7.5', '8.8.8.8', 500, 5), // out → fabian-out, no-backup
    flow(T0 + 30, '7.7.7.5', '7.7.7.9', 70, 1), // inside 7.7.7.0/24: fabian-* no; no-backup: inside /16 → no
    flow(T0 + 40, '7.7.9.1', '8.8.8.8', 9000, 9), // excluded subnet: no-backup no
    flow(T0 + 50, '7.7.8.1', '8.8.8.8', 300, 3), // no-backup yes
    flow(T0 + 60, '1.2.3.4', '7.7.7.80', 40, 1), // fabian-in and shared-web
    flow(T0 + 310, '2001:db8::1', '2001:db9::1', 600, 6), // v6 egress, second bin
    flow(T0 + 320, '2001:db9::1', '2001:db8::1', 60, 1), // v6 ingress
    flow(T0 + 330, '2001:db8::1', '2001:db8:1::1', 999, 9), // v6 inside: no
    flow(T0 + 250, '8.8.4.4', '7.7.7.6', 11, 1), // late (first bin) but within lateness
    flow(T0 + 905, '7.7.7.7', '9.9.9.9', 5, 1), // fourth bin; the third has no flows at all
  ];
  writeFileSync(join(dir, 'flows.ndjson'), lines.join('\n') + '\n');
  const r = await ml(['count', '--host', 'net1', join(dir, 'flows.ndjson')]);
  assert.equal(r.code, 0, r.stderr);
  const samples = parse(r.stdout);
  assert.deepEqual(table(samples), {
    [`fabian-in@${T0}`]: [1051, 12],
    [`fabian-out@${T0}`]: [500, 5],
    [`no-backup@${T0}`]: [800, 8],
    [`shared-web@${T0}`]: [40, 1],
    [`v6@${T0}`]: [0, 0],
    [`fabian-in@${T0 + 300}`]: [0, 0],
    [`fabian-out@${T0 + 300}`]: [0, 0],
    [`no-backup@${T0 + 300}`]: [0, 0],
    [`shared-web@${T0 + 300}`]: [0, 0],
    [`v6@${T0 + 300}`]: [660, 7],
    [`fabian-in@${T0 + 900}`]: [0, 0],
    [`fabian-out@${T0 + 900}`]: [5, 1],
    [`no-backup@${T0 + 900}`]: [5, 1],
    [`shared-web@${T0 + 900}`]: [0, 0],
    [`v6@${T0 + 900}`]: [0, 0],
  });
  const s = samples.find((x) => x.payload.label_name === 'fabian-out' && x.payload.last_update === T0 + 1200)!;
  assert.equal(s.publisher_id, 'metering.net1');
  assert.equal(s.priority, 'INFO');
  assert.equal(s.timestamp, '2023-11-14 22:35:00.000000');
  assert.deepEqual(Object.keys(s.payload), [
    'label_id',
    'label_name',
    'tenant_id',
    'project_id',
    'pkts',
    'bytes',
    'time',
    'first_update',
    'last_update',
    'host',
  ]);
  assert.equal(s.payload.tenant_id, 'p1');
  assert.equal(s.payload.project_id, 'p1');
  assert.equal(s.payload.time, 300);
  assert.equal(s.payload.first_update, T0, 'first_update is when the label was first reported, as the agent keeps it');
  assert.equal(s.payload.host, 'net1');
  // same input, same notifications (message ids derive from label and interval)
  const again = await ml(['count', '--host', 'net1', join(dir, 'flows.ndjson')]);
  assert.equal(again.stdout, r.stdout);
});

test('--granular adds l3.meter.label and l3.meter.project; shared labels show project "all"', async () => {
  const { ml } = await setup();
  const r = await ml(
    ['count', '--granular', '--report-interval', '3600'],
    [flow(T0, '8.8.8.8', '7.7.7.80', 100), flow(T0, '7.7.7.80', '8.8.8.8', 10)].join('\n'),
  );
  assert.equal(r.code, 0, r.stderr);
  const samples = parse(r.stdout);
  const label = samples.filter((s) => s.event_type === 'l3.meter.label');
  assert.equal(label.length, 5);
  const shared = label.find((s) => s.payload.label_name === 'shared-web')!;
  assert.equal(shared.payload.project_id, 'all');
  assert.equal(shared.payload.label_shared, true);
  assert.equal(shared.payload.resource_id, `label-${shared.payload.label_id}`);
  const projects = Object.fromEntries(
    samples.filter((s) => s.event_type === 'l3.meter.project').map((s) => [s.payload.resource_id, s.payload.bytes]),
  );
  assert.deepEqual(projects, { 'project-p1': 110, 'project-p2': 10, 'project-p3': 0 });
});

test('random flows: bytes and packets per label and interval equal a brute-force count', async () => {
  const { dir, db, ml } = await setup();
  const data = JSON.parse(readFileSync(db, 'utf8')) as {
    metering_labels: { id: string; name: string }[];
    metering_label_rules: Record<string, string | boolean | null>[];
  };
  const rnd = rngInt(7);
  const pool = ['7.7.7.5', '7.7.7.80', '7.7.8.1', '7.7.9.3', '8.8.8.8', '1.1.1.1', '7.7.200.1'];
  const flows: Array<{ t: number; s: string; d: string; b: number; p: number }> = [];
  for (let i = 0; i < 4000; i++) {
    const t = T0 + Math.max(0, Math.floor(i * 0.9) - rnd(120)); // about an hour, up to 2 minutes out of order
    flows.push({ t, s: pool[rnd(pool.length)]!, d: pool[rnd(pool.length)]!, b: 40 + rnd(1500), p: 1 + rnd(3) });
  }
  writeFileSync(join(dir, 'random.ndjson'), flows.map((f) => flow(f.t, f.s, f.d, f.b, f.p)).join('\n') + '\n');
  const r = await ml(['count', join(dir, 'random.ndjson')]);
  assert.equal(r.code, 0, r.stderr);
  const got = table(parse(r.stdout));
  const inn = (p: unknown, a: string): boolean =>
    typeof p === 'string' && !p.includes(':') && new Netmask(p).contains(a);
  const expected: Record<string, [number, number]> = {};
  const bins = new Set(flows.map((f) => f.t - ((f.t - T0) % 300)));
  for (const b of bins) for (const l of data.metering_labels) expected[`${l.name}@${b}`] = [0, 0];
  for (const f of flows) {
    for (const l of data.metering_labels) {
      const hit = (r: Record<string, string | boolean | null>): boolean =>
        r.remote_ip_prefix
          ? r.direction === 'egress'
            ? inn(r.remote_ip_prefix, f.s) && !inn(r.remote_ip_prefix, f.d)
            : inn(r.remote_ip_prefix, f.d) && !inn(r.remote_ip_prefix, f.s)
          : (!r.source_ip_prefix || inn(r.source_ip_prefix, f.s)) &&
            (!r.destination_ip_prefix || inn(r.destination_ip_prefix, f.d));
      const rules = data.metering_label_rules.filter((r) => r.metering_label_id === l.id);
      if (rules.some((r) => r.excluded && hit(r)) || !rules.some((r) => !r.excluded && hit(r))) continue;
      const e = expected[`${l.name}@${f.t - ((f.t - T0) % 300)}`]!;
      e[0] += f.b;
      e[1] += f.p;
    }
  }
  assert.deepEqual(got, expected);
  const totals = Object.entries(expected)
    .filter(([, [b]]) => b > 0)
    .map(([k]) => k.split('@')[0]);
  assert.deepEqual(
    new Set(totals),
    new Set(['fabian-in', 'fabian-out', 'no-backup', 'shared-web']),
    'every IPv4 label saw traffic',
  );
});

test('a bad line in the middle: counted, named, the rest still counted, exit 65; --strict stops', async () => {
  const { dir, ml } = await setup();
  const path = join(dir, 'bad.ndjson');
  writeFileSync(
    path,
    [
      flow(T0, '8.8.8.8', '7.7.7.5', 100),
      '{"bytes":"12a","src_addr":"1.2.3.4"}',
      'garbage',
      flow(T0 + 1, '8.8.8.8', '7.7.7.5', 1),
    ].join('\n') + '\n',
  );
  let r = await ml(['count', path]);
  assert.equal(r.code, 65);
  assert.equal(
    withoutNoRouters(r.stderr),
    `meter-label: ${path}:2: field "bytes": expected a non-negative integer (got "12a")\nmeter-label: ${path}:3: expected a JSON object (got "garbage")\nmeter-label: 2 of 4 records rejected (first: ${path}:2)\n`,
  );
  assert.deepEqual(table(parse(r.stdout))[`fabian-in@${T0}`], [101, 2]);
  r = await ml(['count', '--strict', path]);
  assert.equal(r.code, 65);
  assert.equal(
    withoutNoRouters(r.stderr),
    `meter-label: ${path}:2: field "bytes": expected a non-negative integer (got "12a")\n`,
  );
  r = await ml(['count', join(dir, 'missing.ndjson')]);
  assert.equal(r.code, 66);
  assert.match(r.stderr, /missing\.ndjson: No such file or directory/);
});

test('--live: wall-clock intervals; at end of input the last partial interval is reported', async () => {
  const { ml } = await setup();
  const r = await ml(
    ['count', '--live', '--host', 'h'],
    [flow(1, '8.8.8.8', '7.7.7.5', 100, 2), flow(2, '7.7.7.5', '8.8.8.8', 7)].join('\n') + '\n',
  );
  assert.equal(r.code, 0, r.stderr);
  const samples = parse(r.stdout);
  assert.equal(samples.length, 5);
  const byName = Object.fromEntries(samples.map((s) => [s.payload.label_name, s.payload]));
  assert.equal(byName['fabian-in']!.bytes, 100);
  assert.equal(byName['fabian-out']!.bytes, 7);
  const now = Date.now() / 1000;
  assert.ok(Math.abs(byName['fabian-in']!.last_update - now) < 120, 'stamped with the wall clock, not flow time');
});

test('count | head -1 exits 0 quietly', async () => {
  const { dir, db } = await setup();
  const lines: string[] = [];
  for (let i = 0; i < 20000; i++) lines.push(flow(T0 + i * 30, '8.8.8.8', '7.7.7.5', 100));
  writeFileSync(join(dir, 'many.ndjson'), lines.join('\n') + '\n');
  const r = await runShell(
    `METER_LABEL_DB='${db}' '${process.execPath}' '${binPath('meter-label')}' count '${join(dir, 'many.ndjson')}' | head -1`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(withoutNoRouters(r.stderr), '');
  assert.equal(JSON.parse(r.stdout).event_type, 'l3.meter');
});

test('--live stops cleanly on SIGTERM with stdin still open: the current interval is reported, exit 0', async () => {
  const { db } = await setup();
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [binPath('meter-label'), 'count', '--live', '-v'], {
    env: { ...process.env, METER_LABEL_DB: db },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // the signal handlers are in place once it says what it counts (-v)
  await new Promise<void>((resolve) => {
    const check = (): void =>
      void (err.includes('counting for 5 labels') && (child.stderr.off('data', check), resolve()));
    child.stderr.on('data', check);
  });
  child.stdin.write(flow(1, '8.8.8.8', '7.7.7.5', 100, 2) + '\n');
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('close', r));
  assert.equal(code, 0, err);
  const samples = parse(out);
  assert.equal(samples.length, 5, err);
  assert.ok(samples.every((s) => s.event_type === 'l3.meter'));
});

test('SIGINT during a finite count: what was read is reported, exit 130', async () => {
  const { db } = await setup();
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [binPath('meter-label'), 'count', '-v', '-'], {
    env: { ...process.env, METER_LABEL_DB: db },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve) => {
    const check = (): void =>
      void (err.includes('counting for 5 labels') && (child.stderr.off('data', check), resolve()));
    child.stderr.on('data', check);
  });
  child.stdin.write(flow(T0, '8.8.8.8', '7.7.7.5', 100, 2) + '\n');
  child.kill('SIGINT');
  const code = await new Promise((r) => child.once('close', r));
  assert.equal(code, 130, err);
  const samples = parse(out);
  assert.ok(
    samples.length === 0 || samples.length === 5,
    'either the flow was not read yet, or one interval for every label',
  );
});

test('--external-if: ingress rules count flows entering by that interface, egress rules flows leaving by it', async () => {
  const { ml } = await setup();
  const input = [
    flow(T0, '8.8.8.8', '7.7.7.5', 100, 1, { in_if: 2, out_if: 5 }), // in from outside: fabian-in
    flow(T0, '8.8.8.8', '7.7.7.5', 200, 1, { in_if: 6, out_if: 5 }), // between inside ports: nothing
    flow(T0, '7.7.7.5', '8.8.8.8', 40, 1, { in_if: 5, out_if: 2 }), // out: fabian-out and no-backup
    flow(T0, '7.7.7.5', '8.8.8.8', 80, 1, { in_if: 2, out_if: 5 }), // addresses say egress, interfaces say in: nothing
  ].join('\n');
  const r = await ml(['count', '--external-if', '2'], input);
  assert.equal(r.code, 0, r.stderr);
  const t = table(parse(r.stdout));
  assert.deepEqual(
    [t[`fabian-in@${T0}`], t[`fabian-out@${T0}`], t[`no-backup@${T0}`]],
    [
      [100, 1],
      [40, 1],
      [40, 1],
    ],
  );
  const all = table(parse((await ml(['count'], input)).stdout));
  assert.deepEqual(
    [all[`fabian-in@${T0}`], all[`fabian-out@${T0}`]],
    [
      [300, 2],
      [120, 2],
    ],
    'without it, addresses alone decide',
  );
});
