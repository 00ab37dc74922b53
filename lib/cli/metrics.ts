// A run's counters as a Prometheus textfile (`--metrics-file PATH`), for node_exporter's textfile
// collector: a cron job's last run — records, rejects by reason, bytes, exit status, duration,
// end time — becomes scrapeable. One RunReport per process (Proc.report); a command enables it
// with the path and its Log, sets its own gauges, and run.ts writes the file from the one exit
// path, also when the run failed (the exit status is then in it).
//
// Every sample carries command="PROG" and run="NAME" (the file name without .prom), so the files
// of several jobs in one textfile directory never collide. Values are gauges: each run replaces
// the last one's. Another helper's metric (e.g. flowmeter_reconcile_difference_bytes) is added
// with gauge(); its name must follow Prometheus conventions (units in the name, no _total).

import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { Gauge, Registry } from 'prom-client';
import type { Log } from './log.js';
import { writeFileAtomic } from './io.js';

interface Sample {
  help: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricsFileArgs {
  'metrics-file'?: string;
}

/** Add --metrics-file to a command's parser. */
export function addMetricsFileOption<T>(y: Argv<T>): Argv<T & MetricsFileArgs> {
  return y.option('metrics-file', {
    type: 'string',
    requiresArg: true,
    group: 'Output:',
    describe:
      "Write this run's counters (records, rejects, exit status, duration) to PATH as a Prometheus textfile, atomically",
  });
}

export class RunReport {
  private path: string | undefined;
  private log: Log | undefined;
  private readonly startedMs = performance.now();
  private readonly samples = new Map<string, Sample[]>();

  /** Write a textfile at `path` (nothing when undefined) when the run ends; rejects by reason
   *  are read from `log` then. */
  enable(path: string | undefined, log: Log): void {
    this.path = path;
    this.log = log;
  }

  get enabled(): boolean {
    return this.path !== undefined;
  }

  /** Set one sample (the last value set for the same name and labels wins). */
  gauge(name: string, help: string, value: number | bigint, labels: Record<string, string> = {}): void {
    const list = this.samples.get(name) ?? [];
    const same = list.findIndex((s) => sameLabels(s.labels, labels));
    const sample = { help, labels, value: Number(value) };
    if (same >= 0) list[same] = sample;
    else list.push(sample);
    this.samples.set(name, list);
  }

  /** Add to one sample (0 when not set yet). */
  add(name: string, help: string, delta: number, labels: Record<string, string> = {}): void {
    const prior = this.samples.get(name)?.find((s) => sameLabels(s.labels, labels));
    this.gauge(name, help, (prior?.value ?? 0) + delta, labels);
  }

  /** The exposition text for a run of `prog` that ended with `exitStatus`. */
  async text(prog: string, exitStatus: number, nowMs = Date.now()): Promise<string> {
    for (const [reason, n] of this.log?.rejections ?? [])
      this.gauge('flowmeter_run_rejects', 'Input items rejected in the run, by reason', n, { reason });
    this.gauge('flowmeter_run_exit_status', 'Exit status of the run (0 success; sysexits otherwise)', exitStatus);
    this.gauge('flowmeter_run_duration_seconds', 'Wall time of the run', (performance.now() - this.startedMs) / 1000);
    this.gauge('flowmeter_run_last_timestamp_seconds', 'When the run ended, Unix time', Math.floor(nowMs / 1000));
    const registry = new Registry();
    registry.setDefaultLabels({ command: prog, run: runName(this.path ?? prog) });
    for (const [name, list] of this.samples) {
      const labelNames = [...new Set(list.flatMap((s) => Object.keys(s.labels)))];
      const g = new Gauge({ name, help: list[0]!.help, labelNames, registers: [registry] });
      for (const s of list) g.set(s.labels, s.value);
    }
    return registry.metrics();
  }

  /** Write the textfile if enabled (atomically: node_exporter never reads half a file). */
  async write(prog: string, exitStatus: number): Promise<void> {
    if (this.path === undefined) return;
    await writeFileAtomic(this.path, await this.text(prog, exitStatus));
  }
}

/** `/var/lib/node_exporter/textfile/aggregate-ab.prom` → `aggregate-ab`. */
export function runName(path: string): string {
  return basename(path).replace(/\.prom$/, '');
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The gauges of a run over NDJSON input (flow-aggregate, flow-report, meter-label count). */
export function reportInput(
  report: RunReport | undefined,
  s: { lines?: number; flows: number; aggregates?: number },
): void {
  if (!report) return;
  if (s.lines !== undefined) report.gauge('flowmeter_run_input_lines', 'Input lines read in the run', s.lines);
  report.gauge('flowmeter_run_records', 'Input records read in the run, by kind', s.flows, { kind: 'flow' });
  if (s.aggregates !== undefined)
    report.gauge('flowmeter_run_records', 'Input records read in the run, by kind', s.aggregates, {
      kind: 'aggregate',
    });
}
