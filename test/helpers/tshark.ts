// tshark (Wireshark's decoder, a Debian test peer) as an independent oracle for capture tests.
import { execFileSync } from 'node:child_process';

/** One row per displayed frame: the requested fields, tab-separated (first occurrence unless `all`). */
export function tsharkFields(file: string, filter: string, fields: readonly string[], all = false): string[][] {
  const args = [
    '-r',
    file,
    '-n',
    '-T',
    'fields',
    '-E',
    'separator=\t',
    '-E',
    `occurrence=${all ? 'a' : 'f'}`,
    '-E',
    'aggregator=,',
  ];
  if (filter) args.push('-Y', filter);
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** "1795315823.724556000" → ns since the epoch, rounded once to a double as the reader does. */
export function epochToNs(text: string): number {
  const [s, f = ''] = text.split('.');
  return Number(BigInt(s!) * 1000000000n + BigInt((f + '000000000').slice(0, 9)));
}
