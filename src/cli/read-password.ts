/**
 * Reading a password on the command line: from a terminal without echo (asked twice, so
 * that a typo does not become the password), or, with `--password-stdin`, the whole of
 * standard input (for scripts: never as an argument, which `ps` and shell history show).
 * @module
 */
import { UsageError } from './handle-error.js';
import type { Output } from './output.js';

/** Where the CLI reads from: standard input, or a stream a test gives. */
export type Input = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
};

/** All of `input`, without one trailing newline (`echo secret |` adds one). */
async function readAll(input: Input): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** One line typed on a terminal, not echoed. Ctrl-C or Ctrl-D gives up. */
function askHidden(input: Input, output: Output, question: string): Promise<string> {
  output.notice(question);
  return new Promise((resolve, reject) => {
    let typed = '';
    input.setRawMode?.(true);
    input.resume();
    const done = (error: Error | null) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const character of String(chunk)) {
        if (character === '\r' || character === '\n') return done(null);
        if (character === '\u0003' || character === '\u0004')
          return done(new UsageError('no password given'));
        if (character === '\u007f' || character === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += character;
      }
    };
    input.on('data', onData);
  });
}

/** The password, from standard input or asked for on the terminal (twice for a new one). */
export async function readPassword(
  input: Input,
  output: Output,
  fromStdin: boolean,
  /** `question` to ask once (a login), instead of asking for a new password twice. */
  ask: { question?: string } = {},
): Promise<string> {
  if (fromStdin) return readAll(input);
  if (!input.isTTY)
    throw new UsageError(
      'no terminal to ask for the password on: pipe it in with --password-stdin',
    );
  if (ask.question) return askHidden(input, output, ask.question);
  const first = await askHidden(input, output, 'New password (not shown):');
  const again = await askHidden(input, output, 'The same again:');
  if (first !== again) throw new UsageError('the two passwords differ: nothing changed');
  return first;
}
