// Functions compiled at run time: the few hot paths that generate straight-line code per
// aggregation, template or output line (each says why; figures in bench/README.md). With
// FLOWMETER_DEBUG=codegen (alone or in a comma-separated list) every generated source is printed
// to standard error as it is compiled, so what runs can be read.

const DUMP = (process.env.FLOWMETER_DEBUG ?? '').split(',').includes('codegen');

/** new Function(...params, body), named `name` in the debug dump. */
export function generatedFunction(name: string, params: readonly string[], body: string): Function {
  if (DUMP) process.stderr.write(`// codegen ${name}\n(function (${params.join(', ')}) {\n${body}\n})\n`);
  return new Function(...params, body);
}
