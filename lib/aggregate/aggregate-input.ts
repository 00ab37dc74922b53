// Reading aggregate records (flowmeter-record(5) aggregate lines, as objects) back into key values.

import { FieldError } from '../flow/record.js';
import { etypeNumber, protoNumber } from '../flow/proto.js';
import { parseIP, formatIP } from '../net/ip.js';
import { ADDRESS_PRIMITIVES, type Primitive } from './primitives.js';
import type { Value } from './aggregator.js';

/** Field `name` of an aggregate record as an integer 0…max (0 when absent and not required). */
export function uintField(
  o: Record<string, unknown>,
  name: string,
  required: boolean,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new FieldError(name, 'a non-negative integer (field missing)', v);
    return 0;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
  if (typeof v === 'string' && /^[0-9]{1,16}$/.test(v) && Number(v) <= max) return Number(v);
  throw new FieldError(name, max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer 0-${max}`, v);
}

/** A key primitive's value from an aggregate record, canonicalised like the flow path makes it. */
export function readPrimitive(o: Record<string, unknown>, p: Primitive): Value {
  const v = o[p];
  if (v === undefined) throw new FieldError(p, `the primitive "${p}" (the aggregate record does not have it)`, v);
  if (ADDRESS_PRIMITIVES.has(p)) {
    if (v === '') return '';
    const ip = typeof v === 'string' ? parseIP(v) : undefined;
    if (!ip) throw new FieldError(p, 'an IPv4 or IPv6 address', v);
    return formatIP(ip);
  }
  switch (p) {
    case 'proto': {
      const n = typeof v === 'string' || typeof v === 'number' ? protoNumber(v) : undefined;
      if (n === undefined) throw new FieldError(p, 'an IANA protocol name or number 0-255', v);
      return n;
    }
    case 'etype': {
      const n = typeof v === 'string' || typeof v === 'number' ? etypeNumber(v) : undefined;
      if (n === undefined) throw new FieldError(p, '"IPv4", "IPv6" or an EtherType number', v);
      return n;
    }
    case 'src_mask':
    case 'dst_mask':
      return uintField(o, p, true, 128);
    case 'src_port':
    case 'dst_port':
    case 'sum_port':
      return uintField(o, p, true, 65535);
    case 'tos':
      return uintField(o, p, true, 255);
    case 'sampling_rate':
      return uintField(o, p, true);
    default:
      return uintField(o, p, true, 0xffffffff);
  }
}
