// The progress line of long reads: under a pseudo-terminal (util-linux `script`) flow-capture -r,
// flow-aggregate, flow-report and meter-label count draw "PROG: read …" on stderr while their
// input trickles in, and erase it at the end; the data they write is the same as without a
// terminal. Never with -q, never when stderr is a pipe, never when the data goes to the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runProcess, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';

const haveScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
const OPTS = {
  skip:
    haveScript || process.env.FLOWMETER_REQUIRE_PEERS === '1'
      ? false
      : 'script (util-linux, Debian package util-linux) not installed',
  timeout: 120_000,
};

const dir = tempDir('progress-');
const PCAP = join(ROOT, 'examples/softflowd-v9.pcap');
const FLOWS = join(dir, 'flows.ndjson');
const pcap = readFileSync(PCAP);
writeFileSync(join(dir, 'a.pcap'), pcap.subarray(0, 2000));
writeFileSync(join(dir, 'b.pcap'), pcap.subarray(2000));
const DB = join(dir, 'metering.json');
const GO = join(dir, 'go'); // the input's second half waits for this file (or 20 s)

/** Each command reading stdin: the first half of its input, a pause, the rest; data to OUT. */
const CASES: Array<[prog: string, input: string, args: string]> = [
  ['flow-capture', 'pcap', '-r -'],
  ['flow-aggregate', 'ndjson', '--ab'],
  ['flow-report', 'ndjson', '-a dst_host -F ndjson'],
  ['meter-label', 'ndjson', 'count'],
];

/** A script feeding `prog` the first half of its input, then after `pause` (a shell command)
 *  the rest. */
function script(name: string, prog: string, input: string, args: string, redirect: string, pause: string): string {
  const path = join(dir, `${name}.sh`);
  const halves =
    input === 'pcap' ? [join(dir, 'a.pcap'), join(dir, 'b.pcap')] : [join(dir, 'a.ndjson'), join(dir, 'b.ndjson')];
  writeFileSync(
    path,
    `{ cat ${halves[0]}; ${pause}; cat ${halves[1]}; } | "${process.execPath}" ${ROOT}bin/${prog}.js ${args} ${redirect}\n`,
  );
  return path;
}

const UNTIL_GO = `for i in $(seq 200); do [ -e ${GO} ] && break; sleep 0.1; done`;

/** Run `path` under a pseudo-terminal; what the terminal showed and how long it took. Once
 *  `prog`'s progress line shows, GO is created, so the input goes on. */
function underPty(path: string, prog: string): Promise<{ shown: string; secs: number }> {
  rmSync(GO, { force: true });
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', `bash ${path}`, '/dev/null'], {
      env: { ...process.env, METER_LABEL_DB: DB, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let shown = '';
    child.stdout.on('data', (d: Buffer) => {
      shown += d.toString('utf8');
      if (shown.includes(`${prog}: read `)) writeFileSync(GO, '');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ shown, secs: (Date.now() - t0) / 1000 });
      else reject(new Error(`script exited ${code}: ${shown}`));
    });
  });
}

test('setup: the flows of the example capture, split in two', OPTS, async () => {
  const r = await runShell(`bin/flow-capture.js -r ${PCAP} > ${FLOWS}`);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(FLOWS, 'utf8');
  const cut = text.indexOf('\n', text.length >> 1) + 1;
  writeFileSync(join(dir, 'a.ndjson'), text.slice(0, cut));
  writeFileSync(join(dir, 'b.ndjson'), text.slice(cut));
  // meter-label count's labels: the OpenStack example's
  const labels = await runProcess('/bin/sh', [join(ROOT, 'examples/openstack/labels.sh')], {
    env: { METER_LABEL: `${process.execPath} ${ROOT}bin/meter-label.js`, METER_LABEL_DB: DB },
  });
  assert.equal(labels.code, 0, labels.stderr);
});

for (const [prog, input, args] of CASES) {
  test(`${prog}: a progress line on a terminal's stderr, erased at the end; the data unchanged`, OPTS, async () => {
    const out = join(dir, `${prog}.tty.out`);
    const { shown, secs } = await underPty(script(`${prog}-tty`, prog, input, args, `> ${out}`, UNTIL_GO), prog);
    const draws = shown.split(`\r\x1b[K${prog}: read `).length - 1;
    assert.ok(draws >= 1, `no progress line in ${JSON.stringify(shown)}`);
    assert.match(shown, new RegExp(`\\r\\x1b\\[K${prog}: read [0-9.]+ (B|KiB), [0-9.]+ (B|KiB)/s, 0:[0-9]{2}`));
    // at most 4 draws a second, none in the first second
    assert.ok(draws <= 4 * secs, `${draws} draws in ${secs} s`);
    // the last thing on the terminal erases the line
    assert.ok(shown.endsWith('\r\x1b[K'), JSON.stringify(shown.slice(-80)));
    // the data: as in a pipe, where stderr shows no progress
    const piped = join(dir, `${prog}.pipe.out`);
    const r = await runShell(`bash ${script(`${prog}-pipe`, prog, input, args, `> ${piped}`, 'sleep 1.5')}`, {
      env: { METER_LABEL_DB: DB },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /read |\x1b/, 'stderr a pipe: no progress');
    const data = (path: string): string => readFileSync(path, 'utf8').replace(/"message_id":"[^"]*"/g, '');
    assert.notEqual(data(piped), '');
    assert.equal(data(out), data(piped));
  });
}

test('no progress line with -q, nor when the data goes to the terminal', OPTS, async () => {
  const quiet = await underPty(
    script('aggregate-q', 'flow-aggregate', 'ndjson', '-q --ab', `> ${join(dir, 'q.out')}`, 'sleep 4'),
    'flow-aggregate',
  );
  assert.equal(quiet.shown, '');
  const onTerminal = await underPty(
    script('capture-tty', 'flow-capture', 'pcap', '-r -', '', 'sleep 3'),
    'flow-capture',
  );
  assert.doesNotMatch(onTerminal.shown, /flow-capture: read /);
  assert.match(onTerminal.shown, /"type":"NETFLOW_V9"/);
});
