// README's Quick start, followed as a newcomer would: a clean clone of this repository's HEAD, the
// first command run exactly as README gives it, and its output checked against the output README
// shows. The commands are read from README, so README and this test cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runProcess } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { needs } from '../helpers/peers.js';

interface QuickStart {
  install: string;
  shownOutput: string[];
  tests: string;
}

function quickStart(): QuickStart {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Quick start');
  assert.ok(start >= 0, 'README has no "## Quick start"');
  // The Quick start is the first section after the title: nothing of substance comes before it.
  assert.ok(
    readme
      .slice(0, start)
      .split('\n')
      .filter((l) => l.startsWith('## ')).length === 0,
  );
  const end = readme.indexOf('\n## ', start + 3);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2]!.trimEnd() }));
  const sh = blocks.filter((b) => b.lang === 'sh');
  assert.equal(sh.length, 2, 'Quick start should show exactly two commands');
  const out = blocks.find((b) => b.lang === '');
  assert.ok(out, 'Quick start shows no output');
  return { install: sh[0]!.body, shownOutput: out.body.split('\n'), tests: sh[1]!.body };
}

test('README Quick start: the commands are the two a newcomer needs', () => {
  const q = quickStart();
  assert.match(q.install, /^npm ci && \S+/);
  assert.equal(q.tests, 'npm test');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test ?? '', /node --test/);
  assert.match(pkg.scripts.prepare ?? '', /build/, 'npm ci must build the toolkit');
});

test(
  'README Quick start on a clean clone: install and demo succeed and print what README shows',
  { timeout: 600_000 },
  async (t) => {
    if (!existsSync(join(ROOT, '.git'))) return t.skip('not a git checkout');
    if (!needs(t, 'git')) return;
    const q = quickStart();
    const dir = tempDir('newcomer-');
    const clone = join(dir, 'flowmeter');
    const c = await runProcess('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { timeoutMs: 120_000 });
    assert.equal(c.code, 0, c.stderr);
    assert.ok(!existsSync(join(clone, 'node_modules')) && !existsSync(join(clone, 'dist')), 'the clone is not clean');

    // Exactly README's command line, in the clone; npm may use its cache (no network needed).
    const r = await runProcess('/bin/sh', ['-c', q.install], {
      cwd: clone,
      env: {
        npm_config_prefer_offline: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
      timeoutMs: 540_000,
    });
    assert.equal(r.code, 0, `${q.install} failed:\n${r.stderr}`);
    assert.ok(existsSync(join(clone, 'dist/lib/commands/flow-capture.js')), 'npm ci did not build');

    // Every line README shows is printed; "..." stands for lines left out, "…" for part of a line.
    const printed = r.stdout.split('\n');
    let shown = 0;
    for (const line of q.shownOutput) {
      if (line === '...' || line === '') continue;
      const re = new RegExp(
        '^' +
          line
            .split('…')
            .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*') +
          '$',
      );
      assert.ok(
        printed.some((p) => re.test(p)),
        `README shows "${line}" but the demo did not print it:\n${r.stdout}`,
      );
      shown++;
    }
    assert.ok(shown >= 3);
    // The two products README promises: a pmacct table and billing CSV lines.
    assert.match(r.stdout, /^SRC_IP +DST_NET +DST_MASK +PACKETS +BYTES$/m);
    assert.match(r.stdout, /^;;\d{10};\d{10};10\.5\.\d+\.\d+\/32;[\d.]+\/\d+;\d+;$/m);
    assert.equal(r.stderr.match(/flow-|hcd-putfile:/g), null, `diagnostics from the demo:\n${r.stderr}`);
  },
);
