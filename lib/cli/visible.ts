// Text bound for a terminal with its control characters shown, not obeyed: a label name or a
// file name holding ESC, BEL, CR or LF must not recolour the terminal, move the cursor or forge
// a line of its own. Used by the stderr logger (lib/cli/log.ts, lib/cli/run.ts) and by the
// human-readable tables of meter-label; data formats (JSON, CSV) carry the exact text.

// C0 controls, DEL and the C1 controls (Unicode category Cc); backslashes are left as they are.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** `text` with every control character as a visible escape: \n, \r, \t, else \xHH (ESC is \x1b). */
export function visible(text: string): string {
  return text.replace(CONTROL, escape);
}
