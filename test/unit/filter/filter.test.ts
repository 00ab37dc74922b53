// pcap-filter grammar over flow records: every form, libpcap precedence, errors with columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, anyOf, FilterSyntaxError, MAX_DEPTH } from '../../../lib/filter/filter.js';
import { flowFromObject } from '../../../lib/flow/record.js';
import { FlowView } from '../../../lib/aggregate/view.js';

const view = new FlowView();
function flow(o: Record<string, unknown>): FlowView {
  return new FlowView().set(flowFromObject({ bytes: 100, packets: 1, ...o }));
}
const tcp = flow({ src_addr: '10.5.1.2', dst_addr: '192.0.2.80', proto: 'TCP', src_port: 40000, dst_port: 80 });
const udp = flow({ src_addr: '192.0.2.53', dst_addr: '10.5.1.2', proto: 'UDP', src_port: 53, dst_port: 33000 });
const icmp = flow({ src_addr: '10.6.0.1', dst_addr: '10.5.0.1', proto: 'ICMP', src_port: 0, dst_port: 2048 });
const v6 = flow({
  src_addr: '2001:db8:1::5',
  dst_addr: '2001:db8:2::80',
  etype: 'IPv6',
  proto: 'TCP',
  src_port: 5555,
  dst_port: 443,
});
const icmp6 = flow({ src_addr: 'fe80::1', dst_addr: 'ff02::1', proto: 'IPv6-ICMP' });
const all = { tcp, udp, icmp, v6, icmp6 };

function matches(expr: string): string[] {
  const f = compileFilter(expr);
  return Object.entries(all)
    .filter(([, v]) => f.test(v))
    .map(([k]) => k);
}

test('host with every direction qualifier', () => {
  assert.deepEqual(matches('host 10.5.1.2'), ['tcp', 'udp']);
  assert.deepEqual(matches('src host 10.5.1.2'), ['tcp']);
  assert.deepEqual(matches('dst host 10.5.1.2'), ['udp']);
  assert.deepEqual(matches('src or dst host 10.5.1.2'), ['tcp', 'udp']);
  assert.deepEqual(matches('src and dst host 10.5.1.2'), []);
  assert.deepEqual(matches('src 10.5.1.2'), ['tcp']); // type defaults to host
  assert.deepEqual(matches('10.5.1.2'), ['tcp', 'udp']);
  assert.deepEqual(matches('ip host 10.5.1.2'), ['tcp', 'udp']);
  assert.deepEqual(matches('host 2001:db8:1::5'), ['v6']);
  assert.deepEqual(matches('ip6 dst host 2001:db8:2::80'), ['v6']);
});

test('net: CIDR, mask, partial dotted, IPv6', () => {
  assert.deepEqual(matches('net 10.5.0.0/16'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('src net 10.5.0.0/16'), ['tcp']);
  assert.deepEqual(matches('dst net 10.5.0.0/16'), ['udp', 'icmp']);
  assert.deepEqual(matches('net 10.5.0.0 mask 255.255.0.0'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('net 10.5'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('net 10'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('src net 10.6'), ['icmp']);
  assert.deepEqual(matches('net 2001:db8::/32'), ['v6']);
  assert.deepEqual(matches('dst net 2001:db8:2::/48'), ['v6']);
  assert.deepEqual(matches('net 0.0.0.0/0'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('net ::/0'), ['v6', 'icmp6']);
});

test('port and portrange only match TCP/UDP/SCTP, with protocol qualifiers', () => {
  assert.deepEqual(matches('port 80'), ['tcp']);
  assert.deepEqual(matches('port http'), ['tcp']);
  assert.deepEqual(matches('dst port 2048'), []); // ICMP type/code in dst_port is not a port
  assert.deepEqual(matches('port 53'), ['udp']);
  assert.deepEqual(matches('udp port 53'), ['udp']);
  assert.deepEqual(matches('tcp port 53'), []);
  assert.deepEqual(matches('src port 53'), ['udp']);
  assert.deepEqual(matches('dst port 53'), []);
  assert.deepEqual(matches('tcp dst port 443'), ['v6']);
  assert.deepEqual(matches('portrange 1-1024'), ['tcp', 'udp', 'v6']);
  assert.deepEqual(matches('src portrange 1-1024'), ['udp']);
  assert.deepEqual(matches('udp dst portrange 32768-60999'), ['udp']);
  assert.deepEqual(matches('ip6 port 443'), ['v6']);
  assert.deepEqual(matches('ip port 443'), []);
});

test('protocols: bare keywords, proto, ip proto, escapes', () => {
  assert.deepEqual(matches('tcp'), ['tcp', 'v6']);
  assert.deepEqual(matches('udp'), ['udp']);
  assert.deepEqual(matches('icmp'), ['icmp']);
  assert.deepEqual(matches('icmp6'), ['icmp6']);
  assert.deepEqual(matches('ip'), ['tcp', 'udp', 'icmp']);
  assert.deepEqual(matches('ip6'), ['v6', 'icmp6']);
  assert.deepEqual(matches('proto 17'), ['udp']);
  assert.deepEqual(matches('proto \\tcp'), ['tcp', 'v6']);
  assert.deepEqual(matches('ip proto tcp'), ['tcp']);
  assert.deepEqual(matches('ip6 proto tcp'), ['v6']);
  assert.deepEqual(matches('ip6 proto 58'), ['icmp6']);
  assert.deepEqual(matches('proto icmp'), ['icmp']);
});

test('and/or/not, symbols, parentheses and libpcap precedence', () => {
  assert.deepEqual(matches('tcp and src net 10.0.0.0/8'), ['tcp']);
  assert.deepEqual(matches('tcp && port 80'), ['tcp']);
  assert.deepEqual(matches('udp || icmp'), ['udp', 'icmp']);
  assert.deepEqual(matches('not tcp'), ['udp', 'icmp', 'icmp6']);
  assert.deepEqual(matches('! ip'), ['v6', 'icmp6']);
  assert.deepEqual(matches('!ip and tcp'), ['v6']);
  assert.deepEqual(matches('not (tcp or udp)'), ['icmp', 'icmp6']);
  // and/or have equal precedence, left to right: (udp or icmp6) and ip6 — not udp or (icmp6 and ip6)
  assert.deepEqual(matches('udp or icmp6 and ip6'), ['icmp6']);
  assert.deepEqual(matches('udp or (icmp6 and ip6)'), ['udp', 'icmp6']);
  assert.deepEqual(matches('ip6 and icmp6 or udp'), ['udp', 'icmp6']);
  assert.deepEqual(matches('not tcp and not udp'), ['icmp', 'icmp6']);
  assert.deepEqual(matches('((tcp))'), ['tcp', 'v6']);
});

test('a bare value repeats the previous qualifiers (host a or b)', () => {
  assert.deepEqual(matches('src host 10.6.0.1 or 10.5.1.2'), ['tcp', 'icmp']);
  assert.deepEqual(matches('port 80 or 53'), ['tcp', 'udp']);
  assert.deepEqual(matches('dst net 10.5 or 2001:db8::/32'), ['udp', 'icmp', 'v6']);
  assert.deepEqual(matches('host 10.6.0.1 and not 10.5.0.1'), []);
});

test('several filters: a record passes if any matches (pmacct)', () => {
  const f = anyOf([compileFilter('udp'), compileFilter('icmp')])!;
  assert.deepEqual(
    Object.entries(all)
      .filter(([, v]) => f(v))
      .map(([k]) => k),
    ['udp', 'icmp'],
  );
  assert.equal(anyOf([]), undefined);
  void view;
});

function syntaxError(expr: string): FilterSyntaxError {
  try {
    compileFilter(expr);
  } catch (e) {
    assert.ok(e instanceof FilterSyntaxError, String(e));
    return e;
  }
  assert.fail(`"${expr}" compiled`);
}

test('syntax errors name the column and draw a caret', () => {
  const e = syntaxError('src host or dst host 1.2.3.4');
  assert.equal(e.column, 10);
  assert.equal(e.message, 'expected a value after "host", got "or" at column 10');
  assert.deepEqual(e.pointer(), ['  src host or dst host 1.2.3.4', '           ^']);
  assert.equal(syntaxError('host').column, 5);
  assert.match(syntaxError('host').reason, /expected a value after "host"/);
  assert.equal(syntaxError('tcp and').column, 8);
  assert.equal(syntaxError('(tcp or udp').column, 12);
  assert.match(syntaxError('(tcp or udp').reason, /expected "\)" to close the "\(" at column 1/);
  assert.equal(syntaxError('tcp)').column, 4);
  assert.equal(syntaxError('host 10.0.0.256').column, 6);
  assert.match(syntaxError('host example.com').reason, /host names are not resolved/);
  assert.equal(syntaxError('port 70000').column, 6);
  assert.equal(syntaxError('net 10.1.2.3/8').reason, 'non-network bits set in "10.1.2.3/8"');
  assert.match(syntaxError('net 10.0.0.0 mask 255.0.255.0').reason, /not contiguous/);
  assert.equal(syntaxError('tcp port 80 udp').column, 13);
  assert.match(syntaxError('ether host 00:11:22:33:44:55').reason, /not supported on flow records/);
  assert.equal(syntaxError('ip[0] & 0xf != 5').column, 3);
  assert.match(syntaxError('').reason, /empty/);
  assert.match(syntaxError('ip6 host 10.0.0.1').reason, /IPv4 address but the qualifier is "ip6"/);
  assert.match(syntaxError('proto foo').reason, /unknown protocol "foo"/);
  assert.match(syntaxError('portrange 10').reason, /port range/);
  assert.equal(syntaxError('not').column, 4);
  assert.equal(syntaxError('and tcp').column, 1);
});

test('the caret stays under the column when the expression holds control characters', () => {
  const e = syntaxError('tcp and\t\u001b host');
  assert.equal(e.column, 9); // the ESC
  assert.deepEqual(e.pointer(''), ['tcp and\\t\\x1b host', `${' '.repeat(9)}^`]);
});

test(`nesting deeper than ${MAX_DEPTH} levels is a syntax error at the column that opens one too many`, () => {
  const parens = (n: number): string => `${'('.repeat(n)}tcp${')'.repeat(n)}`;
  assert.deepEqual(matches(parens(MAX_DEPTH)), ['tcp', 'v6']);
  const e = syntaxError(parens(5000));
  assert.equal(e.reason, `expression nested more than ${MAX_DEPTH} levels deep`);
  assert.equal(e.column, MAX_DEPTH + 1);
  // a long expression is shown around the column
  assert.deepEqual(e.pointer(''), [`…${'('.repeat(100)}…`, `${' '.repeat(51)}^`]);
  assert.deepEqual(matches(`${'not '.repeat(MAX_DEPTH)}tcp`), ['tcp', 'v6']); // an even number of nots
  assert.equal(syntaxError(`${'not '.repeat(20000)}tcp`).column, 4 * MAX_DEPTH + 1);
  assert.equal(syntaxError(`${'! '.repeat(MAX_DEPTH + 1)}tcp`).column, 2 * MAX_DEPTH + 1);
  // each switch between and/or nests the chain so far one level deeper
  const alternating = (n: number): string =>
    `tcp${Array.from({ length: n }, (_, i) => (i % 2 ? ' or tcp' : ' and tcp')).join('')}`;
  assert.deepEqual(matches(alternating(MAX_DEPTH)), ['tcp', 'v6']);
  assert.match(syntaxError(alternating(MAX_DEPTH + 1)).reason, /nested more than/);
});

test('a long chain of one operator is flat: 100,000 hosts compile and match', () => {
  const hosts = Array.from({ length: 100_000 }, (_, i) => `host 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  hosts.push('host 192.0.2.53');
  const f = compileFilter(hosts.join(' or '));
  assert.deepEqual(
    Object.entries(all)
      .filter(([, v]) => f.test(v))
      .map(([k]) => k),
    ['udp'],
  );
  const g = compileFilter(hosts.map((h) => `not ${h}`).join(' and '));
  assert.deepEqual(
    Object.entries(all)
      .filter(([, v]) => g.test(v))
      .map(([k]) => k),
    ['tcp', 'icmp', 'v6', 'icmp6'],
  );
});
