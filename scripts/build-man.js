#!/usr/bin/env node
// Render man/*.md (ronn-style markdown) to roff with marked-man: man/flow-capture.1.md → man/flow-capture.1.
// The date comes from SOURCE_DATE_EPOCH or the last commit, so builds are reproducible.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const bin = require.resolve('marked-man/package.json').replace(/package\.json$/, 'bin/marked-man.js');
const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
const env = { ...process.env };
if (!env.SOURCE_DATE_EPOCH) {
  try {
    env.SOURCE_DATE_EPOCH =
      execFileSync('git', ['log', '-1', '--format=%ct'], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined;
  } catch {
    // not a git checkout (installed from the registry): marked-man uses today's date
  }
}
for (const file of readdirSync(`${root}man`)
  .filter((f) => /\.[1-8]\.md$/.test(f))
  .sort()) {
  const out = `${root}man/${file.slice(0, -3)}`;
  const roff = execFileSync(
    process.execPath,
    [bin, '--no-breaks', '--version', `flowmeter ${version}`, '--manual', 'flowmeter manual', `${root}man/${file}`],
    { env, encoding: 'utf8' },
  );
  // marked-man leaves HTML entities from code spans in the roff; roff wants the characters
  const text = roff
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
}
