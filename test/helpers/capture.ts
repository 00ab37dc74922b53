// flow-capture -r over capture files, run as the real binary: its records, parsed and validated.

import assert from 'node:assert/strict';
import { runBin } from './spawn.js';
import { parseFlowLine, type FlowRecord } from '../../lib/flow/record.js';

/** The records `flow-capture -r FILE…` writes; asserts its exit status (0 unless told). */
export async function captureRecords(
  files: readonly string[],
  exit = 0,
): Promise<{ records: FlowRecord[]; stderr: string }> {
  const r = await runBin(
    'flow-capture',
    files.flatMap((f) => ['-r', f]),
  );
  assert.equal(r.code, exit, r.stderr);
  return {
    records: r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map(parseFlowLine),
    stderr: r.stderr,
  };
}
