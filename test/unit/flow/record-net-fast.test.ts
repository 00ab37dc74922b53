// flowFromObject's IPv4 fast paths give exactly what the general parser gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowFromObject, FieldError } from '../../../lib/flow/record.js';

test('src_net/dst_net: IPv4 CIDRs canonicalised the same with and without the fast path', () => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['192.168.1.255/23', '192.168.0.0/23'],
    ['255.255.255.255/1', '128.0.0.0/1'],
  ];
  for (const [given, want] of cases)
    assert.equal(flowFromObject({ src_addr: '10.1.2.3', src_net: given }).src_net, want, given);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '010.0.0.0/8', '10.0.0/8', '10.0.0.0/3x']) {
    assert.throws(() => flowFromObject({ src_addr: '10.1.2.3', src_net: bad }), FieldError, bad);
  }
  assert.equal(flowFromObject({ src_addr: '2001:DB8::1', src_net: '2001:db8::/32' }).src_addr, '2001:db8::1');
  assert.throws(() => flowFromObject({ src_addr: '10.01.2.3' }), FieldError);
});
