// A strict reader of the Prometheus text exposition format 0.0.4 (no parser package is installed):
// every line is a HELP, a TYPE or a sample; a family's HELP and TYPE come once, before its
// samples; names and label names are valid identifiers; label values are quoted with only \\, \"
// and \n escaped; values are floats; no series twice; a counter's samples end in _total.
// Throws naming the line on anything else.

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  help?: string;
  type?: string;
  samples: PromSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
// Prometheus reads a value with Go's strconv.ParseFloat: NaN and Inf in any case (prom-client
// writes NaN as "Nan", e.g. the event-loop lag before its first sample).
const VALUE = String.raw`[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[Nn][Aa][Nn]|[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?)`;
const SAMPLE = new RegExp(String.raw`^(${NAME})(?:\{(.*)\})? (${VALUE})(?: -?[0-9]+)?$`);
const LABEL_PAIR = new RegExp(String.raw`^(${LABEL})="((?:[^"\\\n]|\\[\\"n])*)"`);

function numberOf(text: string): number {
  const t = text.toLowerCase();
  if (t.endsWith('nan')) return NaN;
  if (t.endsWith('inf') || t.endsWith('infinity')) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (meta) {
      const f = families.get(meta[2]!) ?? { samples: [] };
      if (f.samples.length > 0) throw new Error(`${where}: ${meta[1]} after the family's samples`);
      if (meta[1] === 'TYPE') {
        if (f.type !== undefined) throw new Error(`${where}: second TYPE`);
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3]!)) throw new Error(`${where}: unknown type`);
        f.type = meta[3];
      } else {
        if (f.help !== undefined) throw new Error(`${where}: second HELP`);
        f.help = meta[3];
      }
      families.set(meta[2]!, f);
      return;
    }
    if (line.startsWith('#')) return; // a comment
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const labels = parseLabels(m[2] ?? '', where);
    const family = familyOf(m[1]!, families);
    if (!family) throw new Error(`${where}: sample without a TYPE line for its family`);
    const [fname, f] = family;
    if (f.type === 'counter' && !fname.endsWith('_total') && !m[1]!.endsWith('_total'))
      throw new Error(`${where}: counter not named …_total`);
    const series = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) throw new Error(`${where}: series given twice`);
    seen.add(series);
    f.samples.push({ labels: m[1] === fname ? labels : { ...labels, __name__: m[1]! }, value: numberOf(m[3]!) });
  });
  return families;
}

function familyOf(sample: string, families: Map<string, PromFamily>): [string, PromFamily] | undefined {
  for (const name of [sample, sample.replace(/_(sum|count|bucket)$/, '')]) {
    const f = families.get(name);
    if (f?.type !== undefined) return [name, f];
  }
  return undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL_PAIR.exec(rest);
    if (!m) throw new Error(`${where}: bad labels at ${JSON.stringify(rest)}`);
    if (m[1]! in out) throw new Error(`${where}: label ${m[1]} twice`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`${where}: expected "," between labels`);
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const f = families.get(name);
  const hit = f?.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (!hit || hit.length === 0) return undefined;
  if (hit.length > 1 && Object.keys(labels).length > 0)
    throw new Error(`${name}${JSON.stringify(labels)}: ${hit.length} samples`);
  return hit.reduce((n, s) => n + s.value, 0);
}
