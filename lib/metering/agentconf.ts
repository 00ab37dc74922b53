// neutron-metering-agent's metering_agent.ini (oslo.config INI): the [DEFAULT] options that shape
// the samples — report_interval, measure_interval, granular_traffic_data
// (neutron/conf/services/metering_agent.py). Other sections and keys belong to the agent's
// driver, logging and messaging and are reported, not refused.

import { FlowmeterError } from '../errors.js';
import { readTextFile } from '../cli/io.js';

export interface AgentConfig {
  reportInterval?: number;
  measureInterval?: number;
  granular?: boolean;
  /** Keys read but not used, with their place (file:line). */
  ignored: string[];
}

const BOOL: Record<string, boolean> = {
  true: true,
  yes: true,
  on: true,
  '1': true,
  false: false,
  no: false,
  off: false,
  '0': false,
};

function configError(place: string, message: string): FlowmeterError {
  return new FlowmeterError('config', `${place}: ${message}`);
}

function positiveInt(place: string, key: string, value: string): number {
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < 1)
    throw configError(place, `${key} = ${value}: expected a positive integer (seconds)`);
  return Number(value);
}

/** Parse the text; `path` names the file in messages. */
export function parseAgentConfig(path: string, text: string): AgentConfig {
  const cfg: AgentConfig = { ignored: [] };
  let section: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const place = `${path}:${i + 1}`;
    const line = raw.replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
    if (t.startsWith('[')) {
      const m = /^\[([^\][]+)\]$/.exec(t);
      if (!m) throw configError(place, `malformed section header "${t}"`);
      section = m[1]!.trim();
      return;
    }
    if (/^\s/.test(line)) throw configError(place, 'continuation lines are not supported; put the value on one line');
    const eq = t.search(/[=:]/);
    if (eq <= 0) throw configError(place, `expected "key = value", got "${t}"`);
    if (section === undefined) throw configError(place, 'option before any [section] header');
    const key = t.slice(0, eq).trim();
    const value = t.slice(eq + 1).trim();
    if (section !== 'DEFAULT') {
      cfg.ignored.push(`${place}: [${section}] ${key}`);
      return;
    }
    switch (key) {
      case 'report_interval':
        cfg.reportInterval = positiveInt(place, key, value);
        break;
      case 'measure_interval':
        cfg.measureInterval = positiveInt(place, key, value);
        break;
      case 'granular_traffic_data': {
        const b = BOOL[value.toLowerCase()];
        if (b === undefined) throw configError(place, `granular_traffic_data = ${value}: expected true or false`);
        cfg.granular = b;
        break;
      }
      default:
        cfg.ignored.push(`${place}: [DEFAULT] ${key}`);
    }
  });
  return cfg;
}

export async function readAgentConfig(path: string): Promise<AgentConfig> {
  const text = await readTextFile(path);
  return parseAgentConfig(path, text);
}
