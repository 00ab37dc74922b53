// Commands in the docs paste into any shell: `[::]:2055` is a glob to zsh (no match: an error)
// and to bash with failglob, so every listen address written for a shell is quoted; and the
// rendered man pages carry no HTML (a literal <br> in flow-capture(1)'s SYNOPSIS once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/spawn.js';

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : [path];
  });
}

test("docs, examples and --help examples quote '[::]:PORT' after -l", () => {
  const docs = [
    'README.md',
    ...files('man').filter((f) => f.endsWith('.md')),
    ...files('examples').filter((f) => !f.endsWith('.pcap') && !f.endsWith('.png')),
    ...files('lib/commands'),
  ];
  const bare: string[] = [];
  for (const f of docs) {
    readFileSync(join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/(-l|--listen)[ =]\[::\]/.test(line)) bare.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(bare, []);
});

test('rendered man pages have no HTML line breaks', () => {
  for (const f of files('man').filter((f) => /\.[1-8]$/.test(f))) {
    assert.doesNotMatch(readFileSync(join(ROOT, f), 'utf8'), /<br\s*\/?>/i, f);
  }
});
