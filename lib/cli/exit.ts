// One table of exit statuses for every command (sysexits.h), documented in each man page.

import type { Outcome } from '../errors.js';

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each status means, in the words the man pages and README use. */
export const EXIT_MEANINGS: ReadonlyArray<readonly [number, string]> = [
  [EXIT.OK, 'success; also when the reader of stdout went away (EPIPE)'],
  [EXIT.FAILURE, 'failure not covered below'],
  [EXIT.USAGE, 'bad flag or argument'],
  [EXIT.DATAERR, 'input records or datagrams were rejected'],
  [EXIT.NOINPUT, 'an input file is missing or unreadable'],
  [EXIT.UNAVAILABLE, 'a service is unavailable (cannot bind, collector unreachable)'],
  [EXIT.SOFTWARE, 'internal error (a bug)'],
  [EXIT.CANTCREAT, 'cannot create an output file'],
  [EXIT.IOERR, 'read or write error'],
  [EXIT.TEMPFAIL, 'temporary failure (lock held, network down after retries): try again later'],
  [EXIT.PROTOCOL, 'the peer answered with a protocol error'],
  [EXIT.NOPERM, 'authentication or permission refused'],
  [EXIT.CONFIG, 'bad configuration file'],
  [EXIT.INTERRUPTED, 'interrupted by SIGINT after flushing what was read'],
];

/** The exit status of each outcome: the one place where a kind becomes a number. */
const EXIT_OF_OUTCOME: Readonly<Record<Outcome, ExitCode>> = {
  ok: EXIT.OK,
  failure: EXIT.FAILURE,
  usage: EXIT.USAGE,
  data: EXIT.DATAERR,
  'no-input': EXIT.NOINPUT,
  unavailable: EXIT.UNAVAILABLE,
  software: EXIT.SOFTWARE,
  'cant-create': EXIT.CANTCREAT,
  io: EXIT.IOERR,
  temporary: EXIT.TEMPFAIL,
  protocol: EXIT.PROTOCOL,
  permission: EXIT.NOPERM,
  config: EXIT.CONFIG,
  interrupted: EXIT.INTERRUPTED,
};

export function exitCodeOf(outcome: Outcome): ExitCode {
  return EXIT_OF_OUTCOME[outcome];
}

/** The hint under a usage error about the command line as a whole. */
export function tryHelp(prog: string): string {
  return `Try '${prog} --help' for more information.`;
}

export function isEpipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
