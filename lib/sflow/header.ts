// Raw packet header records (sFlow flow record 0:1): decoded through the shared packet parser.
import type { FlowRecord } from '../flow/record.js';

/** sFlow header_protocol values (sflow_version_5.txt, "header_protocol"). */
export const HEADER_ETHERNET = 1;
export const HEADER_IPV4 = 11;
export const HEADER_IPV6 = 12;

export function applySampledHeader(_b: Buffer, _o: number, _len: number, _headerProtocol: number, _r: FlowRecord): void {
  // filled in by the shared lib/packet parser once merged
}
