import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskUrlPasswords, parseHcdUrl } from '../../../lib/hcd/url.js';
import { FlowmeterError } from '../../../lib/errors.js';

test("hcdctl's URL: userinfo, default path /RPC2 as Python's ServerProxy does, masked display", () => {
  const e = parseHcdUrl('http://hydra:s%40cret@127.0.0.1:8888');
  assert.deepEqual(e, {
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 8888,
    path: '/RPC2',
    user: 'hydra',
    urlPassword: 's@cret',
    display: 'http://hydra:***@127.0.0.1:8888/RPC2',
  });
  assert.equal(parseHcdUrl('http://h:1/').path, '/');
  assert.equal(parseHcdUrl('http://h:1/x/y?z=1').path, '/x/y?z=1');
  assert.equal(parseHcdUrl('https://h').port, 443);
  assert.equal(parseHcdUrl('http://h').port, 80);
  const v6 = parseHcdUrl('https://u@[2001:db8::1]:8443');
  assert.equal(v6.hostname, '2001:db8::1');
  assert.equal(v6.display, 'https://u@[2001:db8::1]:8443/RPC2');
  assert.equal(v6.urlPassword, undefined);
});

test('bad URLs are usage errors that never echo the password', () => {
  for (const [url, re] of [
    ['ftp://u:topsecret@h/', /expected an http:\/\/ or https:\/\/ URL/],
    ['http//u:topsecret@h', /not a URL: http\/\/u:\*\*\*@h/],
    ['http://:topsecret@h:1', /a password without a user name in http:\/\/:\*\*\*@h:1/],
    ['http://u:topsecret@h:1/#frag', /a fragment/],
  ] as const) {
    assert.throws(
      () => parseHcdUrl(url),
      (e: unknown) => {
        assert.ok(e instanceof FlowmeterError);
        assert.equal(e.kind, 'usage');
        assert.match(e.message, re);
        assert.ok(!e.message.includes('topsecret'), e.message);
        return true;
      },
    );
  }
});

test('maskUrlPasswords', () => {
  assert.equal(
    maskUrlPasswords('see http://a:b@h:1/x and https://c:d@e'),
    'see http://a:***@h:1/x and https://c:***@e',
  );
  assert.equal(maskUrlPasswords('http://a@h'), 'http://a@h');
});
