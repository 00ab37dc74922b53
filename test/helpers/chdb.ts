// The embedded ClickHouse engine (npm package chdb, ~550 MB, never a dependency of the toolkit):
// .ci/run installs it outside the clone and exports FLOWMETER_CHDB=<its node_modules/chdb>.
// Without it the ClickHouse tests skip with a reason naming it; with FLOWMETER_REQUIRE_PEERS=1
// they run and fail on the load error instead.
import { createRequire } from 'node:module';

/** The part of chdb's Session the tests use: one data directory, queries returning text. */
export interface ChdbSession {
  query(sql: string, format?: string): string;
  close(): void;
}

export interface Chdb {
  Session: new (path?: string) => ChdbSession;
  query(sql: string, format?: string): string;
}

function load(): { chdb?: Chdb; error?: string } {
  const where = process.env.FLOWMETER_CHDB ?? 'chdb';
  try {
    return { chdb: createRequire(import.meta.url)(where) as Chdb };
  } catch (e) {
    return {
      error: `chdb (npm, embedded ClickHouse) not loadable from ${where}: ${(e as Error).message.split('\n')[0]}; install it outside the clone (npm install chdb) and set FLOWMETER_CHDB=<dir>/node_modules/chdb, as .ci/run does`,
    };
  }
}

const loaded = load();

/** node:test's skip option: the reason when chdb is missing, unless peers are required. */
export const chdbSkip: string | false =
  loaded.chdb || process.env.FLOWMETER_REQUIRE_PEERS === '1' ? false : loaded.error!;

export function chdb(): Chdb {
  if (!loaded.chdb) throw new Error(loaded.error);
  return loaded.chdb;
}

/** Run `fn` with a session on `dir`, closed after (one data directory per process at a time). */
export function withSession<T>(dir: string, fn: (s: ChdbSession) => T): T {
  const session = new (chdb().Session)(dir);
  try {
    return fn(session);
  } finally {
    session.close();
  }
}

/** Rows of a SELECT as objects (64-bit integers as JSON numbers). */
export function rows<T = Record<string, unknown>>(s: ChdbSession, sql: string): T[] {
  const text = s.query(`${sql} SETTINGS output_format_json_quote_64bit_integers = 0`, 'JSONEachRow');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}
