// The billing cycle (examples/billing/billing-cycle.sh) with the real collector and the XML-RPC
// test server: flow-capture -w restarted within an interval (SIGTERM, then kill -9) never replaces
// a file the cycle may have billed, and every part is billed once; hcd takes a file and then
// answers 500 or hangs: the cycle exits 75 naming the upload in doubt, holds that name's later
// uploads (other names go on), hcd holds the file once, and the operator's --mark-delivered or
// --resend-in-doubt releases the queue. Totals are checked per subscriber and direction against
// a sum of the capture files' records made without flowmeter.
import { testNeeding } from '../helpers/peers.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runBin } from '../helpers/spawn.js';
import { startHcd, type HcdCall } from '../helpers/hcd-server.js';
import { captureDatagrams, replay, startCollector } from '../helpers/udp-replay.js';
import {
  captureTotals,
  cycle,
  perSubscriber,
  PCAPS,
  receivedTotals,
  setup,
  spoolFiles,
  writeCaptures,
  type Setup,
} from '../helpers/billing.js';

const test = testNeeding('python3');
// one per collector: the same flows thrice would make byte-identical billing files, which the
// hcd ledger takes for one upload
const RESTART_PCAPS = [
  'test/fixtures/report/netflow-v9.pcap',
  'test/fixtures/aggregate/nf9.pcap',
  'examples/softflowd-v9.pcap',
].map((p) => join(ROOT, p));

function digest(c: HcdCall): string {
  return `${c.name} ${createHash('sha256').update(Buffer.from(c.content_b64, 'base64')).digest('hex')}`;
}

function published(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^flows\.\d{12}Z(\.r\d+)?\.ndjson$/.test(n))
    .sort();
}

function lineCount(path: string): number {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
}

/** Wait until the collector's temporary in `dir` holds `lines` records. */
async function waitForLines(dir: string, lines: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const temp = readdirSync(dir).find((n) => n.includes('.tmp-'));
    if (temp && lineCount(join(dir, temp)) >= lines) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no temporary with ${lines} records in ${dir}`);
}

/** Every capture file billed once: each statistics file once at hcd, and the totals per
 *  subscriber and direction equal to the capture files' own. */
function assertBilledOnce(s: Setup, calls: HcdCall[]): void {
  const seen = new Set<string>();
  for (const c of calls) {
    assert.ok(!seen.has(digest(c)), `received twice: ${digest(c)}`);
    seen.add(digest(c));
  }
  const files = readdirSync(s.capture)
    .filter((n) => n.startsWith('flows.'))
    .map((n) => join(s.capture, n));
  const want = perSubscriber(captureTotals(files));
  assert.ok(want.size >= 4, `only ${want.size} subscriber totals`);
  assert.deepEqual(perSubscriber(receivedTotals(calls)), want);
}

test(
  'flow-capture -w restarted within an interval (SIGTERM, kill -9): no file replaced, every part billed once',
  { timeout: 180_000 },
  async () => {
    const s = setup();
    const hcd = await startHcd();
    const dgs = await Promise.all(RESTART_PCAPS.map((p) => captureDatagrams(p)));
    const perReplay = await Promise.all(
      RESTART_PCAPS.map(
        async (p) => (await runBin('flow-capture', ['-r', p])).stdout.split('\n').filter(Boolean).length,
      ),
    );
    const args = ['-v', '-l', '127.0.0.1:0', '-w', s.capture, '--rotate', '3600'];

    // a collector stopped (systemctl restart) after one replay; its file billed at once
    const first = await startCollector(args);
    await replay(dgs[0]!, '127.0.0.1', first.port);
    await waitForLines(s.capture, perReplay[0]!);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0, first.stderr());
    const [billedFirst] = published(s.capture);
    assert.ok(billedFirst, 'the first collector published its file');
    const firstBytes = readFileSync(join(s.capture, billedFirst));
    const r1 = await cycle(s, hcd);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /billed 1 file\(s\)/);

    // the next one, in the same interval, is killed -9 with records in its temporary
    const second = await startCollector(args);
    await replay(dgs[1]!, '127.0.0.1', second.port);
    await waitForLines(s.capture, perReplay[1]!);
    second.child.kill('SIGKILL');
    await second.exited;

    // the third finishes the dead one's temporary first, then writes its own part
    const third = await startCollector(args);
    await replay(dgs[2]!, '127.0.0.1', third.port);
    await waitForLines(s.capture, perReplay[2]!);
    third.child.kill('SIGTERM');
    assert.equal((await third.exited).code, 0, third.stderr());
    assert.match(third.stderr(), /recovered \d+ records left by pid \d+/);

    const names = published(s.capture);
    assert.equal(names.length, 3, names.join(' '));
    if (names.every((n) => n.slice(0, 19) === names[0]!.slice(0, 19))) {
      assert.deepEqual(
        names.map((n) => n.slice(19)),
        ['.ndjson', '.r1.ndjson', '.r2.ndjson'],
        'one interval: parts .r1, .r2',
      );
    }
    assert.deepEqual(readFileSync(join(s.capture, billedFirst)), firstBytes, 'the billed file was not replaced');
    assert.equal(
      names.reduce((n, f) => n + lineCount(join(s.capture, f)), 0),
      perReplay[0]! + perReplay[1]! + perReplay[2]!,
      'every record of the three collectors',
    );

    const r2 = await cycle(s, hcd);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /billed 2 file\(s\)/);
    assert.deepEqual(readdirSync(join(s.state, 'done')).sort(), names);
    assertBilledOnce(s, (await hcd.calls()).calls);
  },
);

/** Three capture files of subscriber traffic, and hcd-putfile that gives up fast. */
async function doubtSetup(): Promise<Setup> {
  const s = setup();
  const all = join(s.dir, 'all.ndjson');
  const cap = await runBin('flow-capture', ['-o', all, ...PCAPS.slice(0, 3).flatMap((p) => ['-r', join(ROOT, p)])]);
  assert.equal(cap.code, 0, cap.stderr);
  writeCaptures(s, readFileSync(all, 'utf8').split('\n').filter(Boolean), 3, 0);
  writeFileSync(
    s.config,
    readFileSync(s.config, 'utf8') + 'HCD_OPTS="--retries 2 --retry-delay 0.05 --connect-timeout 5 --timeout 1"\n',
  );
  return s;
}

for (const mode of ['stored-500', 'stored-hang'] as const) {
  test(
    `hcd takes the first upload then ${mode === 'stored-500' ? 'answers 500' : 'hangs'}: the cycle exits 75 naming it, holds agg-ab's later uploads; --mark-delivered releases them, never the doubtful one again`,
    { timeout: 180_000 },
    async () => {
      const s = await doubtSetup();
      const hcd = await startHcd();
      const ledger = join(s.state, 'hcd-ledger.json');
      const spool = join(s.state, 'hcd-spool');
      await hcd.control(`mode=${mode}&count=1`);
      const r = await cycle(s, hcd);
      assert.equal(r.code, 75, r.stderr);
      // hcd-putfile's own account and the cycle's, on stderr
      assert.match(
        r.stderr,
        /hcd-putfile: .*(HTTP 500 Internal Server Error|no answer within 1 s).*: hcd got the whole file and may have stored it, so it is in doubt/,
      );
      assert.match(
        r.stderr,
        new RegExp(
          `billing-cycle: in doubt: agg-ab: ${spool}/\\S+_agg-ab\\.hcd \\(\\d+ bytes, sha256 [0-9a-f]{64}\\) sent at \\S+: .*hcd-putfile --state ${ledger} --flush-spool ${spool} --mark-delivered agg-ab \\(Hydra has it\\) or --resend-in-doubt agg-ab`,
        ),
      );
      assert.equal(
        (r.stderr.match(/billing-cycle: flows\.\S+: not billed yet: waits for the upload in doubt of agg-ab/g) ?? [])
          .length,
        3,
      );
      if (mode === 'stored-hang') await hcd.control('release=1');
      let calls = (await hcd.calls()).calls;
      assert.deepEqual(
        calls.map((c) => c.name),
        ['agg-ab', 'agg-ba', 'agg-ba', 'agg-ba'],
        'hcd holds the doubtful file once; the other name went on',
      );
      const doubtful = digest(calls[0]!);
      assert.deepEqual(readdirSync(join(s.state, 'done')), []);

      // unsettled: the next cycle says so again and sends nothing
      const again = await cycle(s, hcd);
      assert.equal(again.code, 75, again.stderr);
      assert.match(again.stderr, /billing-cycle: in doubt: agg-ab:/);
      assert.equal((await hcd.calls()).calls.length, 4);

      // the operator finds it in Hydra
      const listed = await runBin('hcd-putfile', ['--state', ledger, '--spool', spool, '--in-doubt']);
      assert.equal(listed.stdout.split('\n')[1]!.split('\t')[0], 'agg-ab');
      const mark = await runBin('hcd-putfile', [
        '-u',
        hcd.url(),
        '--state',
        ledger,
        '--flush-spool',
        spool,
        '--mark-delivered',
        'agg-ab',
      ]);
      assert.equal(mark.code, 0, mark.stderr);
      const done = await cycle(s, hcd);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stderr, /billed 3 file\(s\)/);
      assert.deepEqual(spoolFiles(s), []);
      calls = (await hcd.calls()).calls;
      assert.deepEqual(
        calls.map((c) => c.name),
        ['agg-ab', 'agg-ba', 'agg-ba', 'agg-ba', 'agg-ab', 'agg-ab'],
        'the queued agg-ab files, in order',
      );
      assert.equal(calls.filter((c) => digest(c) === doubtful).length, 1, 'never the doubtful one again');
      assert.equal((await cycle(s, hcd)).code, 0);
      assertBilledOnce(s, (await hcd.calls()).calls);
    },
  );
}

test(
  'an upload in doubt that hcd did not keep: --resend-in-doubt delivers it exactly once more, then the queue',
  { timeout: 180_000 },
  async () => {
    const s = await doubtSetup();
    const hcd = await startHcd();
    const ledger = join(s.state, 'hcd-ledger.json');
    const spool = join(s.state, 'hcd-spool');
    await hcd.control('mode=status&code=500&count=1'); // answered 500 without storing: in doubt all the same
    const r = await cycle(s, hcd);
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /billing-cycle: in doubt: agg-ab:/);
    assert.deepEqual(
      (await hcd.calls()).calls.map((c) => c.name),
      ['agg-ba', 'agg-ba', 'agg-ba'],
    );
    const resend = await runBin('hcd-putfile', [
      '-u',
      hcd.url(),
      '--state',
      ledger,
      '--flush-spool',
      spool,
      '--resend-in-doubt',
      'agg-ab',
    ]);
    assert.equal(resend.code, 0, resend.stderr);
    assert.equal((await hcd.calls()).calls.length, 4, 'exactly one more delivery');
    const done = await cycle(s, hcd);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /billed 3 file\(s\)/);
    const calls = (await hcd.calls()).calls;
    assert.deepEqual(
      calls.map((c) => c.name),
      ['agg-ba', 'agg-ba', 'agg-ba', 'agg-ab', 'agg-ab', 'agg-ab'],
    );
    assertBilledOnce(s, calls);
  },
);
