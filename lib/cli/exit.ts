// One table of exit statuses for every command (sysexits.h), documented in each man page.

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

/** An error the user can act on: printed as one line (control characters in it escaped), then
 *  its `detail` lines, mapped to an exit status, no stack. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(
    message: string,
    exitCode: number = EXIT.FAILURE,
    /** Lines printed under the message, escaped alike (the expression and a caret under a column, a hint). */
    readonly detail: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string, ...detail: string[]): CliError {
  return new CliError(message, EXIT.USAGE, detail);
}

/** The hint under a usage error about the command line as a whole. */
export function tryHelp(prog: string): string {
  return `Try '${prog} --help' for more information.`;
}

/** Map a Node system error (ENOENT, EACCES, …) met while opening/reading/writing to a status. */
export function exitCodeForSystemError(err: NodeJS.ErrnoException, writing: boolean): number {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      return writing ? EXIT.CANTCREAT : EXIT.NOINPUT;
    case 'EACCES':
    case 'EPERM':
      return writing ? EXIT.CANTCREAT : EXIT.NOINPUT;
    default:
      return EXIT.IOERR;
  }
}

export function isEpipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
