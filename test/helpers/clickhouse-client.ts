// clickhouse-client for the tests, on the embedded engine (chdb): the part of its command line
// that examples/clickhouse uses (--multiquery with statements on stdin; --query with INSERT's data
// on stdin; --name=value settings), on the data directory CHDB_DATA. Lets load.sh and the README's
// pipelines run unchanged against real ClickHouse. Exit 1 with ClickHouse's message on an error.
import { readFileSync } from 'node:fs';
import { chdb } from './chdb.js';

function parseArgs(argv: readonly string[]): { query?: string; settings: string[] } {
  const settings: string[] = [];
  let query: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--query' || a === '-q') query = argv[++i];
    else if (a.startsWith('--query=')) query = a.slice('--query='.length);
    else if (a === '--multiquery' || a === '-n') continue;
    else if (/^--\w+=/.test(a)) settings.push(a.slice(2));
    else throw new Error(`unsupported option ${a}`);
  }
  return { query, settings };
}

/** The statement(s) to run: settings go in INSERT's SETTINGS clause, the data after FORMAT. */
function statement(query: string | undefined, settings: readonly string[], stdin: () => string): string {
  if (query === undefined) return stdin();
  const clause = settings.length ? ` SETTINGS ${settings.join(', ')}` : '';
  const insert = /^\s*INSERT\s+INTO\s+(\S+)\s+FORMAT\s+(\w+)\s*$/i.exec(query);
  if (insert) return `INSERT INTO ${insert[1]}${clause} FORMAT ${insert[2]}\n${stdin()}`;
  return `${query.replace(/;\s*$/, '')}${clause}`;
}

try {
  const { query, settings } = parseArgs(process.argv.slice(2));
  const dir = process.env.CHDB_DATA;
  if (!dir) throw new Error('CHDB_DATA (the data directory) is not set');
  const session = new (chdb().Session)(dir);
  try {
    process.stdout.write(
      session.query(
        statement(query, settings, () => readFileSync(0, 'utf8')),
        'TabSeparated',
      ),
    );
  } finally {
    session.close();
  }
} catch (e) {
  process.stderr.write(`clickhouse-client (chdb): ${(e as Error).message}\n`);
  process.exitCode = 1;
}
