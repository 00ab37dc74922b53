// Every command's --help options, its man page OPTIONS and the exit-status table stay in step,
// and README has a section per command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ROOT, runBin } from '../helpers/spawn.js';
import { EXIT_MEANINGS } from '../../lib/cli/exit.js';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string> };
const commands = Object.keys(pkg.bin).filter((c) => existsSync(`${ROOT}bin/${c}.js`));

for (const cmd of commands) {
  test(`${cmd}: --help options are documented in man/${cmd}.1.md and README`, async () => {
    const help = await runBin(cmd, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Examples:/, 'help shows examples');
    const man = readFileSync(`${ROOT}man/${cmd}.1.md`, 'utf8');
    const optionsSection = man.split(/^## OPTIONS$/m)[1]?.split(/^## /m)[0] ?? '';
    assert.ok(optionsSection.length > 0, 'man page has an OPTIONS section');
    const helpOptions = new Set([...help.stdout.matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1]!));
    helpOptions.delete('help');
    helpOptions.delete('version');
    for (const o of helpOptions) assert.ok(man.includes(`--${o}`), `man/${cmd}.1.md mentions --${o}`);
    const manOptions = new Set([...optionsSection.matchAll(/`--([a-z][a-z0-9-]+)/g)].map((m) => m[1]!));
    for (const o of manOptions) {
      if (o === 'no-color' || o === 'help' || o === 'version') continue;
      assert.ok(helpOptions.has(o), `--${o} from the man page exists in ${cmd} --help`);
    }
    const exitSection = man.split(/^## EXIT STATUS$/m)[1]?.split(/^## /m)[0] ?? '';
    for (const [code] of EXIT_MEANINGS)
      assert.match(exitSection, new RegExp(`\\b${code}\\b`), `EXIT STATUS lists ${code}`);
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    assert.match(readme, new RegExp(`^## ${cmd}\\b`, 'm'), `README has a "## ${cmd}" section`);
  });

  test(`${cmd}: --version prints the bare version`, async () => {
    const r = await runBin(cmd, ['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test(`${cmd}: an unknown flag is a one-line usage error with status 64`, async () => {
    const r = await runBin(cmd, ['--no-such-flag-here']);
    assert.equal(r.code, 64);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${cmd}: .*no-such-flag-here`));
    assert.ok(r.stderr.split('\n').length <= 4, 'no full usage dump');
  });

  test(`${cmd}: man page renders`, () => {
    assert.ok(existsSync(`${ROOT}man/${cmd}.1`), `man/${cmd}.1 built from markdown`);
  });
}
