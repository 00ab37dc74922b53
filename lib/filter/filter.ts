// tcpdump / pcap-filter(7) expressions over flow records, compiled once into a predicate.
// Supported: [ip|ip6|tcp|udp|sctp] [src|dst|src or dst|src and dst] host ADDR | net CIDR |
// net ADDR mask MASK | net 10.5 (partial) | port N | portrange N-M | [ip|ip6] proto P,
// bare tcp/udp/sctp/icmp/icmp6/igmp/pim/ah/esp/vrrp/gre/ip/ip6, and/&&, or/||, not/!, ( ).
// As in libpcap, `not` binds tightest and `and`/`or` have EQUAL precedence, left to right
// ("a or b and c" is "(a or b) and c"), and a bare value repeats the previous qualifiers
// ("host a or b" is "host a or host b"). Port tests only match TCP/UDP/SCTP flows, as BPF does.
// Nesting is limited to MAX_DEPTH levels (each "(", each not/!, each switch between and/or in a
// chain opens one), so that a hostile or generated expression is a syntax error, not a stack
// overflow; a long chain of one operator ("host a or host b or …") is flat and has no limit.

import type { FlowView } from '../aggregate/view.js';
import { ipv4ToU32, ipv6ToWords, maskV4, maskWord } from '../networks/addr.js';
import { protoNumber } from '../flow/proto.js';
import { visible } from '../cli/visible.js';

export type FlowPredicate = (v: FlowView) => boolean;

export class FilterSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 1-based column in the expression. */
    readonly column: number,
    readonly expression: string,
  ) {
    super(`${reason} at column ${column}`);
  }

  /** Two lines to print under the message: the expression (control characters escaped; only
   *  `width` characters around the column of a longer one) and a caret under the column. */
  pointer(indent = '  ', width = 100): [string, string] {
    const text = visible(this.expression);
    let caret = visible(this.expression.slice(0, Math.max(0, this.column - 1))).length;
    let shown = text;
    if (text.length > width) {
      const from = Math.max(0, Math.min(caret - width / 2, text.length - width));
      shown = `${from > 0 ? '…' : ''}${text.slice(from, from + width)}${from + width < text.length ? '…' : ''}`;
      caret += from > 0 ? 1 - from : 0;
    }
    return [`${indent}${shown}`, `${indent}${' '.repeat(caret)}^`];
  }
}

/** Levels of nesting an expression may have: deep enough for any expression a person writes or
 *  a generator builds from a list, shallow enough for the recursive parser and the compiled
 *  predicate to stay far from the stack limit (~5,000 levels overflowed it). */
export const MAX_DEPTH = 256;

interface Token {
  text: string;
  col: number; // 1-based
  kind: 'word' | 'op';
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ text: c, col: i + 1, kind: 'op' });
      i++;
      continue;
    }
    if (c === '!') {
      out.push({ text: '!', col: i + 1, kind: 'op' });
      i++;
      continue;
    }
    if ((c === '&' || c === '|') && src[i + 1] === c) {
      out.push({ text: c + c, col: i + 1, kind: 'op' });
      i += 2;
      continue;
    }
    const start = i;
    while (i < src.length && /[A-Za-z0-9_.:/\\-]/.test(src[i]!)) i++;
    if (i === start)
      throw new FilterSyntaxError(
        `unexpected character "${c}" (byte offsets and comparisons are not supported on flow records)`,
        start + 1,
        src,
      );
    out.push({ text: src.slice(start, i), col: start + 1, kind: 'word' });
  }
  return out;
}

type Dir = 'src' | 'dst' | 'src or dst' | 'src and dst';
type TypeQ = 'host' | 'net' | 'port' | 'portrange' | 'proto';
type ProtoQ = 'ip' | 'ip6' | 'tcp' | 'udp' | 'sctp';

interface Quals {
  proto?: ProtoQ;
  dir?: Dir;
  type?: TypeQ;
}

const PROTO_QUALS: ReadonlySet<string> = new Set(['ip', 'ip6', 'tcp', 'udp', 'sctp']);
const TYPE_QUALS: ReadonlySet<string> = new Set(['host', 'net', 'port', 'portrange', 'proto']);
/** Bare protocol primitives: [family or 0, protocol number or -1]. */
const BARE: Readonly<Record<string, readonly [number, number]>> = {
  ip: [4, -1],
  ip6: [6, -1],
  tcp: [0, 6],
  udp: [0, 17],
  sctp: [0, 132],
  icmp: [4, 1],
  icmp6: [6, 58],
  igmp: [4, 2],
  igrp: [4, 9],
  pim: [0, 103],
  ah: [0, 51],
  esp: [0, 50],
  vrrp: [4, 112],
  gre: [0, 47],
};
const UNSUPPORTED: ReadonlySet<string> = new Set([
  'ether',
  'arp',
  'rarp',
  'fddi',
  'tr',
  'wlan',
  'gateway',
  'less',
  'greater',
  'len',
  'vlan',
  'mpls',
  'pppoed',
  'pppoes',
  'geneve',
  'broadcast',
  'multicast',
  'inbound',
  'outbound',
  'ifname',
  'on',
  'rnr',
  'rulenum',
  'reason',
  'rset',
  'srnr',
  'subrulenum',
  'action',
  'decnet',
  'iso',
  'atalk',
  'aarp',
  'ipx',
  'netbeui',
  'llc',
  'stp',
  'lat',
  'mopdl',
  'moprc',
  'sca',
  'type',
  'subtype',
  'dir',
  'addr1',
  'addr2',
  'addr3',
  'addr4',
  'ra',
  'ta',
  'protochain',
  'bpf',
  'atm',
  'lane',
  'oam',
  'oamf4',
  'metac',
  'bcc',
  'sc',
  'ilmic',
  'connectmsg',
  'metaconnect',
  'vpi',
  'vci',
  'slip',
  'link',
  'ppp',
  'radio',
  'hdlc',
]);
const KEYWORDS: ReadonlySet<string> = new Set([
  ...PROTO_QUALS,
  ...TYPE_QUALS,
  ...Object.keys(BARE),
  'src',
  'dst',
  'and',
  'or',
  'not',
  'mask',
  ...UNSUPPORTED,
]);

/** Well-known service names accepted after `port` (libpcap asks getservbyname; we do not read
 *  /etc/services so that a filter means the same on every machine). */
const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21,
  'ftp-data': 20,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  dns: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  ntp: 123,
  'netbios-ns': 137,
  imap: 143,
  imap2: 143,
  snmp: 161,
  'snmp-trap': 162,
  bgp: 179,
  ldap: 389,
  https: 443,
  smb: 445,
  'microsoft-ds': 445,
  syslog: 514,
  submission: 587,
  ldaps: 636,
  imaps: 993,
  pop3s: 995,
  openvpn: 1194,
  radius: 1812,
  nfs: 2049,
  mysql: 3306,
  rdp: 3389,
  postgresql: 5432,
  netflow: 2055,
  ipfix: 4739,
  sflow: 6343,
};

type Node =
  | { k: 'and' | 'or'; parts: Node[] }
  | { k: 'not'; a: Node }
  | { k: 'host'; dir: Dir; fam: 4 | 6; w: number[] }
  | { k: 'net'; dir: Dir; fam: 4 | 6; w: number[]; len: number }
  | { k: 'port'; dir: Dir; protos: number[]; lo: number; hi: number }
  | { k: 'proto'; fam: number; proto: number };

class Parser {
  private pos = 0;
  private depth = 0;
  private last: Quals | undefined;
  constructor(
    private readonly toks: Token[],
    private readonly src: string,
  ) {}

  private peek(o = 0): Token | undefined {
    return this.toks[this.pos + o];
  }

  private fail(reason: string, tok?: Token): never {
    const col = tok ? tok.col : this.src.replace(/\s+$/, '').length + 1;
    throw new FilterSyntaxError(reason, col, this.src);
  }

  private isWord(t: Token | undefined, w: string): boolean {
    return t !== undefined && t.kind === 'word' && t.text === w;
  }

  private isAnd(t: Token | undefined): boolean {
    return t !== undefined && (t.text === '&&' || (t.kind === 'word' && t.text === 'and'));
  }

  private isOr(t: Token | undefined): boolean {
    return t !== undefined && (t.text === '||' || (t.kind === 'word' && t.text === 'or'));
  }

  parse(): Node {
    if (this.toks.length === 0) this.fail('empty filter expression');
    const n = this.expr();
    const t = this.peek();
    if (t) this.fail(t.text === ')' ? 'unbalanced ")"' : `expected "and" or "or" before "${t.text}"`, t);
    return n;
  }

  /** One more level of nesting, opened by token `t`. */
  private enter(t: Token): void {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested more than ${MAX_DEPTH} levels deep`, t);
  }

  // and/or chains are n-ary: a run of one operator adds no depth; a switch to the other operator
  // wraps what came before (left to right, equal precedence) and so nests one level more
  private expr(): Node {
    let left = this.unary();
    let opened = 0;
    for (;;) {
      const t = this.peek();
      if (this.isAnd(t) || this.isOr(t)) {
        this.pos++;
        if (!this.peek()) this.fail(`expected an expression after "${t!.text}"`);
        const k = this.isAnd(t) ? 'and' : 'or';
        const right = this.unary();
        if (opened > 0 && left.k === k) left.parts.push(right);
        else {
          this.enter(t!);
          opened++;
          left = { k, parts: [left, right] };
        }
      } else {
        this.depth -= opened;
        return left;
      }
    }
  }

  private unary(): Node {
    const t = this.peek();
    if (!t) this.fail('expected an expression');
    if (t.text === '!' || this.isWord(t, 'not')) {
      this.pos++;
      if (!this.peek()) this.fail(`expected an expression after "${t.text}"`);
      this.enter(t);
      const a = this.unary();
      this.depth--;
      return { k: 'not', a };
    }
    if (t.text === '(') {
      this.pos++;
      this.enter(t);
      const inner = this.expr();
      this.depth--;
      const close = this.peek();
      if (!close || close.text !== ')') this.fail(`expected ")" to close the "(" at column ${t.col}`, close);
      this.pos++;
      return inner;
    }
    if (t.text === ')') this.fail('unexpected ")"', t);
    if (this.isAnd(t) || this.isOr(t)) this.fail(`expected an expression before "${t.text}"`, t);
    return this.primitive();
  }

  private primitive(): Node {
    const first = this.peek()!;
    const q: Quals = {};
    let t = first;
    if (UNSUPPORTED.has(t.text)) this.fail(`"${t.text}" is not supported on flow records`, t);
    if (PROTO_QUALS.has(t.text)) {
      q.proto = t.text as ProtoQ;
      this.pos++;
      t = this.peek()!;
    }
    if (t && (t.text === 'src' || t.text === 'dst')) {
      const a = this.peek(1);
      const b = this.peek(2);
      if (
        (this.isWord(a, 'or') || this.isWord(a, 'and')) &&
        b &&
        (b.text === 'src' || b.text === 'dst') &&
        b.text !== t.text
      ) {
        q.dir = this.isWord(a, 'or') ? 'src or dst' : 'src and dst';
        this.pos += 3;
      } else {
        q.dir = t.text;
        this.pos++;
      }
      t = this.peek()!;
    }
    if (t && TYPE_QUALS.has(t.text)) {
      q.type = t.text as TypeQ;
      this.pos++;
      t = this.peek()!;
    }
    if (q.proto === undefined && q.dir === undefined && q.type === undefined) {
      if (BARE[first.text] !== undefined) {
        this.pos++;
        const [fam, proto] = BARE[first.text]!;
        return { k: 'proto', fam, proto };
      }
      if (KEYWORDS.has(first.text)) this.fail(`unexpected "${first.text}"`, first);
      // A bare value: the previous primitive's qualifiers apply (libpcap), else "host".
      const inherited = this.last ?? { type: 'host' as const };
      return this.value(inherited, first);
    }
    if (q.proto !== undefined && q.dir === undefined && q.type === undefined) {
      // "tcp", "ip" alone (then "and", ")", end…) or "ip 10.0.0.1" (= ip host …)
      if (!t || t.kind === 'op' || KEYWORDS.has(t.text)) {
        const [fam, proto] = BARE[q.proto]!;
        return { k: 'proto', fam, proto };
      }
    }
    if (!t || t.kind === 'op')
      this.fail(`expected ${q.type === undefined ? 'an address' : `a value after "${q.type}"`}`, t);
    if (KEYWORDS.has(t.text) && !(q.type === 'proto' && BARE[t.text] !== undefined)) {
      this.fail(`expected ${q.type === undefined ? 'an address' : `a value after "${q.type}"`}, got "${t.text}"`, t);
    }
    return this.value(q, t);
  }

  /** The value part of a primitive with qualifiers `q`. */
  private value(q: Quals, t: Token): Node {
    this.pos++;
    this.last = q;
    const dir: Dir = q.dir ?? 'src or dst';
    const type = q.type ?? 'host';
    const text = t.text;
    switch (type) {
      case 'proto': {
        const name = text.startsWith('\\') ? text.slice(1) : text;
        const p = name === 'icmp6' ? 58 : protoNumber(name);
        if (p === undefined) this.fail(`unknown protocol "${name}"`, t);
        if (q.proto !== undefined && q.proto !== 'ip' && q.proto !== 'ip6')
          this.fail(`"${q.proto} proto" makes no sense; use "ip proto" or "ip6 proto"`, t);
        return { k: 'proto', fam: q.proto === 'ip' ? 4 : q.proto === 'ip6' ? 6 : 0, proto: p };
      }
      case 'port':
      case 'portrange': {
        let lo: number;
        let hi: number;
        if (type === 'port') {
          lo = hi = this.port(text, t);
        } else {
          const m = /^([^-]+)-([^-]+)$/.exec(text);
          if (!m) this.fail(`expected a port range like 1024-65535, got "${text}"`, t);
          lo = this.port(m[1]!, t);
          hi = this.port(m[2]!, t);
          if (lo > hi) [lo, hi] = [hi, lo]; // libpcap accepts reversed ranges
        }
        const protos = q.proto === 'tcp' ? [6] : q.proto === 'udp' ? [17] : q.proto === 'sctp' ? [132] : [6, 17, 132];
        const node: Node = { k: 'port', dir, protos, lo, hi };
        if (q.proto === 'ip' || q.proto === 'ip6') {
          return { k: 'and', parts: [{ k: 'proto', fam: q.proto === 'ip' ? 4 : 6, proto: -1 }, node] };
        }
        return node;
      }
      case 'host': {
        const a = this.address(text, t, false);
        if (q.proto === 'tcp' || q.proto === 'udp' || q.proto === 'sctp')
          this.fail(`"${q.proto} host" is not valid; use "${q.proto} and host …"`, t);
        this.familyCheck(q, a.fam, t);
        return { k: 'host', dir, fam: a.fam, w: a.w };
      }
      case 'net': {
        let a: { fam: 4 | 6; w: number[]; len: number };
        if (this.isWord(this.peek(), 'mask')) {
          const m = this.peek(1);
          if (!m || m.kind !== 'word') this.fail('expected a netmask after "mask"', m);
          this.pos += 2;
          const base = this.address(text, t, false);
          const mask = ipv4ToU32(m.text);
          if (base.fam !== 4 || mask < 0)
            this.fail('"net ADDR mask MASK" takes IPv4 addresses (use ADDR/LEN for IPv6)', base.fam !== 4 ? t : m);
          let len = 0;
          while (len < 32 && ((mask >>> (31 - len)) & 1) === 1) len++;
          if (maskV4(0xffffffff, len) !== mask) this.fail(`netmask "${m.text}" is not contiguous`, m);
          a = { fam: 4, w: base.w, len };
        } else a = this.network(text, t);
        if (q.proto === 'tcp' || q.proto === 'udp' || q.proto === 'sctp')
          this.fail(`"${q.proto} net" is not valid; use "${q.proto} and net …"`, t);
        this.familyCheck(q, a.fam, t);
        const w = a.w.map((x, i) => (a.fam === 4 ? maskV4(x, a.len) : maskWord(x, i, a.len)));
        if (w.some((x, i) => x !== a.w[i])) this.fail(`non-network bits set in "${text}"`, t);
        return { k: 'net', dir, fam: a.fam, w, len: a.len };
      }
    }
  }

  private familyCheck(q: Quals, fam: 4 | 6, t: Token): void {
    if ((q.proto === 'ip' && fam === 6) || (q.proto === 'ip6' && fam === 4)) {
      this.fail(`"${t.text}" is an IPv${fam} address but the qualifier is "${q.proto}"`, t);
    }
  }

  private port(text: string, t: Token): number {
    if (/^[0-9]+$/.test(text)) {
      const n = Number(text);
      if (n > 65535) this.fail(`port ${text} is out of range 0-65535`, t);
      return n;
    }
    const s = SERVICES[text.toLowerCase()];
    if (s === undefined) this.fail(`unknown port "${text}" (use a number)`, t);
    return s;
  }

  private address(text: string, t: Token, _net: boolean): { fam: 4 | 6; w: number[] } {
    const a = ipv4ToU32(text);
    if (a >= 0) return { fam: 4, w: [a] };
    const w = [0, 0, 0, 0];
    if (text.includes(':') && ipv6ToWords(text, w)) return { fam: 6, w };
    this.fail(`"${text}" is not an IPv4 or IPv6 address (host names are not resolved)`, t);
  }

  private network(text: string, t: Token): { fam: 4 | 6; w: number[]; len: number } {
    const slash = text.indexOf('/');
    const addr = slash < 0 ? text : text.slice(0, slash);
    let fam: 4 | 6;
    let w: number[];
    let len: number;
    // libpcap accepts 1-3 dotted components as a network: "10" = 10/8, "10.5" = 10.5/16
    const partial =
      /^[0-9]{1,3}(\.[0-9]{1,3}){0,3}$/.test(addr) &&
      !addr.split('.').some((p) => Number(p) > 255 || (p.length > 1 && p[0] === '0'));
    if (!addr.includes(':') && partial) {
      const parts = addr.split('.').map(Number);
      let u = 0;
      for (let i = 0; i < 4; i++) u = u * 256 + (parts[i] ?? 0);
      fam = 4;
      w = [u];
      len = 8 * parts.length;
    } else if (addr.includes(':')) {
      w = [0, 0, 0, 0];
      if (!ipv6ToWords(addr, w)) this.fail(`"${addr}" is not an IPv6 address`, t);
      fam = 6;
      len = 128;
    } else this.fail(`"${text}" is not a network (like 10.0.0.0/8, 10.5 or 2001:db8::/32)`, t);
    if (slash >= 0) {
      const l = text.slice(slash + 1);
      const max = fam === 4 ? 32 : 128;
      if (!/^[0-9]{1,3}$/.test(l) || Number(l) > max) this.fail(`invalid prefix length "${l}" (0-${max})`, t);
      len = Number(l);
    }
    return { fam, w, len };
  }
}

// ---- compilation to closures ------------------------------------------------------------------

function family(v: FlowView): number {
  const e = v.etype;
  if (e === 0x0800) return 4;
  if (e === 0x86dd) return 6;
  return v.srcFam || v.dstFam;
}

function addrTest(fam: 4 | 6, w: number[], len: number): (f: number, a: Uint32Array) => boolean {
  if (fam === 4) {
    const net = w[0]!;
    if (len === 32) return (f, a) => f === 4 && a[0] === net;
    return (f, a) => f === 4 && maskV4(a[0]!, len) === net;
  }
  const [w0, w1, w2, w3] = w as [number, number, number, number];
  return (f, a) =>
    f === 6 &&
    maskWord(a[0]!, 0, len) === w0 &&
    maskWord(a[1]!, 1, len) === w1 &&
    maskWord(a[2]!, 2, len) === w2 &&
    maskWord(a[3]!, 3, len) === w3;
}

function withDir(dir: Dir, src: FlowPredicate, dst: FlowPredicate): FlowPredicate {
  switch (dir) {
    case 'src':
      return src;
    case 'dst':
      return dst;
    case 'src or dst':
      return (v) => src(v) || dst(v);
    case 'src and dst':
      return (v) => src(v) && dst(v);
  }
}

function compile(n: Node): FlowPredicate {
  switch (n.k) {
    case 'and': {
      const parts = n.parts.map(compile);
      if (parts.length === 2) {
        const [a, b] = parts as [FlowPredicate, FlowPredicate];
        return (v) => a(v) && b(v);
      }
      return (v) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i]!(v)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = n.parts.map(compile);
      if (parts.length === 2) {
        const [a, b] = parts as [FlowPredicate, FlowPredicate];
        return (v) => a(v) || b(v);
      }
      return (v) => {
        for (let i = 0; i < parts.length; i++) if (parts[i]!(v)) return true;
        return false;
      };
    }
    case 'not': {
      const a = compile(n.a);
      return (v) => !a(v);
    }
    case 'host':
    case 'net': {
      const test = addrTest(n.fam, n.w, n.k === 'host' ? (n.fam === 4 ? 32 : 128) : n.len);
      return withDir(
        n.dir,
        (v) => test(v.srcFam, v.src),
        (v) => test(v.dstFam, v.dst),
      );
    }
    case 'port': {
      const { lo, hi } = n;
      const protos = n.protos;
      const ok = (v: FlowView): boolean => protos.includes(v.proto);
      const src: FlowPredicate =
        lo === hi ? (v) => ok(v) && v.srcPort === lo : (v) => ok(v) && v.srcPort >= lo && v.srcPort <= hi;
      const dst: FlowPredicate =
        lo === hi ? (v) => ok(v) && v.dstPort === lo : (v) => ok(v) && v.dstPort >= lo && v.dstPort <= hi;
      return withDir(n.dir, src, dst);
    }
    case 'proto': {
      const { fam, proto } = n;
      if (proto < 0) return (v) => family(v) === fam;
      if (fam === 0) return (v) => v.proto === proto;
      return (v) => v.proto === proto && family(v) === fam;
    }
  }
}

export interface CompiledFilter {
  source: string;
  test: FlowPredicate;
}

/** Parse and compile a filter expression; throws FilterSyntaxError with a column. */
export function compileFilter(expression: string): CompiledFilter {
  const ast = new Parser(tokenize(expression), expression).parse();
  return { source: expression, test: compile(ast) };
}

/** Several filters (repeated -f, pmacct's rule): a record passes if any of them matches. */
export function anyOf(filters: readonly CompiledFilter[]): FlowPredicate | undefined {
  if (filters.length === 0) return undefined;
  if (filters.length === 1) return filters[0]!.test;
  const tests = filters.map((f) => f.test);
  return (v) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true;
    return false;
  };
}
