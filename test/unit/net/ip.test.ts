import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import {
  formatIPv4,
  formatIPv6,
  ipv4Network,
  ipv6Network,
  parseCidr,
  parseIP,
  parseIPv4,
  unmapIPv4,
  formatIP,
} from '../../../lib/net/ip.js';

test('IPv4 formatting and strict parsing', () => {
  assert.equal(formatIPv4(0x0a000001), '10.0.0.1');
  assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
  assert.equal(parseIPv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIPv4('010.0.0.1'), undefined, 'no octal surprises');
  assert.equal(parseIPv4('256.0.0.1'), undefined);
  assert.equal(parseIPv4('1.2.3'), undefined);
});

test('IPv6 formatting follows RFC 5952', () => {
  const cases: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0001:0001:0001:0001:0001:0001', '2001:db8:1:1:1:1:1:1'],
    ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
  ];
  for (const [full, want] of cases) {
    const bytes = Buffer.from(full.replaceAll(':', ''), 'hex');
    const got = formatIPv6(bytes);
    assert.equal(got, want);
    assert.ok(isIPv6(got));
    assert.equal(formatIP(parseIP(got)!), want, 'round trip');
  }
});

test('IPv6 parsing rejects malformed text', () => {
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', ':::'])
    assert.equal(parseIP(bad), undefined, bad);
});

test('networks clear host bits', () => {
  assert.equal(ipv4Network(0x0a010203, 16), '10.1.0.0/16');
  assert.equal(ipv4Network(0x0a010203, 0), '0.0.0.0/0');
  assert.equal(ipv4Network(0x0a010203, 32), '10.1.2.3/32');
  assert.equal(ipv6Network(parseIP('2001:db8:1:2::5')!.bytes, 0, 48), '2001:db8:1::/48');
  assert.deepEqual(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.1.2.3/8')!.len, 8);
  assert.equal(unmapIPv4('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(unmapIPv4('2001:db8::1'), '2001:db8::1');
});
