// package.json's dependencies are what lib/ imports: a package the toolkit never loads is not
// installed with it (test-only packages such as the netmask oracle are devDependencies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/spawn.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('every package in dependencies is imported by lib/', () => {
  const deps = Object.keys(
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
      .dependencies,
  );
  const code = sources(join(ROOT, 'lib'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unused = deps.filter((d) => !new RegExp(`from '${d}(/[^']*)?'`).test(code));
  assert.deepEqual(unused, []);
});
