/**
 * The chat on a terminal, or on a pipe: reads lines, hands them to the session one at a
 * time in order, and prints what arrives above the line being typed. On a terminal the
 * typed line (however many rows it wraps over) is redrawn after every printed line; on a
 * pipe there is no prompt at all, so that scripts and tests read plain lines.
 * @module
 */
import {
  clearScreenDown,
  createInterface,
  cursorTo,
  type Interface,
  moveCursor,
} from 'node:readline';
import type { ChatScreen, ChatSession } from './session.js';

export interface TerminalStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Terminal implements ChatScreen {
  readonly #streams: TerminalStreams;
  readonly #interactive: boolean;
  readonly #rl: Interface;
  #closed = false;
  /** Whether run() is listening: before it, no prompt may be drawn (drawing one resumes input). */
  #running = false;
  /** Ends run() after the lines already typed; set while it runs. */
  #leave: (() => void) | undefined;
  #stopRequested = false;

  constructor(streams: TerminalStreams) {
    this.#streams = streams;
    this.#interactive = Boolean(streams.input.isTTY && streams.output.isTTY);
    this.#rl = createInterface({
      input: streams.input,
      output: this.#interactive ? streams.output : undefined,
      terminal: this.#interactive,
    });
    this.#rl.on('close', () => {
      this.#closed = true;
    });
    // Nothing is read until run() listens: piped lines must not go by unheard.
    this.#rl.pause();
  }

  print(line: string): void {
    const out = this.#streams.output;
    if (!this.#interactive || this.#closed || !this.#running) {
      out.write(`${line}\n`);
      return;
    }
    // Back to the prompt's first row, wipe the prompt and the typed text (all its rows),
    // print, then draw them again below with the cursor where it was.
    moveCursor(out, 0, -this.#rl.getCursorPos().rows);
    cursorTo(out, 0);
    clearScreenDown(out);
    out.write(`${line}\n`);
    this.#rl.prompt(true);
  }

  /** Whether this is a person at a terminal (else a script on a pipe). */
  get interactive(): boolean {
    return this.#interactive;
  }

  setPrompt(prompt: string): void {
    this.#rl.setPrompt(prompt);
    if (this.#interactive && !this.#closed && this.#running) this.#rl.prompt(true);
  }

  /** Ends the chat as /quit would (from outside: the session ended). */
  stop(): void {
    this.#stopRequested = true;
    this.#leave?.();
  }

  /** Runs the chat until /quit, Ctrl-C, Ctrl-D or the end of the input. */
  async run(session: ChatSession): Promise<void> {
    const rl = this.#rl;
    let queue: Promise<unknown> = Promise.resolve();
    let done = false;
    let finished: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const finish = () => {
      if (done) return;
      done = true;
      if (this.#interactive) this.#streams.output.write('\n'); // the shell prompt on a line of its own
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
        // A line that printed nothing (Enter alone) would leave no prompt on the screen.
        else if (!done && this.#interactive) rl.prompt(true);
      });
    });
    this.#leave = leave;
    if (this.#stopRequested) leave();
    rl.on('SIGINT', leave); // Ctrl-C on a terminal
    rl.on('close', leave); // Ctrl-D, or the end of piped input
    process.on('SIGINT', leave); // Ctrl-C when the input is a pipe
    process.on('SIGTERM', leave);
    this.#running = true;
    rl.resume();
    if (this.#interactive) rl.prompt();
    try {
      await ended;
    } finally {
      process.off('SIGINT', leave);
      process.off('SIGTERM', leave);
    }
  }
}
