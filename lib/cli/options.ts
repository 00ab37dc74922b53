// The shared yargs set-up: strict parsing, usage errors as exit 64 with one line (never the
// whole help), --help with examples on stdout, --version, and the options every command has.

import yargs, { type Argv, type Options } from 'yargs';
import type { Proc } from './run.js';
import { tryHelp } from './exit.js';
import { usageError } from '../errors.js';
import { VERSION } from './version.js';
import { colorLevel, makeChalk } from './color.js';
import { Log } from './log.js';
import { compileFilter, FilterSyntaxError, type CompiledFilter } from '../filter/filter.js';
import { INPUT_FORMATS } from '../flow/dialects.js';

export interface CommandSpec {
  prog: string;
  /** Synopsis lines after the program name, e.g. "[options] -r FILE". */
  synopsis: string[];
  summary: string;
  examples: ReadonlyArray<readonly [command: string, description: string]>;
}

export interface CommonArgs {
  quiet: boolean;
  verbose: number;
  color: boolean | undefined;
}

export function makeParser(proc: Pick<Proc, 'argv' | 'stdout'>, spec: CommandSpec): Argv<CommonArgs> {
  const width = Math.min(100, proc.stdout.columns ?? 100);
  const flags = new Set<string>();
  let y = recordValueFlags(yargs(proc.argv), flags)
    .scriptName(spec.prog)
    .usage(`${spec.synopsis.map((s) => `$0 ${s}`).join('\n')}\n\n${spec.summary}`)
    .exitProcess(false)
    .strict()
    .version(VERSION)
    .help('help')
    .alias('help', 'h') // this order: with strip-aliased, alias('h','help') strips "help" and --help prints nothing
    .wrap(width)
    .parserConfiguration({ 'duplicate-arguments-array': true, 'strip-aliased': true })
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs re-throws what a coerce function throws (intInRange's usage errors) as a YError
      if (err?.name === 'YError') throw usageError(err.message, tryHelp(spec.prog));
      if (err) throw err;
      // yargs puts details on lines of their own, indented ("Invalid values:\n  Argument: …")
      const [first, ...more] = unknownAsGiven(msg ?? 'invalid arguments', proc.argv).split(/\n(?= )/);
      throw usageError(first!, ...more, tryHelp(spec.prog));
    })
    // `PROG completion`: yargs' own bash script, or zsh's when $SHELL is zsh
    .completion('completion', 'Print a bash or zsh completion script (zsh when $SHELL names zsh)')
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Only print errors', group: 'Common:' })
    .option('verbose', {
      alias: 'v',
      type: 'count',
      describe: 'More detail on stderr (-vv for more)',
      group: 'Common:',
    })
    .option('color', {
      type: 'boolean',
      describe: 'Force colour on/off (default: on a TTY, off with NO_COLOR)',
      group: 'Common:',
    })
    .epilogue(
      `See ${spec.prog}(1) for details. Exit status: 0 ok, 64 usage, 65 bad data, 66 no input (see the man page).`,
    );
  for (const [cmd, desc] of spec.examples) y = y.example(cmd, desc);
  DECLARED.set(y, { argv: proc.argv, valueFlags: flags });
  return y;
}

/** yargs' option(name, declaration) and options({name: declaration, …}) of `y`, which also add
 *  the names (and aliases) of the string options to `flags` as they are declared: parseArgs
 *  needs to know which flags take a value (joinDashValues). */
function recordValueFlags<T>(y: Argv<T>, flags: Set<string>): Argv<T> {
  type Declare = (key: string | Record<string, Options>, opt?: Options) => Argv<T>;
  const declare = y.option.bind(y) as Declare;
  const option = (...a: Parameters<Declare>): Argv<T> => {
    const [key, opt] = a;
    if (typeof key === 'string' && (opt?.type === 'string' || opt?.string === true)) {
      flags.add(key);
      for (const alias of [opt.alias ?? []].flat()) flags.add(alias);
    }
    // yargs' option({…}) declares each entry through this.options(name, declaration)
    return declare(...a);
  };
  return Object.assign(y, { option, options: option });
}

/**
 * yargs names an unknown flag by its parsed key: `--no-such-flag` becomes "such-flag", and each
 * kebab-case key comes twice (camelCase copy). Name the flags as the user typed them.
 */
export function unknownAsGiven(msg: string, argv: readonly string[]): string {
  const m = /^(Unknown arguments?): (.*)$/.exec(msg);
  if (!m) return msg;
  const names = m[2]!.split(', ');
  const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const typed = (flag: string): boolean => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  const shown: string[] = [];
  for (const n of names) {
    if (/[A-Z]/.test(n) && names.includes(kebab(n))) continue;
    const flag = n.length === 1 ? `-${n}` : `--${n}`;
    shown.push(typed(`--no-${n}`) ? `--no-${n}` : typed(flag) ? flag : n);
  }
  return `${shown.length === 1 ? 'Unknown argument' : 'Unknown arguments'}: ${shown.join(', ')}`;
}

/** What makeParser saw of a parser: the words to parse and the flags that take a value. */
const DECLARED = new WeakMap<object, { argv: readonly string[]; valueFlags: ReadonlySet<string> }>();

/**
 * yargs-parser never takes "-" as the value of a flag written apart (`-f -`, `--output -`): the
 * flag gets "" and "-" becomes a positional. Join such pairs (`-f=-`) for string options, so
 * "-" means stdin/stdout as everywhere else.
 */
export function joinDashValues(argv: readonly string[], stringKeys: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const key = /^--([^=]+)$/.exec(a)?.[1] ?? /^-([A-Za-z0-9])$/.exec(a)?.[1];
    if (key !== undefined && stringKeys.has(key) && argv[i + 1] === '-') {
      out.push(`${a}=-`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Parse; undefined when --help or --version was printed (the caller just returns 0). The
 *  result has the types yargs infers from the option declarations, and `files`: the input files
 *  of a command's `[files..]` positional with what follows `--`. */
export async function parseArgs<T extends CommonArgs>(y: Argv<T>) {
  const declared = DECLARED.get(y);
  const raw = declared?.argv;
  const args = declared && joinDashValues(declared.argv, declared.valueFlags);
  // `PROG completion` alone prints the script; yargs, not exiting, would go on to refuse the word
  if (raw?.length === 1 && raw[0] === 'completion') {
    y.showCompletionScript();
    return undefined;
  }
  const argv = await (args ? y.parseAsync(args) : y.parseAsync());
  // the completion script's call: yargs printed the candidates
  if (argv.help || argv.version || raw?.includes('--get-yargs-completions')) return undefined;
  return Object.assign(argv, { files: inputFiles(argv.files, argv._, raw) });
}

/** The `[files..]` positional; yargs leaves what follows `--` in `_` instead: an input named
 *  there must not be ignored in favour of stdin. */
function inputFiles(
  given: unknown,
  rest: readonly unknown[],
  raw: readonly string[] | undefined,
): string[] | undefined {
  const files = Array.isArray(given) ? given.map(String) : undefined;
  if (rest.length === 0 || raw === undefined || !raw.includes('--')) return files;
  return [...(files ?? []), ...raw.slice(raw.indexOf('--') + 1)];
}

/** What parseArgs gives for a command's parser function: `type Args = ArgsOf<typeof parser>`. */
export type ArgsOf<P extends (...args: never[]) => Argv<CommonArgs>> = P extends (
  ...args: never[]
) => Argv<infer T extends CommonArgs>
  ? NonNullable<Awaited<ReturnType<typeof parseArgs<T>>>>
  : never;

/** The diagnostics channel configured from the common options. */
export function makeLog(proc: Proc, prog: string, args: CommonArgs): Log {
  return new Log(prog, proc.stderr, {
    quiet: args.quiet,
    verbose: args.verbose,
    chalk: makeChalk(colorLevel(proc.stderr, proc.env, args.color)),
  });
}

/** yargs coerce helper for integers in a range: `abc` must not become NaN silently. */
export function intInRange(name: string, min: number, max: number): (v: unknown) => number {
  return (v: unknown): number => {
    const n = typeof v === 'number' ? v : Number(v);
    if (typeof v === 'string' && !/^-?[0-9]+$/.test(v.trim()))
      throw usageError(`--${name}: expected an integer, got "${v}"`);
    if (!Number.isInteger(n) || n < min || n > max)
      throw usageError(`--${name}: expected an integer ${min}..${max}, got "${String(v)}"`);
    return n;
  };
}

/** Compile the expressions of a filter flag; a syntax error is a usage error pointing at it. */
export function compileFilterArgs(exprs: readonly string[], flag = '--filter'): CompiledFilter[] {
  return exprs.map((expr) => {
    try {
      return compileFilter(expr);
    } catch (e) {
      if (e instanceof FilterSyntaxError) throw usageError(`${flag}: ${e.message}`, ...e.pointer());
      throw e;
    }
  });
}

/** --input-format of the commands that read flow and aggregate records (flow-aggregate, flow-report). */
export const INPUT_FORMAT_OPTION = {
  type: 'string',
  choices: INPUT_FORMATS,
  default: 'auto' as const,
  group: 'Input:',
  describe:
    'Records read: auto (told per line), flowmeter, goflow2, goflow (v1 CamelCase), nfdump (-o json), pmacct (JSON aggregates)',
} as const;
