// parseIPv4's one-pass parser agrees with the strict reference (split + regex) on tricky input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIPv4 } from '../../../lib/net/ip.js';
import { rngInt } from '../../helpers/prng.js';

function reference(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let u = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    u = u * 256 + n;
  }
  return u;
}

test('parseIPv4 equals the strict reference on generated strings', () => {
  const pieces = [
    '0',
    '00',
    '01',
    '1',
    '9',
    '10',
    '99',
    '100',
    '199',
    '255',
    '256',
    '300',
    '999',
    '1000',
    '',
    'a',
    ' 1',
    '1 ',
    '-1',
    '+1',
    '0x1',
  ];
  const rnd = rngInt(1);
  for (let i = 0; i < 20000; i++) {
    const k = 2 + rnd(4);
    const s = Array.from({ length: k }, () => pieces[rnd(pieces.length)]!).join(rnd(50) === 0 ? ':' : '.');
    assert.equal(parseIPv4(s), reference(s), JSON.stringify(s));
  }
  for (const s of ['0.0.0.0', '255.255.255.255', '1.2.3.4', '1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.04', ''])
    assert.equal(parseIPv4(s), reference(s), s);
});
