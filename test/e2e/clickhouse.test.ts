// examples/clickhouse against real ClickHouse: the embedded engine (npm chdb, ClickHouse 26.x) runs
// schema.sql unchanged, takes flow-capture's records of every fixture and goflow2's v2 records,
// load.sh's aggregates add up in the SummingMergeTree exactly as flow-aggregate merges them, and
// the README's queries print the numbers flow-report/flow-aggregate print for the same data.
// Skipped, naming chdb, when it is not installed (.ci/run installs it; see test/helpers/chdb.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, runBin, runProcess, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { chdbSkip, rows, withSession } from '../helpers/chdb.js';
import { FLOW_FIELDS } from '../../lib/flow/record.js';

const OPTS = { skip: chdbSkip, timeout: 600_000 };
const CH = join(ROOT, 'examples/clickhouse');
const SCHEMA = readFileSync(join(CH, 'schema.sql'), 'utf8');
const NETWORKS = join(ROOT, 'examples/networks.lst');
const SITES = ['v5', 'v9', 'ipfix'];

type Row = Record<string, unknown>;

function ndjson(text: string): Row[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

/** flow-capture's records of a capture (exit 65 for datagrams it rejected: the rest still count). */
async function capture(pcap: string): Promise<string> {
  const r = await runBin('flow-capture', ['-q', '-r', pcap]);
  assert.ok(r.code === 0 || r.code === 65, `${pcap}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** A record with every column: the fields it lacks at the defaults the schema gives them. */
function fullRecord(r: Row): Row {
  const out: Row = {};
  for (const f of FLOW_FIELDS) out[f.name] = r[f.name] ?? (f.kind === 'u' ? 0 : f.kind === 'array' ? [] : '');
  return out;
}

function sortedJson(list: readonly Row[]): string[] {
  return list.map((r) => JSON.stringify(r)).sort();
}

/** `row` restricted to `keys`, in that order. */
function pick(row: Row, keys: readonly string[]): Row {
  return Object.fromEntries(keys.map((k) => [k, row[k]]));
}

test(
  'schema.sql loads unchanged: database flowmeter, flows (MergeTree) and aggregates (SummingMergeTree)',
  OPTS,
  () => {
    withSession(tempDir('ch-schema-'), (s) => {
      s.query(SCHEMA);
      assert.deepEqual(rows(s, "SELECT name, engine FROM system.tables WHERE database = 'flowmeter' ORDER BY name"), [
        { name: 'aggregates', engine: 'SummingMergeTree' },
        { name: 'flows', engine: 'MergeTree' },
      ]);
      const stored = rows<{ name: string }>(
        s,
        "SELECT name FROM system.columns WHERE database = 'flowmeter' AND table = 'flows' AND default_kind != 'MATERIALIZED'",
      );
      assert.deepEqual(stored.map((c) => c.name).sort(), FLOW_FIELDS.map((f) => f.name as string).sort());
      s.query(SCHEMA); // IF NOT EXISTS: loading it again changes nothing
    });
  },
);

test(
  'flow-capture records of every fixture load into flows with JSONEachRow, every field as written',
  OPTS,
  async () => {
    const fixtures = readdirSync(join(ROOT, 'test/fixtures'))
      .filter((f) => f.endsWith('.pcap'))
      .sort();
    const captured: Array<[string, string]> = [];
    for (const f of fixtures) captured.push([f, await capture(join(ROOT, 'test/fixtures', f))]);
    const all = captured.map(([, text]) => text).join('');
    const records = ndjson(all);
    // every fixture but the two of plain traffic (the packets the exporters saw) has flow records
    const empty = captured.filter(([, text]) => !text).map(([f]) => f);
    assert.deepEqual(empty, ['sflow-source-traffic.pcap', 'traffic.pcap']);
    withSession(tempDir('ch-flows-'), (s) => {
      s.query(SCHEMA);
      // the fixtures were received years ago: keep the 35-day TTL from dropping them while checking
      s.query('SYSTEM STOP TTL MERGES flowmeter.flows');
      const columns = FLOW_FIELDS.map((f) => f.name).join(', ');
      for (const [f, text] of captured) {
        if (!text) continue;
        s.query('TRUNCATE TABLE flowmeter.flows');
        s.query(`INSERT INTO flowmeter.flows FORMAT JSONEachRow\n${text}`);
        assert.deepEqual(
          sortedJson(rows(s, `SELECT ${columns} FROM flowmeter.flows`)),
          sortedJson(ndjson(text).map(fullRecord)),
          f,
        );
        // the materialized columns: the same times and addresses, typed
        const [bad] = rows(
          s,
          `SELECT countIf(toUnixTimestamp64Nano(time_start) != time_flow_start_ns OR toUnixTimestamp64Nano(time_received) != time_received_ns) AS times,
        countIf(IPv6NumToString(src_ip) NOT IN (src_addr, concat('::ffff:', src_addr)) OR IPv6NumToString(dst_ip) NOT IN (dst_addr, concat('::ffff:', dst_addr))) AS addrs FROM flowmeter.flows`,
        );
        assert.deepEqual(bad, { times: 0, addrs: 0 }, f);
      }
      // all at once, then the TTL: what is older than 35 days goes at the next merge
      s.query('TRUNCATE TABLE flowmeter.flows');
      s.query(`INSERT INTO flowmeter.flows FORMAT JSONEachRow\n${all}`);
      assert.deepEqual(rows(s, 'SELECT count() AS n FROM flowmeter.flows'), [{ n: records.length }]);
      s.query('SYSTEM START TTL MERGES flowmeter.flows');
      s.query('OPTIMIZE TABLE flowmeter.flows FINAL');
      const since = (Date.now() / 1000 - 35 * 86400) * 1e9;
      const recent = records.filter((r) => (r.time_received_ns as number) >= since).length;
      assert.deepEqual(rows(s, 'SELECT count() AS n FROM flowmeter.flows'), [{ n: recent }]);
    });
  },
);

// A goflow2 v2 JSON record with every field of its FlowMessage (pb/flow.proto) as its renderers
// print them (addresses, MACs, etype/proto names, networks as prefixes, layer_stack names).
const GOFLOW2 =
  '{"type":"IPFIX","time_received_ns":1733140800123456789,"sequence_num":4711,"sampling_rate":100,' +
  '"sampler_address":"192.0.2.1","time_flow_start_ns":1733140790000000000,"time_flow_end_ns":1733140799500000000,' +
  '"bytes":15000,"packets":10,"src_addr":"2001:db8:5::10","dst_addr":"2001:db8:ffff::80","etype":"IPv6","proto":"TCP",' +
  '"src_port":51000,"dst_port":443,"in_if":3,"out_if":4,"src_mac":"00:11:22:33:44:55","dst_mac":"66:77:88:99:aa:bb",' +
  '"src_vlan":10,"dst_vlan":20,"vlan_id":10,"ip_tos":32,"forwarding_status":64,"ip_ttl":63,"ip_flags":2,"tcp_flags":24,' +
  '"icmp_type":0,"icmp_code":0,"ipv6_flow_label":74565,"fragment_id":0,"fragment_offset":0,"src_as":64496,"dst_as":64500,' +
  '"next_hop":"2001:db8::fe","next_hop_as":64499,"src_net":"2001:db8:5::/48","dst_net":"2001:db8:ffff::/48",' +
  '"bgp_next_hop":"2001:db8::ff","bgp_communities":[4226809856,4226809857],"as_path":[64499,64500],"mpls_ttl":[64],' +
  '"mpls_label":[1000,2000],"mpls_ip":["10.0.0.1","10.0.0.2"],"observation_domain_id":256,"observation_point_id":7,' +
  '"layer_stack":["Ethernet","IPv6","TCP"],"ipv6_routing_header_addresses":[],"ipv6_routing_header_seg_left":0}';

// todo, not skipped: it runs and reports; about 1 run in 3 the SELECT after the insert sees no row
// (chdb 3.4 session), which is not understood yet
test(
  'goflow2 v2 records with all fields load with --input_format_skip_unknown_fields=1 (refused with it off)',
  { ...OPTS, todo: 'intermittent: the row is sometimes not seen after the insert (chdb session)' },
  () => {
    withSession(tempDir('ch-goflow2-refused-'), (s) => {
      s.query(SCHEMA);
      // mpls_ttl, mpls_ip, layer_stack, ipv6_routing_header_*: goflow2 fields flowmeter does not write
      assert.throws(
        () =>
          s.query(
            `INSERT INTO flowmeter.flows SETTINGS input_format_skip_unknown_fields = 0 FORMAT JSONEachRow\n${GOFLOW2}\n`,
          ),
        /mpls_ttl|Unknown field/i,
      );
      assert.deepEqual(rows(s, 'SELECT count() AS n FROM flowmeter.flows'), [{ n: 0 }]);
    });
    // loaded in a session of its own: the refused insert above leaves nothing behind to depend on
    withSession(tempDir('ch-goflow2-'), (s) => {
      s.query(SCHEMA);
      s.query(
        `INSERT INTO flowmeter.flows SETTINGS input_format_skip_unknown_fields = 1 FORMAT JSONEachRow\n${GOFLOW2}\n`,
      );
      const columns = FLOW_FIELDS.map((f) => f.name).filter((n) => GOFLOW2.includes(`"${n}":`));
      assert.ok(columns.length >= 44, `${columns.length} flowmeter fields in the goflow2 record`);
      const [row] = rows(
        s,
        `SELECT ${columns.join(', ')}, toString(time_received_ns) AS recv_text, toString(time_start) AS start FROM flowmeter.flows`,
      );
      assert.deepEqual(pick(row!, columns), pick(JSON.parse(GOFLOW2) as Row, columns));
      // the 64-bit ns time exactly as written (beyond a double's 53 bits)
      assert.equal(row!.recv_text, '1733140800123456789');
      assert.equal(row!.start, '2024-12-02 11:59:50.000000000');
    });
  },
);

interface Sites {
  dir: string;
  data: string;
  flowFiles: string[];
}

/** The README's setup on real data: the example captures as sites, each with its flows (received
 *  now, so the 35-day TTL keeps them) and its --ab/--ba aggregates; `schema` loaded and every file
 *  loaded by load.sh through clickhouse-client (test/helpers/clickhouse-client.ts, on chdb). */
async function loadSites(schema: string): Promise<Sites> {
  const dir = SITES_DIR[schema]!;
  const data = join(dir, 'data');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const client = join(bin, 'clickhouse-client');
  writeFileSync(client, `#!/bin/sh\nexec "${process.execPath}" "${ROOT}dist/test/helpers/clickhouse-client.js" "$@"\n`);
  chmodSync(client, 0o755);
  const now = `${Date.now()}000000`;
  const files: string[] = [];
  const flowFiles: string[] = [];
  for (const site of SITES) {
    const flows = (await capture(join(ROOT, `examples/softflowd-${site}.pcap`))).replace(
      /"time_received_ns":\d+/g,
      `"time_received_ns":${now}`,
    );
    const plain = join(dir, `flows.${site}.ndjson`);
    writeFileSync(plain, flows);
    flowFiles.push(plain);
    // load.sh takes flow-capture's compressed files as they are
    const loaded = site === 'ipfix' ? `${plain}.gz` : plain;
    if (loaded !== plain) writeFileSync(loaded, gzipSync(flows));
    const ab = join(dir, `site-${site}.ab.ndjson`);
    const ba = join(dir, `site-${site}.ba.ndjson`);
    const r = await runBin('flow-aggregate', [
      '--ab',
      '--ba',
      '-n',
      NETWORKS,
      '-o',
      `ab=${ab}`,
      '-o',
      `ba=${ba}`,
      plain,
    ]);
    assert.equal(r.code, 0, r.stderr);
    files.push(loaded, ab, ba);
  }
  const env = { PATH: `${bin}:${process.env.PATH}`, CHDB_DATA: data };
  const loadSchema = await runShell(`clickhouse-client --multiquery < ${join(CH, schema)}`, { env });
  assert.equal(loadSchema.code, 0, loadSchema.stderr);
  const load = await runProcess('/bin/bash', [join(CH, 'load.sh'), ...files], { env, timeoutMs: 300_000 });
  assert.equal(load.code, 0, load.stderr);
  return { dir, data, flowFiles };
}

// one setup per schema, shared by the tests below; the directories go at the end
const SITES_DIR: Record<string, string> = {
  'schema.sql': tempDir('ch-load-'),
  'schema-legacy.sql': tempDir('ch-legacy-'),
};
const sites: Record<string, Promise<Sites>> = {};
const sitesLoaded = (schema: string): Promise<Sites> => (sites[schema] ??= loadSites(schema));

/** flow-aggregate's merge of the sites' aggregates of one direction. */
async function mergedShards(dir: string, agg: 'ab' | 'ba'): Promise<Row[]> {
  const r = await runShell(`cat ${dir}/site-*.${agg}.ndjson | bin/flow-aggregate.js --${agg}`);
  assert.equal(r.code, 0, r.stderr);
  return ndjson(r.stdout);
}

test(
  "load.sh: flows and aggregates load; after OPTIMIZE FINAL the SummingMergeTree rows are flow-aggregate's merge of the shards, exactly",
  OPTS,
  async () => {
    const { dir, data, flowFiles } = await sitesLoaded('schema.sql');
    const flows = flowFiles.flatMap((f) => ndjson(readFileSync(f, 'utf8')));
    const merged = { ab: await mergedShards(dir, 'ab'), ba: await mergedShards(dir, 'ba') };
    withSession(data, (s) => {
      assert.deepEqual(rows(s, 'SELECT count() AS n, sum(bytes) AS b FROM flowmeter.flows'), [
        { n: flows.length, b: flows.reduce((a, r) => a + (r.bytes as number), 0) },
      ]);
      s.query('OPTIMIZE TABLE flowmeter.aggregates FINAL');
      for (const agg of ['ab', 'ba'] as const) {
        const want = merged[agg];
        const keys = Object.keys(want[0]!);
        const got = rows(s, `SELECT * FROM flowmeter.aggregates WHERE aggregation = '${agg}'`);
        assert.equal(got.length, want.length, `${agg}: one row per key`);
        assert.deepEqual(sortedJson(got.map((r) => pick(r, keys))), sortedJson(want), agg);
      }
    });
  },
);

/** The statements of the README's `n`th sql block. */
function readmeQueries(n: number): string[] {
  const blocks = [...readFileSync(join(CH, 'README.md'), 'utf8').matchAll(/```sql\n([\s\S]*?)```/g)];
  return blocks[n]![1]!.split(/;\s*\n/)
    .map((q) => q.trim())
    .filter(Boolean);
}

/** Run the three README queries (top destinations today, per subscriber and remote network from
 *  the aggregates, bytes from the subscribers' network) on `schema`'s tables and compare each
 *  with what flow-report/flow-aggregate print for the same files. */
async function checkQueries(schema: string, queries: readonly string[]): Promise<void> {
  assert.equal(queries.length, 3, 'three queries: give a new one its check here');
  const { dir, data, flowFiles } = await sitesLoaded(schema);
  const values = (list: readonly Row[]): unknown[][] => list.map((r) => Object.values(r));
  const sorted = (list: unknown[][]): string[] => list.map((x) => JSON.stringify(x)).sort();
  const top = await runBin('flow-report', [
    '-a',
    'dst_host',
    '-f',
    'src host 10.5.3.7',
    '--sort',
    'bytes',
    '--top',
    '10',
    '-F',
    'ndjson',
    ...flowFiles,
  ]);
  assert.equal(top.code, 0, top.stderr);
  const topWant = ndjson(top.stdout).map((r) => [r.dst_host, r.bytes]);
  assert.ok(topWant.length >= 3);
  const abWant = (await mergedShards(dir, 'ab')).map((r) => [
    r.src_host,
    r.dst_net,
    r.dst_mask,
    r.bytes,
    r.time_start,
    r.time_end,
  ]);
  const sum = await runBin('flow-aggregate', ['-a', 'none', '-f', 'src net 10.5.0.0/16', ...flowFiles]);
  assert.equal(sum.code, 0, sum.stderr);
  withSession(data, (s) => {
    assert.deepEqual(values(rows(s, queries[0]!)), topWant, queries[0]);
    assert.deepEqual(sorted(values(rows(s, queries[1]!))), sorted(abWant), queries[1]);
    assert.deepEqual(values(rows(s, queries[2]!)), [[ndjson(sum.stdout)[0]!.bytes]], queries[2]);
  });
}

test(
  'examples/clickhouse/README.md: each query runs and prints what flow-report/flow-aggregate print',
  OPTS,
  async () => {
    await checkQueries('schema.sql', readmeQueries(0));
  },
);

test(
  "schema-legacy.sql (older servers): loads, load.sh fills it, the README's legacy queries print the same numbers",
  OPTS,
  async () => {
    const [today, perSubscriber] = readmeQueries(0);
    const [legacySum] = readmeQueries(1);
    await checkQueries('schema-legacy.sql', [today!, perSubscriber!, legacySum!]);
  },
);
