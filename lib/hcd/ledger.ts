// The ledger (--state FILE): every file hcd accepted, by SHA-256 of the bytes sent and the
// statistics name, so a re-run never bills twice. An entry is written as "sending" before the
// call and turned into "sent" after hcd's answer, so a run killed in between leaves a trace the
// next run refuses to guess about; "in-doubt" records a request hcd got whole but whose answer
// could not be read. Rewritten atomically; readers and writers hold the run lock.

import { promises as fsp } from 'node:fs';
import { FlowmeterError } from '../errors.js';
import { describeSystemError, writeFileAtomic } from '../cli/io.js';

export const LEDGER_FORMAT = 'flowmeter-hcd-ledger/1';

export interface LedgerEntry {
  sha256: string;
  name: string;
  bytes: number;
  lines: number;
  source: string;
  url: string; // masked
  state: LedgerState;
  time: string; // ISO 8601 UTC
  pid: number;
  /** For "in-doubt": the failure that left it so; for "sent" without a call: who said so. */
  note?: string;
}

export type LedgerState = 'sending' | 'sent' | 'in-doubt';
const STATES: readonly string[] = ['sending', 'sent', 'in-doubt'] satisfies LedgerState[];

/** Whether hcd may have stored it without us knowing: an unreadable answer or a run that died mid-call. */
export function isInDoubt(e: LedgerEntry | undefined): boolean {
  return e?.state === 'in-doubt' || e?.state === 'sending';
}

export class Ledger {
  private constructor(
    readonly path: string,
    private entries: LedgerEntry[],
  ) {}

  static async open(path: string): Promise<Ledger> {
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return new Ledger(path, []);
      throw new FlowmeterError('no-input', `--state ${path}: ${describeSystemError(err)}`);
    }
    try {
      const doc = JSON.parse(text) as { format?: unknown; entries?: unknown };
      if (doc.format !== LEDGER_FORMAT || !Array.isArray(doc.entries))
        throw new Error(`not a ${LEDGER_FORMAT} document`);
      for (const e of doc.entries as LedgerEntry[]) {
        if (typeof e?.sha256 !== 'string' || typeof e.name !== 'string' || !STATES.includes(e.state)) {
          throw new Error('an entry lacks sha256, name or state');
        }
      }
      return new Ledger(path, doc.entries as LedgerEntry[]);
    } catch (e) {
      throw new FlowmeterError(
        'config',
        `--state ${path}: unreadable ledger (${(e as Error).message}); fix or move it aside (it records what was billed)`,
      );
    }
  }

  find(sha256: string, name: string): LedgerEntry | undefined {
    return this.entries.find((e) => e.sha256 === sha256 && e.name === name);
  }

  /** The entries in doubt, oldest first. */
  inDoubt(name?: string): LedgerEntry[] {
    return this.entries
      .filter((e) => isInDoubt(e) && (name === undefined || e.name === name))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Record an entry (replacing one for the same content and name) and write the file. */
  async record(entry: LedgerEntry): Promise<void> {
    this.entries = this.entries.filter((e) => !(e.sha256 === entry.sha256 && e.name === entry.name));
    this.entries.push(entry);
    await this.save();
  }

  async remove(sha256: string, name: string): Promise<void> {
    this.entries = this.entries.filter((e) => !(e.sha256 === sha256 && e.name === name));
    await this.save();
  }

  private async save(): Promise<void> {
    const body = `{"format":${JSON.stringify(LEDGER_FORMAT)},"entries":[\n${this.entries.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
    await writeFileAtomic(this.path, body, 0o600);
  }
}
