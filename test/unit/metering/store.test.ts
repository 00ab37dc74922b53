// The store file (versioned, refused when corrupt or newer, never overwritten then), the lock,
// and the cliff-like output formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { readStore, updateStore, defaultStorePath, STORE_VERSION } from '../../../lib/metering/store.js';
import { createLabel, createRule, exportNeutron, importNeutron } from '../../../lib/metering/ops.js';
import { LockFile } from '../../../lib/cli/lock.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { formatOne, formatList, renderTable } from '../../../lib/metering/output.js';

test('default store path: $METER_LABEL_DB, then $XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(defaultStorePath({ METER_LABEL_DB: '/x/db.json', XDG_DATA_HOME: '/d' }), '/x/db.json');
  assert.equal(defaultStorePath({ XDG_DATA_HOME: '/d' }), '/d/flowmeter/metering.json');
  assert.equal(defaultStorePath({ HOME: '/home/u' }), '/home/u/.local/share/flowmeter/metering.json');
});

test('a missing store reads as empty; updates create it (and its directory) as versioned JSON', async () => {
  const dir = tempDir();
  const db = join(dir, 'sub', 'db.json');
  assert.deepEqual(await readStore(db), { metering_labels: [], metering_label_rules: [], routers: [] });
  await updateStore(db, (d) => ({ result: createLabel(d, { name: 'a' }), changed: true }));
  const doc = JSON.parse(readFileSync(db, 'utf8'));
  assert.equal(doc.format, 'flowmeter-metering');
  assert.equal(doc.version, STORE_VERSION);
  assert.equal(doc.metering_labels[0].name, 'a');
  assert.ok(!existsSync(`${db}.lock`), 'lock released');
});

async function refused(db: string, pattern: RegExp): Promise<void> {
  const before = readFileSync(db);
  await assert.rejects(
    readStore(db),
    (e: unknown) => e instanceof FlowmeterError && e.kind === 'config' && pattern.test(e.message),
  );
  await assert.rejects(
    updateStore(db, (d) => ({ result: createLabel(d, { name: 'x' }), changed: true })),
    pattern,
  );
  assert.deepEqual(readFileSync(db), before, 'file untouched');
}

test('corrupt, foreign and newer-version stores are refused and never overwritten', async () => {
  const dir = tempDir();
  const db = join(dir, 'db.json');
  writeFileSync(db, '{"format":"flowmeter-metering","version":1,"metering_labels":[');
  await refused(db, /not a usable meter-label store \(invalid JSON/);
  writeFileSync(db, '{"some":"thing"}');
  await refused(db, /"format" is not "flowmeter-metering"/);
  writeFileSync(
    db,
    JSON.stringify({
      format: 'flowmeter-metering',
      version: 3,
      metering_labels: [],
      metering_label_rules: [],
      extra: 1,
    }),
  );
  await refused(db, /store format version 3 is newer than this meter-label understands \(2\)/);
  writeFileSync(
    db,
    JSON.stringify({
      format: 'flowmeter-metering',
      version: 1,
      metering_labels: [],
      metering_label_rules: [{ id: 'x' }],
    }),
  );
  await refused(db, /metering_label_rules\[0\]\.id is not a UUID/);
});

test('a version-1 store (before routers) reads with no routers; a bad router in a store is refused, never rewritten', async () => {
  const dir = tempDir();
  const db = join(dir, 'db.json');
  writeFileSync(
    db,
    JSON.stringify({ format: 'flowmeter-metering', version: 1, metering_labels: [], metering_label_rules: [] }),
  );
  assert.deepEqual(await readStore(db), { metering_labels: [], metering_label_rules: [], routers: [] });
  const router = {
    id: '0b7f1c52-6d1e-4d0e-9a53-3f1e1c2a9b10',
    name: 'r1',
    tenant_id: 'p1',
    project_id: 'p1',
    exporter: '192.0.2.1',
    interfaces: [],
    subnets: ['10.0.0.0/24'],
  };
  writeFileSync(
    db,
    JSON.stringify({
      format: 'flowmeter-metering',
      version: 2,
      metering_labels: [],
      metering_label_rules: [],
      routers: [router],
    }),
  );
  assert.deepEqual((await readStore(db)).routers, [router]);
  writeFileSync(
    db,
    JSON.stringify({
      format: 'flowmeter-metering',
      version: 2,
      metering_labels: [],
      metering_label_rules: [],
      routers: [{ ...router, exporter: 'router-1' }],
    }),
  );
  await refused(db, /routers\[0\]: Invalid input for exporter\. Reason: 'router-1' is not an IP address/);
  writeFileSync(
    db,
    JSON.stringify({
      format: 'flowmeter-metering',
      version: 2,
      metering_labels: [],
      metering_label_rules: [],
      routers: [router, router],
    }),
  );
  await refused(db, /router id 0b7f1c52-6d1e-4d0e-9a53-3f1e1c2a9b10 appears twice/);
});

test('import keeps ids, is idempotent, all-or-nothing, and round-trips export', () => {
  const a = { metering_labels: [], metering_label_rules: [], routers: [] };
  const l = createLabel(a, { name: 'web', description: 'd', tenant_id: 'p1', shared: true });
  createRule(a, 'web', { direction: 'egress', remote_ip_prefix: '10.0.0.0/24' });
  createRule(a, 'web', {
    direction: 'ingress',
    source_ip_prefix: '0.0.0.0/0',
    destination_ip_prefix: '10.0.0.0/24',
    excluded: true,
  });
  const dump = JSON.parse(exportNeutron(a));
  const b = { metering_labels: [], metering_label_rules: [], routers: [] };
  assert.deepEqual(importNeutron(b, [{ doc: dump, where: 'dump.json' }]), {
    labelsAdded: 1,
    rulesAdded: 2,
    routersAdded: 0,
    unchanged: 0,
  });
  assert.equal(exportNeutron(b), exportNeutron(a));
  assert.deepEqual(importNeutron(b, [{ doc: dump, where: 'dump.json' }]), {
    labelsAdded: 0,
    rulesAdded: 0,
    routersAdded: 0,
    unchanged: 3,
  });
  const bad = {
    metering_label_rules: [{ metering_label_id: l.id, direction: 'egress', remote_ip_prefix: '10.0.0.128/25' }],
  };
  const c = { metering_labels: [], metering_label_rules: [], routers: [] };
  assert.throws(
    () =>
      importNeutron(c, [
        { doc: dump, where: 'dump.json' },
        { doc: bad, where: 'more.json' },
      ]),
    /^FlowmeterError: more\.json: rule #1: Metering label rule with remote_ip_prefix '10\.0\.0\.128\/25' overlaps another\.$/,
  );
  assert.deepEqual(c, { metering_labels: [], metering_label_rules: [], routers: [] }, 'nothing imported');
});

test("lock: a second holder waits and times out with 75; a dead owner's lock is broken", async () => {
  const dir = tempDir();
  const path = join(dir, 'x.lock');
  const held = await LockFile.acquire(path);
  await assert.rejects(
    LockFile.acquire(path, { timeoutMs: 50 }),
    (e: unknown) => e instanceof FlowmeterError && e.kind === 'temporary' && /locked by pid \d+ on /.test(e.message),
  );
  await held.release();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(path, `${dead} ${hostname()} 1\n`);
  const mine = await LockFile.acquire(path, { timeoutMs: 1000 });
  assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
  await mine.release();
  assert.ok(!existsSync(path));
});

test('tables like cliff/prettytable; json, csv (QUOTE_NONNUMERIC), value; -c selection', () => {
  const label = { id: 'i', name: 'fabian-in', description: '', shared: false, tenant_id: 't', project_id: 't' };
  assert.equal(
    formatOne(label, 'table'),
    [
      '+-------------+-----------+',
      '| Field       | Value     |',
      '+-------------+-----------+',
      '| description |           |',
      '| id          | i         |',
      '| name        | fabian-in |',
      '| project_id  | t         |',
      '| shared      | False     |',
      '| tenant_id   | t         |',
      '+-------------+-----------+',
      '',
    ].join('\n'),
  );
  assert.equal(formatOne(label, 'value', ['shared', 'name']), 'fabian-in\nFalse\n');
  assert.equal(formatOne(label, 'json', ['name', 'shared']), '{\n  "name": "fabian-in",\n  "shared": false\n}\n');
  assert.equal(formatList(['id', 'name', 'shared'], [label], 'csv'), '"id","name","shared"\n"i","fabian-in",False\n');
  assert.equal(formatList(['id'], [], 'table'), '', 'an empty list prints nothing');
  assert.equal(formatList(['id'], [], 'json'), '[]\n');
  assert.throws(
    () => formatOne(label, 'table', ['nope']),
    /^FlowmeterError: No recognized column names in \['nope'\]\. Recognized columns are \('description', 'id', 'name', 'project_id', 'shared', 'tenant_id'\)\.$/,
  );
  assert.equal(renderTable(['a'], [['xyz']]), '+-----+\n| a   |\n+-----+\n| xyz |\n+-----+\n');
});
