// Flow NDJSON straight from the input bytes into a FlowView, without JSON.parse, strings or
// objects per line: the fast path of flow-aggregate. It is key-driven (any field order; it
// expects the order of the previous line first, so lines as flow-capture writes them cost one
// byte comparison per key byte), parses numbers from digits (exactly as JSON.parse rounds them),
// IPv4 addresses and CIDRs straight to u32, and validates every field as flowFromObject does.
// Anything it does not fully understand — escapes, null, strings for numbers, numbers with a
// fraction or exponent, nested values in unknown fields, duplicate keys, aggregate records
// ("flows"), bytes it cannot be sure about — makes scan() return -1, and the caller takes the
// line through JSON.parse + flowFromObject (lib/cli/ndjson-input.ts), which accepts it or gives
// the error. So the scanner only has to be right about the lines it accepts: for those the view
// holds what FlowView.set(flowFromObject(JSON.parse(line))) would (test/unit/aggregate/scan.test.ts
// checks that on every fixture and on random and edge-case lines).

import { FLOW_FIELDS, FLOW_TYPES, FieldError, netField } from '../flow/record.js';
import { etypeNumber, protoNumber } from '../flow/proto.js';
import { ipv4ToU32, ipv6ToWords } from '../networks/addr.js';
import type { FlowView } from './view.js';

import { K_ARRAY, K_ETYPE, K_IP, K_NET, K_PROTO, K_STR, K_TYPE, K_U } from './scan-layout.js';

const FIELDS = FLOW_FIELDS.map((f) => f.name as string);
const NF = FIELDS.length;
const ID = new Map<string, number>(FIELDS.map((n, i) => [n, i]));
/** The fields of which a flow record must have one: an address or a counter. */
export const EVIDENCE: readonly number[] = ['src_addr', 'dst_addr', 'bytes', 'packets'].map((n) => ID.get(n)!);
/** `name":` as bytes: a key as we write it, up to its colon. */
const KEY_BYTES = FIELDS.map((n) => Buffer.from(`${n}":`, 'latin1'));
/** The same as little-endian 32-bit words, the last one masked to the bytes it has: a key is
 *  compared four bytes at a time (the per-byte loop was a fifth of the scanner). */
const KEY_WORDS = KEY_BYTES.map((k) =>
  Int32Array.from(
    { length: Math.ceil(k.length / 4) },
    (_, i) => Buffer.concat([k, Buffer.alloc(3)]).readInt32LE(4 * i) & wordMask(k.length - 4 * i),
  ),
);
const KEY_MASKS = KEY_BYTES.map((k) =>
  Int32Array.from({ length: Math.ceil(k.length / 4) }, (_, i) => wordMask(k.length - 4 * i)),
);

/** A mask of the first `n` bytes (all four when n >= 4) of a little-endian word. */
function wordMask(n: number): number {
  return n >= 4 ? -1 : (1 << (8 * n)) - 1;
}
const KIND = new Uint8Array(
  FLOW_FIELDS.map(
    (f) =>
      ({
        u: K_U,
        ip: K_IP,
        type: K_TYPE,
        proto: K_PROTO,
        etype: K_ETYPE,
        net: K_NET,
        array: K_ARRAY,
        mac: K_STR,
        str: K_STR,
      })[f.kind],
  ),
);
const MAX_UINT = Number.MAX_SAFE_INTEGER * 1024; // record.ts uint()'s default bound
// counters above 2^53 - 1 (which a double cannot hold) go to the JSON.parse path, which keeps them exact
const MAX = FIELDS.map((n) =>
  n === 'src_port' || n === 'dst_port'
    ? 65535
    : n === 'ip_tos' || n === 'proto'
      ? 255
      : n === 'tcp_flags' || n === 'etype'
        ? 0xffff
        : n === 'bytes' || n === 'packets'
          ? Number.MAX_SAFE_INTEGER
          : MAX_UINT,
);
/** Each field's kind and largest value, by FLOW_FIELDS index, for the WebAssembly scanner. */
export const SCAN_KINDS: ArrayLike<number> = KIND;
export const SCAN_BOUNDS: ArrayLike<number> = MAX;

const F = (n: string): number => ID.get(n)!;
const TIME_RECEIVED = F('time_received_ns');
const SAMPLING_RATE = F('sampling_rate');
const SAMPLER = F('sampler_address');
const START = F('time_flow_start_ns');
const END = F('time_flow_end_ns');
const BYTES = F('bytes');
const PACKETS = F('packets');
const SRC_ADDR = F('src_addr');
const DST_ADDR = F('dst_addr');
const SRC_PORT = F('src_port');
const DST_PORT = F('dst_port');
const IN_IF = F('in_if');
const OUT_IF = F('out_if');
const IP_TOS = F('ip_tos');
const TCP_FLAGS = F('tcp_flags');
const SRC_AS = F('src_as');
const DST_AS = F('dst_as');
const SRC_NET = F('src_net');

const POW10 = [1, 10, 100, 1000, 10000, 100000];
const NONE = -1;
/** A key that is valid but not a record field (its value is skipped). */
const UNKNOWN = -2;

/** The last few strings seen for a field and what they meant, so repeated values (TCP and UDP
 *  alternating, say) cost a byte comparison instead of a string and a lookup. */
class StringMemo {
  private readonly bytes: Uint8Array[] = [];
  private readonly values: number[] = [];
  private next = 0;

  get(b: Uint8Array, s: number, e: number): number | undefined {
    const n = e - s;
    for (let k = 0; k < this.bytes.length; k++) {
      const m = this.bytes[k]!;
      if (m.length !== n) continue;
      let i = 0;
      while (i < n && b[s + i] === m[i]) i++;
      if (i === n) return this.values[k]!;
    }
    return undefined;
  }

  set(b: Uint8Array, s: number, e: number, value: number): void {
    const k = this.next;
    this.next = (k + 1) & 7;
    this.bytes[k] = new Uint8Array(b.subarray(s, e)); // a copy: Buffer#slice would share the chunk
    this.values[k] = value;
  }
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

export class FlowLineScanner {
  /** Expected field id at each key position (learned from the previous lines). */
  private readonly order = new Int32Array(64).fill(NONE);
  private readonly seen = new Uint32Array(NF);
  private gen = 0;
  /** Position after the last token read by a helper. */
  private pos = 0;
  private readonly typeMemo = new StringMemo();
  private readonly protoMemo = new StringMemo();
  private readonly etypeMemo = new StringMemo();
  /** src_net/dst_net values the fast CIDR parse did not take (resolved after all fields). */
  private srcNetText: string | undefined;
  private dstNetText: string | undefined;
  private srcNetSeen = false;
  private dstNetSeen = false;

  constructor(private readonly v: FlowView) {}

  /** Scan the line starting at `p` in `b` (which holds complete lines up to `end`). Returns the
   *  index of the '\n' that ends it when the line is a flow record fully understood and valid
   *  (the view then holds it), or -1: leave the line to the JSON.parse path. */
  scan(b: Buffer, p: number, end: number): number {
    const v = this.v;
    v.timeReceivedNs = 0;
    v.startNs = 0;
    v.endNs = 0;
    v.bytes = 0;
    v.packets = 0;
    v.samplingRate = 0;
    v.etype = 0;
    v.proto = 0;
    v.srcPort = 0;
    v.dstPort = 0;
    v.inIf = 0;
    v.outIf = 0;
    v.tos = 0;
    v.tcpFlags = 0;
    v.srcAs = 0;
    v.dstAs = 0;
    v.srcFam = 0;
    v.dstFam = 0;
    v.peerFam = 0;
    this.srcNetText = undefined;
    this.dstNetText = undefined;
    this.srcNetSeen = false;
    this.dstNetSeen = false;
    const gen = (this.gen = (this.gen + 1) >>> 0);
    if (gen === 0) {
      this.seen.fill(0);
      this.gen = 1;
      return this.scan(b, p, end);
    }
    const seen = this.seen;
    const order = this.order;

    while (p < end && isWs(b[p]!)) p++;
    if (b[p] !== 123) return -1; // {
    p++;
    while (p < end && isWs(b[p]!)) p++;
    if (b[p] === 125) p++;
    else {
      for (let j = 0; ; j++) {
        if (p >= end || b[p] !== 34) return -1;
        p++;
        // the key: first as the field expected at this position, else looked up
        let id = j < 64 ? order[j]! : NONE;
        if (id >= 0) {
          // name, closing quote and colon in one comparison
          const n = KEY_BYTES[id]!.length;
          if (p + n < end && this.keyAt(b, p, id)) p += n;
          else id = NONE;
        }
        if (id === NONE) {
          id = this.lookupKey(b, p, end);
          if (id === NONE) return -1;
          p = this.pos;
          if (id >= 0 && j < 64) order[j] = id;
          while (p < end && isWs(b[p]!)) p++;
          if (b[p] !== 58) return -1; // :
          p++;
        }
        if (isWs(b[p]!)) while (p < end && isWs(b[p]!)) p++;
        if (p >= end) return -1;
        // a field flowmeter does not write: another collector's line, for lib/flow/dialects.ts
        if (id === UNKNOWN) return -1;
        if (seen[id] === gen) return -1; // a repeated key: JSON.parse keeps the last; leave it to it
        seen[id] = gen;
        if (!this.value(id, b, p, end)) return -1;
        p = this.pos;
        let c = b[p]!;
        if (isWs(c)) {
          while (p < end && isWs(b[p]!)) p++;
          c = b[p]!;
        }
        if (c === 44) {
          p++;
          if (isWs(b[p]!)) while (p < end && isWs(b[p]!)) p++;
          continue;
        }
        if (c === 125) {
          p++;
          break;
        }
        return -1;
      }
    }
    while (p < end && isWs(b[p]!)) p++;
    if (p >= end || b[p] !== 10) return -1;
    if (!this.finish()) return -1;
    v.resetNets();
    return p;
  }

  /** Whether b[p…] holds KEY_BYTES[id] (which ends before the end of the lines). */
  private keyAt(b: Buffer, p: number, id: number): boolean {
    const words = KEY_WORDS[id]!;
    if (p + 4 * words.length > b.length) {
      const name = KEY_BYTES[id]!;
      for (let i = 0; i < name.length; i++) if (b[p + i] !== name[i]) return false;
      return true;
    }
    if (b !== this.dvOf) {
      this.dvOf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const dv = this.dv;
    const masks = KEY_MASKS[id]!;
    for (let i = 0; i < words.length; i++) if ((dv.getInt32(p + 4 * i, true) & masks[i]!) !== words[i]) return false;
    return true;
  }

  private dvOf: Buffer | undefined;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  /** The rest of flowFromObject that depends on several fields: nets that need the address
   *  family, the default nets, and etype from the address when missing. */
  private finish(): boolean {
    // no address and no counter: not a flow record (dialects.ts gives the error)
    if (!EVIDENCE.some((id) => this.seen[id] === this.gen)) return false;
    const v = this.v;
    if (!this.srcNetSeen || this.srcNetText !== undefined) {
      const len = this.slowNet(this.srcNetText, 'src_net', v.srcFam, v.srcX);
      if (len < 0) return false;
      v.srcXLen = len;
      v.srcXFam = this.lastNetFam;
    }
    if (!this.dstNetSeen || this.dstNetText !== undefined) {
      const len = this.slowNet(this.dstNetText, 'dst_net', v.dstFam, v.dstX);
      if (len < 0) return false;
      v.dstXLen = len;
      v.dstXFam = this.lastNetFam;
    }
    if (v.etype === 0 && v.srcFam !== 0) v.etype = v.srcFam === 6 ? 0x86dd : 0x0800;
    return true;
  }

  private lastNetFam: 4 | 6 = 4;

  /** A net value the fast path did not take (or none): through record.ts netField, as
   *  flowFromObject does. Only the address family matters for these cases. */
  private slowNet(text: string | undefined, name: string, fam: number, out: Uint32Array): number {
    let cidr: string;
    try {
      cidr = netField(text, name, fam === 6 ? '::' : fam === 4 ? '0.0.0.0' : '');
    } catch (e) {
      if (e instanceof FieldError) return -1;
      throw e;
    }
    const slash = cidr.indexOf('/');
    out.fill(0);
    const addr = cidr.slice(0, slash);
    const a = ipv4ToU32(addr);
    if (a >= 0) {
      out[0] = a;
      this.lastNetFam = 4;
    } else if (ipv6ToWords(addr, out)) this.lastNetFam = 6;
    else return -1;
    return Number(cidr.slice(slash + 1));
  }

  /** A key not at its expected position: its field id, UNKNOWN, or NONE (escapes, odd bytes,
   *  "flows": an aggregate record). Sets pos after the closing quote. */
  private lookupKey(b: Buffer, p: number, end: number): number {
    let q = p;
    while (q < end) {
      const c = b[q]!;
      if (c === 34) break;
      if (c === 92 || c < 32 || c >= 128) return NONE;
      q++;
    }
    if (q >= end) return NONE;
    const key = b.toString('latin1', p, q);
    this.pos = q + 1;
    if (key === 'flows') return NONE;
    return ID.get(key) ?? UNKNOWN;
  }

  /** End of a string value starting at the opening quote `p` (index of the closing quote), or
   *  -1 when it has an escape or a control character. Bytes >= 0x80 are allowed only if `utf8`. */
  private stringEnd(b: Buffer, p: number, end: number, utf8: boolean): number {
    if (b[p] !== 34) return -1;
    for (let q = p + 1; q < end; q++) {
      const c = b[q]!;
      if (c === 34) return q;
      if (c === 92 || c < 32 || (c >= 128 && !utf8)) return -1;
    }
    return -1;
  }

  /** A JSON integer written as plain digits (no sign, fraction or exponent; JSON forbids leading
   *  zeros), as the double JSON.parse gives; -1 for anything else. Sets pos. */
  private uint(b: Buffer, p: number, end: number): number {
    const s = p;
    let x = 0;
    const lim = p + 15 < end ? p + 15 : end;
    while (p < lim) {
      const d = b[p]! - 48;
      if (d < 0 || d > 9) break;
      x = x * 10 + d;
      p++;
    }
    if (p === lim && p < end) {
      // more than 15 digits: x (exact, < 2^50) holds the first 15; the rest (k <= 5) go to t.
      // JSON.parse rounds the whole value once; with x = xh·2^16 + xl the value is
      // (xh·10^k)·2^16 + (xl·10^k + t), both terms exact, so one correctly rounded addition.
      let t = 0;
      let k = 0;
      while (p < end) {
        const d = b[p]! - 48;
        if (d < 0 || d > 9) break;
        t = t * 10 + d;
        p++;
        if (++k > 5) return -1; // more than 20 digits: beyond any field's bound
      }
      if (k > 0) {
        const xh = Math.floor(x / 65536);
        const pk = POW10[k]!;
        x = xh * pk * 65536 + ((x - xh * 65536) * pk + t);
      }
    }
    const n = p - s;
    if (n === 0 || (n > 1 && b[s] === 48)) return -1;
    const c = b[p];
    if (c === 46 || c === 101 || c === 69) return -1;
    this.pos = p;
    return x;
  }

  /** A quoted address into `out`: 4 (IPv4 in out[0]), 6 (four words), 0 for "", -1 otherwise. */
  private addr(b: Buffer, p: number, end: number, out: Uint32Array): number {
    if (b[p] !== 34) return -1;
    p++;
    if (b[p] === 34) {
      this.pos = p + 1;
      return 0;
    }
    // strict dotted quad, as lib/net/ip.ts parseIPv4
    let u = 0;
    let part = 0;
    let digits = 0;
    let dots = 0;
    let q = p;
    for (; q < end; q++) {
      const c = b[q]!;
      if (c >= 48 && c <= 57) {
        if (digits === 1 && part === 0) break;
        part = part * 10 + (c - 48);
        if (++digits > 3 || part > 255) break;
      } else if (c === 46) {
        if (digits === 0 || ++dots > 3) break;
        u = u * 256 + part;
        part = 0;
        digits = 0;
      } else break;
    }
    if (b[q] === 34 && dots === 3 && digits > 0 && q < end) {
      out[0] = u * 256 + part;
      this.pos = q + 1;
      return 4;
    }
    // anything else (IPv6): the text through the same parsers as flowFromObject
    const e = this.stringEnd(b, p - 1, end, false);
    if (e < 0) return -1;
    const text = b.toString('latin1', p, e);
    this.pos = e + 1;
    const a = ipv4ToU32(text);
    if (a >= 0) {
      out[0] = a;
      return 4;
    }
    return text.includes(':') && ipv6ToWords(text, out) ? 6 : -1;
  }

  /** A quoted IPv4 CIDR as record.ts ipv4CidrFast takes it ("a.b.c.d/len", len 0-32 without
   *  leading zero): network (host bits cleared) into out[0], returns len; -1: not that shape. */
  private cidr4(b: Buffer, p: number, end: number, out: Uint32Array): number {
    if (b[p] !== 34) return -1;
    p++;
    let u = 0;
    let part = 0;
    let digits = 0;
    let dots = 0;
    let q = p;
    for (; q < end; q++) {
      const c = b[q]!;
      if (c >= 48 && c <= 57) {
        if (digits === 1 && part === 0) return -1;
        part = part * 10 + (c - 48);
        if (++digits > 3 || part > 255) return -1;
      } else if (c === 46) {
        if (digits === 0 || ++dots > 3) return -1;
        u = u * 256 + part;
        part = 0;
        digits = 0;
      } else break;
    }
    if (b[q] !== 47 || dots !== 3 || digits === 0) return -1; // '/'
    const d1 = b[q + 1]! - 48;
    if (!(d1 >= 0 && d1 <= 9)) return -1;
    let len = d1;
    q += 2;
    if (b[q] !== 34) {
      const d2 = b[q]! - 48;
      if (d1 === 0 || !(d2 >= 0 && d2 <= 9)) return -1;
      len = d1 * 10 + d2;
      q++;
      if (b[q] !== 34) return -1;
    }
    if (len > 32 || q >= end) return -1;
    const a = u * 256 + part;
    out[0] = len === 0 ? 0 : (a & (-1 << (32 - len))) >>> 0;
    this.pos = q + 1;
    return len;
  }

  /** A quoted string through a memo: fn(text) gives its meaning (-1 = invalid). */
  private memoString(memo: StringMemo, b: Buffer, p: number, end: number, fn: (s: string) => number): number {
    const e = this.stringEnd(b, p, end, false);
    if (e < 0) return -1;
    this.pos = e + 1;
    const hit = memo.get(b, p + 1, e);
    if (hit !== undefined) return hit;
    const val = fn(b.toString('latin1', p + 1, e));
    memo.set(b, p + 1, e, val);
    return val;
  }

  /** One field's value at p; false = leave the line to the slow path. Sets pos. */
  private value(id: number, b: Buffer, p: number, end: number): boolean {
    const v = this.v;
    switch (KIND[id]) {
      case K_U: {
        const x = this.uint(b, p, end);
        if (x < 0 || x > MAX[id]!) return false;
        switch (id) {
          case TIME_RECEIVED:
            v.timeReceivedNs = x;
            break;
          case SAMPLING_RATE:
            v.samplingRate = x;
            break;
          case START:
            v.startNs = x;
            break;
          case END:
            v.endNs = x;
            break;
          case BYTES:
            v.bytes = x;
            break;
          case PACKETS:
            v.packets = x;
            break;
          case SRC_PORT:
            v.srcPort = x;
            break;
          case DST_PORT:
            v.dstPort = x;
            break;
          case IN_IF:
            v.inIf = x;
            break;
          case OUT_IF:
            v.outIf = x;
            break;
          case IP_TOS:
            v.tos = x;
            break;
          case TCP_FLAGS:
            v.tcpFlags = x;
            break;
          case SRC_AS:
            v.srcAs = x;
            break;
          case DST_AS:
            v.dstAs = x;
            break;
          default:
            break; // sequence_num and optional numbers: validated only
        }
        return true;
      }
      case K_IP: {
        if (id === SRC_ADDR) {
          const f = this.addr(b, p, end, v.src);
          if (f < 0) return false;
          v.srcFam = f as 0 | 4 | 6;
        } else if (id === DST_ADDR) {
          const f = this.addr(b, p, end, v.dst);
          if (f < 0) return false;
          v.dstFam = f as 0 | 4 | 6;
        } else if (id === SAMPLER) {
          const f = this.addr(b, p, end, v.peer);
          if (f < 0) return false;
          v.peerFam = f as 0 | 4 | 6;
        } else if (this.addr(b, p, end, SCRATCH) < 0) return false; // next_hop, bgp_next_hop
        return true;
      }
      case K_NET: {
        const src = id === SRC_NET;
        if (src) this.srcNetSeen = true;
        else this.dstNetSeen = true;
        const len = this.cidr4(b, p, end, src ? v.srcX : v.dstX);
        if (len >= 0) {
          if (src) {
            v.srcXLen = len;
            v.srcXFam = 4;
          } else {
            v.dstXLen = len;
            v.dstXFam = 4;
          }
          return true;
        }
        const e = this.stringEnd(b, p, end, false);
        if (e < 0) return false;
        const text = b.toString('latin1', p + 1, e);
        if (src) this.srcNetText = text;
        else this.dstNetText = text;
        this.pos = e + 1;
        return true;
      }
      case K_TYPE:
        return this.memoString(this.typeMemo, b, p, end, (s) => (FLOW_TYPES.has(s) ? 1 : -1)) === 1;
      case K_PROTO: {
        const x =
          b[p] === 34 ? this.memoString(this.protoMemo, b, p, end, (s) => protoNumber(s) ?? -1) : this.uint(b, p, end);
        if (x < 0 || x > 255) return false;
        v.proto = x;
        return true;
      }
      case K_ETYPE: {
        const x =
          b[p] === 34 ? this.memoString(this.etypeMemo, b, p, end, (s) => etypeNumber(s) ?? -1) : this.uint(b, p, end);
        if (x < 0 || x > 0xffff) return false;
        v.etype = x;
        return true;
      }
      case K_ARRAY: {
        if (b[p] !== 91) return false; // [
        p++;
        while (p < end && isWs(b[p]!)) p++;
        if (b[p] === 93) {
          this.pos = p + 1;
          return true;
        }
        for (;;) {
          const x = this.uint(b, p, end);
          if (x < 0 || x > Number.MAX_SAFE_INTEGER) return false;
          p = this.pos;
          while (p < end && isWs(b[p]!)) p++;
          if (b[p] === 93) {
            this.pos = p + 1;
            return true;
          }
          if (b[p] !== 44) return false;
          p++;
          while (p < end && isWs(b[p]!)) p++;
        }
      }
      default: {
        const e = this.stringEnd(b, p, end, true);
        if (e < 0) return false;
        this.pos = e + 1;
        return true;
      }
    }
  }
}

const SCRATCH = new Uint32Array(4);
