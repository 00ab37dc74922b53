// flow-report --format html: golden pages on fixed input (UPDATE_GOLDEN=1 rewrites them), the
// chart adds up to the input bytes, data and titles are escaped, -o is atomic, and the page opened
// in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core over CDP) renders its
// chart and makes no request but its own file — with a control page proving a fetch would be seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { ROOT, runBin, runShell } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { withPeers } from '../helpers/peers.js';

const F = `${ROOT}test/fixtures/report`;
const GOLDEN = `${F}/golden`;
const FLOWS = `${F}/flows.ndjson`;
const AB = `${F}/agg-ab.ndjson`;
const BA = `${F}/agg-ba.ndjson`;

const CASES: Array<[name: string, args: string[]]> = [
  ['html-flows', ['--format', 'html', FLOWS]],
  ['html-agg-top3', ['--format', 'html', '--top', '3', '--title', 'Subscribers <in & out>', AB, BA]],
  ['html-aggregated-interval', ['--format', 'html', '-a', 'dst_host,proto', '--interval', '5', '--si', FLOWS]],
];

for (const [name, args] of CASES) {
  test(`golden: ${name}`, async () => {
    const r = await runBin('flow-report', args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const path = `${GOLDEN}/${name}.html`;
    if (process.env.UPDATE_GOLDEN) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(path, r.stdout);
    }
    assert.equal(r.stdout, readFileSync(path, 'utf8'));
  });
}

function inputBytes(path: string): number {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .reduce((s, l) => s + Number(JSON.parse(l).bytes), 0);
}

function chartBytes(html: string): number {
  return [...html.matchAll(/data-bytes="([0-9]+)"/g)].reduce((s, m) => s + Number(m[1]), 0);
}

test('html: the chart bins add up to exactly the input bytes (flows spread over their span, aggregates too)', async () => {
  for (const [args, files] of [
    [[FLOWS], [FLOWS]],
    [
      [AB, BA],
      [AB, BA],
    ],
    [
      ['--interval', '7', AB, BA],
      [AB, BA],
    ],
  ] as const) {
    const r = await runBin('flow-report', ['--format', 'html', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const want = files.reduce((s, f) => s + inputBytes(f), 0);
    assert.equal(chartBytes(r.stdout), want, args.join(' '));
    assert.match(r.stdout, new RegExp(`<b title="${want}">`));
  }
});

test('html: a long time span is drawn in coarser bins, never more than 150 bars', async () => {
  const dir = tempDir();
  const input = join(dir, 'year.ndjson');
  const lines: string[] = [];
  for (let i = 0; i < 400; i++)
    lines.push(
      JSON.stringify({
        dst_host: `10.0.${i % 250}.1`,
        packets: 1,
        bytes: 1000 + i,
        time_start: 1767225600 + i * 86400,
        time_end: 1767225600 + i * 86400 + 300,
      }),
    );
  writeFileSync(input, lines.join('\n') + '\n');
  const r = await runBin('flow-report', ['--format', 'html', input]);
  assert.equal(r.code, 0, r.stderr);
  const bars = (r.stdout.match(/<rect /g) ?? []).length;
  assert.ok(bars > 0 && bars <= 150, `${bars} bars`);
  assert.match(r.stdout, /bit\/s, average per week/);
  assert.equal(chartBytes(r.stdout), inputBytes(input));
});

test('html: text from the command line and the data is escaped', async () => {
  const r = await runBin('flow-report', ['--format', 'html', '--title', '<script>alert("x")</script>&', AB]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /<script/);
  assert.match(r.stdout, /<h1>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;<\/h1>/);
});

test('html: -o writes the page atomically; bad input is exit 65 and named; | head -1 is fine', async () => {
  const dir = tempDir();
  const out = join(dir, 'index.html');
  const r = await runBin('flow-report', ['--format', 'html', '-o', out, FLOWS]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(dir), ['index.html']);
  assert.match(readFileSync(out, 'utf8'), /^<!DOCTYPE html>\n[\s\S]*<\/html>\n$/);
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(bad, readFileSync(AB, 'utf8') + '{"src_host":"10.0.0.1","bytes":"12a","packets":1}\n');
  const b = await runBin('flow-report', ['--format', 'html', bad]);
  assert.equal(b.code, 65);
  assert.match(b.stderr, /bad\.ndjson:\d+: field "bytes"/);
  const h = await runShell(`node bin/flow-report.js --format html ${FLOWS} | head -1`, { cwd: ROOT });
  assert.equal(h.code, 0, h.stderr);
  assert.equal(h.stdout, '<!DOCTYPE html>\n');
  const t = await runBin('flow-report', ['--format', 'text', '--interval', '60', AB]);
  assert.equal(t.code, 64);
});

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Open each page in a fresh headless Chromium profile; every request the page makes is recorded. */
async function openPages(
  files: string[],
  shot?: string,
): Promise<Array<{ requests: string[]; rects: number; svgs: number; text: string; errors: string[] }>> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 1000 } });
    const out = [];
    for (const f of files) {
      const page = await ctx.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(f).href, { waitUntil: 'load' });
      await page.waitForLoadState('networkidle');
      const rects = await page.locator('svg rect.bar').count();
      const svgs = await page.locator('svg').count();
      const text = await page.locator('body').innerText();
      if (shot && out.length === 0) await page.screenshot({ path: shot, fullPage: true });
      out.push({ requests, rects, svgs, text, errors });
      await page.close();
    }
    return out;
  } finally {
    await browser.close();
  }
}

test(
  'html: headless Chromium renders the page and its chart, and the page fetches nothing',
  withPeers('chromium'),
  async () => {
    const dir = tempDir();
    const page = join(dir, 'report.html');
    const r = await runBin('flow-report', ['--format', 'html', '-o', page, FLOWS]);
    assert.equal(r.code, 0, r.stderr);
    // control: a page with one external image: the same check sees that request
    const control = join(dir, 'control.html');
    writeFileSync(
      control,
      '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><p>control</p></body></html>',
    );
    const shot = join(dir, 'report.png');
    const [got, ctl] = await openPages([page, control], shot);
    assert.deepEqual(got!.requests, [pathToFileURL(page).href], 'only the page itself');
    assert.ok(got!.rects > 0, 'chart bars drawn');
    assert.equal(got!.svgs, 1);
    assert.match(got!.text, /Traffic over time/);
    assert.match(got!.text, /destination port/);
    assert.deepEqual(got!.errors, [], 'no console errors (e.g. CSP violations)');
    assert.ok(
      ctl!.requests.includes('http://127.0.0.1:9/x.png'),
      `control page request seen: ${ctl!.requests.join(' ')}`,
    );
    const png = readFileSync(shot);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(
      png.readUInt32BE(16) === 1024 && png.readUInt32BE(20) > 1000,
      `full-page screenshot: ${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`,
    );
    if (process.env.UPDATE_SCREENSHOT) writeFileSync(`${ROOT}examples/flow-report-html.png`, png);
  },
);

test('html: many aggregate records: the top N and the "more" line are exact (held records are pruned)', async () => {
  const dir = tempDir();
  const input = join(dir, 'many.ndjson');
  const rows = Array.from({ length: 5000 }, (_, i) => ({
    src_host: `10.1.${i >> 8}.${i & 255}`,
    packets: 1,
    bytes: (i * 7919) % 3001,
    flows: 1,
    time_start: 1794489282,
    time_end: 1794489282,
  }));
  writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = await runBin('flow-report', ['--format', 'html', '--top', '5', input]);
  assert.equal(r.code, 0, r.stderr);
  // stable order: largest bytes first, ties in input order
  const want = rows.map((x, i) => ({ ...x, i })).sort((a, b) => b.bytes - a.bytes || a.i - b.i);
  const shown = [...r.stdout.matchAll(/<tr><td>(10\.1\.[0-9.]+)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(
    shown,
    want.slice(0, 5).map((x) => x.src_host),
  );
  assert.match(r.stdout, /<h2>Top 5 of 5000 records by bytes<\/h2>/);
  const restBytes = want.slice(5).reduce((s, x) => s + x.bytes, 0);
  assert.match(
    r.stdout,
    new RegExp(
      `<td colspan="1">4995 more</td><td class="n" title="4995">[^<]*</td><td class="n" title="${restBytes}">`,
    ),
  );
});

/** The <title> of every bar: its bit rate as printed, and its exact bytes and bin. */
function barTitles(html: string): Array<{ rate: string; bytes: number; step: string }> {
  return [
    ...html.matchAll(/<title>[^<:]*:[0-9:]*Z(?: in| out)?: ([^ ]+ [^ ]+) \(([0-9]+) bytes in ([a-z0-9 ]+)\)<\/title>/g),
  ].map((m) => ({ rate: m[1]!, bytes: Number(m[2]), step: m[3]! }));
}

test('html: the chart in bit/s (bytes × 8 / bin), one unit system in chart and tables (SI by default, --iec throughout)', async () => {
  const si = await runBin('flow-report', ['--format', 'html', '--interval', '5', FLOWS]);
  assert.equal(si.code, 0, si.stderr);
  const bars = barTitles(si.stdout);
  assert.ok(bars.length > 0);
  for (const b of bars) {
    assert.equal(b.step, '5 seconds');
    const bps = (b.bytes * 8) / 5;
    const [num, unit] = b.rate.split(' ');
    const scale = { 'bit/s': 1, 'kbit/s': 1e3, 'Mbit/s': 1e6 }[unit!];
    assert.ok(scale !== undefined, b.rate);
    assert.ok(Math.abs(Number(num) * scale - bps) <= bps * 0.01 + 1, `${b.rate} for ${b.bytes} bytes in 5 s`);
  }
  assert.doesNotMatch(si.stdout, /KiB|MiB|Kibit|Mibit/);
  assert.match(si.stdout, /text-anchor="end">[0-9.]+ kbit\/s<\/text>/);
  const iec = await runBin('flow-report', ['--format', 'html', '--iec', '--interval', '5', FLOWS]);
  assert.equal(iec.code, 0, iec.stderr);
  assert.doesNotMatch(iec.stdout, /[0-9] (kB|MB|kbit\/s|Mbit\/s)</);
  assert.match(iec.stdout, /[0-9] KiB</);
  assert.match(iec.stdout, /text-anchor="end">[0-9.]+ Kibit\/s<\/text>/);
});

/** --ab and --ba aggregates of the report fixture's flows, in `interval`-second bins (or none). */
async function abba(dir: string, interval?: number): Promise<[string, string]> {
  const ab = join(dir, `agg-ab-${interval ?? 0}.ndjson`),
    ba = join(dir, `agg-ba-${interval ?? 0}.ndjson`);
  const r = await runBin('flow-aggregate', [
    '--ab',
    '--ba',
    '-n',
    `${F}/networks.lst`,
    ...(interval ? ['--interval', String(interval)] : []),
    '-o',
    `ab=${ab}`,
    '-o',
    `ba=${ba}`,
    FLOWS,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return [ab, ba];
}

function bytesBy(path: string, key: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of readFileSync(path, 'utf8').trim().split('\n')) {
    const o = JSON.parse(l) as Record<string, string | number>;
    m.set(String(o[key]), (m.get(String(o[key])) ?? 0) + Number(o.bytes));
  }
  return m;
}

test('html: --ab/--ba aggregates give the subscriber view: in and out side by side (exact), a time chart of in and out when binned', async () => {
  const dir = tempDir();
  for (const interval of [undefined, 10]) {
    const [ab, ba] = await abba(dir, interval);
    const r = await runBin('flow-report', ['--format', 'html', '--top', '5', ab, ba]);
    assert.equal(r.code, 0, r.stderr);
    const out = bytesBy(ab, 'src_host'),
      inn = bytesBy(ba, 'dst_host');
    const all = [...new Set([...out.keys(), ...inn.keys()])].map((h) => ({
      h,
      i: inn.get(h) ?? 0,
      o: out.get(h) ?? 0,
    }));
    all.sort((a, b) => b.i + b.o - (a.i + a.o) || (a.h < b.h ? -1 : 1));
    assert.match(r.stdout, new RegExp(`<h2>Subscribers: top 5 of ${all.length} by in \\+ out</h2>`));
    const rows = [
      ...r.stdout.matchAll(
        /<tr><td>([^<]+)<\/td><td class="n" title="([0-9]+)">[^<]*<\/td><td class="n" title="([0-9]+)">/g,
      ),
    ].slice(0, 5);
    assert.deepEqual(
      rows.map((m) => [m[1], Number(m[2]), Number(m[3])]),
      all.slice(0, 5).map((x) => [x.h, x.i, x.o]),
    );
    const sum = (attr: string): number =>
      [...r.stdout.matchAll(new RegExp(`${attr}="([0-9]+)"`, 'g'))].reduce((s, m) => s + Number(m[1]), 0);
    if (interval) {
      assert.match(r.stdout, /<h2>Subscribers in and out over time<\/h2>/);
      assert.equal(sum('data-bytes-in'), inputBytes(ba));
      assert.equal(sum('data-bytes-out'), inputBytes(ab));
      assert.match(r.stdout, /average per 10 seconds \(in left, out right\)/);
    } else {
      assert.doesNotMatch(r.stdout, /Subscribers in and out over time/);
      assert.match(r.stdout, /not in time bins/);
    }
  }
  // one direction alone is no subscriber view
  const [ab] = await abba(dir);
  const one = await runBin('flow-report', ['--format', 'html', ab]);
  assert.doesNotMatch(one.stdout, /Subscribers/);
});

test('html: headless Chromium renders the subscriber view (two charts)', async () => {
  const dir = tempDir();
  const [ab, ba] = await abba(dir, 10);
  const page = join(dir, 'subscribers.html');
  const r = await runBin('flow-report', ['--format', 'html', '--title', 'Subscribers in and out', '-o', page, ab, ba]);
  assert.equal(r.code, 0, r.stderr);
  const shot = join(dir, 'subscribers.png');
  const [got] = await openPages([page], shot);
  assert.deepEqual(got!.requests, [pathToFileURL(page).href]);
  assert.equal(got!.svgs, 2);
  assert.match(got!.text, /Subscribers in and out over time/);
  assert.deepEqual(got!.errors, []);
  if (process.env.UPDATE_SCREENSHOT) writeFileSync(`${ROOT}examples/flow-report-subscribers.png`, readFileSync(shot));
});
