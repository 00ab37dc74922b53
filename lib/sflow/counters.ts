// sFlow counter samples as records of their own (flow-capture --counters): the generic interface
// counters (0:1) and Ethernet counters (0:2) are decoded field by field; other counter record
// formats are listed by enterprise:format and length so nothing is silently hidden.
import { readU64, type Counter } from '../flow/counter.js';

export interface CounterSample {
  type: 'SFLOW_5_COUNTERS';
  time_received_ns: number;
  sequence_num: number;
  sampler_address: string;
  sub_agent_id: number;
  uptime_ms: number;
  sample_sequence_num: number;
  source_id_type: number;
  source_id_index: number;
  if_index?: number;
  if_type?: number;
  if_speed?: Counter;
  if_direction?: number;
  if_status?: number;
  if_in_octets?: Counter;
  if_in_ucast_pkts?: number;
  if_in_multicast_pkts?: number;
  if_in_broadcast_pkts?: number;
  if_in_discards?: number;
  if_in_errors?: number;
  if_in_unknown_protos?: number;
  if_out_octets?: Counter;
  if_out_ucast_pkts?: number;
  if_out_multicast_pkts?: number;
  if_out_broadcast_pkts?: number;
  if_out_discards?: number;
  if_out_errors?: number;
  if_promiscuous_mode?: number;
  ethernet?: number[];
  other_records?: string[];
}

/** The 64-bit fields of the generic interface counters; the others are 32-bit. */
type GenericU64 = 'if_speed' | 'if_in_octets' | 'if_out_octets';
type GenericU32 = Exclude<keyof CounterSample & `if_${string}`, GenericU64>;

/** The generic interface counter record (0:1), field by field in wire order. */
const GENERIC: ReadonlyArray<readonly [GenericU32, 4] | readonly [GenericU64, 8]> = [
  ['if_index', 4],
  ['if_type', 4],
  ['if_speed', 8],
  ['if_direction', 4],
  ['if_status', 4],
  ['if_in_octets', 8],
  ['if_in_ucast_pkts', 4],
  ['if_in_multicast_pkts', 4],
  ['if_in_broadcast_pkts', 4],
  ['if_in_discards', 4],
  ['if_in_errors', 4],
  ['if_in_unknown_protos', 4],
  ['if_out_octets', 8],
  ['if_out_ucast_pkts', 4],
  ['if_out_multicast_pkts', 4],
  ['if_out_broadcast_pkts', 4],
  ['if_out_discards', 4],
  ['if_out_errors', 4],
  ['if_promiscuous_mode', 4],
];
const GENERIC_LEN = 88;
const ETHERNET_LEN = 52;

/** Fills `c` from `n` counter records at `o`; returns a problem description, or undefined. */
export function decodeCounterRecords(
  b: Buffer,
  v: DataView,
  o: number,
  end: number,
  n: number,
  c: CounterSample,
): string | undefined {
  for (let i = 0; i < n; i++) {
    if (end - o < 8) return `counter record ${i + 1} of ${n}: truncated header`;
    const tag = v.getUint32(o);
    const len = v.getUint32(o + 4);
    o += 8;
    if (len > end - o) return `counter record ${i + 1} of ${n}: length ${len} exceeds the ${end - o} bytes left`;
    if (tag === 1 && len >= GENERIC_LEN) {
      let p = o;
      for (const field of GENERIC) {
        if (field[1] === 4) c[field[0]] = v.getUint32(p);
        else c[field[0]] = readU64(v, p);
        p += field[1];
      }
    } else if (tag === 2 && len >= ETHERNET_LEN) {
      const e: number[] = [];
      for (let k = 0; k < 13; k++) e.push(v.getUint32(o + 4 * k));
      c.ethernet = e;
    } else {
      (c.other_records ??= []).push(`${tag >>> 12}:${tag & 0xfff}/${len}`);
    }
    o += len;
  }
  void b;
  return undefined;
}

const ETHERNET_NAMES = [
  'dot3_stats_alignment_errors',
  'dot3_stats_fcs_errors',
  'dot3_stats_single_collision_frames',
  'dot3_stats_multiple_collision_frames',
  'dot3_stats_sqe_test_errors',
  'dot3_stats_deferred_transmissions',
  'dot3_stats_late_collisions',
  'dot3_stats_excessive_collisions',
  'dot3_stats_internal_mac_transmit_errors',
  'dot3_stats_carrier_sense_errors',
  'dot3_stats_frame_too_longs',
  'dot3_stats_internal_mac_receive_errors',
  'dot3_stats_symbol_errors',
];

/** One NDJSON line (no newline). Every value is a number or a string we built. */
export function counterToJson(c: CounterSample): string {
  let s =
    `{"type":"${c.type}","time_received_ns":${c.time_received_ns},"sequence_num":${c.sequence_num},` +
    `"sampler_address":"${c.sampler_address}","sub_agent_id":${c.sub_agent_id},"uptime_ms":${c.uptime_ms},` +
    `"sample_sequence_num":${c.sample_sequence_num},"source_id_type":${c.source_id_type},` +
    `"source_id_index":${c.source_id_index}`;
  for (const [name] of GENERIC) {
    const val = c[name];
    if (val !== undefined) s += `,"${name}":${val as Counter}`;
  }
  if (c.ethernet) c.ethernet.forEach((val, i) => (s += `,"${ETHERNET_NAMES[i]}":${val}`));
  if (c.other_records) s += `,"other_records":${JSON.stringify(c.other_records)}`;
  return s + '}';
}
