// AssemblyScript, compiled to dist/lib/aggregate/scan.wasm (npm run build): the common case of
// lib/aggregate/scan.ts in WebAssembly, where a byte costs a load and a compare instead of a
// bounds-checked typed-array access (bench/README.md). Same contract as
// scan.ts, one step narrower: it takes only lines as flow-capture and goflow2 write them (no
// whitespace, addresses and nets in plain form, protocol/etype names it was taught) and returns
// -1 for anything else, which the JavaScript scanner then takes (and it in turn leaves the rest
// to JSON.parse). So it only has to be right about the lines it accepts:
// test/unit/aggregate/scan.test.ts checks it against JSON.parse + flowFromObject on every fixture
// and on random and edge-case lines, bench/fuzz-scan.ts on millions of mutated ones.
//
// Field names, kinds, bounds and value names are not written here: scan-wasm.ts teaches them at
// load from lib/flow/record.ts and proto.ts, the one place they are defined.

// Field kinds and where a line's values go: the table scan.ts and scan-wasm.ts read too.
import {
  K_U, K_IP, K_TYPE, K_PROTO, K_ETYPE, K_NET, K_ARRAY, NO_SLOT, NUM_COUNT, NUM_ETYPE, WORD_COUNT, W_SRC_X, W_DST_X,
  W_SRC_FAM, W_DST_FAM, W_PEER_FAM, W_SRC_X_LEN, W_DST_X_LEN, W_SRC_X_FAM, W_DST_X_FAM, NET_SLOT_SRC,
} from '../scan-layout';

const MAX_FIELDS: i32 = 64;
const KEY_ROOM: i32 = 32;
const NONE: i32 = -1;
const UNKNOWN: i32 = -2;
const MAX_SAFE: f64 = 9007199254740991;

// What each field is (set by defineField).
const KIND = memory.data(MAX_FIELDS);
const SLOT = memory.data(MAX_FIELDS);
const BOUND = memory.data(MAX_FIELDS * 8);
/** `name":` of each field, KEY_ROOM bytes apiece, zero-padded (compared 8 bytes at a time). */
const KEY = memory.data(MAX_FIELDS * KEY_ROOM);
const KEY_LEN = memory.data(MAX_FIELDS);
let fieldCount: i32 = 0;

/** Expected field id + 1 at each key position, learned from the previous lines (0: none yet). */
const ORDER = memory.data(MAX_FIELDS);
const SEEN = memory.data(MAX_FIELDS * 4);
let gen: u32 = 0;

// Names of values (flow types, protocols, etypes) and what they mean (set by defineName).
const NAME_TABLES: i32 = 3;
const MAX_NAMES: i32 = 512;
const NAME_ROOM: i32 = 32;
const NAME_TABLE = memory.data(MAX_NAMES);
const NAME_VALUE = memory.data(MAX_NAMES * 4);
const NAME_LEN = memory.data(MAX_NAMES);
const NAME = memory.data(MAX_NAMES * NAME_ROOM);
let nameCount: i32 = 0;
/** A few recent hits per table: (length, first 8 bytes) → value, so TCP/UDP cost one compare. */
const MEMO_WAYS: i32 = 4;
const MEMO_LEN = memory.data(NAME_TABLES * MEMO_WAYS * 4);
const MEMO_WORD = memory.data(NAME_TABLES * MEMO_WAYS * 8);
const MEMO_VALUE = memory.data(NAME_TABLES * MEMO_WAYS * 4);
const MEMO_NEXT = memory.data(NAME_TABLES * 4);

/** Where defineField/defineName read their text. */
const TEXT = memory.data(256);

/** What a line gave: f64 numbers by slot and u32 words (addresses, nets and their families and
 *  lengths), laid out as scan-layout.ts says. */
const NUM = memory.data(NUM_COUNT * 8);
const WORD = memory.data(WORD_COUNT * 4);

let pos: i32 = 0;
let srcNetSeen = false;
let dstNetSeen = false;

export function textArea(): usize {
  return TEXT;
}
export function numArea(): usize {
  return NUM;
}
export function wordArea(): usize {
  return WORD;
}

/** Field `id`: its name (TEXT, `len` bytes), kind, output slot (255: validated only) and bound. */
export function defineField(id: i32, len: i32, kind: u8, slot: u8, bound: f64): bool {
  if (id < 0 || id >= MAX_FIELDS || len + 2 > KEY_ROOM) return false;
  memory.copy(KEY + id * KEY_ROOM, TEXT, len);
  store<u8>(KEY + id * KEY_ROOM + len, 34); // "
  store<u8>(KEY + id * KEY_ROOM + len + 1, 58); // :
  store<u8>(KEY_LEN + id, <u8>(len + 2));
  store<u8>(KIND + id, kind);
  store<u8>(SLOT + id, slot);
  store<f64>(BOUND + id * 8, bound);
  if (id >= fieldCount) fieldCount = id + 1;
  return true;
}

/** The fields of which a flow record must have one (an address or a counter; see
 *  defineEvidence); -1 = none. Globals, not an array: the module imports nothing (no abort). */
let evidence0: i32 = -1;
let evidence1: i32 = -1;
let evidence2: i32 = -1;
let evidence3: i32 = -1;

/** Field `id` is the `i`th (0-3) of those a flow record must have one of. */
export function defineEvidence(i: i32, id: i32): bool {
  if (id < 0 || id >= MAX_FIELDS) return false;
  if (i == 0) evidence0 = id;
  else if (i == 1) evidence1 = id;
  else if (i == 2) evidence2 = id;
  else if (i == 3) evidence3 = id;
  else return false;
  return true;
}

// @ts-ignore: decorator
@inline function seenNow(id: i32): bool {
  return id >= 0 && load<u32>(SEEN + id * 4) == gen;
}

/** Whether the line had one of the evidence fields: else it is no flow record of ours (dialects.ts
 *  gives the error). */
function hasEvidence(): bool {
  return seenNow(evidence0) || seenNow(evidence1) || seenNow(evidence2) || seenNow(evidence3);
}

/** A value name of `table` (0 flow type, 1 protocol, 2 etype): TEXT, `len` bytes, means `value`. */
export function defineName(table: u8, len: i32, value: i32): bool {
  if (nameCount >= MAX_NAMES || len > NAME_ROOM || table >= <u8>NAME_TABLES) return false;
  const k = nameCount++;
  store<u8>(NAME_TABLE + k, table);
  store<i32>(NAME_VALUE + k * 4, value);
  store<u8>(NAME_LEN + k, <u8>len);
  memory.copy(NAME + k * NAME_ROOM, TEXT, len);
  return true;
}

// @ts-ignore: decorator
@inline function at(p: i32): u32 {
  return <u32>load<u8>(<usize>p);
}

// @ts-ignore: decorator
@inline function wordMask(n: i32): u64 {
  return n >= 8 ? <u64>-1 : (<u64>1 << (<u64>n * 8)) - 1;
}

/** Scan the line at `p` (complete lines up to `end`). Returns the index of its '\n' when it is a
 *  flow record this scanner fully understands (NUM and WORD then hold it), else -1. */
export function scan(p: i32, end: i32): i32 {
  memory.fill(NUM, 0, NUM_COUNT * 8);
  store<u32>(WORD + W_SRC_FAM * 4, 0);
  store<u32>(WORD + W_DST_FAM * 4, 0);
  store<u32>(WORD + W_PEER_FAM * 4, 0);
  srcNetSeen = false;
  dstNetSeen = false;
  gen++;
  if (gen == 0) {
    memory.fill(SEEN, 0, MAX_FIELDS * 4);
    gen = 1;
  }
  if (p >= end || at(p) != 123) return -1; // {
  p++;
  if (p < end && at(p) == 125) p++;
  else {
    p = members(p, end);
    if (p < 0) return -1;
  }
  if (p >= end || at(p) != 10) return -1;
  if (!hasEvidence()) return -1;
  finish();
  return p;
}

/** The members of the object after its '{': returns the index after its '}', or -1. */
function members(p: i32, end: i32): i32 {
  for (let j = 0; ; j++) {
    if (p >= end || at(p) != 34) return -1;
    p++;
    let id: i32 = j < MAX_FIELDS ? <i32>load<u8>(ORDER + j) - 1 : NONE;
    if (id >= 0) {
      const n = <i32>load<u8>(KEY_LEN + id);
      if (p + n < end && keyAt(p, id, n)) p += n;
      else id = NONE;
    }
    if (id == NONE) {
      id = lookupKey(p, end);
      if (id == NONE) return -1;
      p = pos;
      if (id >= 0 && j < MAX_FIELDS) store<u8>(ORDER + j, <u8>(id + 1));
      if (p >= end || at(p) != 58) return -1; // :
      p++;
    }
    if (p >= end) return -1;
    // a field flowmeter does not write: another collector's line, for lib/flow/dialects.ts
    if (id == UNKNOWN) return -1;
    if (load<u32>(SEEN + id * 4) == gen) return -1; // a repeated key
    store<u32>(SEEN + id * 4, gen);
    if (!value(id, p, end)) return -1;
    p = pos;
    if (p >= end) return -1;
    const c = at(p);
    if (c == 44) {
      p++;
      continue;
    }
    return c == 125 ? p + 1 : -1;
  }
}

/** Whether the bytes at p are field id's `name":` (n bytes; the caller made sure p + n < end). */
function keyAt(p: i32, id: i32, n: i32): bool {
  const k = KEY + id * KEY_ROOM;
  let i = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(<usize>(p + i)) != load<u64>(k + i)) return false;
  if (i < n) {
    const m = wordMask(n - i);
    if ((load<u64>(<usize>(p + i)) & m) != load<u64>(k + i)) return false;
  }
  return true;
}

/** A key not where expected: its field id, UNKNOWN, or NONE ("flows": an aggregate record;
 *  escapes and odd bytes). Sets pos after the closing quote. */
function lookupKey(p: i32, end: i32): i32 {
  let q = p;
  while (q < end) {
    const c = at(q);
    if (c == 34) break;
    if (c == 92 || c < 32 || c >= 128) return NONE;
    q++;
  }
  if (q >= end) return NONE;
  pos = q + 1;
  const n = q - p;
  if (n == 5 && load<u32>(<usize>p) == 0x776f6c66 && at(p + 4) == 115) return NONE; // "flows"
  for (let id = 0; id < fieldCount; id++) {
    if (<i32>load<u8>(KEY_LEN + id) != n + 2) continue;
    if (memory.compare(KEY + id * KEY_ROOM, <usize>p, n) == 0) return id;
  }
  return UNKNOWN;
}

/** Index of the closing quote of the string opening at p, or -1 (escapes, control bytes, and
 *  bytes >= 0x80 unless utf8). */
function stringEnd(p: i32, end: i32, utf8: bool): i32 {
  if (p >= end || at(p) != 34) return -1;
  for (let q = p + 1; q < end; q++) {
    const c = at(q);
    if (c == 34) return q;
    if (c == 92 || c < 32 || (c >= 128 && !utf8)) return -1;
  }
  return -1;
}

/** The value of an unknown field: a plain string, number, true, false or null. */
function skipValue(p: i32, end: i32): bool {
  const c = at(p);
  if (c == 34) {
    const q = stringEnd(p, end, true);
    if (q < 0) return false;
    pos = q + 1;
    return true;
  }
  if (c == 116) return literal(p, end, 0x65757274, 4); // true
  if (c == 110) return literal(p, end, 0x6c6c756e, 4); // null
  if (c == 102) return literal(p, end, 0x736c6166, 5) && at(p + 4) == 101; // false
  return skipNumber(p, end);
}

function literal(p: i32, end: i32, first4: u32, n: i32): bool {
  if (p + n > end || load<u32>(<usize>p) != first4) return false;
  pos = p + n;
  return true;
}

/** JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function skipNumber(p: i32, end: i32): bool {
  if (p < end && at(p) == 45) p++;
  if (p >= end) return false;
  if (at(p) == 48) p++;
  else if (at(p) - 49 < 9) while (p < end && at(p) - 48 < 10) p++;
  else return false;
  if (p < end && at(p) == 46) {
    p++;
    const s = p;
    while (p < end && at(p) - 48 < 10) p++;
    if (p == s) return false;
  }
  if (p < end && (at(p) == 101 || at(p) == 69)) {
    p++;
    if (p < end && (at(p) == 43 || at(p) == 45)) p++;
    const s = p;
    while (p < end && at(p) - 48 < 10) p++;
    if (p == s) return false;
  }
  pos = p;
  return true;
}

/** A JSON integer of plain digits (at most 19: exact in u64, then rounded once to the double
 *  JSON.parse gives), or -1. Eight digits at a time while there are eight. Sets pos. */
function uint(p: i32, end: i32): f64 {
  const s = p;
  let x: u64 = 0;
  while (p + 8 <= end && p - s < 16) {
    const w = load<u64>(<usize>p);
    if (!eightDigits(w)) break;
    x = x * 100000000 + eightDigitsValue(w);
    p += 8;
  }
  const lim = s + 20 < end ? s + 20 : end;
  while (p < lim) {
    const d = at(p) - 48;
    if (d > 9) break;
    x = x * 10 + <u64>d;
    p++;
  }
  const n = p - s;
  if (n == 0 || n > 19 || (n > 1 && at(s) == 48)) return -1;
  if (p < end) {
    const c = at(p);
    if (c == 46 || c == 101 || c == 69) return -1;
  }
  pos = p;
  return <f64>x;
}

/** Whether all eight bytes of w are ASCII digits (high nibble 3, and no carry out of +6). */
// @ts-ignore: decorator
@inline function eightDigits(w: u64): bool {
  return (w & 0xf0f0f0f0f0f0f0f0) == 0x3030303030303030 && ((w + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) == 0x3030303030303030;
}

/** The value of eight ASCII digits, first in the lowest byte (simdjson's parse_eight_digits). */
// @ts-ignore: decorator
@inline function eightDigitsValue(w: u64): u64 {
  w -= 0x3030303030303030;
  w = w * 10 + (w >> 8);
  return (((w & 0x000000ff000000ff) * 0x000f424000000064) + (((w >> 16) & 0x000000ff000000ff) * 0x0000271000000001)) >> 32;
}

/** A quoted address into WORD[w..] (-1: nowhere), or "": 4 (an IPv4 strict dotted quad), 6 (IPv6
 *  in hex groups), 0, or -1 (anything else, IPv6 with a zone or a dotted tail included, is the
 *  JavaScript scanner's). Sets pos. */
function addr(p: i32, end: i32, w: i32): i32 {
  if (p >= end || at(p) != 34) return -1;
  p++;
  if (p < end && at(p) == 34) {
    pos = p + 1;
    return 0;
  }
  let q = dottedQuad(p, end);
  if (q >= 0) {
    if (q >= end || at(q) != 34) return -1;
    if (w >= 0) store<u32>(WORD + w * 4, quad);
    pos = q + 1;
    return 4;
  }
  q = hexGroups(p, end);
  if (q < 0 || q >= end || at(q) != 34) return -1;
  if (w >= 0) memory.copy(WORD + w * 4, V6, 16);
  pos = q + 1;
  return 6;
}

/** An IPv6 address as lib/net/ip.ts parseIPv6 reads it, limited to hex groups (at most one "::"),
 *  into V6 as four words; returns the index after it or -1. */
const V6 = memory.data(16);
const GROUPS = memory.data(16);

function hexGroups(p: i32, end: i32): i32 {
  let n = 0;
  let gap = -1;
  let q = p;
  if (q + 1 < end && at(q) == 58 && at(q + 1) == 58) {
    gap = 0;
    q += 2;
  }
  if (gap < 0 || (q < end && isHex(at(q)))) {
    for (;;) {
      let g: u32 = 0;
      const s = q;
      while (q < end && q - s < 4 && isHex(at(q))) g = (g << 4) | hexValue(at(q++));
      if (q == s || n == 8) return -1; // (a fifth hex digit ends the address: not a quote, refused)
      store<u16>(GROUPS + n * 2, <u16>g);
      n++;
      if (q >= end || at(q) != 58) break; // ':'
      q++;
      if (q < end && at(q) == 58) {
        if (gap >= 0) return -1;
        gap = n;
        q++;
        if (q >= end || !isHex(at(q))) break;
      }
    }
  }
  if (gap < 0 ? n != 8 : n > 7) return -1;
  // the groups after the gap move to the end; the gap is zeros
  const fill = 8 - n;
  for (let i = 0; i < 8; i++) {
    let g: u32 = 0;
    if (gap < 0 || i < gap) g = load<u16>(GROUPS + i * 2);
    else if (i >= gap + fill) g = load<u16>(GROUPS + (i - fill) * 2);
    if ((i & 1) == 0) store<u32>(V6 + (i >> 1) * 4, g << 16);
    else store<u32>(V6 + (i >> 1) * 4, load<u32>(V6 + (i >> 1) * 4) | g);
  }
  return q;
}

// @ts-ignore: decorator
@inline function isHex(c: u32): bool {
  return c - 48 < 10 || (c | 32) - 97 < 6;
}

// @ts-ignore: decorator
@inline function hexValue(c: u32): u32 {
  return c - 48 < 10 ? c - 48 : (c | 32) - 87;
}

let quad: u32 = 0;

/** A strict dotted quad at p (no leading zeros): its value in `quad`; returns the index after it
 *  or -1. */
function dottedQuad(p: i32, end: i32): i32 {
  let u: u32 = 0;
  let part: u32 = 0;
  let digits = 0;
  let dots = 0;
  let q = p;
  for (; q < end; q++) {
    const c = at(q);
    if (c - 48 < 10) {
      if (digits == 1 && part == 0) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c == 46) {
      if (digits == 0 || ++dots > 3) return -1;
      u = (u << 8) | part;
      part = 0;
      digits = 0;
    } else break;
  }
  if (dots != 3 || digits == 0) return -1;
  quad = (u << 8) | part;
  return q;
}

/** A quoted CIDR, IPv4 "a.b.c.d/len" (len 0-32, no leading zero) or IPv6 (cidr6), into WORD[w]
 *  (host bits cleared) and its length; "" counts as absent; false for anything else. Sets pos. */
function cidr4(p: i32, end: i32, w: i32, lenAt: i32, famAt: i32): bool {
  if (p >= end || at(p) != 34) return false;
  p++;
  if (p < end && at(p) == 34) {
    pos = p + 1;
    return true; // "": the default net, as if absent (finish)
  }
  let q = dottedQuad(p, end);
  if (q < 0) return cidr6(p, end, w, lenAt, famAt);
  if (q + 2 >= end || at(q) != 47) return false; // '/'
  const d1 = at(q + 1) - 48;
  if (d1 > 9) return false;
  let len = d1;
  q += 2;
  if (at(q) != 34) {
    const d2 = at(q) - 48;
    if (d1 == 0 || d2 > 9) return false;
    len = d1 * 10 + d2;
    q++;
    if (q >= end || at(q) != 34) return false;
  }
  if (len > 32) return false;
  store<u32>(WORD + w * 4, len == 0 ? 0 : quad & (<u32>-1 << (32 - len)));
  store<u32>(WORD + lenAt * 4, len);
  store<u32>(WORD + famAt * 4, 4);
  pos = q + 1;
  return true;
}

/** An IPv6 CIDR "groups/len" (len 0-128, as parseCidr reads it) from p, after the opening
 *  quote: network (host bits cleared) into WORD[w..w+3], length and family. Sets pos. */
function cidr6(p: i32, end: i32, w: i32, lenAt: i32, famAt: i32): bool {
  let q = hexGroups(p, end);
  if (q < 0 || q >= end || at(q) != 47) return false; // '/'
  q++;
  let len: u32 = 0;
  const s = q;
  while (q < end && q - s < 3 && at(q) - 48 < 10) len = len * 10 + (at(q++) - 48);
  if (q == s || len > 128 || q >= end || at(q) != 34) return false;
  for (let i: u32 = 0; i < 4; i++) {
    const bits = <i32>len - <i32>(32 * i);
    const word = load<u32>(V6 + i * 4);
    store<u32>(WORD + (w + i) * 4, bits <= 0 ? 0 : bits >= 32 ? word : word & (<u32>-1 << (32 - bits)));
  }
  store<u32>(WORD + lenAt * 4, len);
  store<u32>(WORD + famAt * 4, 6);
  pos = q + 1;
  return true;
}

/** The meaning of the quoted name at p in `table`, or -1 (an unknown name, or not a plain
 *  string). Sets pos. */
function nameValue(table: i32, p: i32, end: i32): i32 {
  const e = stringEnd(p, end, false);
  if (e < 0) return -1;
  pos = e + 1;
  const s = p + 1;
  const n = e - s;
  const word = load<u64>(<usize>s) & wordMask(n);
  const m = table * MEMO_WAYS;
  for (let k = 0; k < MEMO_WAYS; k++) {
    if (load<i32>(MEMO_LEN + (m + k) * 4) == n + 1 && load<u64>(MEMO_WORD + (m + k) * 8) == word && n <= 8) return load<i32>(MEMO_VALUE + (m + k) * 4);
  }
  for (let k = 0; k < nameCount; k++) {
    if (<i32>load<u8>(NAME_TABLE + k) != table || <i32>load<u8>(NAME_LEN + k) != n) continue;
    if (memory.compare(NAME + k * NAME_ROOM, <usize>s, n) != 0) continue;
    const v = load<i32>(NAME_VALUE + k * 4);
    if (n <= 8) {
      const next = load<i32>(MEMO_NEXT + table * 4);
      store<i32>(MEMO_NEXT + table * 4, (next + 1) & (MEMO_WAYS - 1));
      store<i32>(MEMO_LEN + (m + next) * 4, n + 1);
      store<u64>(MEMO_WORD + (m + next) * 8, word);
      store<i32>(MEMO_VALUE + (m + next) * 4, v);
    }
    return v;
  }
  return -1;
}

/** A number field that may also come as a name (proto, etype). */
function numberOrName(table: i32, p: i32, end: i32): f64 {
  if (at(p) == 34) return <f64>nameValue(table, p, end);
  return uint(p, end);
}

/** One field's value at p; false: not this scanner's line. Sets pos. */
function value(id: i32, p: i32, end: i32): bool {
  const kind = load<u8>(KIND + id);
  const slot = <i32>load<u8>(SLOT + id);
  if (kind == K_U) {
    const x = uint(p, end);
    if (x < 0 || x > load<f64>(BOUND + id * 8)) return false;
    if (slot != NO_SLOT) store<f64>(NUM + slot * 8, x);
    return true;
  }
  if (kind == K_IP) {
    const f = addr(p, end, slot == NO_SLOT ? -1 : slot * 4);
    if (f < 0) return false;
    if (slot != NO_SLOT) store<u32>(WORD + (W_SRC_FAM + slot) * 4, f);
    return true;
  }
  if (kind == K_NET) {
    if (slot == NET_SLOT_SRC) {
      srcNetSeen = true;
      store<u32>(WORD + W_SRC_X_FAM * 4, 0);
      return cidr4(p, end, W_SRC_X, W_SRC_X_LEN, W_SRC_X_FAM);
    }
    dstNetSeen = true;
    store<u32>(WORD + W_DST_X_FAM * 4, 0);
    return cidr4(p, end, W_DST_X, W_DST_X_LEN, W_DST_X_FAM);
  }
  if (kind == K_TYPE) return nameValue(0, p, end) == 1;
  if (kind == K_PROTO || kind == K_ETYPE) {
    const x = numberOrName(kind == K_PROTO ? 1 : 2, p, end);
    if (x < 0 || x > load<f64>(BOUND + id * 8)) return false;
    store<f64>(NUM + slot * 8, x);
    return true;
  }
  if (kind == K_ARRAY) {
    if (at(p) != 91) return false; // [
    p++;
    if (p < end && at(p) == 93) {
      pos = p + 1;
      return true;
    }
    for (;;) {
      const x = uint(p, end);
      if (x < 0 || x > MAX_SAFE) return false;
      p = pos;
      if (p >= end) return false;
      if (at(p) == 93) {
        pos = p + 1;
        return true;
      }
      if (at(p) != 44) return false;
      p++;
    }
  }
  // K_STR (MACs and other plain strings): validated, not kept
  const e = stringEnd(p, end, true);
  if (e < 0) return false;
  pos = e + 1;
  return true;
}

/** Defaults that depend on other fields: an absent or "" net is 0.0.0.0/0, or ::/0 for an IPv6
 *  address (as record.ts netField); a missing etype follows the source address. */
function finish(): void {
  if (!srcNetSeen || load<u32>(WORD + W_SRC_X_FAM * 4) == 0) defaultNet(W_SRC_X, W_SRC_X_LEN, W_SRC_X_FAM, load<u32>(WORD + W_SRC_FAM * 4));
  if (!dstNetSeen || load<u32>(WORD + W_DST_X_FAM * 4) == 0) defaultNet(W_DST_X, W_DST_X_LEN, W_DST_X_FAM, load<u32>(WORD + W_DST_FAM * 4));
  if (load<f64>(NUM + NUM_ETYPE * 8) == 0) {
    const fam = load<u32>(WORD + W_SRC_FAM * 4);
    if (fam != 0) store<f64>(NUM + NUM_ETYPE * 8, fam == 6 ? 0x86dd : 0x0800);
  }
}

function defaultNet(w: i32, lenAt: i32, famAt: i32, fam: u32): void {
  memory.fill(WORD + w * 4, 0, 16);
  store<u32>(WORD + lenAt * 4, 0);
  store<u32>(WORD + famAt * 4, fam == 6 ? 6 : 4);
}
