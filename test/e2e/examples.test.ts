// The examples/ that can run here, run: the debugging guide's commands print what it shows, the
// scale-out script's merge equals one aggregation, the OpenStack scripts create labels and forward
// l3.meter samples to a file and over HTTP (real curl, real server), and the ClickHouse schema has
// a column for every record field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin, runProcess, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { FLOW_FIELDS } from '../../lib/flow/record.js';
import { needs } from '../helpers/peers.js';

/** A directory with the commands under their installed names, for PATH. */
function binDir(): string {
  const dir = join(tempDir('examples-bin-'), 'bin');
  mkdirSync(dir);
  for (const cmd of ['flow-capture', 'flow-aggregate', 'flow-report', 'hcd-putfile', 'meter-label']) {
    symlinkSync(join(ROOT, 'bin', `${cmd}.js`), join(dir, cmd));
  }
  return dir;
}

test('examples/debugging.md: every "$ command" prints the lines shown under it', async () => {
  const md = readFileSync(join(ROOT, 'examples/debugging.md'), 'utf8');
  const path = `${binDir()}:${process.env.PATH}`;
  let checked = 0;
  for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.split('\n');
    let i = 0;
    while (i < lines.length) {
      if (!lines[i]!.startsWith('$ ')) {
        i++;
        continue;
      }
      let cmd = lines[i]!.slice(2);
      while (/[\\|]\s*$/.test(cmd) && i + 1 < lines.length) cmd += '\n' + lines[++i]!;
      const shown: string[] = [];
      while (i + 1 < lines.length && !lines[i + 1]!.startsWith('$ ') && lines[i + 1] !== '') shown.push(lines[++i]!);
      i++;
      const r = await runShell(cmd, { env: { PATH: path } });
      assert.equal(r.code, 0, `${cmd}\n${r.stderr}`);
      const out = r.stdout.split('\n');
      for (const s of shown) {
        if (s === '...') continue;
        assert.ok(out.includes(s), `debugging.md shows "${s}" for\n${cmd}\nbut it printed:\n${r.stdout}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 5, `only ${checked} commands found`);
});

test('examples/scale-out: site aggregates merged centrally equal one aggregation of all flows', async () => {
  const out = join(tempDir('scale-out-'), 'out');
  const r = await runProcess('/bin/bash', [join(ROOT, 'examples/scale-out/scale-out.sh'), out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^site v5: 39 flows -> \d+ ab \+ \d+ ba aggregates$/m);
  assert.match(r.stdout, /identical to one aggregation over all flows/);
  assert.equal(readFileSync(join(out, 'total.ab.ndjson'), 'utf8'), readFileSync(join(out, 'direct.ab.ndjson'), 'utf8'));
  // and the totals are the bytes of the flows
  const flows = ['v5', 'v9', 'ipfix'].flatMap((s) =>
    readFileSync(join(out, s, 'flows.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean),
  );
  const flowBytes = flows.reduce((a, l) => a + (JSON.parse(l) as { bytes: number }).bytes, 0);
  const aggBytes = readFileSync(join(out, 'total.ab.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .reduce((a, l) => a + (JSON.parse(l) as { bytes: number }).bytes, 0);
  assert.equal(aggBytes, flowBytes);
});

interface Sample {
  event_type: string;
  publisher_id: string;
  payload: { label_name: string; tenant_id: string; project_id: string; bytes: number; pkts: number; host: string };
}

test('examples/openstack: labels.sh creates the labels once; meter.sh forwards l3.meter samples to a file and over HTTP', async (t) => {
  const dir = tempDir('openstack-');
  const env = {
    PATH: `${binDir()}:${process.env.PATH}`,
    METER_LABEL_DB: join(dir, 'metering.json'),
    HOST: 'net-node-1',
  };
  const first = await runProcess('/bin/sh', [join(ROOT, 'examples/openstack/labels.sh')], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /created label tenant-a/);
  const again = await runProcess('/bin/sh', [join(ROOT, 'examples/openstack/labels.sh')], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /label tenant-a exists/);
  const rules = await runBin('meter-label', ['rule-list', '-f', 'value', '-c', 'id'], { env });
  assert.equal(rules.stdout.trim().split('\n').length, 7, rules.stdout); // not doubled by the re-run

  const pcaps = ['examples/softflowd-v9.pcap', 'examples/softflowd-ipfix.pcap'].flatMap((p) => ['-r', join(ROOT, p)]);
  const file = join(dir, 'l3.meter.ndjson');
  const toFile = await runProcess('/bin/bash', [join(ROOT, 'examples/openstack/meter.sh'), ...pcaps], {
    env: { ...env, SINK: `file:${file}` },
  });
  assert.equal(toFile.code, 0, toFile.stderr);
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);
  assert.ok(samples.length >= 3, `${samples.length} samples`);
  for (const s of samples) {
    assert.equal(s.event_type, 'l3.meter');
    assert.equal(s.publisher_id, 'metering.net-node-1');
    assert.equal(s.payload.tenant_id, s.payload.project_id);
    assert.equal(s.payload.host, 'net-node-1');
  }
  assert.deepEqual([...new Set(samples.map((s) => s.payload.label_name))].sort(), ['peering', 'tenant-a', 'tenant-b']);
  assert.ok(samples.some((s) => s.payload.bytes > 0));

  // The HTTP sink: one POST per sample, to a real server, with real curl.
  if (!needs(t, 'curl')) return; // the file sink above was checked
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/l3meter`;
    const toHttp = await runProcess('/bin/bash', [join(ROOT, 'examples/openstack/meter.sh'), ...pcaps], {
      env: { ...env, SINK: `http:${url}` },
    });
    assert.equal(toHttp.code, 0, toHttp.stderr);
  } finally {
    server.close();
  }
  const strip = (l: string): string => l.replace(/"message_id":"[^"]*",/, '');
  assert.deepEqual(
    bodies.map((b) => strip(b.trim())),
    readFileSync(file, 'utf8').split('\n').filter(Boolean).map(strip),
  );

  // A failing stage fails the script (pipefail): a missing capture.
  const bad = await runProcess(
    '/bin/bash',
    [join(ROOT, 'examples/openstack/meter.sh'), '-r', join(dir, 'missing.pcap')],
    { env },
  );
  assert.equal(bad.code, 66, bad.stderr);
});

test('examples/clickhouse/schema.sql: a column for every flow record field, and the aggregate keys', async () => {
  const sql = readFileSync(join(ROOT, 'examples/clickhouse/schema.sql'), 'utf8');
  const columns = (table: string): string[] => {
    const m = new RegExp(`CREATE TABLE IF NOT EXISTS flowmeter\\.${table}\\s*\\(([\\s\\S]*?)\\n\\)`).exec(sql);
    assert.ok(m, `no table ${table}`);
    return m[1]!
      .split('\n')
      .map((l) => /^\s{4}(\w+)\s+(.*)$/.exec(l))
      .filter((x) => x && !/MATERIALIZED/.test(x[2]!))
      .map((x) => x![1]!);
  };
  const flowCols = columns('flows');
  assert.deepEqual([...flowCols].sort(), FLOW_FIELDS.map((f) => f.name as string).sort());
  // every key flow-aggregate --ab/--ba writes has a column
  const dir = tempDir('clickhouse-');
  const r = await runShell(
    `bin/flow-capture.js -r examples/softflowd-v9.pcap | bin/flow-aggregate.js --ab --ba -o ab=${dir}/ab -o ba=${dir}/ba && cat ${dir}/ab ${dir}/ba`,
  );
  assert.equal(r.code, 0, r.stderr);
  const aggCols = new Set(columns('aggregates'));
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    for (const k of Object.keys(JSON.parse(line) as object)) assert.ok(aggCols.has(k), `aggregates has no column ${k}`);
  }
});
