/**
 * The benches' command lines, read strictly: `--help` prints the usage and exits 0, and a
 * flag the bench does not know (or a value missing) stops it with one line and exit 2
 * before anything starts. Read loosely, `--help` or a mistyped `--sokets 10000` ran the
 * default bench for minutes, and a full server run rewrites docs/charts/ as it ends.
 */
import { parseArgs } from 'node:util';

/** The flags a bench takes: booleans, and strings with or without a default. */
type Options = Record<string, { type: 'boolean' } | { type: 'string'; default?: string }>;
/** What `parseArgs` gives for `T`, strictly read. */
type Values<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T; strict: true }>
>['values'];

export function benchFlags<T extends Options>(usage: string, options: T): Values<T> {
  const config = {
    // A `--` of its own is let through: `npm run bench -- --quick -- --json` passes the
    // second one on, as the benches' headers write their flags ([-- --quick] [-- --json]).
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: { ...options, help: { type: 'boolean' } },
    strict: true,
  } as const;
  let values: Values<T> & { help?: boolean };
  try {
    values = parseArgs(config).values as typeof values;
  } catch (error) {
    // Node's message goes on about positionals after "--": its first sentence says it all.
    const said = error instanceof Error ? error.message.split('. ')[0] : String(error);
    process.stderr.write(`${said}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** A flag's value as a whole number within [min, max], or a line saying what it takes. */
export function wholeNumber(name: string, value: string, min: number, max: number): number {
  const number = Number(value.replaceAll(/[,_]/g, ''));
  if (!Number.isInteger(number) || number < min || number > max) {
    process.stderr.write(
      `--${name} takes a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}\n`,
    );
    process.exit(2);
  }
  return number;
}
