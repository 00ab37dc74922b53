// --allow: CIDRs, bare addresses and networks files; what is not listed is denied, never decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllowList } from '../../../lib/networks/allow.js';
import { EXIT, exitCodeOf } from '../../../lib/cli/exit.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';
import { Bytes, decoder, dgram, set, v9 } from '../netflow/helpers.js';

test('allow list: CIDRs, bare addresses and a file with comments, IPv4 and IPv6', async () => {
  const dir = tempDir();
  const file = join(dir, 'routers.lst');
  writeFileSync(file, '# core routers\n192.0.2.0/24\n\n! edge\n2001:db8::/32\n');
  const list = await loadAllowList(['127.0.0.1/32', '::1', file]);
  for (const a of ['127.0.0.1', '::1', '192.0.2.77', '2001:db8:1::5']) assert.equal(list.has(a), true, a);
  for (const a of ['127.0.0.2', '::2', '192.0.3.1', '2001:db9::1', 'not an address'])
    assert.equal(list.has(a), false, a);
  assert.equal(list.has('127.0.0.1'), true, 'asked twice: the remembered verdict');
});

test('allow list: a bad CIDR is a usage error, a bad file line or an empty list a config error, a missing file no input', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.lst');
  writeFileSync(bad, '10.0.0.0/8\n10.0.0.0/33\n');
  const empty = join(dir, 'empty.lst');
  writeFileSync(empty, '# nothing yet\n');
  const code = async (specs: string[], message: RegExp): Promise<number> => {
    try {
      await loadAllowList(specs);
    } catch (e) {
      assert.ok(e instanceof FlowmeterError);
      assert.match(e.message, message);
      return exitCodeOf(e.kind);
    }
    assert.fail(`${specs.join(' ')} was accepted`);
  };
  assert.equal(await code(['10.0.0.0/40'], /--allow 10\.0\.0\.0\/40: invalid network mask "40"/), EXIT.USAGE);
  assert.equal(await code([bad], /bad\.lst:2: invalid network mask "33"/), EXIT.CONFIG);
  assert.equal(await code([empty], /no networks listed/), EXIT.CONFIG);
  assert.equal(await code([join(dir, 'missing.lst')], /missing\.lst/), EXIT.NOINPUT);
});

test('the decoder drops datagrams of exporters not allowed, counted as denied, before decoding', async () => {
  const list = await loadAllowList(['192.0.2.1']);
  const { dec, run } = decoder({ allow: (e) => list.has(e) });
  const msg = v9([set(0, new Bytes().u16(256, 1).u16(8, 4)), set(256, new Bytes().ip4('10.1.1.1'))]);
  assert.equal(run(dgram(msg, { exporter: '192.0.2.1' })).length, 1);
  assert.equal(run(dgram(msg, { exporter: '192.0.2.2' })).length, 0);
  assert.equal(run(dgram(Buffer.from('garbage'), { exporter: '192.0.2.2' })).length, 0);
  assert.equal(dec.stats.denied, 2);
  assert.equal(dec.stats.datagrams, 1);
  assert.equal(dec.stats.rejected, 0, 'denied is not a decode error');
  assert.equal(dec.templates.exporterCount, 1, 'nothing of a denied exporter is kept');
});
