// hcd-putfile end to end: the real bin against Python's xmlrpc.server standing in for hcd.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runBin, runShell, binPath } from '../helpers/spawn.js';
import { tempDir } from '../helpers/tmp.js';
import { makeCert, startHcd } from '../helpers/hcd-server.js';
import { needs, testNeeding } from '../helpers/peers.js';

// every test talks to the hcd stand-in, test/fixtures/hcd/hcd-server.py
const test = testNeeding('python3');

const PW = 'pa55:w0rd';
const LINES = [
  'c39501;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;',
  'c39502;;1291242554;1291242854;10.5.10.7/32;0.0.0.0/0;123456789;',
  ';;1291242554;1291242854;2001:db8::1/128;::/0;42;',
  'c1;obj7;1291242554;1291242854;;;100;',
];
const GOOD = `${LINES.join('\n')}\n`;
const FAST = ['--retry-delay', '0.01'];

function file(dir: string, name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function stored(c: { content_b64: string }): string {
  return Buffer.from(c.content_b64, 'base64').toString('utf8');
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('hcd-putfile takes what Hydra users write', () => {
  test("the Hydra guide's example line without the ';' after BYTES is sent with it, said once with -v", async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const guide = `${LINES[0]!.slice(0, -1)}\n${LINES[1]}\n${LINES[2]!.slice(0, -1)}\n`;
    const r = await runBin('hcd-putfile', ['-v', '-u', hcd.url('hydra'), 'agg-ab'], {
      input: guide,
      env: { HCD_PASSWORD: PW },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/without the trailing ";"/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /stdin: 2 lines without the trailing ";" after BYTES, sent with it/);
    const { calls } = await hcd.calls();
    assert.equal(calls.length, 1);
    assert.equal(stored(calls[0]!), `${LINES.slice(0, 3).join('\n')}\n`);
  });

  test('a user in the URL and no password anywhere: exit 77, nothing sent; --no-password sends without one', async () => {
    const hcd = await startHcd({ user: 'hydra', password: '' }); // an account without a password
    const env = { HCD_PASSWORD: '' };
    const r = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), 'agg-ab'], { input: GOOD, env });
    assert.equal(r.code, 77, r.stderr);
    assert.match(
      r.stderr,
      /^hcd-putfile: no password for hydra \(set HCD_PASSWORD or --password-file; --no-password sends none\)\n$/,
    );
    assert.equal((await hcd.calls()).attempts, 0);
    const on = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), '--no-password', 'agg-ab'], { input: GOOD, env });
    assert.equal(on.code, 0, on.stderr);
    const { calls } = await hcd.calls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.user, 'hydra');
  });
});

describe('hcd-putfile sends', () => {
  test("hcdctl's spelling: -f FILE -u URL putfile agg-ab, bytes stored equal the file, POST /RPC2 with Basic auth", async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const dir = tempDir();
    const f = file(dir, 'agg-ab.csv', GOOD);
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url('hydra'), 'putfile', 'agg-ab'], {
      env: { HCD_PASSWORD: PW },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    const { attempts, calls } = await hcd.calls();
    assert.equal(attempts, 1);
    assert.equal(calls.length, 1);
    assert.deepEqual(
      { ...calls[0], content_b64: undefined },
      { method: 'putfile', name: 'agg-ab', encoding: 'base64', user: 'hydra', content_b64: undefined },
    );
    assert.equal(stored(calls[0]!), GOOD);
  });

  test('NAME alone, input on stdin, CRLF bytes kept exactly, --encoding string, --method', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const crlf = LINES.slice(0, 2).join('\r\n') + '\r\n';
    let r = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), '-f', '-', 'agg-ba'], {
      input: crlf,
      env: { HCD_PASSWORD: PW },
    });
    assert.equal(r.code, 0, r.stderr);
    r = await runBin(
      'hcd-putfile',
      ['-u', hcd.url('hydra'), '--encoding', 'string', '--method', 'hcd.putfile', 'agg-ab'],
      {
        input: GOOD,
        env: { HCD_PASSWORD: PW },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const { calls } = await hcd.calls();
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.name, 'agg-ba');
    assert.equal(Buffer.from(calls[0]!.content_b64, 'base64').toString('latin1'), crlf);
    assert.equal(calls[1]!.encoding, 'string');
    assert.equal(stored(calls[1]!), GOOD);
  });

  test('an explicit path is used as given; a wrong one is HTTP 404 → 76', async () => {
    const hcd = await startHcd();
    const r = await runBin('hcd-putfile', ['-u', hcd.url(undefined, '/nope'), 'agg-ab'], { input: GOOD });
    assert.equal(r.code, 76);
    assert.match(
      r.stderr,
      /^hcd-putfile: http:\/\/127\.0\.0\.1:\d+\/nope: HTTP 404 Not Found \(wrong path in --url\? hcdctl posts to \/RPC2\)/,
    );
    const ok = await runBin('hcd-putfile', ['-u', hcd.url(undefined, '/'), 'agg-ab'], { input: GOOD });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
  });

  test('--dry-run validates and prints what would be sent; nothing reaches hcd; | head -1 is fine', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const dir = tempDir();
    const f = file(dir, 'x.csv', GOOD);
    const r = await runBin('hcd-putfile', ['--dry-run', '-f', f, '-u', hcd.url('hydra'), 'agg-ab']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^would send ${f} as "agg-ab": 4 lines, ${GOOD.length} bytes, sha256 [0-9a-f]{64}, putfile\\("agg-ab", <base64>\\) to http://hydra@127\\.0\\.0\\.1:\\d+/RPC2\\n$`,
      ),
    );
    const h = await runShell(
      `"${process.execPath}" "${binPath('hcd-putfile')}" --dry-run -f "${f}" -u ${hcd.url()} agg-ab | head -1`,
    );
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stdout.split('\n').length, 2);
    assert.equal((await hcd.calls()).attempts, 0);
  });
});

describe('hcd-putfile validates before sending', () => {
  test('one bad line: file:line: field, expected and found; exit 65; nothing sent', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const f = file(
      dir,
      'bad.csv',
      `${LINES[0]}\n${LINES[1]}\nc1;;1291242854;1291242554;10.0.0.1/32;0.0.0.0/0;5;\n${LINES[3]}\n`,
    );
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), 'agg-ab']);
    assert.equal(r.code, 65);
    assert.equal(
      r.stderr,
      `hcd-putfile: ${f}:3: field "D_END": expected a time at or after D_BEGIN (1291242854) (got "1291242554")\n` +
        `hcd-putfile: 1 of 4 lines rejected (first: ${f}:3); nothing sent (--skip-bad sends the good lines)\n`,
    );
    assert.equal((await hcd.calls()).attempts, 0);
  });

  test('bad lines on stdin with --spool: the input is kept there (a pipe cannot be read twice), never flushed', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const input = `${LINES[0]}\nc1;;x;1291242554;10.0.0.1/32;0.0.0.0/0;5;\n`;
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), '--spool', spool, 'agg-ab'], { input });
    assert.equal(r.code, 65);
    const m = /the input is kept in (\S+_agg-ab\.rejected)\n$/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(readFileSync(m[1]!, 'utf8'), input);
    const f = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal((await hcd.calls()).attempts, 0);
  });

  test('--skip-bad sends the good lines and keeps the bad ones in FILE.rejected; exit 65', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const bad = [
      'c1;;1291242554;1291242554;10.0.0.1/33;0.0.0.0/0;5;',
      'c1;;1291242554;1291242554;10.0.0.1/32;0.0.0.0/0;-5;',
    ];
    const f = file(dir, 'mixed.csv', `${LINES[0]}\n${bad[0]}\n${LINES[1]}\n${bad[1]}\n`);
    const r = await runBin('hcd-putfile', ['--skip-bad', '-f', f, '-u', hcd.url(), 'agg-ab']);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /:2: field "ADDR_1\/MASK_1": expected a mask 0\.\.32 after the IPv4 address \(got "33"\)/);
    assert.match(r.stderr, /:4: field "BYTES": expected a non-negative integer \(got "-5"\)/);
    assert.match(r.stderr, new RegExp(`2 of 4 lines rejected \\(first: ${f}:2\\); kept in ${f}\\.rejected`));
    assert.equal(readFileSync(`${f}.rejected`, 'utf8'), `${bad.join('\n')}\n`);
    const { calls } = await hcd.calls();
    assert.equal(calls.length, 1);
    assert.equal(stored(calls[0]!), `${LINES[0]}\n${LINES[1]}\n`);
  });

  test('a file over 64 MiB is refused before anything is sent (65)', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const line = Buffer.from(`${LINES[0]}\n`);
    const big = Buffer.alloc((64 << 20) + line.length);
    for (let o = 0; o + line.length <= big.length; o += line.length) line.copy(big, o);
    const f = file(dir, 'big.csv', big);
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), 'agg-ab']);
    assert.equal(r.code, 65);
    assert.equal(r.stderr, `hcd-putfile: ${f}: larger than 67108864 bytes: split it into several uploads\n`);
    assert.equal((await hcd.calls()).attempts, 0);
  });

  test('--skip-bad on stdin needs --reject-file; with it, the rejects go there', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const input = `${LINES[0]}\nnot a line\n`;
    const u = await runBin('hcd-putfile', ['--skip-bad', '-u', hcd.url(), 'agg-ab'], { input });
    assert.equal(u.code, 64);
    const rej = join(dir, 'rej.txt');
    const r = await runBin('hcd-putfile', ['--skip-bad', '--reject-file', rej, '-u', hcd.url(), 'agg-ab'], { input });
    assert.equal(r.code, 65);
    assert.match(r.stderr, /stdin:2: expected 7 fields each followed by ";" \(got 1 field without a trailing ";"\)/);
    assert.equal(readFileSync(rej, 'utf8'), 'not a line\n');
    assert.equal((await hcd.calls()).calls.length, 1);
  });
});

describe('hcd-putfile passwords', () => {
  test('a password in the URL works but is warned about, and never printed, even with -v', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const r = await runBin('hcd-putfile', ['-v', '-u', hcd.url(`hydra:${encodeURIComponent(PW)}`), 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /a password in --url can be read by other users/);
    assert.match(r.stderr, /> Authorization: Basic \*\*\*\n/);
    assert.match(r.stderr, /< HTTP 200 OK/);
    assert.ok(!r.stderr.includes(PW) && !r.stderr.includes(encodeURIComponent(PW)), 'password not shown');
    assert.ok(!r.stderr.includes(Buffer.from(`hydra:${PW}`).toString('base64')), 'no Basic credentials shown');
    assert.match(r.stderr, /to http:\/\/hydra:\*\*\*@127\.0\.0\.1:\d+\/RPC2; hcd answered true/);
  });

  test('HCD_PASSWORD: used, and absent from the -v trace', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const r = await runBin('hcd-putfile', ['-v', '-u', hcd.url('hydra'), 'agg-ab'], {
      input: GOOD,
      env: { HCD_PASSWORD: PW },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /> Authorization: Basic \*\*\*\n/);
    assert.ok(!r.stderr.includes(PW) && !r.stderr.includes(Buffer.from(`hydra:${PW}`).toString('base64')));
    assert.doesNotMatch(r.stderr, /password in --url/);
    assert.equal((await hcd.calls()).calls[0]!.user, 'hydra');
  });

  test('HCD_URL with the password: no warning (not on the command line); --password-file - reads stdin', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const dir = tempDir();
    const f = file(dir, 'x.csv', GOOD);
    const r = await runBin('hcd-putfile', ['-f', f, 'agg-ab'], {
      env: { HCD_URL: hcd.url(`hydra:${encodeURIComponent(PW)}`) },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const p = await runBin('hcd-putfile', ['-f', f, '--password-file', '-', '-u', hcd.url('hydra'), 'agg-ba'], {
      input: `${PW}\n`,
    });
    assert.equal(p.code, 0, p.stderr);
    const both = await runBin('hcd-putfile', ['--password-file', '-', '-u', hcd.url('hydra'), 'agg-ba'], {
      input: `${PW}\n`,
    });
    assert.equal(both.code, 64);
    assert.match(both.stderr, /--password-file -: stdin already carries the statistics file/);
    assert.deepEqual(
      (await hcd.calls()).calls.map((c) => c.name),
      ['agg-ab', 'agg-ba'],
    );
  });

  test('no password anywhere and a terminal on stdin: prompts without echo (real pty via script(1))', async (t) => {
    if (!needs(t, 'script')) return;
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const dir = tempDir();
    const f = file(dir, 'x.csv', GOOD);
    const cmd = `"${process.execPath}" "${binPath('hcd-putfile')}" -u ${hcd.url('hydra')} -f "${f}" agg-ab; echo "exit=$?"`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HCD_PASSWORD: '' },
    });
    let out = '';
    const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Password for hydra: ')) resolve();
      });
      child.on('close', () => resolve()); // no prompt: the assertions below say what happened
    });
    child.stdin.write(`${PW}\r`);
    await done;
    assert.match(out, /exit=0/, out);
    assert.ok(!out.includes(PW), `password echoed: ${out}`);
    assert.equal((await hcd.calls()).calls.length, 1);
  });

  test('wrong password → 401 → exit 77, URL masked; 403 → 77', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const r = await runBin('hcd-putfile', ['-u', hcd.url('hydra:wrong-one'), 'agg-ab', ...FAST], { input: GOOD });
    assert.equal(r.code, 77);
    assert.match(
      r.stderr,
      /http:\/\/hydra:\*\*\*@127\.0\.0\.1:\d+\/RPC2: HTTP 401 Unauthorized: authentication refused/,
    );
    assert.ok(!r.stderr.includes('wrong-one'));
    assert.equal((await hcd.calls()).attempts, 1, 'auth failures are not retried');
    await hcd.control('mode=status&code=403');
    const f = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), 'agg-ab'], {
      input: GOOD,
      env: { HCD_PASSWORD: PW },
    });
    assert.equal(f.code, 77);
    assert.match(f.stderr, /HTTP 403 Forbidden: authentication refused/);
  });

  test('--password-file: refused when group/others may read it (77), used when mode 600', async () => {
    const hcd = await startHcd({ user: 'hydra', password: PW });
    const dir = tempDir();
    const pwFile = file(dir, 'hcd.pw', `${PW}\n`);
    chmodSync(pwFile, 0o640);
    const r = await runBin('hcd-putfile', ['--password-file', pwFile, '-u', hcd.url('hydra'), 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 77);
    assert.equal(
      r.stderr,
      `hcd-putfile: --password-file ${pwFile}: group or others may access it (mode 0640); run: chmod 600 ${pwFile}\n`,
    );
    assert.equal((await hcd.calls()).attempts, 0);
    chmodSync(pwFile, 0o600);
    const ok = await runBin('hcd-putfile', ['--password-file', pwFile, '-u', hcd.url('hydra'), 'agg-ab'], {
      input: GOOD,
      env: { HCD_PASSWORD: 'ignored' },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
  });
});

describe('hcd-putfile failures', () => {
  test('429 twice then success: retried with backoff, stored once', async () => {
    const hcd = await startHcd();
    await hcd.control('mode=status&code=429&count=2');
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), '--retries', '3', ...FAST, 'agg-ab'], { input: GOOD });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /HTTP 429 Too Many Requests; attempt 1 of 4 failed, retrying in 0\.01 s/);
    assert.match(r.stderr, /attempt 2 of 4 failed, retrying in 0\.02 s/);
    const { attempts, calls } = await hcd.calls();
    assert.equal(attempts, 3);
    assert.equal(calls.length, 1);
  });

  test('429 every time: gives up after the retries with exit 75', async () => {
    const hcd = await startHcd();
    await hcd.control('mode=status&code=429');
    const r = await runBin('hcd-putfile', ['-q', '-u', hcd.url(), '--retries', '2', ...FAST, 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      /^hcd-putfile: http:\/\/127\.0\.0\.1:\d+\/RPC2: HTTP 429 Too Many Requests \(gave up after 3 attempts\)\n$/,
    );
    assert.equal((await hcd.calls()).attempts, 3);
  });

  test('HTTP 500: in doubt after one attempt (hcd may have stored it), 75, says what to check in Hydra', async () => {
    const hcd = await startHcd();
    await hcd.control('mode=status&code=500');
    const r = await runBin('hcd-putfile', ['-q', '-u', hcd.url(), '--retries', '2', ...FAST, 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      /^hcd-putfile: http:\/\/127\.0\.0\.1:\d+\/RPC2: HTTP 500 Internal Server Error: hcd got the whole file and may have stored it, so it is in doubt and not sent again; check in Hydra whether statistics "agg-ab" has an upload of 4 lines \(\d+ bytes\) made at \S+Z; if it has not, send it again\n$/,
    );
    assert.equal((await hcd.calls()).attempts, 1, 'not resent');
  });
  test('connection refused: retried, then 75', async () => {
    const port = await closedPort();
    const r = await runBin(
      'hcd-putfile',
      ['-q', '-u', `http://127.0.0.1:${port}`, '--retries', '1', ...FAST, 'agg-ab'],
      { input: GOOD },
    );
    assert.equal(r.code, 75);
    assert.equal(
      r.stderr,
      `hcd-putfile: http://127.0.0.1:${port}/RPC2: connection refused (gave up after 2 attempts)\n`,
    );
  });

  test('XML-RPC fault → 76 with the code and text, not retried', async () => {
    const hcd = await startHcd();
    await hcd.control(`mode=fault&code=17&text=${encodeURIComponent('unknown statistics agg-zz')}`);
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), ...FAST, 'agg-ab'], { input: GOOD });
    assert.equal(r.code, 76);
    assert.match(r.stderr, /: XML-RPC fault 17: unknown statistics agg-zz\n$/);
    assert.equal((await hcd.calls()).attempts, 1);
  });

  test('an answer that is not XML-RPC: in doubt (something took the request), 75, not resent', async () => {
    const hcd = await startHcd();
    await hcd.control('mode=garbage');
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), ...FAST, 'agg-ab'], { input: GOOD });
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      /malformed XML-RPC answer: .*\(got "<html><body>this is not hcd<\/body><\/html>"\): hcd got the whole file and may have stored it/,
    );
    assert.equal((await hcd.calls()).attempts, 1);
  });

  test('no answer after the request was sent: --timeout, then in doubt (75), not resent', async () => {
    const hcd = await startHcd();
    await hcd.control('mode=hang');
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), '--timeout', '0.3', '--retries', '1', ...FAST, 'agg-ab'], {
      input: GOOD,
    });
    await hcd.control('release=1');
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      /RPC2: no answer within 0\.3 s \(--timeout\): hcd got the whole file and may have stored it, so it is in doubt/,
    );
    assert.equal((await hcd.calls()).held, 1);
  });

  test('--connect-timeout: a server that accepts TCP but never completes the TLS handshake', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await runBin(
        'hcd-putfile',
        [
          '-q',
          '-u',
          `https://127.0.0.1:${port}`,
          '--connect-timeout',
          '0.2',
          '--timeout',
          '30',
          '--retries',
          '0',
          'agg-ab',
        ],
        {
          input: GOOD,
        },
      );
      assert.equal(r.code, 75);
      assert.equal(
        r.stderr,
        `hcd-putfile: https://127.0.0.1:${port}/RPC2: could not connect within 0.2 s (--connect-timeout)\n`,
      );
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('hcd-putfile over HTTPS', () => {
  test('a self-signed certificate is refused by default (77), accepted with --ca, and with --insecure after a warning', async (t) => {
    if (!needs(t, 'openssl')) return;
    const dir = tempDir();
    const { cert, key } = makeCert(dir);
    const hcd = await startHcd({ user: 'hydra', password: PW, cert, key });
    const env = { HCD_PASSWORD: PW };
    const refused = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), 'agg-ab'], { input: GOOD, env });
    assert.equal(refused.code, 77);
    assert.match(
      refused.stderr,
      /^hcd-putfile: https:\/\/hydra@127\.0\.0\.1:\d+\/RPC2: TLS: server certificate not trusted: self[- ]signed certificate \(give its CA with --ca FILE, or --insecure\)\n$/,
    );
    const withCa = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), '--ca', cert, 'agg-ab'], { input: GOOD, env });
    assert.equal(withCa.code, 0, withCa.stderr);
    assert.equal(withCa.stderr, '');
    const insecure = await runBin('hcd-putfile', ['-u', hcd.url('hydra'), '--insecure', 'agg-ba'], {
      input: GOOD,
      env,
    });
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /--insecure: the server certificate is not verified/);
  });
});

describe('hcd-putfile never loses, never sends twice', () => {
  test('--spool keeps what could not be sent; --flush-spool sends it oldest first, exactly once', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const state = join(dir, 'ledger.json');
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const first = `${LINES[0]}\n`;
    const second = `${LINES[1]}\n`;
    let r = await runBin(
      'hcd-putfile',
      ['-q', '-u', url, '--retries', '0', '--spool', spool, '--state', state, 'agg-ab'],
      { input: first },
    );
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      new RegExp(
        `connection refused; kept in ${spool}/\\S+_agg-ab\\.hcd \\(hcd-putfile --flush-spool ${spool} sends it\\)\\n$`,
      ),
    );
    r = await runBin('hcd-putfile', ['-q', '-u', url, '--retries', '0', '--spool', spool, '--state', state, 'agg-ba'], {
      input: second,
    });
    assert.equal(r.code, 75);
    const waiting = readdirSync(spool).filter((n) => n.endsWith('.hcd'));
    assert.equal(waiting.length, 2);
    assert.ok(
      readdirSync(spool).every((n) => !n.includes('.tmp-')),
      'no temporary files left',
    );

    // Still down: flushing keeps everything.
    r = await runBin('hcd-putfile', ['-q', '-u', url, '--retries', '0', '--state', state, '--flush-spool', spool]);
    assert.equal(r.code, 75);
    assert.match(r.stderr, /connection refused; 2 files left in /);

    const hcd = await startHcd({ port });
    r = await runBin('hcd-putfile', ['-u', url, '--state', state, '--flush-spool', spool]);
    assert.equal(r.code, 0, r.stderr);
    const { calls } = await hcd.calls();
    assert.deepEqual(
      calls.map((c) => [c.name, stored(c)]),
      [
        ['agg-ab', first],
        ['agg-ba', second],
      ],
    );
    assert.deepEqual(
      readdirSync(spool).filter((n) => n.endsWith('.hcd')),
      [],
    );
    r = await runBin('hcd-putfile', ['-u', url, '--state', state, '--flush-spool', spool]);
    assert.equal(r.code, 0);
    // And the ledger refuses the same content sent directly now.
    r = await runBin('hcd-putfile', ['-u', url, '--state', state, 'agg-ab'], { input: first });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /stdin: already sent as "agg-ab" at \S+ .*not sent again \(--force sends it anyway\)/);
    assert.equal((await hcd.calls()).attempts, 2);
  });

  test('--state: the same content is sent once; --force sends it again; other content goes', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const f = file(dir, 'agg-ab.csv', GOOD);
    const missingDir = await runBin('hcd-putfile', [
      '-f',
      f,
      '-u',
      hcd.url(),
      '--state',
      join(dir, 'no', 'ledger.json'),
      'agg-ab',
    ]);
    assert.equal(missingDir.code, 73, 'the ledger directory must exist');
    assert.equal((await hcd.calls()).attempts, 0);
    const state2 = join(dir, 'ledger.json');
    const run2 = (...extra: string[]) =>
      runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state2, ...extra, 'agg-ab']);
    assert.equal((await run2()).code, 0);
    const again = await run2();
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already sent as "agg-ab"/);
    assert.equal((await hcd.calls()).calls.length, 1);
    const forced = await run2('--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await hcd.calls()).calls.length, 2);
    const ledger = JSON.parse(readFileSync(state2, 'utf8')) as {
      entries: Array<{ name: string; state: string; bytes: number }>;
    };
    assert.equal(ledger.entries.length, 1);
    assert.equal(ledger.entries[0]!.state, 'sent');
    assert.equal(ledger.entries[0]!.bytes, GOOD.length);
    // A --force that fails before hcd took it keeps the record of the earlier delivery.
    await hcd.control('mode=status&code=429');
    const failed = await run2('--force', '--retries', '0');
    assert.equal(failed.code, 75);
    const after = JSON.parse(readFileSync(state2, 'utf8')) as { entries: Array<{ state: string }> };
    assert.deepEqual(
      after.entries.map((e) => e.state),
      ['sent'],
    );
    await hcd.control('mode=ok');
    writeFileSync(f, `${LINES[0]}\n`);
    assert.equal((await run2()).code, 0);
    assert.equal((await hcd.calls()).calls.length, 3);
    assert.ok(!existsSync(`${state2}.lock`), 'lock released');
  });

  test('a run that died while sending leaves a mark: the next run refuses to guess', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const state = join(dir, 'ledger.json');
    const f = file(dir, 'x.csv', GOOD);
    // Make a real "sending" entry: the server holds the call, the sender is killed.
    await hcd.control('mode=hang');
    const pending = runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, 'agg-ab'], {
      timeoutMs: 60_000,
    });
    for (let i = 0; i < 2400 && (await hcd.calls()).held === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const ledger = JSON.parse(readFileSync(state, 'utf8')) as { entries: Array<{ state: string; pid: number }> };
    assert.equal(ledger.entries[0]!.state, 'sending');
    process.kill(ledger.entries[0]!.pid, 'SIGKILL');
    await pending;
    await hcd.control('mode=ok');
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, 'agg-ab']);
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      new RegExp(
        `in doubt: a run \\(pid \\d+\\) stopped while sending it as "agg-ab" at \\S+; not sent: check in Hydra whether statistics "agg-ab" has an upload of 4 lines \\(\\d+ bytes\\) made at \\S+; if it has, hcd-putfile --state ${state} --mark-delivered agg-ab; if not, hcd-putfile --state ${state} -f FILE --resend-in-doubt agg-ab\\n$`,
      ),
    );
    const listed = await runBin('hcd-putfile', ['--state', state, '--in-doubt']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      new RegExp(
        `^name\tfile\tsha256\tbytes\twhen\twhy\nagg-ab\t${f}\t[0-9a-f]{64}\t${GOOD.length}\t\\S+\ta run \\(pid \\d+\\) stopped while sending it\n$`,
      ),
    );
    // --force no longer decides a doubt: only the operator's verbs do
    const forced = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, '--force', 'agg-ab']);
    assert.equal(forced.code, 75, forced.stderr);
    assert.equal((await hcd.calls()).calls.length, 0);
    const resent = await runBin('hcd-putfile', [
      '-f',
      f,
      '-u',
      hcd.url(),
      '--state',
      state,
      '--resend-in-doubt',
      'agg-ab',
    ]);
    assert.equal(resent.code, 0, resent.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
    assert.deepEqual(
      ledgerOf(state).map((e) => e.state),
      ['sent'],
    );
    // nothing is in doubt any more: a second --resend-in-doubt is refused, not sent
    const twice = await runBin('hcd-putfile', [
      '-f',
      f,
      '-u',
      hcd.url(),
      '--state',
      state,
      '--resend-in-doubt',
      'agg-ab',
    ]);
    assert.equal(twice.code, 65, twice.stderr);
    assert.match(twice.stderr, /not in doubt as "agg-ab"/);
    assert.equal((await hcd.calls()).calls.length, 1);
  });

  test('a run killed while it waits to retry leaves no mark: the next run sends', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const state = join(dir, 'ledger.json');
    const f = file(dir, 'x.csv', GOOD);
    await hcd.control('mode=status&code=429');
    const child = spawn(
      process.execPath,
      [binPath('hcd-putfile'), '-q', '-f', f, '-u', hcd.url(), '--state', state, '--retry-delay', '600', 'agg-ab'],
      { stdio: 'ignore' },
    );
    const exited = new Promise((r) => child.on('exit', r));
    const entries = (): Array<{ state: string }> | undefined => {
      try {
        return (JSON.parse(readFileSync(state, 'utf8')) as { entries: Array<{ state: string }> }).entries;
      } catch {
        return undefined; // not written yet
      }
    };
    // Wait until the failed attempt has been answered and its mark cleared: the run now sleeps.
    for (let i = 0; i < 2400; i++) {
      if ((await hcd.calls()).attempts >= 1 && entries()?.length === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.deepEqual(entries(), []);
    child.kill('SIGTERM');
    await exited;
    await hcd.control('mode=ok');
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, 'agg-ab']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
  });

  test('two concurrent runs: one sends, the other finds the lock held (75)', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const state = join(dir, 'ledger.json');
    const f = file(dir, 'x.csv', GOOD);
    await hcd.control('mode=hang'); // the first call is held, so both runs overlap
    const args = ['-f', f, '-u', hcd.url(), '--state', state, 'agg-ab'];
    const a = runBin('hcd-putfile', args);
    const b = runBin('hcd-putfile', args);
    const loser = await Promise.race([a, b]);
    assert.equal(loser.code, 75, loser.stderr);
    assert.match(loser.stderr, new RegExp(`${state}\\.lock: locked by pid \\d+ on \\S+; try again later`));
    await hcd.control('release=1');
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.code, rb.code].sort(), [0, 75]);
    const { calls } = await hcd.calls();
    assert.equal(calls.length, 1);
    assert.equal(stored(calls[0]!), GOOD);
  });

  test('lock held with --spool: the file is kept for the next flush', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const lock = join(dir, 'run.lock');
    writeFileSync(lock, `${process.pid} ${(await import('node:os')).hostname()}\n`); // held by this (live) test process
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), '--lock', lock, '--spool', spool, 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 75);
    assert.match(r.stderr, /locked by pid \d+ on \S+; try again later.*; kept in \S+_agg-ab\.hcd/);
    assert.equal(readdirSync(spool).filter((n) => n.endsWith('.hcd')).length, 1);
    // A lock left by a dead process is taken over.
    writeFileSync(lock, `999999999 ${(await import('node:os')).hostname()}\n`);
    const flushed = await runBin('hcd-putfile', ['-u', hcd.url(), '--lock', lock, '--flush-spool', spool]);
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
    assert.ok(!existsSync(lock));
    // The spool's own ledger (no --state given) now knows the content: not sent a second time.
    assert.ok(existsSync(join(spool, '.hcd-putfile-ledger.json')));
    const again = await runBin('hcd-putfile', ['-u', hcd.url(), '--spool', spool, 'agg-ab'], { input: GOOD });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already sent as "agg-ab"/);
    assert.equal((await hcd.calls()).attempts, 1);
  });
});

interface LedgerDoc {
  entries: Array<{ name: string; state: string; note?: string; bytes: number; lines: number }>;
}

function ledgerOf(path: string): LedgerDoc['entries'] {
  return (JSON.parse(readFileSync(path, 'utf8')) as LedgerDoc).entries;
}

function spooled(spool: string): string[] {
  return readdirSync(spool).filter((n) => n.endsWith('.hcd'));
}

describe('hcd-putfile: an answer it could not read leaves the file in doubt, never resent unasked', () => {
  for (const [mode, cause] of [
    ['stored-hang', /no answer within 0\.5 s \(--timeout\)/],
    ['stored-500', /HTTP 500 Internal Server Error/],
    ['stored-cut', /connection (closed in the middle of the answer|reset by peer)|closed before an answer/],
  ] as const) {
    test(`hcd stores the file, then ${mode.slice(7)}: stored exactly once across putfile + flush-spool; --mark-delivered settles it`, async () => {
      const hcd = await startHcd();
      const dir = tempDir();
      const spool = join(dir, 'spool');
      const ledger = join(spool, '.hcd-putfile-ledger.json');
      await hcd.control(`mode=${mode}`);
      const r = await runBin(
        'hcd-putfile',
        ['-u', hcd.url(), '--spool', spool, '--retries', '3', '--timeout', '0.5', ...FAST, 'agg-ab'],
        { input: GOOD },
      );
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, cause);
      const [file] = spooled(spool);
      assert.ok(file, 'kept in the spool');
      assert.ok(
        r.stderr.endsWith(
          `: hcd got the whole file and may have stored it, so it is in doubt and not sent again; check in Hydra whether statistics "agg-ab" has an upload of 4 lines (${GOOD.length} bytes) made at ${/made at (\S+);/.exec(r.stderr)?.[1]}; ` +
            `kept in ${spool}/${file}: if it has, hcd-putfile --state ${ledger} --flush-spool ${spool} --mark-delivered agg-ab; if not, hcd-putfile --state ${ledger} --flush-spool ${spool} --resend-in-doubt agg-ab\n`,
        ),
        r.stderr,
      );
      assert.deepEqual(await hcd.calls().then((c) => [c.attempts, c.calls.length]), [1, 1], 'one request, stored once');
      assert.deepEqual(
        ledgerOf(ledger).map((e) => [e.name, e.state]),
        [['agg-ab', 'in-doubt']],
      );
      assert.match(ledgerOf(ledger)[0]!.note!, cause);
      await hcd.control('release=1');
      await hcd.control('mode=ok');

      // hcd works again: the flush sends nothing in doubt, and says so (75 until someone looks).
      const list = await runBin('hcd-putfile', ['--dry-run', '-u', hcd.url(), '--flush-spool', spool]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(
        list.stdout,
        new RegExp(
          `^in doubt: ${spool}/${file}: sent as "agg-ab" at \\S+, .+; not sent without --resend-in-doubt agg-ab\\n$`,
        ),
      );
      const listed = await runBin('hcd-putfile', ['--spool', spool, '--in-doubt']);
      assert.equal(listed.code, 0, listed.stderr);
      const row = listed.stdout.split('\n')[1]!.split('\t');
      assert.deepEqual(row.slice(0, 2), ['agg-ab', `${spool}/${file}`]);
      assert.equal(row[3], String(GOOD.length));
      assert.match(row[5]!, cause);
      const flush = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool]);
      assert.equal(flush.code, 75, flush.stderr);
      assert.match(
        flush.stderr,
        new RegExp(
          `${file}: in doubt: sent as "agg-ab" at \\S+, .+; not sent: check in Hydra whether statistics "agg-ab" has an upload of 4 lines`,
        ),
      );
      // The same content sent directly is refused too.
      const again = await runBin('hcd-putfile', ['-u', hcd.url(), '--spool', spool, 'agg-ab'], { input: GOOD });
      assert.equal(again.code, 75, again.stderr);
      assert.match(again.stderr, /in doubt: sent as "agg-ab" at \S+, .+; not sent: check in Hydra/);
      assert.doesNotMatch(again.stderr, /--flush-spool \S+ sends it/, 'not spooled to be sent');
      assert.equal((await hcd.calls()).calls.length, 1);
      assert.deepEqual(spooled(spool), [file]);

      // The operator found it in Hydra (by NAME, or by the spooled file's name for the first case).
      const target = mode === 'stored-hang' ? join(spool, file) : 'agg-ab';
      const mark = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool, '--mark-delivered', target]);
      assert.equal(mark.code, 0, mark.stderr);
      assert.deepEqual(spooled(spool), []);
      assert.deepEqual(
        ledgerOf(ledger).map((e) => [e.state, e.note]),
        [['sent', 'marked delivered by the operator (--mark-delivered): found in Hydra, not sent']],
      );
      const none = await runBin('hcd-putfile', ['--spool', spool, '--in-doubt']);
      assert.equal(none.stdout, 'name\tfile\tsha256\tbytes\twhen\twhy\n');
      const direct = await runBin('hcd-putfile', ['-u', hcd.url(), '--spool', spool, 'agg-ab'], { input: GOOD });
      assert.equal(direct.code, 0, direct.stderr);
      assert.match(direct.stderr, /already sent as "agg-ab"/);
      const { attempts, calls } = await hcd.calls();
      assert.equal(calls.length, 1, 'stored exactly once');
      assert.equal(attempts, 1, 'never sent a second time');
      assert.equal(stored(calls[0]!), GOOD);
    });
  }

  test('--resend-in-doubt FILE: the operator found it missing in Hydra; sent once, the doubt cleared', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const state = join(dir, 'ledger.json');
    await hcd.control('mode=status&code=502'); // answered 5xx without storing: in doubt all the same
    const r = await runBin(
      'hcd-putfile',
      ['-q', '-u', hcd.url(), '--spool', spool, '--state', state, ...FAST, 'agg-ab'],
      { input: GOOD },
    );
    assert.equal(r.code, 75);
    assert.equal((await hcd.calls()).calls.length, 0);
    const [file] = spooled(spool);
    await hcd.control('mode=ok');
    // Another file waiting behind it is not held up by the one in doubt.
    const other = await runBin(
      'hcd-putfile',
      [
        '-q',
        '-u',
        `http://127.0.0.1:${await closedPort()}`,
        '--spool',
        spool,
        '--state',
        state,
        '--retries',
        '0',
        'agg-ba',
      ],
      { input: `${LINES[0]}\n` },
    );
    assert.equal(other.code, 75);
    const flush = await runBin('hcd-putfile', ['-u', hcd.url(), '--state', state, '--flush-spool', spool]);
    assert.equal(flush.code, 75);
    assert.deepEqual(
      (await hcd.calls()).calls.map((c) => c.name),
      ['agg-ba'],
    );
    assert.deepEqual(spooled(spool), [file]);
    const resend = await runBin('hcd-putfile', [
      '-v',
      '-u',
      hcd.url(),
      '--state',
      state,
      '--flush-spool',
      spool,
      '--resend-in-doubt',
      file!,
    ]);
    assert.equal(resend.code, 0, resend.stderr);
    assert.deepEqual(spooled(spool), []);
    assert.deepEqual(
      ledgerOf(state).map((e) => [e.name, e.state]),
      [
        ['agg-ba', 'sent'],
        ['agg-ab', 'sent'],
      ],
    );
    const again = await runBin('hcd-putfile', ['-u', hcd.url(), '--state', state, '--flush-spool', spool]);
    assert.equal(again.code, 0);
    const { calls } = await hcd.calls();
    assert.deepEqual(
      calls.map((c) => c.name),
      ['agg-ba', 'agg-ab'],
    );
    assert.equal(stored(calls[1]!), GOOD);
  });

  test('a spooled file in doubt holds the later files of its name, in order; --resend-in-doubt NAME sends it from its source file', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const state = join(dir, 'ledger.json');
    const first = file(dir, 'first.csv', GOOD);
    await hcd.control('mode=status&code=500');
    // sent without a spool: in doubt, and no copy of it is spooled
    const r = await runBin('hcd-putfile', ['-q', '-u', hcd.url(), '--state', state, '-f', first, ...FAST, 'agg-ab']);
    assert.equal(r.code, 75);
    // the next file of the same name, hcd down: spooled
    const down = `http://127.0.0.1:${await closedPort()}`;
    const later = await runBin(
      'hcd-putfile',
      ['-q', '-u', down, '--spool', spool, '--state', state, '--retries', '0', 'agg-ab'],
      { input: `${LINES[0]}\n` },
    );
    assert.equal(later.code, 75);
    await hcd.control('mode=ok');
    const flush = await runBin('hcd-putfile', ['-u', hcd.url(), '--state', state, '--flush-spool', spool]);
    assert.equal(flush.code, 0, 'the one in doubt is not in the spool: nothing holds the later file');
    // (the cycle never uploads a name in doubt; a flush holds a name only behind a spooled file)
    assert.equal((await hcd.calls()).calls.length, 1);

    // now both in the spool: the second waits behind the first
    const hcd2 = await startHcd();
    const spool2 = join(dir, 'spool2');
    const state2 = join(dir, 'ledger2.json');
    await hcd2.control('mode=status&code=500');
    assert.equal(
      (
        await runBin('hcd-putfile', [
          '-q',
          '-u',
          hcd2.url(),
          '--spool',
          spool2,
          '--state',
          state2,
          '-f',
          first,
          ...FAST,
          'agg-ab',
        ])
      ).code,
      75,
    );
    assert.equal(
      (
        await runBin(
          'hcd-putfile',
          ['-q', '-u', down, '--spool', spool2, '--state', state2, '--retries', '0', 'agg-ab'],
          { input: `${LINES[0]}\n` },
        )
      ).code,
      75,
    );
    assert.equal(
      (
        await runBin(
          'hcd-putfile',
          ['-q', '-u', down, '--spool', spool2, '--state', state2, '--retries', '0', 'agg-ba'],
          { input: `${LINES[1]}\n` },
        )
      ).code,
      75,
    );
    await hcd2.control('mode=ok');
    const held = await runBin('hcd-putfile', ['-u', hcd2.url(), '--state', state2, '--flush-spool', spool2]);
    assert.equal(held.code, 75, held.stderr);
    assert.match(held.stderr, /waits: an earlier upload of "agg-ab" is in doubt \(\S+_agg-ab\.hcd\)/);
    assert.deepEqual(
      (await hcd2.calls()).calls.map((c) => c.name),
      ['agg-ba'],
      'another name goes on',
    );
    assert.equal(spooled(spool2).length, 2);
    // the first's spooled copy is gone (removed by hand): resent from the file it was sent from
    const [doubtful] = spooled(spool2);
    rmSync(join(spool2, doubtful!));
    const resend = await runBin('hcd-putfile', [
      '-u',
      hcd2.url(),
      '--state',
      state2,
      '--flush-spool',
      spool2,
      '--resend-in-doubt',
      'agg-ab',
    ]);
    assert.equal(resend.code, 0, resend.stderr);
    const { calls } = await hcd2.calls();
    assert.deepEqual(
      calls.map((c) => [c.name, stored(c)]),
      [
        ['agg-ba', `${LINES[1]}\n`],
        ['agg-ab', GOOD],
        ['agg-ab', `${LINES[0]}\n`],
      ],
      'in order, each once',
    );
    assert.deepEqual(spooled(spool2), []);
  });

  test('connection refused: provably not delivered, so retried, spooled, and later delivered once (no doubt)', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const r = await runBin('hcd-putfile', ['-u', url, '--spool', spool, '--retries', '2', ...FAST, 'agg-ab'], {
      input: GOOD,
    });
    assert.equal(r.code, 75);
    assert.match(r.stderr, /connection refused; attempt 2 of 3 failed/);
    assert.match(r.stderr, /connection refused \(gave up after 3 attempts\); kept in /);
    assert.doesNotMatch(r.stderr, /in doubt/);
    assert.ok(
      !existsSync(join(spool, '.hcd-putfile-ledger.json')) ||
        ledgerOf(join(spool, '.hcd-putfile-ledger.json')).length === 0,
    );
    const hcd = await startHcd({ port });
    const flush = await runBin('hcd-putfile', ['-u', url, '--flush-spool', spool]);
    assert.equal(flush.code, 0, flush.stderr);
    const again = await runBin('hcd-putfile', ['-u', url, '--flush-spool', spool]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
  });

  test('an XML-RPC fault: hcd refused it, so the flush may send it again', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const spool = join(dir, 'spool');
    await hcd.control(`mode=fault&code=3&text=${encodeURIComponent('busy')}`);
    const r = await runBin('hcd-putfile', ['-u', hcd.url(), '--spool', spool, 'agg-ab'], { input: GOOD });
    assert.equal(r.code, 76);
    assert.match(
      r.stderr,
      /XML-RPC fault 3: busy; kept in \S+_agg-ab\.hcd \(hcd-putfile --flush-spool \S+ sends it\)\n$/,
    );
    await hcd.control('mode=ok');
    const flush = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.deepEqual(spooled(spool), []);
    assert.deepEqual(await hcd.calls().then((c) => [c.attempts, c.calls.length]), [2, 1]);
  });

  test('a flush ends with its worst file: a damaged one alone 65, with one hcd refuses 76', async () => {
    const hcd = await startHcd();
    const spool = join(tempDir(), 'spool');
    await hcd.control(`mode=fault&code=3&text=${encodeURIComponent('busy')}`);
    assert.equal(
      (await runBin('hcd-putfile', ['-q', '-u', hcd.url(), '--spool', spool, 'agg-ab'], { input: GOOD })).code,
      76,
    );
    assert.equal(
      (await runBin('hcd-putfile', ['-q', '-u', hcd.url(), '--spool', spool, 'agg-cd'], { input: `${LINES[0]}\n` }))
        .code,
      76,
    );
    const damaged = spooled(spool).find((f) => f.endsWith('_agg-ab.hcd'))!;
    writeFileSync(join(spool, damaged), `${LINES[1]}\n`);
    const refused = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool]);
    assert.equal(refused.code, 76, refused.stderr);
    assert.match(
      refused.stderr,
      /_agg-ab\.hcd: content does not match the digest in its name \(damaged\?\); left in place\n/,
    );
    assert.match(refused.stderr, /_agg-cd\.hcd: .*XML-RPC fault 3: busy; left in the spool\n/);
    await hcd.control('mode=ok');
    const sent = await runBin('hcd-putfile', ['-u', hcd.url(), '--flush-spool', spool]);
    assert.equal(sent.code, 65, sent.stderr);
    assert.deepEqual(spooled(spool), [damaged]);
  });

  test('without a spool: in doubt in the ledger, the same file refused (--force too) until --resend-in-doubt NAME', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const state = join(dir, 'ledger.json');
    const f = file(dir, 'agg-ab.csv', GOOD);
    await hcd.control('mode=stored-500');
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, ...FAST, 'agg-ab']);
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      new RegExp(
        `in doubt and not sent again; check in Hydra whether statistics "agg-ab" has an upload of 4 lines \\(\\d+ bytes\\) made at \\S+; if it has, hcd-putfile --state ${state} --mark-delivered agg-ab; if not, hcd-putfile --state ${state} -f FILE --resend-in-doubt agg-ab\\n$`,
      ),
    );
    await hcd.control('mode=ok');
    const again = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, 'agg-ab']);
    assert.equal(again.code, 75);
    assert.match(
      again.stderr,
      new RegExp(
        `^hcd-putfile: ${f}: in doubt: sent as "agg-ab" at \\S+, .*HTTP 500 Internal Server Error; not sent: check in Hydra`,
      ),
    );
    const dry = await runBin('hcd-putfile', ['--dry-run', '-f', f, '-u', hcd.url(), '--state', state, 'agg-ab']);
    assert.match(dry.stdout, /\(in doubt since \S+: would be refused without --resend-in-doubt\)\n$/);
    const forced = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), '--state', state, '--force', 'agg-ab']);
    assert.equal(forced.code, 75, forced.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
    // another file is not what is in doubt: refused by --resend-in-doubt
    const other = file(dir, 'other.csv', `${LINES[0]}\n`);
    const wrong = await runBin('hcd-putfile', [
      '-f',
      other,
      '-u',
      hcd.url(),
      '--state',
      state,
      '--resend-in-doubt',
      'agg-ab',
    ]);
    assert.equal(wrong.code, 65, wrong.stderr);
    assert.equal((await hcd.calls()).calls.length, 1);
    const resent = await runBin('hcd-putfile', [
      '-f',
      f,
      '-u',
      hcd.url(),
      '--state',
      state,
      '--resend-in-doubt',
      'agg-ab',
      'agg-ab',
    ]);
    assert.equal(resent.code, 0, resent.stderr);
    assert.deepEqual(
      ledgerOf(state).map((e) => e.state),
      ['sent'],
    );
    assert.equal((await hcd.calls()).calls.length, 2, 'the operator asked for it');
  });

  test('the verbs: NAME or a spooled file that is there, something in doubt, not both', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const name = '20261122T030405678Z-0001_0123456789ab_agg-ab.hcd';
    for (const [args, code, msg] of [
      [['--resend-in-doubt', name, 'agg-ab'], 64, /--resend-in-doubt without --flush-spool takes one NAME/],
      [
        ['--resend-in-doubt', 'agg-ba', 'agg-ab'],
        64,
        /--resend-in-doubt agg-ba names another statistics NAME than agg-ab/,
      ],
      [
        ['--flush-spool', spool, '--mark-delivered', 'bad/name'],
        64,
        /--mark-delivered: expected a statistics NAME like agg-ab or a spooled file like/,
      ],
      [
        ['--flush-spool', spool, '--mark-delivered', name, '--resend-in-doubt', name],
        64,
        /either --resend-in-doubt or --mark-delivered, not both/,
      ],
      [
        ['--flush-spool', spool, '--resend-in-doubt', name],
        66,
        new RegExp(`--resend-in-doubt ${name}: no such file waiting in ${spool}`),
      ],
      [
        ['--flush-spool', spool, '--resend-in-doubt', 'agg-ab'],
        66,
        new RegExp(`--resend-in-doubt agg-ab: nothing is in doubt as "agg-ab" in ${spool}/.hcd-putfile-ledger.json`),
      ],
      [
        ['--spool', spool, '--mark-delivered', 'agg-ab'],
        66,
        /--mark-delivered agg-ab: nothing is in doubt as "agg-ab"/,
      ],
      [['--spool', spool, '--mark-delivered', name], 64, /a spooled file is settled with --flush-spool DIR/],
      [['--in-doubt'], 64, /--in-doubt reads the ledger: give --state FILE/],
      [['--spool', spool, '--in-doubt', 'agg-ab'], 64, /--in-doubt sends nothing: no NAME or -f/],
    ] as const) {
      const r = await runBin('hcd-putfile', ['-u', 'http://127.0.0.1:1', ...args], { input: GOOD });
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});

describe('hcd-putfile: billing ids are what Hydra ids look like', () => {
  test('a formula in EXT_GOOD_ID is refused with file and line; flow-report refuses it as --good-id and in a map', async () => {
    const hcd = await startHcd();
    const dir = tempDir();
    const f = file(
      dir,
      'agg-ab.csv',
      `${LINES[0]}\n=cmd|' /C calc'!A0;;1291242554;1291242554;10.5.10.6/32;0.0.0.0/0;900;\n`,
    );
    const r = await runBin('hcd-putfile', ['-f', f, '-u', hcd.url(), 'agg-ab']);
    assert.equal(r.code, 65);
    assert.match(
      r.stderr,
      new RegExp(
        `^hcd-putfile: ${f}:2: field "EXT_GOOD_ID": expected an id of letters, digits, "-", "_" and "\\." \\(like c39501\\) \\(got "=cmd\\|' /C calc'!A0"\\)\\n`,
      ),
    );
    assert.equal((await hcd.calls()).attempts, 0);
    const flows = join(dir, 'agg.ndjson');
    writeFileSync(
      flows,
      '{"src_host":"10.5.10.6","dst_net":"0.0.0.0","dst_mask":0,"packets":1,"bytes":900,"flows":1,"time_start":1291242554,"time_end":1291242554}\n',
    );
    const g = await runBin('flow-report', ['--format', 'hydra', '--good-id', "=cmd|' /C calc'!A0", flows]);
    assert.equal(g.code, 64);
    assert.match(
      g.stderr,
      /--good-id: expected an id of letters, digits, "-", "_" and "\." \(like c39501\) \(got "=cmd\|' \/C calc'!A0"\)/,
    );
    const map = file(dir, 'services.map', 'ab 10.0.0.0/8 inet\nab 0.0.0.0/0 =HYPERLINK(1)\n');
    const m = await runBin('flow-report', ['--format', 'hydra', '--good-map', map, flows]);
    assert.equal(m.code, 78);
    assert.match(m.stderr, new RegExp(`${map}:2: bad service id "=HYPERLINK\\(1\\)": expected an id of letters`));
    const ok = await runBin('flow-report', ['--format', 'hydra', '--good-id', 'c39501', flows]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${LINES[0]}\n`);
  });
});

describe('hcd-putfile usage', () => {
  test('missing NAME, missing URL, bad name, --flush-spool with NAME: 64', async () => {
    for (const args of [
      ['-u', 'http://h:1'],
      ['agg-ab'],
      ['-u', 'http://h:1', 'bad/name'],
      ['-u', 'http://h:1', '--flush-spool', '/tmp', 'agg-ab'],
      ['-u', 'ftp://h/', 'agg-ab'],
      ['-u', 'http://h:1', '--retries', 'abc', 'agg-ab'],
      ['-u', 'http://h:1', '--timeout', '0', 'agg-ab'],
      ['-u', 'http://h:1', '--method', 'put file', 'agg-ab'],
      ['-u', 'http://h:1', '--reject-file', 'x', 'agg-ab'],
    ]) {
      const r = await runBin('hcd-putfile', args, { input: GOOD });
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });
});
