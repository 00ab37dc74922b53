// Validation of Hydra hcd external-statistics lines (hcd-putfile(1), Validation):
// EXT_GOOD_ID;EXT_OBJECT_ID;D_BEGIN;D_END;ADDR_1/MASK_1;ADDR_2/MASK_2;BYTES;
// Every rule names the field, what was expected and what was found, so an operator can fix the
// file before anything reaches billing.

import { parseCidr } from '../net/ip.js';
import { U64_MAX } from '../flow/counter.js';

export const BILLING_FIELDS = [
  'EXT_GOOD_ID',
  'EXT_OBJECT_ID',
  'D_BEGIN',
  'D_END',
  'ADDR_1/MASK_1',
  'ADDR_2/MASK_2',
  'BYTES',
] as const;
export type BillingField = (typeof BILLING_FIELDS)[number];

/** 2000-01-01T00:00:00Z: nothing older is traffic statistics of a running network. */
export const MIN_TIME = 946_684_800;
/** How far past "now" a D_BEGIN/D_END may lie (clock skew between collector and this host). */
export const MAX_FUTURE_SECONDS = 86_400;
const MAX_BYTES = U64_MAX; // what any counter can hold
const MAX_ID_LENGTH = 128;

export interface BillingLine {
  goodId: string;
  objectId: string;
  begin: number;
  end: number;
  addr1: string;
  addr2: string;
  bytes: bigint;
}

export interface LineProblem {
  /** The field at fault, or undefined when the line's shape is wrong. */
  field: BillingField | undefined;
  expected: string;
  got: string;
}

/** Clip what we quote from the input so a binary line does not flood the terminal. */
export function quote(text: string, max = 40): string {
  const clipped = text.length > max ? `${text.slice(0, max)}…` : text;
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(clipped).replace(
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function problem(field: BillingField | undefined, expected: string, got: string): LineProblem {
  return { field, expected, got };
}

/** What Hydra's service ids and equipment codes look like (the guide's `c39501`): anything else,
 *  a spreadsheet formula such as `=cmd|' /C calc'!A0` included, is refused rather than billed. */
const HYDRA_ID = /^[A-Za-z0-9._-]*$/;
export const HYDRA_ID_RULE = 'letters, digits, "-", "_" and "." (like c39501)';

/** What is wrong with a non-empty EXT_GOOD_ID / EXT_OBJECT_ID (undefined: nothing). */
export function hydraIdProblem(v: string): string | undefined {
  if (v.length > MAX_ID_LENGTH) return `an id of at most ${MAX_ID_LENGTH} characters`;
  if (!HYDRA_ID.test(v)) return `an id of ${HYDRA_ID_RULE}`;
  return undefined;
}

function checkId(field: BillingField, v: string): LineProblem | undefined {
  const expected = hydraIdProblem(v);
  return expected ? problem(field, expected, quote(v)) : undefined;
}

function checkTime(field: BillingField, v: string, now: number): number | LineProblem {
  if (!/^[0-9]{1,12}$/.test(v)) return problem(field, 'a Unix time in seconds (digits only)', quote(v));
  const t = Number(v);
  if (t < MIN_TIME) return problem(field, `a Unix time at or after ${MIN_TIME} (2000-01-01)`, quote(v));
  const max = now + MAX_FUTURE_SECONDS;
  if (t > max) return problem(field, `a Unix time at most one day ahead of now (<= ${max})`, quote(v));
  return t;
}

function checkCidr(field: BillingField, v: string): LineProblem | undefined {
  const slash = v.indexOf('/');
  if (slash < 0) return problem(field, 'ADDRESS/MASK (e.g. 10.5.10.6/32, 2001:db8::1/128)', quote(v));
  const c = parseCidr(v);
  if (c) return undefined;
  const lenText = v.slice(slash + 1);
  const addr = parseCidr(`${v.slice(0, slash)}`);
  if (!addr) return problem(field, 'an IPv4 or IPv6 address before the "/"', quote(v));
  const max = addr.ip.family === 4 ? 32 : 128;
  return problem(field, `a mask 0..${max} after the IPv${addr.ip.family} address`, quote(lenText === '' ? v : lenText));
}

/** The line in the header's form: the Hydra guide's own example (`c39501;;…;900`) leaves out
 *  the ";" after BYTES, which hcd reads the same; such a line (exactly 7 fields) gets it. */
export function withTrailingSemicolon(text: string): string {
  if (text.endsWith(';')) return text;
  let n = 0;
  for (let i = text.indexOf(';'); i >= 0; i = text.indexOf(';', i + 1)) n++;
  return n === 6 ? `${text};` : text;
}

/** Validate one line (without its newline). `now` is Unix seconds, passed in so tests are fixed. */
export function parseBillingLine(text: string, now: number): BillingLine | LineProblem {
  if (text.length === 0) return problem(undefined, '7 fields each followed by ";"', 'an empty line');
  if (text.charCodeAt(0) === 0xfeff)
    return problem(undefined, 'plain text without a byte-order mark', 'a UTF-8 BOM before EXT_GOOD_ID');
  const parts = text.split(';');
  const last = parts.pop();
  if (last !== '') {
    const n = parts.length + 1;
    if (n === 7) return problem(undefined, 'the line to end with ";" after BYTES', `${quote(last ?? '')} at the end`);
    return problem(
      undefined,
      '7 fields each followed by ";"',
      `${n} field${n === 1 ? '' : 's'} without a trailing ";"`,
    );
  }
  if (parts.length !== 7) {
    return problem(undefined, '7 fields each followed by ";"', `${parts.length} field${parts.length === 1 ? '' : 's'}`);
  }
  const [goodId, objectId, beginText, endText, addr1, addr2, bytesText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];

  const idProblem = checkId('EXT_GOOD_ID', goodId) ?? checkId('EXT_OBJECT_ID', objectId);
  if (idProblem) return idProblem;

  const begin = checkTime('D_BEGIN', beginText, now);
  if (typeof begin !== 'number') return begin;
  const end = checkTime('D_END', endText, now);
  if (typeof end !== 'number') return end;
  if (end < begin) return problem('D_END', `a time at or after D_BEGIN (${begin})`, quote(endText));

  if (addr1 === '' || addr2 === '') {
    if (addr1 !== addr2) {
      const [field, other]: [BillingField, BillingField] =
        addr1 === '' ? ['ADDR_1/MASK_1', 'ADDR_2/MASK_2'] : ['ADDR_2/MASK_2', 'ADDR_1/MASK_1'];
      return problem(field, `an address/mask, since ${other} is given`, 'an empty field');
    }
    // No addresses: the line is billed by ids alone, so both must be there.
    if (goodId === '')
      return problem(
        'EXT_GOOD_ID',
        'a service id (the addresses are empty, so both ids are required)',
        'an empty field',
      );
    if (objectId === '')
      return problem(
        'EXT_OBJECT_ID',
        'an equipment code (the addresses are empty, so both ids are required)',
        'an empty field',
      );
  } else {
    const a1 = checkCidr('ADDR_1/MASK_1', addr1) ?? checkCidr('ADDR_2/MASK_2', addr2);
    if (a1) return a1;
  }

  if (!/^[0-9]{1,20}$/.test(bytesText)) return problem('BYTES', 'a non-negative integer', quote(bytesText));
  const bytes = BigInt(bytesText);
  if (bytes > MAX_BYTES) return problem('BYTES', `an integer at most ${MAX_BYTES}`, quote(bytesText));

  return { goodId, objectId, begin, end, addr1, addr2, bytes };
}

export function isProblem(r: BillingLine | LineProblem): r is LineProblem {
  return (r as LineProblem).expected !== undefined;
}

/** `field "D_END": expected … (got "…")`, or without the field part for a shape error. */
export function describeProblem(p: LineProblem): string {
  return `${p.field ? `field "${p.field}": ` : ''}expected ${p.expected} (got ${p.got})`;
}
