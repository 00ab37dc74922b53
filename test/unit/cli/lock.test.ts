import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockFile } from '../../../lib/cli/lock.js';
import { FlowmeterError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';

test('a held lock is refused at once with 75 naming its holder; released on release()', async () => {
  const path = join(tempDir(), 'x.lock');
  const lock = await LockFile.acquire(path, { timeoutMs: 0 });
  await assert.rejects(
    LockFile.acquire(path, { timeoutMs: 0 }),
    (e: unknown) =>
      e instanceof FlowmeterError &&
      e.kind === 'temporary' &&
      e.message.includes(`locked by pid ${process.pid} on ${hostname()}`),
  );
  await lock.release();
  assert.ok(!existsSync(path));
});

test("a dead process's lock is taken over (also in the older 'pid host' form); another host's is not", async () => {
  const dir = tempDir();
  const path = join(dir, 'x.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(path, `${dead} ${hostname()}\n`);
  const lock = await LockFile.acquire(path, { timeoutMs: 0 });
  await lock.release();
  assert.deepEqual(readdirSync(dir), [], 'nothing left aside');
  writeFileSync(path, `${dead} some-other-host 1\n`);
  await assert.rejects(LockFile.acquire(path, { timeoutMs: 0 }), /locked by pid \d+ on some-other-host/);
});

test('a lock in a missing directory: cannot create (73)', async () => {
  await assert.rejects(
    LockFile.acquire(join(tempDir(), 'no', 'x.lock'), { timeoutMs: 0 }),
    (e: unknown) => e instanceof FlowmeterError && e.kind === 'cant-create',
  );
});
