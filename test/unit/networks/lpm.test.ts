// The LPM trie and the networks file against a brute-force oracle on random prefixes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryTrie } from '../../../lib/networks/trie.js';
import { parseNetworks, NetworkTable } from '../../../lib/networks/file.js';
import { maskV4, maskWord, formatIPv4, formatWords6, ipv4ToU32, ipv6ToWords } from '../../../lib/networks/addr.js';
import { rng } from '../../helpers/prng.js';

for (const [blocks, what] of [
  [undefined, ''],
  [0, ', no level-2 blocks'],
  [200, ', level-2 blocks for some /16s only'],
] as const)
  test(`IPv4 trie: longest prefix against brute force over 5,000 random prefixes${what}`, () => {
    const rand = rng(1);
    const trie = new BinaryTrie(16, blocks);
    const prefixes: Array<{ net: number; len: number; id: number }> = [];
    // Clustered under a few /8s so that nesting is common.
    const bases = [0x0a000000, 0xc0a80000, 0xac100000, 0x64400000];
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rand() * 33);
      const raw = (bases[i % bases.length]! | Math.floor(rand() * 0x01000000)) >>> 0;
      const net = maskV4(raw, len);
      const prev = trie.insert([net], len, i);
      if (prev < 0) prefixes.push({ net, len, id: i });
      else assert.ok(prefixes.some((p) => p.net === net && p.len === len && p.id === prev));
    }
    assert.equal(trie.size, prefixes.length);
    for (let k = 0; k < 20000; k++) {
      const a = k % 3 === 0 ? Math.floor(rand() * 2 ** 32) : (bases[k % 4]! | Math.floor(rand() * 0x01000000)) >>> 0;
      let best = -1;
      let bestLen = -1;
      for (const p of prefixes)
        if (maskV4(a, p.len) === p.net && p.len > bestLen) {
          best = p.id;
          bestLen = p.len;
        }
      assert.equal(trie.lookup4(a), best, `lookup of ${formatIPv4(a)}`);
    }
  });

for (const blocks of [undefined, 2])
  test(`IPv4 trie: prefixes packed into four /16s (level-2 blocks: ${blocks ?? 'all'}) against brute force`, () => {
    const rand = rng(4);
    const trie = new BinaryTrie(16, blocks);
    const prefixes: Array<{ net: number; len: number; id: number }> = [{ net: 0x0a000000, len: 12, id: 0 }];
    trie.insert([0x0a000000], 12, 0);
    for (let i = 1; i < 3000; i++) {
      const len = 16 + Math.floor(rand() * 17);
      const net = maskV4((0x0a000000 | Math.floor(rand() * 0x40000)) >>> 0, len);
      if (trie.insert([net], len, i) < 0) prefixes.push({ net, len, id: i });
    }
    for (let k = 0; k < 20000; k++) {
      const a = (0x0a000000 | Math.floor(rand() * 0x40000)) >>> 0;
      let best = -1;
      let bestLen = -1;
      for (const p of prefixes)
        if (maskV4(a, p.len) === p.net && p.len > bestLen) {
          best = p.id;
          bestLen = p.len;
        }
      assert.equal(trie.lookup4(a), best, `lookup of ${formatIPv4(a)}`);
    }
  });

test('IPv6 trie: longest prefix against brute force', () => {
  const rand = rng(2);
  const trie = new BinaryTrie(16);
  const prefixes: Array<{ w: number[]; len: number; id: number }> = [];
  const rw = (): number => Math.floor(rand() * 2 ** 32);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rand() * 129);
    const raw = [0x20010db8, i % 2 ? 0 : rw(), rw(), rw()];
    const w = raw.map((x, j) => maskWord(x, j, len));
    if (trie.insert(w, len, i) < 0) prefixes.push({ w, len, id: i });
  }
  const covers = (p: { w: number[]; len: number }, a: number[]): boolean =>
    a.every((x, j) => maskWord(x, j, p.len) === p.w[j]);
  for (let k = 0; k < 5000; k++) {
    const a = [k % 5 === 0 ? rw() : 0x20010db8, k % 2 ? 0 : rw(), rw(), rw()];
    let best = -1;
    let bestLen = -1;
    for (const p of prefixes)
      if (covers(p, a) && p.len > bestLen) {
        best = p.id;
        bestLen = p.len;
      }
    assert.equal(
      trie.lookup6(a[0]!, a[1]!, a[2]!, a[3]!),
      best,
      `lookup of ${formatWords6(a[0]!, a[1]!, a[2]!, a[3]!)}`,
    );
  }
});

test('the /0 prefix and /32 host routes', () => {
  const trie = new BinaryTrie();
  assert.equal(trie.lookup4(0x01020304), -1);
  trie.insert([0], 0, 7);
  assert.equal(trie.lookup4(0x01020304), 7);
  trie.insert([0x01020304], 32, 8);
  assert.equal(trie.lookup4(0x01020304), 8);
  assert.equal(trie.lookup4(0x01020305), 7);
});

test('address parsing is strict', () => {
  assert.equal(ipv4ToU32('10.1.2.3'), 0x0a010203);
  assert.equal(ipv4ToU32('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.1.2', '10.1.2.3.4', '010.1.2.3', '256.1.1.1', '1..2.3', '1.2.3.', 'a.b.c.d', ' 1.2.3.4']) {
    assert.equal(ipv4ToU32(bad), -1, bad);
  }
  const w = new Uint32Array(4);
  assert.ok(ipv6ToWords('2001:db8::1', w));
  assert.deepEqual([...w], [0x20010db8, 0, 0, 1]);
  assert.ok(!ipv6ToWords('2001:db8:::1', w));
});

test('networks file: pmacct syntax, comments, host bits, IPv4 and IPv6, longest wins', () => {
  const text = [
    '! pmacct comment',
    '# another comment',
    '',
    '   ',
    '192.168.95.0/24',
    '65500,192.168.1.0/24',
    '64512_65500,192.168.1.128/25',
    '10.0.0.1,65501,10.0.0.0/8',
    '10.1.2.3/16',
    '2001:db8::/32',
    '2001:db8:1::5/48',
    '  172.16.0.0/12  ',
  ].join('\n');
  const { table, problems } = parseNetworks(text);
  assert.deepEqual(problems, []);
  assert.equal(table.size, 8);
  const at = (a: string): [string, number, number, number] => {
    const e = table.lookup(a)!;
    return [e.net, e.mask, e.asn, e.peerAsn];
  };
  assert.deepEqual(at('192.168.95.7'), ['192.168.95.0', 24, 0, 0]);
  assert.deepEqual(at('192.168.1.7'), ['192.168.1.0', 24, 65500, 0]);
  assert.deepEqual(at('192.168.1.200'), ['192.168.1.128', 25, 65500, 64512]);
  assert.deepEqual(at('10.1.99.1'), ['10.1.0.0', 16, 0, 0]); // host bits of 10.1.2.3/16 cleared
  assert.deepEqual(at('10.2.0.1'), ['10.0.0.0', 8, 65501, 0]);
  assert.equal(table.lookup('10.2.0.1')!.nextHop, '10.0.0.1');
  assert.deepEqual(at('172.31.255.255'), ['172.16.0.0', 12, 0, 0]);
  assert.deepEqual(at('8.8.8.8'), ['0.0.0.0', 0, 0, 0]); // unmatched: net 0.0.0.0 mask 0, as nfacctd
  assert.deepEqual(at('2001:db8:1:2::1'), ['2001:db8:1::', 48, 0, 0]);
  assert.deepEqual(at('2001:db8:2::1'), ['2001:db8::', 32, 0, 0]);
  assert.deepEqual(at('2001:4860::1'), ['::', 0, 0, 0]);
  assert.equal(table.lookup4(ipv4ToU32('192.168.1.7')).line, 6);
});

test('networks file: bad lines are reported with their line number and skipped', () => {
  const text = [
    '10.0.0.0/8',
    '10.0.0.0', // 2: no slash
    '10.0.0.0/33', // 3: mask
    '10.0.0.300/8', // 4: address
    'x,10.0.0.0/8', // 5: asn
    'zz,1,10.0.0.0/8', // 6: next hop
    '1,2,3,10.0.0.0/8', // 7: too many fields
    '2001:db8::/129', // 8: v6 mask
    '10.0.0.0/08x', // 9
    '11.0.0.0/8',
  ].join('\n');
  const { table, problems } = parseNetworks(text);
  assert.deepEqual(
    problems.map((p) => p.line),
    [2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.match(problems[0]!.message, /missing '\/' separator/);
  assert.match(problems[1]!.message, /invalid network mask "33"/);
  assert.equal(table.size, 2);
});

test('networks file: duplicates keep the first entry', () => {
  const { table } = parseNetworks('1,10.0.0.0/8\n2,10.9.9.9/8\n');
  assert.equal(table.size, 1);
  assert.equal(table.duplicates, 1);
  assert.equal(table.lookup('10.1.1.1')!.asn, 1);
});

test('100,000 prefixes load and answer like brute force on a sample', () => {
  const rand = rng(3);
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const len = 8 + Math.floor(rand() * 25);
    lines.push(`${formatIPv4(maskV4(Math.floor(rand() * 2 ** 32), len))}/${len}`);
  }
  const { table, problems } = parseNetworks(lines.join('\n'));
  assert.equal(problems.length, 0);
  assert.equal(table.size + table.duplicates, 100_000);
  assert.ok(table.size > 80_000, String(table.size));
  assert.equal(new NetworkTable().size, 0);
  const entries = table.entries.map((e) => ({ net: ipv4ToU32(e.net), len: e.mask, e }));
  for (let k = 0; k < 300; k++) {
    const a = Math.floor(rand() * 2 ** 32);
    let best = { net: 0, len: 0, e: undefined as unknown };
    let bestLen = -1;
    for (const p of entries)
      if (maskV4(a, p.len) === p.net && p.len > bestLen) {
        best = p;
        bestLen = p.len;
      }
    const got = table.lookup4(a);
    assert.equal(got.mask, bestLen < 0 ? 0 : best.len);
  }
});
