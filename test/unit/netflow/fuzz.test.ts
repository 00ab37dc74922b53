// A short deterministic fuzz run through every decoder (bench/fuzz.ts does millions of cases).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/spawn.js';
import { fuzz, seedDatagrams } from './fuzz-gen.js';

function softflowdSeeds(): Buffer[] {
  const dir = join(ROOT, 'test/fixtures/netflow');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((h) => Buffer.from(h, 'hex')),
    );
}

test('fuzz: mutated and random datagrams never throw, hang or grow memory without bound', { timeout: 120_000 }, () => {
  const seeds = [...seedDatagrams(), ...softflowdSeeds()];
  for (const seed of [1, 2, 3]) {
    const r = fuzz(seed, 3000, seeds);
    assert.deepEqual(r.problems, [], `seed ${seed}`);
    assert.equal(r.internalErrors, 0, `seed ${seed}: ${[...r.decoder.stats.rejects]}`);
    // the run exercised both paths: records came out and things were rejected
    assert.ok(r.records > 1000, `seed ${seed}: ${r.records} records`);
    assert.ok(r.rejected > 100, `seed ${seed}: ${r.rejected} rejected`);
    const dec = r.decoder;
    assert.ok(dec.templates.domainCount <= 256);
    for (const d of dec.templates.entries()) assert.ok(d.templates.size <= 64);
    assert.equal(dec.pending.size, 0); // finish() gave everything up
    assert.equal(dec.stats.pendingHeld, dec.stats.pendingDecoded + dec.stats.pendingExpired);
  }
});

test('fuzz: the hand-built seeds themselves decode cleanly', () => {
  const r = fuzz(0, 0, seedDatagrams());
  assert.equal(r.cases, 0);
  // decode each seed once with a fresh decoder: no rejects
  const seeds = seedDatagrams();
  for (const [i, b] of seeds.entries()) {
    const one = fuzz(0, 0, []);
    let n = 0;
    one.decoder.decode(
      {
        payload: b,
        exporter: '192.0.2.1',
        exporterPort: 1,
        receivedNs: 1.7e18,
        source: 'seed',
        packetNo: i + 1,
        offset: 0,
      },
      () => n++,
    );
    one.decoder.finish();
    if (i === seeds.length - 1) {
      // the withdrawal seed: its data set has no template any more and is given up at the end
      assert.deepEqual([...one.decoder.stats.rejects], [['no template', 1]]);
      assert.equal(n, 0);
      continue;
    }
    assert.equal(one.decoder.stats.rejected, 0, `seed ${i}: ${[...one.decoder.stats.rejects]}`);
    assert.ok(n > 0, `seed ${i} gave no records`);
  }
});
