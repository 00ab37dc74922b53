import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireLock } from '../../../lib/hcd/lock.js';
import { CliError } from '../../../lib/cli/exit.js';
import { tempDir } from '../../helpers/tmp.js';

test('a lock is exclusive, names its holder, and is released', async () => {
  const dir = tempDir();
  const path = join(dir, 'x.lock');
  const lock = await acquireLock(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid} ${hostname()}\n`);
  await assert.rejects(acquireLock(path), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.exitCode, 75);
    assert.equal(e.message, `lock ${path} is held by process ${process.pid}: another hcd-putfile is sending; try again later`);
    return true;
  });
  await lock.release();
  assert.ok(!existsSync(path));
});

test("a dead process's lock is taken over; another host's is not", async () => {
  const dir = tempDir();
  const path = join(dir, 'x.lock');
  // A pid that surely ran and is gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(path, `${dead} ${hostname()}\n`);
  const lock = await acquireLock(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid} ${hostname()}\n`);
  await lock.release();
  assert.deepEqual(readdirSync(dir), [], 'nothing left aside');
  writeFileSync(path, `${dead} some-other-host\n`);
  await assert.rejects(acquireLock(path), /is held by process \d+ on some-other-host/);
});

test('a lock in a missing directory: cannot create (73)', async () => {
  const dir = tempDir();
  await assert.rejects(acquireLock(join(dir, 'no', 'x.lock')), (e: unknown) => e instanceof CliError && e.exitCode === 73);
});
