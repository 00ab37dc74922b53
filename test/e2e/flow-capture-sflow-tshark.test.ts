// sFlow decoding cross-checked with Wireshark's sFlow dissector (tshark), sample by sample, on
// captures of a real exporter (pmacct's sfprobe, scripts/make-sflow-fixtures.sh): agent,
// datagram sequence, sampling rate, frame length, and from the raw packet header the addresses,
// protocol and ports.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ROOT, runBin } from '../helpers/spawn.js';

const test = testNeeding('tshark');

type Json = Record<string, unknown>;

interface Sample {
  seq: number;
  agent: string;
  rate: number;
  frameLength: number;
  src: string;
  dst: string;
  proto: number;
  srcPort: number;
  dstPort: number;
}

function str(o: Json | undefined, k: string): string {
  const v = o?.[k];
  return typeof v === 'string' ? v : '';
}

/** Samples as tshark sees them, datagram by datagram; malformed datagrams are marked. */
function tsharkSamples(file: string): { samples: Sample[]; malformedSeqs: number[] } {
  const text = execFileSync('tshark', ['-r', file, '-d', 'udp.port==16343,sflow', '-T', 'json'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const packets = JSON.parse(text) as Array<{ _source: { layers: Json } }>;
  const samples: Sample[] = [];
  const malformedSeqs: number[] = [];
  for (const p of packets) {
    const sf = p._source.layers.sflow as Json;
    const seq = Number(str(sf, 'sflow_245.sequence_number'));
    const agent = str(sf, 'sflow_245.agent') || str(sf, 'sflow_245.agent.v6');
    if ('_ws.malformed' in p._source.layers) {
      malformedSeqs.push(seq);
      continue;
    }
    for (const [k, v] of Object.entries(sf)) {
      if (!k.startsWith('Flow sample')) continue;
      const s = v as Json;
      const raw = s['Raw packet header'] as Json;
      const tree = raw['sflow_245.header_tree'] as Json;
      const ip = (tree.ip ?? tree.ipv6) as Json;
      const l4 = (tree.tcp ?? tree.udp) as Json | undefined;
      const isV4 = tree.ip !== undefined;
      samples.push({
        seq,
        agent,
        rate: Number(str(s, 'sflow.flow_sample.sampling_rate')),
        frameLength: Number(str(raw, 'sflow_245.header.frame_length')),
        src: str(ip, isV4 ? 'ip.src' : 'ipv6.src'),
        dst: str(ip, isV4 ? 'ip.dst' : 'ipv6.dst'),
        proto: Number(str(ip, isV4 ? 'ip.proto' : 'ipv6.nxt')),
        srcPort: l4 ? Number(str(l4, tree.tcp ? 'tcp.srcport' : 'udp.srcport')) : 0,
        dstPort: l4 ? Number(str(l4, tree.tcp ? 'tcp.dstport' : 'udp.dstport')) : 0,
      });
    }
  }
  return { samples, malformedSeqs };
}

interface Rec {
  sequence_num: number;
  sampler_address: string;
  sampling_rate: number;
  bytes: number;
  src_addr: string;
  dst_addr: string;
  proto: string | number;
  src_port: number;
  dst_port: number;
}

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, 'IPv6-ICMP': 58 };

for (const file of ['sflow-v4.pcap', 'sflow-v6.pcap']) {
  test(`sFlow: ${file} decodes as tshark's sFlow dissector reads it`, async () => {
    const path = `${ROOT}test/fixtures/${file}`;
    const want = tsharkSamples(path);
    const r = await runBin('flow-capture', ['-r', path]);
    const ours: Sample[] = r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const o = JSON.parse(l) as Rec;
        return {
          seq: o.sequence_num,
          agent: o.sampler_address,
          rate: o.sampling_rate,
          frameLength: o.bytes,
          src: o.src_addr,
          dst: o.dst_addr,
          proto: typeof o.proto === 'number' ? o.proto : PROTO[o.proto]!,
          srcPort: o.src_port,
          dstPort: o.dst_port,
        };
      });
    assert.ok(want.samples.length > 50, 'the fixture has samples');
    assert.deepEqual(ours, want.samples);
    // what tshark calls malformed (pmacct's first IPv6-agent datagram) we reject, by reason
    if (want.malformedSeqs.length > 0) {
      assert.equal(r.code, 65);
      assert.match(r.stderr, /sFlow v5 sample 1 of 8 .*flow sample of 1 bytes/);
      for (const seq of want.malformedSeqs) assert.ok(!ours.some((s) => s.seq === seq));
    } else {
      assert.equal(r.code, 0, r.stderr);
    }
  });
}
