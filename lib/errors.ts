// The one error type of flowmeter. Domain code says what kind of failure it met; lib/cli maps
// each kind to an exit status (sysexits) and prints the message, so no module below the command
// line knows exit numbers.

/** What went wrong, in terms a caller can act on. */
export type ErrorKind =
  | 'failure' // none of the below
  | 'usage' // a bad argument or request
  | 'data' // input records, datagrams or documents that were refused
  | 'no-input' // an input file missing or unreadable
  | 'unavailable' // a service or peer that cannot be reached or bound
  | 'software' // an internal error (a bug)
  | 'cant-create' // an output that cannot be created
  | 'io' // a read or write that failed
  | 'temporary' // try again later: a lock held, a peer busy or down
  | 'protocol' // a peer answered outside its protocol
  | 'permission' // authentication or permission refused
  | 'config' // a bad configuration file
  | 'interrupted'; // stopped by the user (SIGINT) before the end

/** How a run ended: 'ok', or the kind of what went wrong in it (lib/cli maps it to the exit status). */
export type Outcome = 'ok' | ErrorKind;

/** An error the user can act on: one line of message, then `detail` lines (the expression and a
 *  caret under a column, a hint), no stack. */
export class FlowmeterError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly detail: readonly string[] = [],
  ) {
    super(message);
    this.name = 'FlowmeterError';
  }
}

export function usageError(message: string, ...detail: string[]): FlowmeterError {
  return new FlowmeterError('usage', message, detail);
}

/** The kind of a Node system error (ENOENT, EACCES, …) met while opening, reading or writing. */
export function kindOfSystemError(err: NodeJS.ErrnoException, writing: boolean): ErrorKind {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EACCES':
    case 'EPERM':
      return writing ? 'cant-create' : 'no-input';
    default:
      return 'io';
  }
}
