// `PROG completion`: yargs' bash script (zsh's when $SHELL names zsh) for all five commands, and
// the bash script, sourced in a real bash, completes options, their choices and subcommands by
// asking the installed command (--get-yargs-completions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin, runProcess } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';

const COMMANDS = ['flow-capture', 'flow-aggregate', 'flow-report', 'hcd-putfile', 'meter-label'];

for (const cmd of COMMANDS) {
  test(`${cmd} completion: the bash script, or zsh's with SHELL=zsh; exit 0, nothing on stderr`, async () => {
    const bash = await runBin(cmd, ['completion'], { env: { SHELL: '/bin/bash' } });
    assert.equal(bash.code, 0, bash.stderr);
    assert.equal(bash.stderr, '');
    assert.ok(
      bash.stdout.includes(`complete -o bashdefault -o default -F _${cmd}_yargs_completions ${cmd}\n`),
      bash.stdout,
    );
    const zsh = await runBin(cmd, ['completion'], { env: { SHELL: '/usr/bin/zsh' } });
    assert.equal(zsh.code, 0, zsh.stderr);
    assert.match(zsh.stdout, new RegExp(`^#compdef ${cmd}\n`));
    assert.match(zsh.stdout, new RegExp(`compdef _${cmd}_yargs_completions ${cmd}`));
  });
}

/** What bash completes for `words` (the last one being typed), with the commands on PATH. */
async function complete(cmd: string, words: string[]): Promise<string[]> {
  const bin = join(tempDir('completion-'), 'bin');
  mkdirSync(bin);
  symlinkSync(join(ROOT, 'bin', `${cmd}.js`), join(bin, cmd));
  const script = [
    `source <(${cmd} completion)`,
    `COMP_WORDS=(${[cmd, ...words].map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}`,
    `_${cmd}_yargs_completions`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const r = await runProcess('/bin/bash', ['-c', script], {
    env: { PATH: `${bin}:${process.env.PATH}`, SHELL: '/bin/bash' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('bash completes options, option choices and subcommands', async () => {
  assert.deepEqual(await complete('flow-aggregate', ['--for']), ['--format']);
  assert.deepEqual(await complete('flow-aggregate', ['--format', '']), ['ndjson', 'csv']);
  assert.deepEqual((await complete('flow-report', ['--report', 'ip-source-'])).sort(), [
    'ip-source-address',
    'ip-source-port',
  ]);
  assert.ok((await complete('meter-label', [''])).includes('rule-create'));
  assert.deepEqual(await complete('flow-capture', ['--compr']), ['--compress']);
});
