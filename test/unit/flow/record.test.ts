import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  flowFromObject,
  flowToJson,
  intText,
  nsUnit,
  parseFlowLine,
  FieldError,
  type FlowRecord,
} from '../../../lib/flow/record.js';
import { rng } from '../../helpers/prng.js';

const base: FlowRecord = {
  type: 'IPFIX',
  time_received_ns: 1700000000123456800,
  sequence_num: 7,
  sampling_rate: 0,
  sampler_address: '192.0.2.1',
  time_flow_start_ns: 1699999999000000000,
  time_flow_end_ns: 1700000000000000000,
  bytes: 1500,
  packets: 3,
  src_addr: '10.0.0.1',
  dst_addr: '10.0.0.2',
  etype: 0x800,
  proto: 6,
  src_port: 1234,
  dst_port: 80,
  in_if: 1,
  out_if: 2,
  ip_tos: 0,
  tcp_flags: 27,
  src_as: 0,
  dst_as: 0,
  next_hop: '',
  src_net: '10.0.0.0/8',
  dst_net: '0.0.0.0/0',
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
  const r = flowFromObject({
    type: 'SFLOW_5',
    src_addr: '10.1.2.3',
    dst_addr: '2001:db8::1',
    proto: 17,
    bytes: 10,
    src_net: 24,
    etype: 'IPv4',
  });
  assert.equal(r.proto, 17);
  assert.equal(r.src_net, '10.1.2.0/24');
  assert.equal(r.dst_net, '::/0');
  assert.equal(r.packets, 0);
  assert.equal(flowFromObject({ proto: 'ICMPv6' }).proto, 58);
  assert.equal(flowFromObject({ time_received_ns: '1709065920620635488' }).time_received_ns, 1709065920620635488);
});

test('bad fields are named', () => {
  assert.throws(
    () => flowFromObject({ bytes: '12a' }),
    (e: unknown) => e instanceof FieldError && e.field === 'bytes' && /non-negative integer/.test(e.message),
  );
  assert.throws(() => flowFromObject({ bytes: -1 }), FieldError);
  assert.throws(
    () => flowFromObject({ src_addr: '10.0.0.256' }),
    (e: unknown) => (e as FieldError).field === 'src_addr',
  );
  assert.throws(
    () => flowFromObject({ proto: 'nope' }),
    (e: unknown) => (e as FieldError).field === 'proto',
  );
  assert.throws(
    () => parseFlowLine('{"bytes":'),
    (e: unknown) => (e as FieldError).field === '' && /JSON object/.test((e as Error).message),
  );
  assert.throws(() => parseFlowLine('[1]'), FieldError);
});

test('ns times print as the whole ms or µs they were sent as, and parse back to the same double', () => {
  // 1705319946383 ms: the nearest double is 1705319946383000064; goflow2 prints the uint64 it computed
  assert.equal(intText(1705319946383 * 1e6), '1705319946383000000');
  assert.equal(nsUnit(1705319946383 * 1e6), 1e6);
  assert.equal(intText(1705319946383123 * 1e3), '1705319946383123000');
  assert.equal(nsUnit(1705319946383123 * 1e3), 1e3);
  // not a whole µs: the double's exact integer value
  assert.equal(intText(1700000000123456768), '1700000000123456768');
  assert.equal(nsUnit(1700000000123456768), 1);
  assert.equal(intText(1e15 + 1), '1000000000000001');
  assert.equal(intText(12345), '12345');
  const rnd = rng(7);
  for (let i = 0; i < 20000; i++) {
    const ms = Math.floor(1e12 + rnd() * 1e12);
    const x =
      i % 3 === 0
        ? ms * 1e6
        : i % 3 === 1
          ? (ms * 1000 + Math.floor(rnd() * 1000)) * 1e3
          : ms * 1e6 + Math.floor(rnd() * 1e6);
    const text = intText(x);
    assert.match(text, /^[0-9]{19}$/);
    assert.equal(Number(text), x, text);
    assert.equal(BigInt(text) - BigInt(x) < 1000n && BigInt(x) - BigInt(text) < 1000n, true, text);
  }
});
