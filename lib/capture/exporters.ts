// Per-exporter counters for flow-capture's /metrics: datagrams, bytes, records and sequence loss
// per exporter address and protocol. Bounded: past `maxExporters` addresses, further exporters
// are summed under exporter "other", so a spoofed flood cannot grow the label set without end.

import type { Datagram } from './datagram.js';

export interface ExporterCounts {
  datagrams: number;
  bytes: number;
  records: number;
  seqLost: number;
}

export const OTHER_EXPORTERS = 'other';

export class ExporterTable {
  /** exporter → protocol → counts */
  readonly byExporter = new Map<string, Map<string, ExporterCounts>>();

  constructor(readonly maxExporters: number) {}

  /** The counts of the datagram's exporter and protocol (created on first sight). */
  countsFor(d: Datagram): ExporterCounts {
    let exporter = d.exporter;
    if (!this.byExporter.has(exporter) && this.byExporter.size >= this.maxExporters) exporter = OTHER_EXPORTERS;
    let protocols = this.byExporter.get(exporter);
    if (!protocols) this.byExporter.set(exporter, (protocols = new Map()));
    const protocol = protocolOf(d.payload);
    let c = protocols.get(protocol);
    if (!c) protocols.set(protocol, (c = { datagrams: 0, bytes: 0, records: 0, seqLost: 0 }));
    return c;
  }

  *entries(): Generator<[exporter: string, protocol: string, counts: ExporterCounts]> {
    for (const [exporter, protocols] of this.byExporter)
      for (const [protocol, c] of protocols) yield [exporter, protocol, c];
  }
}

/** The protocol a datagram claims, named as the stats line's `<name>_datagrams` keys. */
export function protocolOf(b: Buffer): string {
  if (b.length < 4) return 'unknown';
  const version = b.readUInt16BE(0);
  switch (version) {
    case 1:
    case 5:
    case 7:
    case 9:
      return `netflow_v${version}`;
    case 10:
      return 'ipfix';
    case 0:
      return b.readUInt32BE(0) === 5 ? 'sflow' : 'unknown';
    default:
      return 'unknown';
  }
}
