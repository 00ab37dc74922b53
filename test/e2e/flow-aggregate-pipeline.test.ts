// flow-capture -r FIXTURE | flow-aggregate --ab -n NETS, for every capture fixture in the repository
// that holds flow exports: the bytes, packets and flows over the aggregates equal the sums over
// the flows flow-capture decoded (all of them, and those a filter lets through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, binPath, runBin, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';

function fixtures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...fixtures(p));
    else if (/\.pcap(ng)?$/.test(name)) out.push(p);
  }
  return out.sort();
}

const dir = tempDir('flowmeter-pipe-');
const nets = join(dir, 'nets.lst');
writeFileSync(
  nets,
  '10.0.0.0/8\n10.5.0.0/16\n10.5.2.0/24\n192.168.0.0/16\n172.16.0.0/12\n8.8.8.0/24\n2001:db8::/32\n2001:db8:5::/48\n',
);
const node = `'${process.execPath}'`;
const fc = `${node} '${binPath('flow-capture')}'`;
const fa = `${node} '${binPath('flow-aggregate')}'`;

type Sums = { bytes: number; packets: number; flows: number };
function sums(ndjson: string, keep: (o: Record<string, unknown>) => boolean = () => true): Sums {
  const s = { bytes: 0, packets: 0, flows: 0 };
  for (const l of ndjson.split('\n')) {
    if (l === '') continue;
    const o = JSON.parse(l) as Record<string, unknown>;
    if (!keep(o)) continue;
    s.bytes += o.bytes as number;
    s.packets += o.packets as number;
    s.flows += typeof o.flows === 'number' ? o.flows : 1;
  }
  return s;
}

const all = fixtures(join(ROOT, 'test/fixtures'));
let withFlows = 0;
for (const pcap of all) {
  const name = relative(join(ROOT, 'test/fixtures'), pcap);
  test(`flow-capture -r ${name} | flow-aggregate: every byte in exactly one aggregate`, async (t) => {
    const cap = await runBin('flow-capture', ['-r', pcap]);
    if (cap.code !== 0 || cap.stdout === '') {
      t.skip('no flow exports in this capture (raw traffic or a pcap reader fixture)');
      return;
    }
    withFlows++;
    const flows = sums(cap.stdout);
    const ab = await runShell(`${fc} -r '${pcap}' | ${fa} --ab -n '${nets}'`);
    assert.equal(ab.code, 0, ab.stderr);
    assert.deepEqual(sums(ab.stdout), flows);
    const ba = await runShell(`${fc} -r '${pcap}' | ${fa} --ba -n '${nets}' --interval 60 --pro-rate`);
    assert.equal(ba.code, 0, ba.stderr);
    assert.deepEqual({ ...sums(ba.stdout), flows: 0 }, { ...flows, flows: 0 });
    assert.equal(sums(ba.stdout).flows, flows.flows, 'pro-rated flows counted once each');
    const f = await runShell(`${fc} -r '${pcap}' | ${fa} --ab -n '${nets}' -f 'tcp or udp'`);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(
      sums(f.stdout),
      sums(cap.stdout, (o) => o.proto === 'TCP' || o.proto === 'UDP'),
    );
  });
}

test('the pipeline tests above saw flow exports', () => {
  assert.ok(all.length > 0);
  assert.ok(withFlows >= 2, `${withFlows} fixtures with flows`);
});
