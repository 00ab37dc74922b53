// hcd-putfile --in-doubt: the uploads the ledger has in doubt, one tab-separated line each, for
// the operator and for scripts (the billing cycle holds a name's later uploads while one is).

import type { Writable } from 'node:stream';
import { Ledger, type LedgerEntry } from './ledger.js';
import { listSpool } from './spool.js';

export const IN_DOUBT_COLUMNS = ['name', 'file', 'sha256', 'bytes', 'when', 'why'] as const;

/** Why an entry is in doubt, in one line without tabs. */
function why(e: LedgerEntry): string {
  const text =
    e.state === 'sending' ? `a run (pid ${e.pid}) stopped while sending it` : (e.note ?? 'no answer could be read');
  return text.replace(/[\t\r\n]+/g, ' ');
}

/** Print the header and one line per upload in doubt, oldest first: FILE is its copy in the
 *  spool when `spool` holds one, else the file it was sent from. */
export async function listInDoubt(state: string, spool: string | undefined, out: Writable): Promise<'ok'> {
  const ledger = await Ledger.open(state);
  const copies = spool ? await listSpool(spool) : [];
  out.write(`${IN_DOUBT_COLUMNS.join('\t')}\n`);
  for (const e of ledger.inDoubt()) {
    const copy = copies.find((i) => i.name === e.name && e.sha256.startsWith(i.sha12));
    out.write(`${[e.name, copy?.path ?? e.source, e.sha256, e.bytes, e.time, why(e)].join('\t')}\n`);
  }
  return 'ok';
}
