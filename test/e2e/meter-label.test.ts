// meter-label label/rule commands through the real binary: the Neutron guide's command sequence
// with the binary name swapped, exact tables and messages, formats, import/export, the store
// under concurrent runs and kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { runBin, runShell, binPath } from '../helpers/spawn.js';

function setup(): { db: string; dir: string; ml: (...args: string[]) => ReturnType<typeof runBin> } {
  const dir = tempDir('meter-label-');
  const db = join(dir, 'metering.json');
  return {
    db,
    dir,
    ml: (...args: string[]) => runBin('meter-label', args, { env: { METER_LABEL_DB: db, OS_PROJECT_ID: '' } }),
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

function idFrom(out: string): string {
  const m = /\| id +\| ([0-9a-f-]{36}) \|/.exec(out);
  assert.ok(m, out);
  return m[1]!;
}

test('the Neutron guide sequence with the binary name swapped', async () => {
  const { ml } = setup();
  let r = await ml('meter-label-create', 'fabian-in');
  assert.equal(r.code, 0, r.stderr);
  const inId = idFrom(r.stdout);
  assert.equal(
    r.stdout,
    [
      'Created a new metering_label:',
      '+-------------+--------------------------------------+',
      '| Field       | Value                                |',
      '+-------------+--------------------------------------+',
      '| description |                                      |',
      `| id          | ${inId} |`,
      '| name        | fabian-in                            |',
      '| project_id  |                                      |',
      '| shared      | False                                |',
      '| tenant_id   |                                      |',
      '+-------------+--------------------------------------+',
      '',
    ].join('\n'),
  );
  r = await ml('meter-label-rule-create', 'fabian-in', '7.7.7.0/24', '--direction', 'ingress');
  assert.equal(r.code, 0, r.stderr);
  const ruleIn = idFrom(r.stdout);
  assert.equal(
    r.stdout,
    [
      'Created a new metering_label_rule:',
      '+-----------------------+--------------------------------------+',
      '| Field                 | Value                                |',
      '+-----------------------+--------------------------------------+',
      '| destination_ip_prefix | None                                 |',
      '| direction             | ingress                              |',
      '| excluded              | False                                |',
      `| id                    | ${ruleIn} |`,
      `| metering_label_id     | ${inId} |`,
      '| remote_ip_prefix      | 7.7.7.0/24                           |',
      '| source_ip_prefix      | None                                 |',
      '+-----------------------+--------------------------------------+',
      '',
    ].join('\n'),
  );
  r = await ml('meter-label-create', 'fabian-out', '--description', 'egress of 7.7.7.0/24', '--tenant-id', 'p1');
  const outId = idFrom(r.stdout);
  r = await ml('meter-label-rule-create', 'fabian-out', '7.7.7.0/24', '--direction', 'egress');
  const ruleOut = idFrom(r.stdout);
  r = await ml('meter-label-list');
  assert.equal(
    r.stdout,
    [
      '+--------------------------------------+------------+----------------------+--------+',
      '| id                                   | name       | description          | shared |',
      '+--------------------------------------+------------+----------------------+--------+',
      `| ${inId} | fabian-in  |                      | False  |`,
      `| ${outId} | fabian-out | egress of 7.7.7.0/24 | False  |`,
      '+--------------------------------------+------------+----------------------+--------+',
      '',
    ].join('\n'),
  );
  r = await ml('meter-label-rule-list', '-f', 'value');
  assert.equal(
    r.stdout,
    `${ruleIn} False ingress 7.7.7.0/24 None None\n${ruleOut} False egress 7.7.7.0/24 None None\n`,
  );
  r = await ml('meter-label-show', 'fabian-out', '-f', 'json');
  assert.deepEqual(JSON.parse(r.stdout), {
    description: 'egress of 7.7.7.0/24',
    id: outId,
    name: 'fabian-out',
    project_id: 'p1',
    shared: false,
    tenant_id: 'p1',
  });
  r = await ml('meter-label-rule-show', ruleOut, '-c', 'direction', '-c', 'remote_ip_prefix', '-f', 'value');
  assert.equal(r.stdout, 'egress\n7.7.7.0/24\n');
  r = await ml('rule-list', '--label', 'fabian-in', '-f', 'csv', '-c', 'id', '-c', 'direction');
  assert.equal(r.stdout, `"id","direction"\n"${ruleIn}","ingress"\n`);
  r = await ml('meter-label-rule-delete', ruleOut);
  assert.equal(r.stdout, `Deleted metering_label_rule(s): ${ruleOut}\n`);
  r = await ml('meter-label-delete', 'fabian-in', 'nosuch');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'Deleted metering_label(s): fabian-in\n');
  assert.equal(
    r.stderr,
    "meter-label: Failed to delete metering_label with name or ID 'nosuch': Unable to find metering_label with name or id 'nosuch'\n",
  );
  r = await ml('rule-list', '-f', 'json');
  assert.deepEqual(JSON.parse(r.stdout), [], 'deleting a label deleted its rules');
  r = await ml('list', '-f', 'value');
  assert.equal(r.stdout, `${outId} fabian-out egress of 7.7.7.0/24 False\n`);
});

test('Neutron validation messages and exit statuses', async () => {
  const { ml } = setup();
  await ml('create', 'web');
  await ml('create', 'dup');
  await ml('create', 'dup');
  await ml('rule-create', 'web', '10.0.0.0/16', '--direction', 'egress');
  const cases: Array<[string[], number, string]> = [
    [
      ['rule-create', 'web', '10.0.0.0/33'],
      64,
      "remote_ip_prefix: 10.0.0.0/33 is invalid ['10.0.0.0/33' does not appear to be an IPv4 or IPv6 interface].",
    ],
    [
      ['rule-create', 'web', '10.0.0.0/8', '--source-ip-prefix', '1.0.0.0/8'],
      64,
      "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.",
    ],
    [
      ['rule-create', 'web'],
      64,
      "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
    ],
    [
      ['rule-create', 'web', '10.0.4.0/24', '--egress'],
      1,
      "Metering label rule with remote_ip_prefix '10.0.4.0/24' overlaps another.",
    ],
    [
      ['rule-create', 'web', '10.0.4.0/24', '--direction', 'sideways'],
      64,
      'Invalid input for direction. Reason: sideways is not in valid_values.',
    ],
    [['rule-create', 'nope', '10.0.4.0/24'], 1, "Unable to find metering_label with name or id 'nope'"],
    [
      ['rule-show', '00000000-0000-0000-0000-000000000000'],
      1,
      "Metering label rule '00000000-0000-0000-0000-000000000000' does not exist.",
    ],
    [['show', 'dup'], 1, "Multiple metering_label matches found for name 'dup', use an ID to be more specific ("],
    [
      ['list', '-c', 'colour'],
      64,
      "No recognized column names in ['colour']. Recognized columns are ('id', 'name', 'description', 'shared', 'tenant_id', 'project_id').",
    ],
    [
      ['rule-create', 'web', '10.9.0.0/16', '--remote-ip-prefix', '10.8.0.0/16'],
      64,
      'the remote IP prefix is given more than once (REMOTE_IP_PREFIX, --remote-ip-prefix)',
    ],
    [['rule-create', 'web', '10.9.0.0/16', '--ingress', '--egress'], 64, '--ingress and --egress exclude each other'],
    [['count', '--report-interval', 'soon'], 64, '--report-interval: expected an integer, got "soon"'],
    [
      ['create', 'x'.repeat(256)],
      64,
      `Invalid input for name. Reason: '${'x'.repeat(256)}' exceeds maximum length of 255.`,
    ],
  ];
  for (const [args, code, message] of cases) {
    const r = await ml(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(`meter-label: ${message}`), `${args.join(' ')}: ${r.stderr}`);
  }
  // the excluded flag and the other direction are separate overlap groups (Neutron); IPv6 works
  for (const args of [
    ['10.0.4.0/24', '--egress', '--excluded'],
    ['10.0.4.0/24', '--ingress'],
    ['2001:db8::/32', '--egress'],
    ['--source-ip-prefix', '10.0.0.0/8', '--destination-ip-prefix', '0.0.0.0/0'],
  ]) {
    const r = await ml('rule-create', 'web', ...args);
    assert.equal(r.code, 0, r.stderr);
  }
});

test('import of a Neutron API dump and openstack -f json, export round trip', async () => {
  const { ml, dir } = setup();
  const api = {
    metering_labels: [
      {
        project_id: '45345b0ee1ea477fac0f541b2cb79cd4',
        tenant_id: '45345b0ee1ea477fac0f541b2cb79cd4',
        description: 'description of label1',
        name: 'label1',
        id: 'bc91b832-8465-40a7-a5d8-ba87de442266',
        shared: false,
      },
      {
        project_id: '45345b0ee1ea477fac0f541b2cb79cd4',
        tenant_id: '45345b0ee1ea477fac0f541b2cb79cd4',
        description: 'description of label2',
        name: 'label2',
        id: 'a6700594-5b7a-4105-8bfe-723b346ce866',
        shared: true,
      },
    ],
  };
  const rules = {
    metering_label_rules: [
      {
        remote_ip_prefix: '20.0.0.0/24',
        direction: 'ingress',
        metering_label_id: 'e131d186-b02d-4c0b-83d5-0c0725c4f812',
        id: '9536641a-7d14-4dc5-afaf-93a973ce0eb8',
        excluded: false,
      },
    ],
  };
  writeFileSync(join(dir, 'labels.json'), JSON.stringify(api));
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  let r = await ml('import', join(dir, 'labels.json'), join(dir, 'rules.json'));
  assert.equal(r.code, 1, 'the rule refers to a label not in the dump');
  assert.equal(
    r.stderr,
    `meter-label: ${join(dir, 'rules.json')}: rule 9536641a-7d14-4dc5-afaf-93a973ce0eb8: Metering label 'e131d186-b02d-4c0b-83d5-0c0725c4f812' does not exist.\n`,
  );
  assert.equal(existsSync(join(dir, 'metering.json')), false, 'all or nothing');
  rules.metering_label_rules[0]!.metering_label_id = 'bc91b832-8465-40a7-a5d8-ba87de442266';
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  r = await ml('import', join(dir, 'labels.json'), join(dir, 'rules.json'), '-v');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imported 2 label\(s\) and 1 rule\(s\); 0 already present/);
  r = await ml('show', 'label2', '-f', 'value', '-c', 'id', '-c', 'shared');
  assert.equal(r.stdout, 'a6700594-5b7a-4105-8bfe-723b346ce866\nTrue\n');
  // openstack network meter rule show -f json, piped in
  const osc = {
    destination_ip_prefix: null,
    direction: 'egress',
    excluded: true,
    id: '00e13b58-b4f2-4579-9c9c-7ac94615f9ae',
    metering_label_id: 'bc91b832-8465-40a7-a5d8-ba87de442266',
    project_id: null,
    remote_ip_prefix: '20.0.0.128/25',
    source_ip_prefix: null,
  };
  r = await runBin('meter-label', ['import'], {
    input: JSON.stringify(osc),
    env: { METER_LABEL_DB: join(dir, 'metering.json') },
  });
  assert.equal(r.code, 0, r.stderr);
  r = await ml('export');
  const exported = JSON.parse(r.stdout);
  assert.deepEqual(exported.metering_labels, api.metering_labels);
  assert.equal(exported.metering_label_rules.length, 2);
  // round trip into a fresh store gives the same export
  const other = join(dir, 'other.json');
  r = await runBin('meter-label', ['import', '--db', other], { input: r.stdout });
  assert.equal(r.code, 0, r.stderr);
  const again = await runBin('meter-label', ['export', '--db', other]);
  assert.equal(again.stdout, (await ml('export')).stdout);
  // export -o writes atomically
  r = await ml('export', '-o', join(dir, 'dump.json'));
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'dump.json'), 'utf8')), exported);
});

test('concurrent rule-create runs: every rule present, the file valid JSON', async () => {
  const { ml, db } = setup();
  await ml('create', 'net');
  const N = 16;
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      runBin(
        'meter-label',
        ['rule-create', 'net', `10.${i}.0.0/16`, '--egress', '--lock-timeout', '120', '-f', 'value', '-c', 'id'],
        { env: { METER_LABEL_DB: db } },
      ),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const ids = results.map((r) => r.stdout.trim());
  const doc = JSON.parse(readFileSync(db, 'utf8'));
  assert.equal(doc.metering_label_rules.length, N);
  assert.deepEqual(new Set(doc.metering_label_rules.map((r: { id: string }) => r.id)), new Set(ids));
  assert.deepEqual(
    doc.metering_label_rules.map((r: { remote_ip_prefix: string }) => r.remote_ip_prefix).sort(),
    Array.from({ length: N }, (_, i) => `10.${i}.0.0/16`).sort(),
  );
  assert.ok(!existsSync(`${db}.lock`));
});

test('kill -9 during writes leaves the old or the new file, and the next run recovers the lock', async () => {
  const { ml, db, dir } = setup();
  await ml('create', 'net');
  for (let round = 0; round < 12; round++) {
    const child = spawn(
      process.execPath,
      [binPath('meter-label'), 'rule-create', 'net', `10.${round}.0.0/16`, '--egress'],
      { env: { ...process.env, METER_LABEL_DB: db }, stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 40 + round * 15));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const doc = JSON.parse(readFileSync(db, 'utf8')); // never half a file
    assert.equal(doc.version, 2);
  }
  writeFileSync(join(dir, '.metering.json.tmp-999999999-abcd'), '{"half": '); // as a killed writer leaves it
  const r = await ml('rule-create', 'net', '192.168.0.0/16', '--egress');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.')),
    [],
    'temporary files of dead writers removed',
  );
  const doc = JSON.parse(readFileSync(db, 'utf8'));
  assert.ok(
    doc.metering_label_rules.some((x: { remote_ip_prefix: string }) => x.remote_ip_prefix === '192.168.0.0/16'),
  );
});

test('a corrupt store is refused (78) and left alone; --db overrides the environment', async () => {
  const { ml, db, dir } = setup();
  writeFileSync(db, '{"format": "flowmeter-metering", "version": 1, "metering_labels": [}');
  const r = await ml('create', 'x');
  assert.equal(r.code, 78);
  assert.match(
    r.stderr,
    /^meter-label: .*metering\.json: not a usable meter-label store \(invalid JSON: .*\); refusing to use or overwrite it\n$/,
  );
  assert.equal(readFileSync(db, 'utf8'), '{"format": "flowmeter-metering", "version": 1, "metering_labels": [}');
  const ok = await ml('create', 'x', '--db', join(dir, 'good.json'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, UUID);
});

test('list | head -1 exits 0 quietly', async () => {
  const { db, ml } = setup();
  for (let i = 0; i < 3; i++) await ml('create', `l${i}`);
  const r = await runShell(
    `METER_LABEL_DB='${db}' '${process.execPath}' '${binPath('meter-label')}' list -f value | head -1`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^[0-9a-f-]{36} l0 {2}False\n$/);
});
