/**
 * The chat on a terminal, or on a pipe: reads lines, hands them to the session one at a
 * time in order, and prints what arrives above the line being typed. On a terminal the
 * typed line is redrawn after every printed line; on a pipe there is no prompt at all,
 * so that scripts and tests read plain lines.
 * @module
 */
import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { ChatScreen, ChatSession } from './session.js';

export interface TerminalStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A screen that prints into `output` around a readline prompt. */
export function createScreen(
  streams: TerminalStreams,
): ChatScreen & { attach(rl: ReturnType<typeof createInterface>): void } {
  const interactive = Boolean(streams.input.isTTY && streams.output.isTTY);
  let rl: ReturnType<typeof createInterface> | undefined;
  return {
    attach(readline) {
      rl = readline;
    },
    print(line) {
      if (!interactive || !rl) {
        streams.output.write(`${line}\n`);
        return;
      }
      clearLine(streams.output, 0);
      cursorTo(streams.output, 0);
      streams.output.write(`${line}\n`);
      rl.prompt(true); // redraws the prompt and what was typed, cursor where it was
    },
    setPrompt(prompt) {
      if (!interactive || !rl) return;
      rl.setPrompt(prompt);
      rl.prompt(true);
    },
  };
}

/** Runs the chat until /quit, Ctrl-C, Ctrl-D or the end of the input. */
export async function runTerminal(
  session: ChatSession,
  screen: ReturnType<typeof createScreen>,
  streams: TerminalStreams,
): Promise<void> {
  const interactive = Boolean(streams.input.isTTY && streams.output.isTTY);
  const rl = createInterface({
    input: streams.input,
    output: interactive ? streams.output : undefined,
    terminal: interactive,
  });
  screen.attach(rl);
  let queue: Promise<unknown> = Promise.resolve();
  let done = false;
  let finished: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const finish = () => {
    if (done) return;
    done = true;
    if (interactive) streams.output.write('\n'); // leave the shell prompt on a line of its own
    rl.close();
    finished();
  };
  // Lines already typed (or piped) are handled before leaving.
  const leave = () => {
    queue = queue.then(finish);
  };
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      if (!done && (await session.handle(line)) === 'quit') finish();
    });
  });
  rl.on('SIGINT', leave); // Ctrl-C on a terminal
  rl.on('close', leave); // Ctrl-D, or the end of piped input
  process.on('SIGINT', leave); // Ctrl-C when the input is a pipe
  process.on('SIGTERM', leave);
  if (interactive) rl.prompt();
  try {
    await ended;
  } finally {
    process.off('SIGINT', leave);
    process.off('SIGTERM', leave);
  }
}
