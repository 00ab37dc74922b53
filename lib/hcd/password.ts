// Where the hcd password comes from, in order: --password-file (refused when group or others
// may read it, as libpq refuses a loose .pgpass), HCD_PASSWORD, the URL (accepted with a warning:
// argv shows in `ps`), a prompt when stdin is a terminal. Never printed.

import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { FlowmeterError, usageError } from '../errors.js';
import { describeSystemError } from '../cli/io.js';

export interface PasswordSources {
  passwordFile?: string | undefined;
  env: NodeJS.ProcessEnv;
  urlPassword?: string | undefined;
  /** The URL came from HCD_URL, not argv: its password is no more exposed than HCD_PASSWORD. */
  urlFromEnv?: boolean;
  user?: string | undefined;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Where the prompt is written (stderr). */
  promptTo: { write(s: string): unknown };
  /** Whether stdin carries the statistics file (then neither `-` nor a prompt can use it). */
  stdinIsData: boolean;
  /** --no-password: a user in the URL and no password is meant, not a missing setting. */
  noPassword?: boolean;
  warn: (message: string) => void;
}

export interface Password {
  password: string | undefined;
  source: 'file' | 'env' | 'url' | 'prompt' | 'none';
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
}

export async function readPasswordFile(path: string, stdin: Readable, stdinIsData: boolean): Promise<string> {
  if (path === '-') {
    if (stdinIsData)
      throw usageError('--password-file -: stdin already carries the statistics file; give the file with -f FILE');
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return firstLine(Buffer.concat(chunks).toString('utf8'));
  }
  let text: string;
  try {
    const st = await fsp.stat(path);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new FlowmeterError(
        'permission',
        `--password-file ${path}: group or others may access it (mode ${mode}); run: chmod 600 ${path}`,
      );
    }
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof FlowmeterError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new FlowmeterError('no-input', `--password-file ${path}: ${describeSystemError(err)}`);
  }
  const pw = firstLine(text);
  if (pw === '') throw new FlowmeterError('config', `--password-file ${path}: the first line is empty`);
  return pw;
}

/** Read a line from a terminal without echoing it. */
export function promptPassword(
  stdin: PasswordSources['stdin'],
  out: PasswordSources['promptTo'],
  prompt: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    stdin.setRawMode?.(true); // echo off before the prompt shows, as getpass(3) does: no typeahead echoed
    out.write(prompt);
    stdin.resume();
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      out.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new FlowmeterError('interrupted', 'interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The password for the URL's user, from the first source that has one. A user with no password
 *  anywhere is refused (a permission failure) rather than sent with an empty one, unless --no-password. */
export async function resolvePassword(s: PasswordSources): Promise<Password> {
  if (s.noPassword) return { password: undefined, source: 'none' };
  if (s.passwordFile !== undefined) {
    if (s.user === undefined) throw usageError('--password-file needs a user name in the URL (http://USER@host:port)');
    if (s.urlPassword !== undefined) s.warn('the password in --url is ignored: --password-file is used');
    return { password: await readPasswordFile(s.passwordFile, s.stdin, s.stdinIsData), source: 'file' };
  }
  const envPw = s.env.HCD_PASSWORD;
  if (envPw !== undefined && envPw !== '') {
    if (s.user === undefined)
      throw usageError('HCD_PASSWORD is set but --url has no user name (http://USER@host:port)');
    if (s.urlPassword !== undefined) s.warn('the password in --url is ignored: HCD_PASSWORD is used');
    return { password: envPw, source: 'env' };
  }
  if (s.urlPassword !== undefined) {
    if (!s.urlFromEnv)
      s.warn('a password in --url can be read by other users (ps, shell history); use HCD_PASSWORD or --password-file');
    return { password: s.urlPassword, source: 'url' };
  }
  if (s.user !== undefined && s.stdin.isTTY && !s.stdinIsData) {
    return { password: await promptPassword(s.stdin, s.promptTo, `Password for ${s.user}: `), source: 'prompt' };
  }
  if (s.user !== undefined)
    throw new FlowmeterError(
      'permission',
      `no password for ${s.user} (set HCD_PASSWORD or --password-file; --no-password sends none)`,
    );
  return { password: undefined, source: 'none' };
}
