import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowFromObject, flowToJson, parseFlowLine, FieldError, type FlowRecord } from '../../../lib/flow/record.js';

const base: FlowRecord = {
  type: 'IPFIX', time_received_ns: 1700000000123456800, sequence_num: 7, sampling_rate: 0, sampler_address: '192.0.2.1',
  time_flow_start_ns: 1699999999000000000, time_flow_end_ns: 1700000000000000000, bytes: 1500, packets: 3,
  src_addr: '10.0.0.1', dst_addr: '10.0.0.2', etype: 0x800, proto: 6, src_port: 1234, dst_port: 80, in_if: 1, out_if: 2,
  ip_tos: 0, tcp_flags: 27, src_as: 0, dst_as: 0, next_hop: '', src_net: '10.0.0.0/8', dst_net: '0.0.0.0/0',
};

test('NDJSON is goflow2-shaped and round-trips', () => {
  const line = flowToJson(base);
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.equal(o.proto, 'TCP');
  assert.equal(o.etype, 'IPv4');
  assert.equal(o.time_received_ns, 1700000000123456800);
  assert.deepEqual(Object.keys(o).slice(0, 4), ['type', 'time_received_ns', 'sequence_num', 'sampling_rate']);
  assert.deepEqual(parseFlowLine(line), base);
});

test('optional fields appear only when set, strings are escaped', () => {
  const r: FlowRecord = { ...base, src_mac: 'aa:bb:cc:dd:ee:ff', as_path: [1, 2], observation_domain_id: 5 };
  const o = JSON.parse(flowToJson(r)) as Record<string, unknown>;
  assert.equal(o.src_mac, 'aa:bb:cc:dd:ee:ff');
  assert.deepEqual(o.as_path, [1, 2]);
  assert.equal('dst_mac' in o, false);
  assert.deepEqual(parseFlowLine(flowToJson(r)), r);
});

test('unknown protocol numbers stay numbers', () => {
  const o = JSON.parse(flowToJson({ ...base, proto: 200 })) as Record<string, unknown>;
  assert.equal(o.proto, 200);
});

test('goflow2 input: names or numbers, missing fields, bare prefix lengths', () => {
  const r = flowFromObject({ type: 'SFLOW_5', src_addr: '10.1.2.3', dst_addr: '2001:db8::1', proto: 17, bytes: 10, src_net: 24, etype: 'IPv4' });
  assert.equal(r.proto, 17);
  assert.equal(r.src_net, '10.1.2.0/24');
  assert.equal(r.dst_net, '::/0');
  assert.equal(r.packets, 0);
  assert.equal(flowFromObject({ proto: 'ICMPv6' }).proto, 58);
  assert.equal(flowFromObject({ time_received_ns: '1709065920620635488' }).time_received_ns, 1709065920620635488);
});

test('bad fields are named', () => {
  assert.throws(() => flowFromObject({ bytes: '12a' }), (e: unknown) => e instanceof FieldError && e.field === 'bytes' && /non-negative integer/.test(e.message));
  assert.throws(() => flowFromObject({ bytes: -1 }), FieldError);
  assert.throws(() => flowFromObject({ src_addr: '10.0.0.256' }), (e: unknown) => (e as FieldError).field === 'src_addr');
  assert.throws(() => flowFromObject({ proto: 'nope' }), (e: unknown) => (e as FieldError).field === 'proto');
  assert.throws(() => parseFlowLine('{"bytes":'), (e: unknown) => (e as FieldError).field === '' && /JSON object/.test((e as Error).message));
  assert.throws(() => parseFlowLine('[1]'), FieldError);
});
