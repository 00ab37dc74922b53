// examples/billing/billing-cycle.sh in a temporary directory: the commands on a PATH of their
// own (as `npm install -g` puts them), a capture directory, a state directory and a configuration
// billing the fixtures' networks and subscribers.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runProcess, type RunResult } from './spawn.js';
import { tempDir } from './tmp.js';

export const CYCLE_SCRIPT = join(ROOT, 'examples/billing/billing-cycle.sh');
export const CYCLE_NETWORKS = join(ROOT, 'test/fixtures/report/networks.lst');
export const CYCLE_SUBSCRIBERS = '10.5.0.0/16 192.168.0.0/16';

export interface CycleSetup {
  dir: string;
  capture: string;
  state: string;
  config: string;
}

export function cycleSetup(prefix = 'billing-cycle-'): CycleSetup {
  const dir = tempDir(prefix);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const cmd of ['flow-aggregate', 'flow-report', 'hcd-putfile']) symlinkSync(join(ROOT, 'bin', `${cmd}.js`), join(bin, cmd));
  const capture = join(dir, 'capture');
  mkdirSync(capture);
  const state = join(dir, 'state');
  const config = join(dir, 'billing.conf');
  writeFileSync(config, [
    `CAPTURE_DIR=${capture}`,
    `STATE_DIR=${state}`,
    `NETWORKS=${CYCLE_NETWORKS}`,
    `SUBSCRIBERS="${CYCLE_SUBSCRIBERS}"`,
    'HCD_OPTS="--retries 0 --connect-timeout 5 --timeout 20"',
    `FLOWMETER_BIN=${bin}`,
    '',
  ].join('\n'));
  return { dir, capture, state, config };
}

/** One run of the cycle against hcd at `hcdUrl`. */
export function runCycle(s: CycleSetup, hcdUrl: string, env: Record<string, string> = {}): Promise<RunResult> {
  return runProcess('/bin/sh', [CYCLE_SCRIPT, s.config], {
    env: { HCD_URL: hcdUrl, BILLING_CYCLE_CRASH_AFTER: '', ...env },
    timeoutMs: 120_000,
  });
}
