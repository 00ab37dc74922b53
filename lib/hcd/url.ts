// The hcd endpoint as hcdctl.py takes it: http(s)://[user[:password]@]host[:port][/path], with
// Python xmlrpc.client's rules (userinfo → HTTP Basic auth, no path → /RPC2), and the one
// rendering of it that messages may print: the password replaced by ***.

import { usageError } from '../errors.js';

export interface HcdEndpoint {
  protocol: 'http:' | 'https:';
  hostname: string; // as for net.connect: IPv6 without brackets
  port: number;
  path: string; // path and query sent in the request line
  user: string | undefined;
  /** The password written in the URL, if any (callers warn: it shows in `ps`). */
  urlPassword: string | undefined;
  /** The URL without any password: safe for every message. */
  display: string;
}

export const MASK = '***';

/** Replace the password of anything shaped like userinfo ("user:password@") with ***, even in a malformed URL. */
export function maskUrlPasswords(text: string): string {
  return text.replace(/(^|[\s/])([^\s:/@]*):[^\s/@]*@/g, `$1$2:${MASK}@`);
}

export function parseHcdUrl(text: string): HcdEndpoint {
  const masked = maskUrlPasswords(text);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usageError(`--url: not a URL: ${masked} (expected http(s)://[user@]host:port[/path])`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw usageError(`--url: expected an http:// or https:// URL (got ${u.protocol}//…)`);
  }
  if (u.hostname === '') throw usageError(`--url: no host in ${masked}`);
  if (u.hash !== '') throw usageError(`--url: a fragment (#…) has no meaning here: ${masked}`);
  // Python's ServerProxy sends "/RPC2" only when the URL has no path at all; "http://h:1/" posts to "/".
  const afterAuthority = text.replace(/^[a-z]+:\/\/[^/?#]*/i, '');
  const path = afterAuthority === '' ? '/RPC2' : `${u.pathname}${u.search}`;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw usageError(`--url: bad percent-encoding in the user or password of ${masked}`);
    }
  };
  const user = u.username === '' ? undefined : decode(u.username);
  const urlPassword = u.password === '' ? undefined : decode(u.password);
  if (urlPassword !== undefined && user === undefined)
    throw usageError(`--url: a password without a user name in ${masked}`);
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const display = `${u.protocol}//${user !== undefined ? `${u.username}${urlPassword !== undefined ? `:${MASK}` : ''}@` : ''}${u.host}${path}`;
  return { protocol: u.protocol, hostname, port, path, user, urlPassword, display };
}
