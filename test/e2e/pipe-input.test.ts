// Reading from a pipe gives what reading the same bytes from a file gives: flow-aggregate and
// flow-report on a file, a stdin pipe, a stdin socket (what node's spawn gives), a FIFO and bash's
// `<(...)`, fed by a writer that writes odd-sized pieces with pauses (lines and the gzip magic
// split across reads); gzip through a pipe, an empty pipe, a writer that dies mid-line, and
// SIGINT while the command waits on an idle pipe or FIFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, open, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { binPath, runBin, runProcess, runShell, type RunResult } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { needs } from '../helpers/peers.js';
import { randomRecord } from '../helpers/flow-lines.js';
import { rng } from '../helpers/prng.js';
import { flowToJson } from '../../lib/flow/record.js';

const dir = tempDir('flowmeter-pipe-');
const rand = rng(20);
// ~1 MB: more than a pipe (64 KiB) and the reader's buffers (3 × 256 KiB) hold; a bad line, a CRLF
// line, a blank line, and a last line without its newline
const lines = Array.from({ length: 3000 }, () => flowToJson(randomRecord(rand)));
lines[1000] = '{"bytes":';
lines[2000] += '\r';
lines[2500] = '';
const text = lines.join('\n');
const plainFile = join(dir, 'flows.ndjson');
writeFileSync(plainFile, text);
const gzFile = join(dir, 'flows.ndjson.gz');
writeFileSync(gzFile, gzipSync(text));

/** A shell command that writes FILE to stdout in pieces of odd sizes (1 byte first: gzip's magic
 *  arrives in two reads) with short pauses, so that lines are split across the reader's reads.
 *  With `dieAfter`, it is killed (SIGKILL) after that many bytes. */
function writer(file: string, dieAfter?: number): string {
  const js =
    `const b=require('fs').readFileSync(${JSON.stringify(file)});const sizes=[1,7,4093,65537,13,131072,999];` +
    `let at=0,k=0;const end=${dieAfter ?? 'b.length'};` +
    `(function next(){if(at>=end){if(${dieAfter !== undefined})process.kill(process.pid,'SIGKILL');return;}` +
    `const n=Math.min(sizes[k++%sizes.length],end-at);process.stdout.write(b.subarray(at,at+n),()=>setTimeout(next,k%5===0?20:0));at+=n;})();`;
  return `"${process.execPath}" -e ${JSON.stringify(js)}`;
}

const commands: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['flow-aggregate', ['-a', 'src_host']],
  ['flow-report', []],
];

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** The command on `input` read as: the file, a stdin pipe, a FIFO, `<(...)`, a stdin socket, stdin
 *  redirected from the file. */
async function everyWay(
  cmd: string,
  args: readonly string[],
  input: string,
  dieAfter?: number,
): Promise<Array<[string, RunResult]>> {
  const bin = `"${process.execPath}" ${q(binPath(cmd))} ${args.map(q).join(' ')}`;
  const fifo = join(dir, `fifo-${Math.floor(rand() * 1e9)}`);
  // the file the others are compared with: the bytes the writer wrote
  const file = join(dir, `written-${Math.floor(rand() * 1e9)}`);
  writeFileSync(file, readFileSync(input).subarray(0, dieAfter));
  return [
    ['file', await runBin(cmd, [...args, file])],
    ['stdin pipe', await runShell(`${writer(input, dieAfter)} | ${bin}; exit \${PIPESTATUS[1]}`)],
    // a writer still waiting for a reader (the command failed before it opened the FIFO) is ended
    [
      'FIFO',
      await runShell(
        `mkfifo ${q(fifo)} && { ${writer(input, dieAfter)} > ${q(fifo)} & } && ${bin} ${q(fifo)}; s=$?; kill %1 2>/dev/null; exit $s`,
      ),
    ],
    ['<(...)', await runShell(`${bin} <(${writer(input, dieAfter)})`)],
    ['stdin socket', await runBin(cmd, args, { input: readFileSync(file) })],
    ['stdin file', await runShell(`${bin} < ${q(file)}`)],
  ];
}

/** Every way gave the file's stdout and exit status, and its stderr but for the input's name. */
function assertSame(results: Array<[string, RunResult]>): void {
  const [, ref] = results[0]!;
  // (bash's notice of the killed writer aside)
  const named = (s: string): string =>
    s.replaceAll(/^.* Killed .*\n/gm, '').replaceAll(/(\/\S*?|stdin)(?=:\d+|:)/g, 'INPUT');
  for (const [how, r] of results) {
    assert.equal(r.stdout, ref.stdout, `${how}: stdout as from the file`);
    assert.equal(r.code, ref.code, `${how}: exit status as from the file (${r.stderr})`);
    assert.equal(named(r.stderr), named(ref.stderr), `${how}: stderr as from the file`);
  }
}

for (const [cmd, args] of commands) {
  test(`${cmd}: a file, a stdin pipe, a FIFO, <(...), a stdin socket and < file give the same output, lines split across reads`, async (t) => {
    if (!needs(t, 'bash', 'mkfifo')) return;
    const results = await everyWay(cmd, args, plainFile);
    assert.equal(results[0]![1].code, 65, 'the bad line is rejected');
    assert.match(results[0]![1].stderr, /:1001: /);
    assertSame(results);
  });
}

test('flow-aggregate: gzip through a pipe, a FIFO and <(...) is decompressed as from a file', async (t) => {
  if (!needs(t, 'bash', 'mkfifo')) return;
  const results = await everyWay('flow-aggregate', ['-a', 'src_host'], gzFile);
  const plain = await runBin('flow-aggregate', ['-a', 'src_host', plainFile]);
  assert.equal(results[0]![1].stdout, plain.stdout);
  assertSame(results);
});

test('flow-aggregate: an empty pipe, FIFO or <(...) is an empty input, as an empty file', async (t) => {
  if (!needs(t, 'bash', 'mkfifo')) return;
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const results = await everyWay('flow-aggregate', ['-a', 'src_host'], empty);
  assert.equal(results[0]![1].code, 0);
  assertSame(results);
});

test('flow-aggregate: a writer that dies mid-line: its partial last line is read as from a file', async (t) => {
  if (!needs(t, 'bash', 'mkfifo')) return;
  const cut = text.indexOf('\n', 400_000) + 40; // 40 bytes into a line
  const results = await everyWay('flow-aggregate', ['-a', 'src_host'], plainFile, cut);
  assert.equal(results[0]![1].code, 65);
  assert.match(results[0]![1].stderr, /lines rejected/);
  assertSame(results);
});

test('flow-aggregate < file is read from where its offset stands, as a shell that read a line left it', async (t) => {
  if (!needs(t, 'bash')) return;
  const rest = join(dir, 'rest.ndjson');
  writeFileSync(rest, lines.slice(1).join('\n'));
  for (const jobs of ['1', '2']) {
    const args = ['-a', 'src_host', '-j', jobs];
    const bin = `"${process.execPath}" ${q(binPath('flow-aggregate'))} ${args.join(' ')}`;
    // bash's read on a regular file takes one line and seeks back to just after it
    const after = await runShell(`{ read -r _; ${bin}; } < ${q(plainFile)}`);
    const expected = await runBin('flow-aggregate', [...args, rest]);
    assert.equal(after.stdout, expected.stdout, `-j ${jobs}: the lines after the first`);
    assert.equal(after.code, expected.code);
    assert.match(after.stderr, /stdin:1000: /, `-j ${jobs}: line numbers count from the offset`);
  }
});

for (const how of ['stdin pipe', 'FIFO'] as const) {
  test(`SIGINT while flow-aggregate waits on an idle ${how}: what was read is written, exit 130`, async (t) => {
    if (how === 'FIFO' && !needs(t, 'mkfifo')) return;
    const flows = lines.filter((l, i) => i !== 1000 && l.trim() !== '').join('\n') + '\n';
    const out = join(dir, `int-${how.replace(' ', '-')}.ndjson`);
    const fifo = join(dir, `int-fifo-${Math.floor(rand() * 1e9)}`);
    if (how === 'FIFO') await runProcess('mkfifo', [fifo]);
    // a real pipe on stdin (a shell's `|`), or the FIFO as an argument; the writer is this process
    const child = spawn(
      process.execPath,
      [binPath('flow-aggregate'), '-a', 'src_host', '-o', out, ...(how === 'FIFO' ? [fifo] : [])],
      { stdio: [how === 'FIFO' ? 'ignore' : 'pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    let fd: number | undefined;
    if (how === 'FIFO') {
      fd = await new Promise<number>((resolve, reject) => open(fifo, 'w', (e, f) => (e ? reject(e) : resolve(f))));
      writeFileSync(fd, flows + '\n'.repeat(128 << 10)); // the command reads as this writes
    } else {
      child.stdin!.on('error', () => undefined);
      await new Promise((r) => child.stdin!.write(flows + '\n'.repeat(128 << 10), r));
    }
    // 128 KiB of empty lines behind the flows: once the pipe has taken those, every flow was read
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await closed;
    clearTimeout(timer);
    if (fd !== undefined) closeSync(fd);
    assert.equal(code, 130, `ends on SIGINT while the ${how} is open and idle: ${stderr}`);
    assert.match(stderr, /interrupted/);
    const whole = await runBin('flow-aggregate', ['-a', 'src_host', '-'], { input: flows });
    assert.equal(readFileSync(out, 'utf8'), whole.stdout, 'every flow read was aggregated and written');
  });
}
