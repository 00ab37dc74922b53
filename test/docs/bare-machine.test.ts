// `npm test` on a machine with only Node: the test files that need outside programs, run with a
// PATH of Node and Debian's required packages alone (scripts/bare-path.sh), pass with every such
// test skipped by name, and none dies of an uncaught ENOENT. (The whole suite under that PATH is
// in the closing notes; these files are the ones that need peers.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, runProcess } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { needs } from '../helpers/peers.js';

const PEER_FILES = [
  'conformance/flow-capture-nfdump.test.js',
  'conformance/flow-capture-tshark.test.js',
  'conformance/input-dialects-peers.test.js',
  'e2e/flow-aggregate-pmacct.test.js',
  'e2e/flow-report-pmacct.test.js',
  'e2e/flow-capture-sflow-tshark.test.js',
  'e2e/billing-cycle.test.js',
  'e2e/hcd-putfile.test.js',
  'e2e/meter-label-publish.test.js',
  'unit/packet/frame.test.js',
  'unit/netflow/softflowd.test.js',
];

test(
  'without the peers on PATH, the tests that need them skip by name and the run passes',
  { timeout: 300_000 },
  async (t) => {
    if (!needs(t, 'dpkg')) return;
    const bare = tempDir('flowmeter-bare-');
    const made = await runProcess('/bin/bash', [join(ROOT, 'scripts/bare-path.sh'), bare]);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(readdirSync(bare).includes('node'));
    const files = PEER_FILES.map((f) => join(ROOT, 'dist/test', f));
    // as on a developer's machine: peers not required (CI requires them for the suite itself); not
    // a child of this runner (NODE_TEST_CONTEXT would make it report to us in its own protocol)
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bare, NO_COLOR: '1' };
    for (const k of ['FLOWMETER_REQUIRE_PEERS', 'FLOWMETER_CHDB', 'NODE_TEST_CONTEXT']) delete env[k];
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=2', ...files], {
      env,
      encoding: 'utf8',
      timeout: 280_000,
      maxBuffer: 64 << 20,
    });
    const r = { code: run.status, stdout: run.stdout, stderr: run.stderr };
    assert.equal(
      r.code,
      0,
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('not ok'))
        .join('\n') || r.stderr,
    );
    assert.match(r.stdout, /^# fail 0$/m);
    for (const peer of ['tshark', 'nfcapd', 'nfacctd', 'python3', 'softflowd', 'rabbitmq-server']) {
      assert.match(
        r.stdout,
        new RegExp(`# SKIP needs [^\\n]*${peer} \\(Debian package [a-z0-9-]+\\)`),
        `a skip names ${peer}`,
      );
    }
    assert.doesNotMatch(r.stdout + r.stderr, /ENOENT/);
  },
);
