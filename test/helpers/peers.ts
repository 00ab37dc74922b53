// Outside programs the tests compare against or drive: Debian packages that .ci/run installs. A
// test that needs one asks first: when it is missing the test is skipped with a reason naming the
// program and its package, so `npm test` passes on a machine with only Node; with
// FLOWMETER_REQUIRE_PEERS=1 (as CI sets it) a missing program fails instead of skipping.
import { test, type TestContext, type TestFn, type TestOptions } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each program and the Debian package that brings it. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  tshark: 'tshark',
  tcpdump: 'tcpdump',
  tcpreplay: 'tcpreplay',
  softflowd: 'softflowd',
  nfcapd: 'nfdump',
  nfdump: 'nfdump',
  nfreplay: 'nfdump',
  sfcapd: 'nfdump-sflow',
  nfacctd: 'pmacct',
  pmacctd: 'pmacct',
  pmacct: 'pmacct',
  mandoc: 'mandoc',
  chromium: 'chromium',
  python3: 'python3',
  openssl: 'openssl',
  git: 'git',
  curl: 'curl',
  promtool: 'prometheus',
  dpkg: 'dpkg',
  'rabbitmq-server': 'rabbitmq-server',
  rabbitmqctl: 'rabbitmq-server',
  erl: 'erlang-base',
  script: 'bsdutils',
};

export const REQUIRE_PEERS = process.env.FLOWMETER_REQUIRE_PEERS === '1';

const found = new Map<string, string | undefined>();

/** The program's path on PATH, or undefined. */
export function which(program: string): string | undefined {
  if (found.has(program)) return found.get(program);
  let path: string | undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      path = join(dir, program);
      break;
    } catch {
      // not here
    }
  }
  found.set(program, path);
  return path;
}

/** Why the programs cannot be used ("needs tshark (Debian package tshark)"), or undefined. */
export function missingPeers(...programs: string[]): string | undefined {
  const missing = programs.filter((p) => which(p) === undefined);
  if (missing.length === 0) return undefined;
  return `needs ${missing.map((p) => `${p} (Debian package ${PACKAGE_OF[p] ?? p})`).join(', ')}: not on PATH`;
}

/** Inside a test: true when every program is there; else skip the test (or fail it when peers are
 *  required) and return false, so the caller returns at once. */
export function needs(t: TestContext, ...programs: string[]): boolean {
  const why = missingPeers(...programs);
  if (why === undefined) return true;
  if (REQUIRE_PEERS) assert.fail(`${why} (FLOWMETER_REQUIRE_PEERS=1)`);
  t.skip(why);
  return false;
}

const reported = new Set<string>();

/** Options for test() or describe() whose every test needs the programs: `{ skip: reason }` when
 *  one is missing. When peers are required, one more test fails, naming what is missing. */
export function withPeers(...programs: string[]): { skip?: string } {
  const why = missingPeers(...programs);
  if (why === undefined) return {};
  if (REQUIRE_PEERS && !reported.has(why)) {
    reported.add(why);
    test(`peers installed: ${programs.join(', ')}`, () => assert.fail(`${why} (FLOWMETER_REQUIRE_PEERS=1)`));
  }
  return { skip: why };
}

/** node:test's test(), every test skipped (with the reason) when one of the programs is missing:
 *  `const test = testNeeding('tshark')` at the top of a file whose tests all need tshark. */
export function testNeeding(...programs: string[]) {
  return (name: string, options: TestOptions | TestFn, fn?: TestFn): Promise<void> => {
    const peers = withPeers(...programs);
    if (typeof options === 'function') return test(name, peers, options);
    return test(name, { ...options, ...peers }, fn);
  };
}
