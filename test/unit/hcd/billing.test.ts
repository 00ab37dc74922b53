import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeProblem, isProblem, parseBillingLine, withTrailingSemicolon } from '../../../lib/hcd/billing.js';

const NOW = 1_700_000_000; // fixed "now" so the future check is deterministic

function message(line: string): string {
  const r = parseBillingLine(line, NOW);
  assert.ok(isProblem(r), `expected a problem for ${JSON.stringify(line)}`);
  return describeProblem(r);
}

test('good lines: addresses with ids optional, ids without addresses, IPv6, big counters', () => {
  for (const line of [
    'c39501;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;',
    ';;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;0;',
    'c1;obj7;1291242554;1291242854;;;100;',
    'c1;obj7;1291242554;1291242854;2001:db8::1/128;::/0;18446744073709551615;',
    `svc;;${NOW};${NOW + 86_400};192.0.2.0/24;198.51.100.7/32;1;`,
  ]) {
    const r = parseBillingLine(line, NOW);
    assert.ok(!isProblem(r), `${line}: ${isProblem(r) ? describeProblem(r) : ''}`);
  }
  const r = parseBillingLine('c39501;;1291242554;1291242600;10.5.10.6/32;0.0.0.0/0;900;', NOW);
  assert.deepEqual(r, {
    goodId: 'c39501',
    objectId: '',
    begin: 1291242554,
    end: 1291242600,
    addr1: '10.5.10.6/32',
    addr2: '0.0.0.0/0',
    bytes: 900n,
  });
});

test('withTrailingSemicolon: only a line of exactly seven fields gets the ";" after BYTES', () => {
  assert.equal(
    withTrailingSemicolon('c39501;;1291242554;1291242600;10.5.10.6/32;0.0.0.0/0;900'),
    'c39501;;1291242554;1291242600;10.5.10.6/32;0.0.0.0/0;900;',
  );
  assert.equal(withTrailingSemicolon('c1;;1;2;10.5.10.6/32;0.0.0.0/0;900;'), 'c1;;1;2;10.5.10.6/32;0.0.0.0/0;900;');
  assert.equal(withTrailingSemicolon('c1;;1;2;10.5.10.6/32;900'), 'c1;;1;2;10.5.10.6/32;900');
  assert.equal(withTrailingSemicolon('EXT_GOOD_ID,EXT_OBJECT_ID'), 'EXT_GOOD_ID,EXT_OBJECT_ID');
});

test('shape: seven fields and the trailing ";"', () => {
  assert.equal(message(''), 'expected 7 fields each followed by ";" (got an empty line)');
  assert.equal(
    message('c1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900'),
    'expected the line to end with ";" after BYTES (got "900" at the end)',
  );
  assert.equal(
    message('c1;;1291242554;1291242554;10.5.10.6/32;900;'),
    'expected 7 fields each followed by ";" (got 6 fields)',
  );
  assert.equal(
    message('c1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;x;'),
    'expected 7 fields each followed by ";" (got 8 fields)',
  );
  assert.equal(
    message('\ufeffc1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    'expected plain text without a byte-order mark (got a UTF-8 BOM before EXT_GOOD_ID)',
  );
  assert.equal(
    message('EXT_GOOD_ID,EXT_OBJECT_ID'),
    'expected 7 fields each followed by ";" (got 1 field without a trailing ";")',
  );
});

test('ids', () => {
  const rule = 'expected an id of letters, digits, "-", "_" and "." (like c39501)';
  assert.equal(
    message('c"1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    `field "EXT_GOOD_ID": ${rule} (got "c\\"1")`,
  );
  assert.equal(
    message('c1;o\tb;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    `field "EXT_OBJECT_ID": ${rule} (got "o\\tb")`,
  );
  assert.equal(
    message(' c1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    `field "EXT_GOOD_ID": ${rule} (got " c1")`,
  );
  // a spreadsheet formula (CSV injection) is not an id
  assert.equal(
    message("=cmd|' /C calc'!A0;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;"),
    `field "EXT_GOOD_ID": ${rule} (got "=cmd|' /C calc'!A0")`,
  );
  for (const bad of ['+1', '@sum(1)', 'c 1', 'ид1', 'a,b', "o'brien"]) {
    assert.equal(
      message(`c1;${bad};1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;`),
      `field "EXT_OBJECT_ID": ${rule} (got ${JSON.stringify(bad)})`,
    );
  }
  for (const good of ['c39501', 'inet_out', 'sw-10.core', 'A9', '-1']) {
    const r = parseBillingLine(`${good};${good};1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;`, NOW);
    assert.ok(!isProblem(r), `${good}: ${isProblem(r) ? describeProblem(r) : ''}`);
  }
  assert.match(
    message(`${'x'.repeat(129)};;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;`),
    /^field "EXT_GOOD_ID": expected an id of at most 128 characters \(got "x{40}…"\)$/,
  );
  assert.equal(
    message(';obj;1291242554;1291242554;;;900;'),
    'field "EXT_GOOD_ID": expected a service id (the addresses are empty, so both ids are required) (got an empty field)',
  );
  assert.equal(
    message('c1;;1291242554;1291242554;;;900;'),
    'field "EXT_OBJECT_ID": expected an equipment code (the addresses are empty, so both ids are required) (got an empty field)',
  );
});

test('times: digits, 2000 or later, not more than a day ahead, D_BEGIN <= D_END', () => {
  assert.equal(
    message('c1;;12a;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_BEGIN": expected a Unix time in seconds (digits only) (got "12a")',
  );
  assert.equal(
    message('c1;;;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_BEGIN": expected a Unix time in seconds (digits only) (got "")',
  );
  assert.equal(
    message('c1;;1291242554;1291242554.5;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_END": expected a Unix time in seconds (digits only) (got "1291242554.5")',
  );
  assert.equal(
    message('c1;;946684799;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_BEGIN": expected a Unix time at or after 946684800 (2000-01-01) (got "946684799")',
  );
  assert.equal(
    message('c1;;1291242554000;1291242554;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_BEGIN": expected a Unix time in seconds (digits only) (got "1291242554000")',
  );
  assert.equal(
    message(`c1;;1291242554;${NOW + 86_401};10.5.10.6/32;0.0.0.0/0;900;`),
    `field "D_END": expected a Unix time at most one day ahead of now (<= ${NOW + 86_400}) (got "${NOW + 86_401}")`,
  );
  assert.equal(
    message('c1;;1291242554;1291242553;10.5.10.6/32;0.0.0.0/0;900;'),
    'field "D_END": expected a time at or after D_BEGIN (1291242554) (got "1291242553")',
  );
});

test('addresses: CIDR, IPv4 and IPv6, mask in range, both or neither', () => {
  const at = (a1: string, a2: string): string => message(`c1;;1291242554;1291242554;${a1};${a2};900;`);
  assert.equal(
    at('10.5.10.6', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected ADDRESS/MASK (e.g. 10.5.10.6/32, 2001:db8::1/128) (got "10.5.10.6")',
  );
  assert.equal(
    at('10.5.10.6/33', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected a mask 0..32 after the IPv4 address (got "33")',
  );
  assert.equal(
    at('10.5.10.6/32', '2001:db8::/129'),
    'field "ADDR_2/MASK_2": expected a mask 0..128 after the IPv6 address (got "129")',
  );
  assert.equal(
    at('10.5.10.6/', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected a mask 0..32 after the IPv4 address (got "10.5.10.6/")',
  );
  assert.equal(
    at('10.5.10.256/32', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected an IPv4 or IPv6 address before the "/" (got "10.5.10.256/32")',
  );
  assert.equal(
    at('10.5.10.6/32', 'host/0'),
    'field "ADDR_2/MASK_2": expected an IPv4 or IPv6 address before the "/" (got "host/0")',
  );
  assert.equal(
    at('10.5.10.6/3x', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected a mask 0..32 after the IPv4 address (got "3x")',
  );
  assert.equal(
    at('', '0.0.0.0/0'),
    'field "ADDR_1/MASK_1": expected an address/mask, since ADDR_2/MASK_2 is given (got an empty field)',
  );
  assert.equal(
    at('10.5.10.6/32', ''),
    'field "ADDR_2/MASK_2": expected an address/mask, since ADDR_1/MASK_1 is given (got an empty field)',
  );
});

test('BYTES: a non-negative integer that fits 64 bits', () => {
  const b = (v: string): string => message(`c1;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;${v};`);
  assert.equal(b('12a'), 'field "BYTES": expected a non-negative integer (got "12a")');
  assert.equal(b('-1'), 'field "BYTES": expected a non-negative integer (got "-1")');
  assert.equal(b(''), 'field "BYTES": expected a non-negative integer (got "")');
  assert.equal(b('1e6'), 'field "BYTES": expected a non-negative integer (got "1e6")');
  assert.equal(
    b('18446744073709551616'),
    'field "BYTES": expected an integer at most 18446744073709551615 (got "18446744073709551616")',
  );
});
