// flow-capture's /metrics (--metrics [ADDR:]PORT): Prometheus text exposition of the very counters
// the stats line prints — each scrape reads them through collect() callbacks, nothing is counted
// twice — plus the per-exporter table, the tee targets and prom-client's process metrics.
// Stats key → metric: `k` → flowmeter_capture_k_total (counter), but the gauges and renamed keys below, `error_R`
// → flowmeter_capture_rejects_total{reason="R"}, `P_datagrams` →
// flowmeter_capture_decoded_datagrams_total{protocol="P"}.

import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExporterTable, ExporterCounts } from './exporters.js';
import type { TeeTarget } from './tee.js';
import { bindFailure, type ListenSpec } from './udp.js';

export type StatsParts = Array<[string, number | string]>;

export interface CaptureMetricsSource {
  /** The stats line's key=value counters, read at each scrape. */
  parts(): StatsParts;
  exporters?: ExporterTable;
  tee?: readonly TeeTarget[];
}

/** Stats keys that are levels, not running totals; name and help. */
const GAUGES: Record<string, [string, string]> = {
  uptime: ['flowmeter_capture_uptime_seconds', 'Seconds since the collector started'],
  queue_bytes: ['flowmeter_capture_queue_bytes', 'Bytes waiting in the queue between sockets and decoder'],
  queue_max_bytes: ['flowmeter_capture_queue_max_bytes', 'Highest queue fill seen, bytes'],
  templates: ['flowmeter_capture_templates', 'v9/IPFIX templates held'],
  template_exporters: ['flowmeter_capture_template_exporters', 'Exporters with templates held'],
};

/** Help text of the counters from the stats line (a key not listed gets a generic one). */
const HELP: Record<string, string> = {
  datagrams: 'Datagrams received on the listening sockets',
  bytes: 'Datagram payload bytes received on the listening sockets',
  records: 'Flow records written',
  denied: 'Datagrams from exporters not on the --allow list, not decoded',
  decode_errors: 'Datagrams or sets rejected by the decoder (all reasons)',
  queue_drops: 'Datagrams dropped because the queue to the decoder was full',
  kernel_drops: 'Datagrams the kernel dropped on the listening sockets (receive buffer full)',
  seq_gaps: 'Sequence number gaps seen',
  seq_lost: "Flows or packets missing according to the exporters' sequence numbers",
  seq_resets: 'Exporter sequence restarts seen',
  files: 'Output files closed (-w)',
};

/** Stats keys whose metric names say more than the key (units, what is counted). */
const RENAMED: Record<string, string> = { bytes: 'received_bytes', denied: 'denied_datagrams' };

function counterName(key: string): string {
  return `flowmeter_capture_${RENAMED[key] ?? key}_total`;
}

/** The registry of one collector: its counters, per-exporter and tee metrics, process metrics. */
export function captureRegistry(src: CaptureMetricsSource): Registry {
  const registry = new Registry();
  const registers = [registry];
  const value = (key: string): number | undefined => {
    const v = src.parts().find(([k]) => k === key)?.[1];
    return typeof v === 'number' ? v : undefined; // kernel_drops=unavailable: no sample
  };
  for (const [key] of src.parts()) {
    if (/^error_/.test(key) || /_datagrams$/.test(key) || key === 'tee_drops') continue; // labelled below
    const gauge = GAUGES[key];
    if (gauge) {
      new Gauge({
        name: gauge[0],
        help: gauge[1],
        registers,
        collect() {
          const v = value(key);
          if (v !== undefined) this.set(v);
        },
      });
      continue;
    }
    new Counter({
      name: counterName(key),
      help: HELP[key] ?? `The stats line's ${key} counter`,
      registers,
      collect() {
        this.reset();
        const v = value(key);
        if (v !== undefined) this.inc(v);
      },
    });
  }
  new Counter({
    name: 'flowmeter_capture_rejects_total',
    help: 'Items rejected by the decoder, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [k, v] of src.parts())
        if (k.startsWith('error_') && typeof v === 'number') this.inc({ reason: k.slice(6) }, v);
    },
  });
  new Counter({
    name: 'flowmeter_capture_decoded_datagrams_total',
    help: 'Datagrams decoded, by protocol',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const [k, v] of src.parts())
        if (k.endsWith('_datagrams') && typeof v === 'number')
          this.inc({ protocol: k.slice(0, -'_datagrams'.length) }, v);
    },
  });
  if (src.exporters) addExporterMetrics(src.exporters, registers);
  if (src.tee && src.tee.length > 0) addTeeMetrics(src.tee, registers);
  collectDefaultMetrics({ register: registry });
  return registry;
}

function addExporterMetrics(table: ExporterTable, registers: Registry[]): void {
  const per = (name: string, help: string, field: keyof ExporterCounts): void => {
    new Counter({
      name,
      help,
      labelNames: ['exporter', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const [exporter, protocol, c] of table.entries()) this.inc({ exporter, protocol }, c[field]);
      },
    });
  };
  per(
    'flowmeter_capture_exporter_datagrams_total',
    'Datagrams decoded, per exporter (past --metrics-max-exporters: "other") and protocol',
    'datagrams',
  );
  per('flowmeter_capture_exporter_bytes_total', 'Datagram payload bytes decoded, per exporter and protocol', 'bytes');
  per('flowmeter_capture_exporter_records_total', 'Flow records decoded, per exporter and protocol', 'records');
  per(
    'flowmeter_capture_exporter_seq_lost_total',
    'Flows or packets missing by sequence numbers, per exporter and protocol',
    'seqLost',
  );
}

function addTeeMetrics(targets: readonly TeeTarget[], registers: Registry[]): void {
  const per = (name: string, help: string, read: (t: TeeTarget) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const t of targets) this.inc({ target: t.text }, read(t));
      },
    });
  };
  per('flowmeter_capture_tee_datagrams_total', 'Datagrams forwarded to the --tee target', (t) => t.sent);
  per(
    'flowmeter_capture_tee_drops_total',
    'Datagrams not forwarded to the --tee target because its queue was full',
    (t) => t.drops,
  );
  per(
    'flowmeter_capture_tee_errors_total',
    'Datagrams the system refused to send to the --tee target',
    (t) => t.errors,
  );
}

/** Serve GET /metrics on `spec`; anything else is 404. A failure to listen is exit 69. */
export async function serveMetrics(spec: ListenSpec, registry: Registry): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('flowmeter: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) =>
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(bindFailure('--metrics', spec, 'listen on', e)));
    server.listen({ host: spec.address, port: spec.port, ipv6Only: false, exclusive: true }, () => resolve());
  });
  server.on('error', () => undefined);
  return server;
}

export function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
