// --format text: one tcpdump-like line per flow, for people reading a terminal or a pager:
//
//   2024-01-15 12:00:02.944 127.0.0.1 TCP 10.5.3.7.50003 > 203.0.113.123.443: 5 pkts 676 bytes [SP.] 0.281s
//
// flow start time (UTC, ms; the receive time when the exporter sent none), exporter, protocol,
// source > destination in tcpdump's style (address.port, for IPv6 too: 2001:db8::1.443; ports
// only for TCP, UDP, SCTP, UDP-Lite and DCCP), packets, bytes, TCP flags as tcpdump's letters
// (F S R P . U E W, TCP only) and duration. Coloured only when the caller's chalk has a level
// (stdout is a TTY, no NO_COLOR).
// With --fields, the chosen fields' values instead, separated by spaces (times as above).

import type { ChalkInstance } from 'chalk';
import { renderField, type FlowRecord } from '../flow/record.js';
import { protoName } from '../flow/proto.js';
import { formatDurationNs, formatTimeNs, spanNs } from './time.js';
import type { FieldName } from './fields.js';

const PORTED = new Set([6, 17, 33, 132, 136]);

/** tcpdump's TCP flag letters, in its order (print-tcp.c tcp_flag_values): FIN SYN RST PSH ACK URG ECE CWR. */
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

export function tcpFlagLetters(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? 'none' : s;
}

function endpoint(addr: string, port: number, ported: boolean): string {
  const a = addr === '' ? '?' : addr;
  return ported ? `${a}.${port}` : a;
}

export class TextFormatter {
  constructor(
    private readonly chalk: ChalkInstance,
    private readonly fields?: readonly FieldName[],
  ) {}

  line(r: FlowRecord): string {
    if (this.fields) return this.fieldsLine(r);
    const c = this.chalk;
    const start = r.time_flow_start_ns > 0 ? r.time_flow_start_ns : r.time_received_ns;
    const ported = PORTED.has(r.proto);
    const duration = r.time_flow_start_ns > 0 ? spanNs(r.time_flow_start_ns, r.time_flow_end_ns) : 0;
    let s =
      `${c.dim(formatTimeNs(start))} ${c.dim(r.sampler_address || '-')} ${c.cyan(protoName(r.proto))} ` +
      `${c.green(endpoint(r.src_addr, r.src_port, ported))} > ${c.yellow(endpoint(r.dst_addr, r.dst_port, ported))}: ` +
      `${r.packets} pkts ${c.bold(String(r.bytes))} bytes`;
    if (r.proto === 6) s += ` [${tcpFlagLetters(r.tcp_flags)}]`;
    else if ((r.proto === 1 || r.proto === 58) && r.icmp_type !== undefined)
      s += ` icmp ${r.icmp_type}/${r.icmp_code ?? 0}`;
    s += ` ${formatDurationNs(duration)}`;
    if (r.sampling_rate > 1) s += c.dim(` sampled 1:${r.sampling_rate}`);
    return s;
  }

  private fieldsLine(r: FlowRecord): string {
    const f = this.fields!;
    const parts = new Array<string>(f.length);
    for (let i = 0; i < f.length; i++) {
      const name = f[i]!;
      if (name === 'time_received_ns' || name === 'time_flow_start_ns' || name === 'time_flow_end_ns')
        parts[i] = formatTimeNs(r[name]);
      else {
        const v = renderField(r, name);
        parts[i] = v === '' ? '-' : v;
      }
    }
    return parts.join(' ');
  }
}
