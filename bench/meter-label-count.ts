// Benchmark: `meter-label count` over millions of flows with 1,000 labels × 10 rules.
// Builds a store and an NDJSON flow file under bench/out/, then runs the real binary under
// /usr/bin/time (flows/s, max RSS) and the matcher alone in-process (matches/s).
//   npm run build && node dist/bench/meter-label-count.js [flows=2000000] [labels=1000] [rules=10]

import { mkdirSync, createWriteStream, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../lib/cli/io.js';
import { makeLabel, makeRule, type StoreData } from '../lib/metering/model.js';
import { serializeStore } from '../lib/metering/store.js';
import { Matcher } from '../lib/metering/match.js';
import { flowToJson, type FlowRecord } from '../lib/flow/record.js';
import { rngInt } from '../test/helpers/prng.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}bench/out`;
const FLOWS = Number(process.argv[2] ?? 2_000_000);
const LABELS = Number(process.argv[3] ?? 1000);
const RULES = Number(process.argv[4] ?? 10);

const rnd = rngInt(42);

/** Label i owns 10.(i/256).(i%256).0/24-ish space and a /64 of 2001:db8::/32. */
function buildStore(): StoreData {
  const data: StoreData = { metering_labels: [], metering_label_rules: [], routers: [] };
  for (let i = 0; i < LABELS; i++) {
    const label = makeLabel({ name: `tenant-${i}`, project_id: `p${i % 300}`, shared: i % 100 === 0 });
    data.metering_labels.push(label);
    const a = (i >> 8) & 255;
    const b = i & 255;
    const mine: ReturnType<typeof makeRule>[] = [];
    for (let j = 0; j < RULES; j++) {
      const k = j % 10;
      const input =
        k < 4
          ? {
              direction: k % 2 ? 'ingress' : 'egress',
              remote_ip_prefix: `10.${a}.${b}.${k < 2 ? 0 : 128}/${k < 2 ? 25 : 26}`,
            }
          : k < 6
            ? {
                direction: 'egress',
                source_ip_prefix: `172.${16 + (a & 15)}.${b}.${(k - 4) * 64}/26`,
                destination_ip_prefix: k === 4 ? '0.0.0.0/0' : undefined,
              }
            : k < 8
              ? { direction: 'ingress', destination_ip_prefix: `172.${16 + (a & 15)}.${b}.${128 + (k - 6) * 32}/27` }
              : k === 8
                ? { direction: 'egress', excluded: true, remote_ip_prefix: `10.${a}.${b}.${j * 4}/30` }
                : {
                    direction: j % 2 ? 'ingress' : 'egress',
                    remote_ip_prefix: `2001:db8:${i.toString(16)}:${j.toString(16)}::/64`,
                  };
      const rule = makeRule({ ...input, metering_label_id: label.id }, mine);
      mine.push(rule);
    }
    data.metering_label_rules.push(...mine);
  }
  return data;
}

function randomFlow(t: number): FlowRecord {
  const i = rnd(LABELS + LABELS / 4); // some flows belong to nobody
  const a = (i >> 8) & 255;
  const b = i & 255;
  const inside = rnd(8) === 0 ? `172.${16 + (a & 15)}.${b}.${rnd(256)}` : `10.${a}.${b}.${rnd(256)}`;
  const outside = `${1 + rnd(200)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
  const v6 = rnd(20) === 0;
  const [src, dst] = v6
    ? [
        `2001:db8:${i.toString(16)}:${rnd(16).toString(16)}::${rnd(65535).toString(16)}`,
        `2600::${rnd(65535).toString(16)}`,
      ]
    : rnd(2)
      ? [inside, outside]
      : [outside, inside];
  const [s, d] = v6 && rnd(2) ? [dst, src] : [src, dst];
  return {
    type: 'IPFIX',
    time_received_ns: t * 1e9 + 5e9,
    sequence_num: 0,
    sampling_rate: 0,
    sampler_address: '192.0.2.1',
    time_flow_start_ns: t * 1e9,
    time_flow_end_ns: t * 1e9 + 2e9,
    bytes: 40 + rnd(1460),
    packets: 1 + rnd(10),
    src_addr: s,
    dst_addr: d,
    etype: v6 ? 0x86dd : 0x0800,
    proto: 6,
    src_port: 443,
    dst_port: 40000 + rnd(20000),
    in_if: 1,
    out_if: 2,
    ip_tos: 0,
    tcp_flags: 24,
    src_as: 0,
    dst_as: 0,
    next_hop: '',
    src_net: v6 ? '::/0' : '0.0.0.0/0',
    dst_net: v6 ? '::/0' : '0.0.0.0/0',
  };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const db = `${OUT}/metering-${LABELS}x${RULES}.json`;
  const data = buildStore();
  await writeFileAtomic(db, serializeStore(data));
  const flows = `${OUT}/flows-${FLOWS}.ndjson`;
  if (!existsSync(flows)) {
    const w = createWriteStream(flows);
    let chunk = '';
    for (let n = 0; n < FLOWS; n++) {
      chunk += flowToJson(randomFlow(1700000000 + Math.floor(n / 500))) + '\n';
      if (chunk.length > 1 << 20) {
        if (!w.write(chunk)) await once(w, 'drain');
        chunk = '';
      }
    }
    w.end(chunk);
    await once(w, 'finish');
  }
  console.log(
    `store: ${LABELS} labels × ${RULES} rules = ${data.metering_label_rules.length} rules; flows: ${FLOWS} (${flows})`,
  );

  // the matcher alone
  const sample = Array.from({ length: 200_000 }, (_, n) => randomFlow(n));
  const m = new Matcher(data);
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let rep = 0; rep < 5; rep++) for (const f of sample) hits += m.match(f.src_addr, f.dst_addr);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    `matcher: ${Math.round((sample.length * 5) / (ms / 1000)).toLocaleString('en')} flows/s (${(hits / sample.length / 5).toFixed(2)} labels per flow)`,
  );

  // the real command, end to end
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', process.execPath, `${ROOT}bin/meter-label.js`, 'count', '--db', db, flows],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 },
  );
  const [secs, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const samples = r.stdout.split('\n').length - 1;
  console.log(
    `meter-label count: ${FLOWS.toLocaleString('en')} flows in ${secs} s = ${Math.round(FLOWS / secs!).toLocaleString('en')} flows/s, max RSS ${Math.round(kb! / 1024)} MiB, ${samples} samples, exit ${r.status}`,
  );
}

await main();
