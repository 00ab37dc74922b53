// FLOWMETER_DEBUG=codegen: the functions compiled at run time are printed to stderr, and the
// output does not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBin } from '../helpers/spawn.js';

const LINES =
  [
    '{"type":"NETFLOW_V5","src_addr":"10.5.1.1","dst_addr":"192.0.2.7","proto":"TCP","bytes":100,"packets":2}',
    '{"type":"NETFLOW_V5","src_addr":"10.5.1.1","dst_addr":"2001:db8::1","proto":"UDP","bytes":7,"packets":1}',
  ].join('\n') + '\n';

test('FLOWMETER_DEBUG=codegen prints the generated key and line writers; stdout is the same', async () => {
  const args = ['-a', 'src_host,dst_host,proto', '-'];
  const plain = await runBin('flow-aggregate', args, { input: LINES, env: { FLOWMETER_DEBUG: '' } });
  const dumped = await runBin('flow-aggregate', args, { input: LINES, env: { FLOWMETER_DEBUG: 'codegen' } });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(dumped.code, 0, dumped.stderr);
  assert.equal(dumped.stdout, plain.stdout);
  assert.ok(plain.stdout.includes('"src_host":"10.5.1.1"'));
  assert.doesNotMatch(plain.stderr, /codegen/);
  assert.match(
    dumped.stderr,
    /\/\/ codegen writeKey\n\(function \(w0, w1, w2\) \{\nreturn function writeKey\(v, side, k\) \{\n {2}w0\(v, side, k, 0\);/,
  );
  assert.match(dumped.stderr, /\/\/ codegen writeLine\n/);
});
